"""Read views projected from the event store: cases, tasks and the public register.

`projector.Projector` keeps the tables of `tables` up with the log (tracking position,
rebuildable from zero); the read views read them for every front door: `case_search` (the
case list), `task_list` (the inbox), `public_register`, `agenda` (the boards' meetings) and
`freshness` (the projector's position and lag), sharing `paging` (page sizes, cursors,
`QueryError`). A case's history is read from the event store itself
(`ratify.services.journal.CaseJournal`), not from a projection.
"""
