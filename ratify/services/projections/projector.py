"""The projector: keeps the read views up with the event log, exactly once.

`Projector.catch_up` reads the log after its tracking position, in batches. For each batch
it re-folds every case the batch touches, up to the newest version of that case in the
batch (`CaseJournal.history(case_id, to_version=...)`, the one fold), and writes that case's
summary, open tasks and register entry. Each batch is ONE transaction together with the new
tracking position: a crash or an error rolls back both, so an event is never applied twice
and never skipped, and the views always show the log up to the stored position.

The views are a pure function of each case's stream up to a version, so replaying a prefix
again gives the same rows: `rebuild` empties the tables, resets the position to zero and
catches up, and the result equals the incremental one.

Streams that are not cases (`notifications-*`) are passed over: an event belongs to a case
when its type is one of the domain's (`domain.events.EVENT_TYPES`) or has one of their
prefixes (`case.`, `board.`, ...; such an event of a type this code does not know stops the
projector with an error rather than being skipped).

Several projectors (threads or processes) may run on one database: the position is advanced
by compare-and-set in the batch's transaction, so only one of them applies a batch. The
views are written by deleting and inserting a case's rows in that transaction, which
works the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import structlog
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, Engine

from domain import events as ev
from domain.case import Case
from domain.roles import Role
from domain.rules.delegation import DecisionMaker
from domain.state import CaseState, open_tasks, persons
from eventstore import EventStore, StoredEvent
from eventstore.engine import write_engine
from ratify.infra.observability import metrics
from ratify.services.journal import CaseHistory, CaseJournal
from ratify.services.projections.freshness import projection_position
from ratify.services.projections.public_register import register_answer
from ratify.services.projections.tables import (
    CASE_VIEWS,
    VIEW_TABLES,
    agenda_items,
    case_participants,
    case_summaries,
    case_task_people,
    case_tasks,
    projection_positions,
    register_entries,
)

log = structlog.get_logger("ratify.projections")

#: The first part of every domain event type ("case", "board", "advice", ...).
CASE_EVENT_PREFIXES = frozenset(t.split(".", 1)[0] for t in ev.EVENT_TYPES)

#: Steps anyone may take on any case (`domain.visibility`): taking one is not acting on it.
NOT_PARTICIPATION = (ev.IrregularityRecorded, ev.RequiredByChanged)

_ROLE_OF_DECISION_MAKER = {
    DecisionMaker.DMPC: Role.DMPC,
    DecisionMaker.MPS_DELEGATED: Role.MPS_DECISION_MAKER,
}


def _no_nul(value: Any) -> Any:
    """`value` with U+0000 in its texts replaced by U+FFFD. PostgreSQL cannot hold NUL in
    text: one stored before the front doors refused it (a meeting id) stopped the projector
    on every catch-up, and every view with it. The event keeps what was stored."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd") if "\x00" in value else value
    if isinstance(value, dict):
        return {k: _no_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_no_nul(v) for v in value]
    return value


def is_case_event(record: StoredEvent) -> bool:
    """Whether a stored event belongs to a case stream (by its type), e.g. not a notification."""
    return (
        record.event_type in ev.EVENT_TYPES
        or record.event_type.split(".", 1)[0] in CASE_EVENT_PREFIXES
    )


def case_amount(case: Case | None) -> Decimal:
    """The amount a case concerns: its money lines' total, else its grants, else a virement."""
    if case is None:
        return Decimal("0.00")
    grants = sum((g.amount for g in case.grant_lines), Decimal("0.00"))
    return case.total_expenditure or grants or case.virement_amount or Decimal("0.00")


def _decision_maker(state: CaseState) -> Role | None:
    """Who decided; else who must decide now; else whom the routing names."""
    if state.decided_by is not None:
        return state.decided_by.role
    if state.decision_maker_role is not None:
        return state.decision_maker_role
    if state.routing is not None:
        return _ROLE_OF_DECISION_MAKER.get(state.routing.decision_maker)
    return None


@dataclass(frozen=True)
class CaseRows:
    """The rows of one case's views, as of one version of its stream."""

    case_id: str
    summary: dict[str, Any]
    tasks: list[dict[str, Any]]
    #: The people of each personal task (the case's officers on submit and revise).
    task_people: list[dict[str, Any]]
    #: Who took a step of the case in which role (deputies and principals), as the Part 2
    #: clearance counts it: not irregularities or date changes, not Ratify itself.
    participants: list[dict[str, Any]]
    #: None until Part 1 is published.
    register: dict[str, Any] | None
    #: One row per meeting whose agenda the case was placed on.
    agenda: list[dict[str, Any]]


