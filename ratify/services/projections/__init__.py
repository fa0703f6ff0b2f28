"""Read views projected from the event store: cases, tasks and the public register.

`projector.Projector` keeps the tables of `tables` up with the log (tracking position,
rebuildable from zero); `queries` reads them for the API. A case's history is read from
the event store itself (`ratify.services.journal.CaseJournal`), not from a projection.
"""
