"""Reads of the projected views: case search, "my tasks", the public register, the lag.

Everything here reads the projection tables only (never Temporal, never a fold), so a
request costs one indexed query. The views are as fresh as the projector's position;
`lag` says how many stored events they do not show yet. No Part 2 content is in a
`CaseSummary` or a `TaskRow`; a `RegisterRow` carries Part 2 text only once a Part 2 review
has published it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, TypeAdapter
from sqlalchemy.engine import Engine, RowMapping

from domain.case import Recommendation
from domain.clock import LONDON
from domain.roles import AdviceArea, Role
from domain.state import Part1Status, Part2Status, Stage
from eventstore import EventStore
from ratify.projections.tables import (
    CASE_VIEWS,
    agenda_items,
    case_summaries,
    case_tasks,
    projection_positions,
    register_entries,
)

#: The most rows `list_cases` returns at once.
MAX_LIMIT = 500


class _Row(BaseModel):
    model_config = ConfigDict(frozen=True)


class CaseSummary(_Row):
    """A case as the case list shows it (no Part 2 content)."""

    case_id: str
    title: str
    stage: Stage
    reference: str | None
    #: The role that decided; before the decision, the one that must decide (once known).
    decision_maker: Role | None
    #: The money lines' total, else the grants' total, else the virement.
    total_amount: Decimal
    required_by: date | None
    submitted_at: datetime | None
    decided_at: datetime | None
    late: bool
    part1: Part1Status
    part2: Part2Status
    #: The stream version the row reflects.
    version: int
    #: When the newest event of the case occurred.
    updated_at: datetime


class TaskRow(_Row):
    """An open task, with the case it is on (no Part 2 content)."""

    case_id: str
    title: str
    reference: str | None
    stage: Stage
    kind: str
    role: Role
    area: AdviceArea | None
    description: str
    due: date | None


class RegisterRow(_Row):
    """A published decision: Part 1 as published, and Part 2 once a review published it."""

    case_id: str
    reference: str | None
    title: str
    date_signed: date
    decision_maker: str
    executive_summary: str
    recommendations: list[Recommendation]
    published_at: datetime
    #: The Part 2 text as a review published it (in full or redacted); else None.
    part2_text: str | None
    part2_published_at: datetime | None


_RECOMMENDATIONS = TypeAdapter(list[Recommendation])


def _rows(engine: Engine, query: sa.Select[Any]) -> list[RowMapping]:
    with engine.connect() as conn, conn.begin():
        return list(conn.execute(query).mappings().all())


def _london_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=LONDON)


def _aware(value: datetime, what: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what}: give a timezone-aware datetime, or a date")
    return value


def normalise_reference(reference: str) -> str:
    """`pcd  679` as stored: `PCD 679`."""
    return " ".join(reference.split()).upper()


def _stage(value: Stage | str) -> Stage:
    try:
        return Stage(value)
    except ValueError:
        allowed = ", ".join(s.value for s in Stage)
        raise ValueError(f"unknown stage {value!r}: one of {allowed}") from None


def list_cases(
    engine: Engine,
    *,
    stage: Stage | str | None = None,
    reference: str | None = None,
    title_contains: str | None = None,
    submitted_from: date | datetime | None = None,
    submitted_to: date | datetime | None = None,
    required_by_before: date | None = None,
    min_amount: Decimal | None = None,
    max_amount: Decimal | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[CaseSummary]:
    """Cases matching every filter given, most recently changed first.

    `reference` matches exactly (`pcd 679` finds `PCD 679`); `title_contains` is a
    case-insensitive substring. Submission dates are London days, both ends included (a
    datetime is taken as an instant). `required_by_before` keeps the cases required by
    that day or earlier; the amounts are inclusive bounds. Raises ValueError for an
    unknown stage or a limit outside 1..MAX_LIMIT.
    """
    if not 1 <= limit <= MAX_LIMIT:
        raise ValueError(f"limit must be between 1 and {MAX_LIMIT}, not {limit}")
    if offset < 0:
        raise ValueError(f"offset cannot be negative, not {offset}")
    c = case_summaries.c
    query = sa.select(case_summaries)
    if stage is not None:
        query = query.where(c.stage == _stage(stage).value)
    if reference is not None:
        query = query.where(c.reference == normalise_reference(reference))
    if title_contains:
        query = query.where(c.title.icontains(title_contains, autoescape=True))
    if submitted_from is not None:
        if isinstance(submitted_from, datetime):
            query = query.where(c.submitted_at >= _aware(submitted_from, "submitted_from"))
        else:
            query = query.where(c.submitted_at >= _london_midnight(submitted_from))
    if submitted_to is not None:
        if isinstance(submitted_to, datetime):
            query = query.where(c.submitted_at <= _aware(submitted_to, "submitted_to"))
        else:
            next_day = _london_midnight(submitted_to + timedelta(days=1))
            query = query.where(c.submitted_at < next_day)
    if required_by_before is not None:
        query = query.where(c.required_by <= required_by_before)
    if min_amount is not None:
        query = query.where(c.total_amount >= min_amount)
    if max_amount is not None:
        query = query.where(c.total_amount <= max_amount)
    query = query.order_by(c.updated_at.desc(), c.case_id).limit(limit).offset(offset)
    return [_summary(row) for row in _rows(engine, query)]


def case_summary(engine: Engine, case_id: str) -> CaseSummary | None:
    """One case's summary, or None if the views do not know it (yet)."""
    rows = _rows(engine, sa.select(case_summaries).where(case_summaries.c.case_id == case_id))
    return _summary(rows[0]) if rows else None