def case_rows(history: CaseHistory) -> CaseRows:
    """The view rows of a case from its history (a pure function of the stream prefix)."""
    state = history.state
    if not history.records:
        raise ValueError(f"case {state.case_id} has no events")
    decider = _decision_maker(state)
    summary = {
        "case_id": state.case_id,
        "title": state.title,
        "stage": state.stage.value,
        "reference": state.reference,
        "decision_maker": decider.value if decider else None,
        "total_amount": case_amount(state.case),
        "required_by": state.required_by,
        "submitted_at": state.submitted_at,
        "decided_at": state.decided_at,
        "late": state.late,
        "part1": state.part1.value,
        "part2": state.part2.value,
        "version": state.version,
        "updated_at": history.records[-1].occurred_at,
    }
    tasks: dict[tuple[str, str, str], dict[str, Any]] = {}
    people: dict[tuple[str, str, str, str], dict[str, Any]] = {}
    for task in open_tasks(state):
        area = task.area.value if task.area else ""
        key = (task.kind, task.role.value, area)
        if key in tasks:
            continue
        tasks[key] = {
            "case_id": state.case_id,
            "kind": task.kind,
            "role": task.role.value,
            "area": area,
            "description": task.description,
            "due": task.due,
            "personal": bool(task.people),
        }
        for user_id in task.people:
            people[(*key, user_id)] = {
                "case_id": state.case_id,
                "kind": task.kind,
                "role": task.role.value,
                "area": area,
                "user_id": user_id,
            }
    participants: dict[tuple[str, str], dict[str, Any]] = {}
    for event in history.events:
        if isinstance(event, NOT_PARTICIPATION) or event.actor.role is Role.SYSTEM:
            continue
        for person in sorted(persons(event.actor)):
            participants.setdefault(
                (person, event.actor.role.value),
                {
                    "case_id": state.case_id,
                    "user_id": person,
                    "role": event.actor.role.value,
                    "first_acted_at": event.occurred_at,
                },
            )
    return CaseRows(
        case_id=state.case_id,
        summary=summary,
        tasks=list(tasks.values()),
        task_people=list(people.values()),
        participants=list(participants.values()),
        register=_register_row(history),
        agenda=_agenda_rows(state.case_id, state.title, history.events),
    )


def _agenda_rows(case_id: str, title: str, events: list[ev.Event]) -> list[dict[str, Any]]:
    """The meetings a case went to, with the board's advice at each."""
    rows: dict[str, dict[str, Any]] = {}
    for event in events:
        if isinstance(event, ev.PlacedOnAgenda):
            rows[event.meeting_id] = {
                "meeting_id": event.meeting_id,
                "case_id": case_id,
                "board": event.board.value,
                "meeting_date": event.meeting_date,
                "title": title,
                "advice": None,
                "conditions": None,
            }
        elif isinstance(event, ev.BoardAdviceRecorded) and event.meeting_id in rows:
            rows[event.meeting_id].update(advice=event.advice.value, conditions=event.conditions)
    return list(rows.values())


def _register_row(history: CaseHistory) -> dict[str, Any] | None:
    """Part 1 exactly as its publication event recorded it, with the engine's answer on
    its grants, its cross-references and whether it was late; Part 2 once published."""
    row: dict[str, Any] | None = None
    part2: tuple[str, datetime] | None = None
    for event in history.events:
        if isinstance(event, ev.Part1Published):
            entry = event.entry
            row = {
                "case_id": entry.case_id,
                "reference": entry.reference,
                "title": entry.title,
                "date_signed": entry.date_signed,
                "decision_maker": entry.decision_maker,
                "executive_summary": entry.executive_summary,
                "recommendations": json.dumps(
                    [r.model_dump(mode="json") for r in entry.recommendations],
                    separators=(",", ":"),
                    ensure_ascii=False,
                ),
                "published_at": event.at,
            }
        elif isinstance(event, ev.Part2Published | ev.Part2PublishedRedacted):
            part2 = (event.content, event.at)
    if row is None:
        return None
    row["part2_text"], row["part2_published_at"] = part2 if part2 else (None, None)
    row.update(register_answer(history.state, history.events))
    return row


