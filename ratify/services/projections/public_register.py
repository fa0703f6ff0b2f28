"""The public register: published decisions, a page at a time, and one decision in full.

Read from the projection tables only (`paging` has how a list pages). No Part 2 content is
in a `RegisterItem`; a `RegisterRow` carries Part 2 text only once a Part 2 review has
published it.
"""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from pydantic import TypeAdapter
from sqlalchemy.engine import Engine, RowMapping

from domain.case import Recommendation
from ratify.services.projections.paging import (
    DEFAULT_PAGE,
    MAX_PAGE,
    FrozenRow,
    QueryError,
    check_limit,
    decode_cursor,
    encode_cursor,
    key_instant,
    key_text,
    normalise_reference,
    read_rows,
    search_text,
)
from ratify.services.projections.tables import register_entries


class RegisterItem(FrozenRow):
    """A published decision as the register's list shows it (`register_entry` has the rest:
    the executive summary, the recommendations, Part 2 once published)."""

    case_id: str
    reference: str | None
    title: str
    date_signed: date
    decision_maker: str
    published_at: datetime
    #: When a Part 2 review published Part 2 (in full or redacted); else None.
    part2_published_at: datetime | None


class RegisterPage(FrozenRow):
    """A page of the register, most recently published first."""

    items: list[RegisterItem]
    #: The cursor of the next page (older decisions); None on the last page.
    next: str | None


class RegisterRow(FrozenRow):
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
_REGISTER_ITEMS = TypeAdapter(list[RegisterItem])


def register(
    engine: Engine,
    *,
    limit: int = DEFAULT_PAGE,
    cursor: str | None = None,
    reference: str | None = None,
    title_contains: str | None = None,
    signed_from: date | None = None,
    signed_to: date | None = None,
) -> RegisterPage:
    """A page of the public register, most recently published first, matching every filter
    given: `reference` exactly (`pcd 679` finds `PCD 679`), `title_contains` as a
    case-insensitive substring, the date signed between `signed_from` and `signed_to` (both
    included). `cursor` is the `next` of the page before.

    The rows are read backwards along ix_register_entries_published (published_at,
    case_id, title), `limit` + 1 at most; a title search filters that index's entries on
    SQLite, and asks the trigram index ix_register_entries_title_trgm on PostgreSQL.
    """
    check_limit(limit, MAX_PAGE)
    if signed_from is not None and signed_to is not None and signed_to < signed_from:
        raise QueryError("signed_to", f"{signed_to} is before signed_from {signed_from}")
    r = register_entries.c
    query = sa.select(
        r.case_id,
        r.reference,
        r.title,
        r.date_signed,
        r.decision_maker,
        r.published_at,
        r.part2_published_at,
    )
    if (reference := search_text("reference", reference)) is not None:
        query = query.where(r.reference == normalise_reference(reference))
    if (title_contains := search_text("title", title_contains)) is not None:
        query = query.where(r.title.icontains(title_contains, autoescape=True))
    if signed_from is not None:
        query = query.where(r.date_signed >= signed_from)
    if signed_to is not None:
        query = query.where(r.date_signed <= signed_to)
    if cursor is not None:
        published_at, case_id = decode_cursor("r", cursor, (key_instant, key_text))
        query = query.where(sa.tuple_(r.published_at, r.case_id) < (published_at, case_id))
    query = query.order_by(r.published_at.desc(), r.case_id.desc()).limit(limit + 1)
    rows = read_rows(engine, query)
    items = _REGISTER_ITEMS.validate_python(rows[:limit])
    after = None
    if len(rows) > limit:
        last = items[-1]
        after = encode_cursor("r", (last.published_at, last.case_id))
    return RegisterPage(items=items, next=after)


def register_entry(engine: Engine, reference: str) -> RegisterRow | None:
    """The published decision with this reference (`PCD 679`), or None."""
    if "\x00" in reference:
        return None
    query = sa.select(register_entries).where(
        register_entries.c.reference == normalise_reference(reference)
    )
    rows = read_rows(engine, query)
    return _register_row(rows[0]) if rows else None


def _register_row(row: RowMapping) -> RegisterRow:
    data = dict(row)
    data["recommendations"] = _RECOMMENDATIONS.validate_json(data["recommendations"])
    return RegisterRow.model_validate(data)