def _summary(row: RowMapping) -> CaseSummary:
    data = dict(row)
    data["total_amount"] = Decimal(data["total_amount"]).quantize(Decimal("0.01"))
    return CaseSummary.model_validate(data)


def tasks_for(engine: Engine, roles: Iterable[Role]) -> list[TaskRow]:
    """The open tasks any of these roles may act on, by due date (undated last), then case.

    Pass every role the person holds, their own and those held as a deputy.
    """
    wanted = sorted({Role(r).value for r in roles})
    if not wanted:
        return []
    t, c = case_tasks.c, case_summaries.c
    query = (
        sa.select(
            t.case_id,
            c.title,
            c.reference,
            c.stage,
            t.kind,
            t.role,
            t.area,
            t.description,
            t.due,
        )
        .join_from(case_tasks, case_summaries, t.case_id == c.case_id)
        .where(t.role.in_(wanted))
        .order_by(t.due.is_(None), t.due, t.case_id, t.kind, t.role, t.area)
    )
    return [
        TaskRow.model_validate({**row, "area": row["area"] or None}) for row in _rows(engine, query)
    ]


def register(engine: Engine) -> list[RegisterRow]:
    """The public register: every published decision, most recently published first."""
    r = register_entries.c
    query = sa.select(register_entries).order_by(r.published_at.desc(), r.case_id)
    return [_register_row(row) for row in _rows(engine, query)]


def register_entry(engine: Engine, reference: str) -> RegisterRow | None:
    """The published decision with this reference (`PCD 679`), or None."""
    query = sa.select(register_entries).where(
        register_entries.c.reference == normalise_reference(reference)
    )
    rows = _rows(engine, query)
    return _register_row(rows[0]) if rows else None


def _register_row(row: RowMapping) -> RegisterRow:
    data = dict(row)
    data["recommendations"] = _RECOMMENDATIONS.validate_json(data["recommendations"])
    return RegisterRow.model_validate(data)


def projection_position(engine: Engine, name: str = CASE_VIEWS) -> int:
    """The position of the last event a projection has applied (0 before any)."""
    query = sa.select(projection_positions.c.position).where(projection_positions.c.name == name)
    with engine.connect() as conn, conn.begin():
        position = conn.execute(query).scalar_one_or_none()
    return int(position or 0)


def lag(engine: Engine, store: EventStore, name: str = CASE_VIEWS) -> int:
    """How many stored events the views do not show yet (0 when they are up to date)."""
    return max(store.last_position() - projection_position(engine, name), 0)


class AgendaRow(BaseModel):
    model_config = ConfigDict(frozen=True)

    meeting_id: str
    board: str
    meeting_date: date
    case_id: str
    title: str
    advice: str | None
    conditions: str | None


def meetings(engine: Engine, *, from_date: date | None = None) -> list[AgendaRow]:
    """Every agenda item of every meeting (from `from_date` on), by date then meeting."""
    t = agenda_items
    query = sa.select(t).order_by(t.c.meeting_date, t.c.meeting_id, t.c.case_id)
    if from_date is not None:
        query = query.where(t.c.meeting_date >= from_date)
    with engine.connect() as conn:
        return [AgendaRow.model_validate(dict(r)) for r in conn.execute(query).mappings()]