class Projector:
    """Projects the event store into the case views of `ratify.services.projections.tables`.

    `engine` is the database of the projection tables (usually the store's own, migrated
    with `ratify.infra.db.migrate_app`). Thread-safe: calls in one process are serialised, and
    projectors in other processes are kept out by the compare-and-set of the position.
    """

    def __init__(self, store: EventStore, engine: Engine, *, name: str = CASE_VIEWS) -> None:
        self.store = store
        self.engine = engine
        self.name = name
        self._journal = CaseJournal(store)
        self._writer = write_engine(engine)
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._wakers: set[Callable[[], None]] = set()

    # -- catching up ---------------------------------------------------------------------

    def position(self) -> int:
        """The position of the last event applied to the views (0 before any)."""
        return projection_position(self.engine, self.name)

    def lag(self) -> int:
        """How many events the log holds beyond the views' position; also sets the gauges
        `ratify_projection_lag_events` and `ratify_projection_position`."""
        position = self.position()
        behind = max(self.store.last_position() - position, 0)
        metrics.PROJECTION_POSITION.labels(projection=self.name).set(position)
        metrics.PROJECTION_LAG.labels(projection=self.name).set(behind)
        return behind

    def catch_up(self, batch: int = 500) -> int:
        """Apply every event after the tracking position; returns how many were applied.

        Each batch of at most `batch` events is applied in one transaction with the new
        position. An error (a case that does not fold, the database) propagates after
        rolling its batch back: the batches before it stay applied.
        """
        if batch < 1:
            raise ValueError(f"batch must be at least 1, not {batch}")
        with self._lock:
            return self._catch_up(batch)

    def rebuild(self, batch: int = 500) -> int:
        """Empty the views, reset the position to zero and catch up from the first event.

        Readers see empty views while it runs (the reset is committed first).
        """
        with self._lock:
            with self._writer.begin() as conn:
                for table in VIEW_TABLES:
                    conn.execute(table.delete())
                self._ensure_position_row(conn)
                conn.execute(
                    projection_positions.update()
                    .where(projection_positions.c.name == self.name)
                    .values(position=0)
                )
            log.info("projection reset", projection=self.name)
            return self._catch_up(batch)

    def _catch_up(self, batch: int) -> int:
        total = 0
        while True:
            applied = self._apply_batch(batch)
            if applied is None:  # another projector moved the position: look again
                continue
            if applied == 0:
                return total
            total += applied

    def _apply_batch(self, batch: int) -> int | None:
        """Apply the next batch: the number of events, 0 at the end, None on a conflict."""
        start = self.position()
        records = self.store.read_all(after=start, limit=batch)
        if not records:
            return 0
        versions: dict[str, int] = {}
        for record in records:
            if is_case_event(record):
                versions[record.stream_id] = max(versions.get(record.stream_id, 0), record.version)
        rows = [
            case_rows(self._journal.history(case_id, to_version=version))
            for case_id, version in versions.items()
        ]
        end = records[-1].position
        with self._writer.begin() as conn:
            if not self._advance(conn, start, end):
                return None
            for case in rows:
                self._write_case(conn, case)
        log.debug("projected", projection=self.name, after=start, to=end, cases=len(rows))
        return len(records)

    def _ensure_position_row(self, conn: Connection) -> None:
        values = {"name": self.name, "position": 0}
        insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
        conn.execute(insert(projection_positions).values(values).on_conflict_do_nothing())

    def _advance(self, conn: Connection, start: int, end: int) -> bool:
        """Move the position from `start` to `end`; False if it is no longer `start`."""
        self._ensure_position_row(conn)
        result = conn.execute(
            projection_positions.update()
            .where(
                projection_positions.c.name == self.name,
                projection_positions.c.position == start,
            )
            .values(position=end)
        )
        return result.rowcount == 1

    def _write_case(self, conn: Connection, case: CaseRows) -> None:
        """Replace one case's rows in the views (inside the batch's transaction)."""
        for table in VIEW_TABLES:
            conn.execute(table.delete().where(table.c.case_id == case.case_id))
        conn.execute(case_summaries.insert().values(_no_nul(case.summary)))
        if case.tasks:
            conn.execute(case_tasks.insert(), _no_nul(case.tasks))
        if case.task_people:
            conn.execute(case_task_people.insert(), _no_nul(case.task_people))
        if case.participants:
            conn.execute(case_participants.insert(), _no_nul(case.participants))
        if case.register is not None:
            conn.execute(register_entries.insert().values(_no_nul(case.register)))
        if case.agenda:
            conn.execute(agenda_items.insert(), _no_nul(case.agenda))

    # -- running in the background -----------------------------------------------------

    async def run_forever(self, poll_interval: float = 1.0, *, batch: int = 500) -> None:
        """Catch up, then again every `poll_interval` seconds, until `stop` (or cancelled).

        An error is logged and retried at the next poll; the views stay at the last
        committed batch meanwhile. `wake` makes it catch up at once. A stopped projector
        stays stopped: make a new one to start again.
        """
        loop = asyncio.get_running_loop()
        woken = asyncio.Event()

        def waker() -> None:
            with contextlib.suppress(RuntimeError):  # the loop has closed
                loop.call_soon_threadsafe(woken.set)

        self._wakers.add(waker)
        try:
            while not self._stopping.is_set():
                try:
                    await asyncio.to_thread(self.catch_up, batch)
                except Exception:
                    log.exception("projection catch-up failed", projection=self.name)
                try:
                    await asyncio.to_thread(self.lag)
                except Exception as exc:  # the database is down: the last values stand
                    log.warning("projection lag unknown", projection=self.name, error=str(exc))
                if self._stopping.is_set():
                    break
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(woken.wait(), poll_interval)
                woken.clear()
        finally:
            self._wakers.discard(waker)

    def start_thread(self, poll_interval: float = 1.0, *, batch: int = 500) -> threading.Thread:
        """Run `run_forever` in a daemon thread of its own; `stop` ends it."""
        thread = threading.Thread(
            target=lambda: asyncio.run(self.run_forever(poll_interval, batch=batch)),
            name=f"projector-{self.name}",
            daemon=True,
        )
        thread.start()
        return thread

    def wake(self) -> None:
        """Make a running `run_forever` catch up now (e.g. after an event was recorded)."""
        for waker in list(self._wakers):
            waker()

    def stop(self) -> None:
        """Stop `run_forever` after the batch in progress, if any."""
        self._stopping.set()
        self.wake()
