"""The case list: search by stage, reference, title, dates and amounts; one case's summary;
the cases a person acted on. Read from the projection tables only (`paging` has how a list
pages); no Part 2 content is in a `CaseSummary`.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from pydantic import TypeAdapter
from sqlalchemy.engine import Engine

from domain.roles import Role
from domain.state import Part1Status, Part2Status, Stage
from ratify.services.projections.paging import (
    DEFAULT_PAGE,
    MAX_LIMIT,
    FrozenRow,
    QueryError,
    aware,
    check_limit,
    decode_cursor,
    encode_cursor,
    key_instant,
    key_text,
    london_midnight,
    normalise_reference,
    read_rows,
    search_text,
)
from ratify.services.projections.tables import case_participants, case_summaries


class CaseSummary(FrozenRow):
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


class CasePage(FrozenRow):
    """A page of the case list, most recently changed first."""

    items: list[CaseSummary]
    #: The cursor of the next page; None on the last page.
    next: str | None


_CASE_SUMMARIES = TypeAdapter(list[CaseSummary])


def _stage(value: Stage | str) -> Stage:
    try:
        return Stage(value)
    except ValueError:
        allowed = ", ".join(s.value for s in Stage)
        raise ValueError(f"unknown stage {value!r}: one of {allowed}") from None


def _case_query(
    *,
    stage: Stage | str | None = None,
    reference: str | None = None,
    title_contains: str | None = None,
    submitted_from: date | datetime | None = None,
    submitted_to: date | datetime | None = None,
    required_by_before: date | None = None,
    min_amount: Decimal | None = None,
    max_amount: Decimal | None = None,
) -> sa.Select[Any]:
    c = case_summaries.c
    query = sa.select(case_summaries)
    if stage is not None:
        query = query.where(c.stage == _stage(stage).value)
    if (reference := search_text("reference", reference)) is not None:
        query = query.where(c.reference == normalise_reference(reference))
    if (title_contains := search_text("title", title_contains)) is not None:
        query = query.where(c.title.icontains(title_contains, autoescape=True))
    if submitted_from is not None:
        if isinstance(submitted_from, datetime):
            query = query.where(c.submitted_at >= aware(submitted_from, "submitted_from"))
        else:
            query = query.where(c.submitted_at >= london_midnight(submitted_from))
    if submitted_to is not None:
        if isinstance(submitted_to, datetime):
            query = query.where(c.submitted_at <= aware(submitted_to, "submitted_to"))
        else:
            next_day = london_midnight(submitted_to + timedelta(days=1))
            query = query.where(c.submitted_at < next_day)
    if required_by_before is not None:
        query = query.where(c.required_by <= required_by_before)
    if min_amount is not None:
        query = query.where(c.total_amount >= min_amount)
    if max_amount is not None:
        query = query.where(c.total_amount <= max_amount)
    # Newest first, read backwards along ix_case_summaries_updated (or _stage_updated).
    return query.order_by(c.updated_at.desc(), c.case_id.desc())


def cases(
    engine: Engine,
    *,
    limit: int = DEFAULT_PAGE,
    cursor: str | None = None,
    offset: int = 0,
    stage: Stage | str | None = None,
    reference: str | None = None,
    title_contains: str | None = None,
    submitted_from: date | datetime | None = None,
    submitted_to: date | datetime | None = None,
    required_by_before: date | None = None,
    min_amount: Decimal | None = None,
    max_amount: Decimal | None = None,
) -> CasePage:
    """A page of the cases matching every filter given, most recently changed first.

    The filters are `list_cases`'s; `cursor` is the `next` of the page before. `offset`
    skips that many cases first (the API's old way to page, still taken: it costs as
    much as the rows it skips), and cannot be combined with a cursor.
    """
    check_limit(limit, MAX_LIMIT)
    if offset < 0:
        raise QueryError("offset", f"cannot be negative, not {offset}")
    if offset and cursor is not None:
        raise QueryError("offset", "give a cursor or an offset, not both")
    query = _case_query(
        stage=stage,
        reference=reference,
        title_contains=title_contains,
        submitted_from=submitted_from,
        submitted_to=submitted_to,
        required_by_before=required_by_before,
        min_amount=min_amount,
        max_amount=max_amount,
    )
    if cursor is not None:
        updated_at, case_id = decode_cursor("c", cursor, (key_instant, key_text))
        c = case_summaries.c
        query = query.where(sa.tuple_(c.updated_at, c.case_id) < (updated_at, case_id))
    rows = read_rows(engine, query.limit(limit + 1).offset(offset or None))
    items = _CASE_SUMMARIES.validate_python(rows[:limit])
    after = None
    if len(rows) > limit:
        last = items[-1]
        after = encode_cursor("c", (last.updated_at, last.case_id))
    return CasePage(items=items, next=after)


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
    unknown stage or a limit outside 1..MAX_LIMIT. (`cases` pages with a cursor instead of
    an offset, which costs the same at any depth.)
    """
    return cases(
        engine,
        stage=stage,
        reference=reference,
        title_contains=title_contains,
        submitted_from=submitted_from,
        submitted_to=submitted_to,
        required_by_before=required_by_before,
        min_amount=min_amount,
        max_amount=max_amount,
        limit=limit,
        offset=offset,
    ).items


def case_summary(engine: Engine, case_id: str) -> CaseSummary | None:
    """One case's summary, or None if the views do not know it (yet)."""
    rows = read_rows(engine, sa.select(case_summaries).where(case_summaries.c.case_id == case_id))
    return CaseSummary.model_validate(rows[0]) if rows else None


# -- who acted on which cases --------------------------------------------------------------


def cases_acted_on(engine: Engine, user_id: str) -> list[tuple[str, Role]]:
    """The cases not yet closed (not approved, declined or withdrawn) on which `user_id`
    took a step, in person or through a deputy, or as a deputy for someone else, with each
    role they acted in: (case_id, role) pairs ordered by case and role.

    Every step counts (drafting, a board's advice, a sign-off, ...) except recording an
    irregularity or moving the required-by date, which anyone may: the same steps that keep
    Part 2 open to whoever took them (`domain.visibility.part2_clearance`). From
    `case_participants`, as fresh as the projector.
    """
    p, c = case_participants.c, case_summaries.c
    closed = [stage.value for stage in Stage if stage.is_closed]
    query = (
        sa.select(p.case_id, p.role)
        .join_from(case_participants, case_summaries, p.case_id == c.case_id)
        .where(p.user_id == user_id, c.stage.not_in(closed))
        .order_by(p.case_id, p.role)
    )
    return [(row.case_id, Role(row.role)) for row in read_rows(engine, query)]
