"""The public register: published decisions, a page at a time, and one decision in full.

Read from the projection tables only (`paging` has how a list pages). No Part 2 content is
in a `RegisterItem`; a `RegisterRow` carries Part 2 text only once a Part 2 review has
published it. Beside Part 1 as published, an entry shows the engine's answer a reader of
the paper needs (the appendix each grant line falls in, each group's total), the decisions
the paper refers to (linked when they are on the register) and whether it was decided late.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from pydantic import Field, TypeAdapter
from sqlalchemy.engine import Engine, RowMapping

from domain.case import GrantLine, Recommendation
from domain.events import Event
from domain.money import format_pounds
from domain.state import CaseState
from domain.timeline import decision_event, recorded_words, timeliness
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


class RegisterGrantLine(FrozenRow):
    """One grant line of a published decision and the appendix it falls in."""

    #: The line's id, or "line 3".
    line: str
    #: The recipient, or for a batch of separate awards "23 grants (largest £48,000)".
    recipient: str
    #: The line's amount (for a batch: its total).
    amount: Decimal
    #: The group it was tested in, as the paper names it.
    group: str
    #: "approve" (the DMPC approves it) or "note" (approved by the MPS, noted).
    outcome: str
    paragraph: str


class RegisterGrantGroup(FrozenRow):
    """Grant lines tested together as one award, with their total."""

    label: str
    lines: list[str]
    total: Decimal
    outcome: str
    paragraph: str


class RegisterGrants(FrozenRow):
    lines: list[RegisterGrantLine]
    groups: list[RegisterGrantGroup]


class RegisterCrossReference(FrozenRow):
    """Another decision the paper refers to."""

    reference: str
    #: builds on, companion, varies, supersedes, related.
    relation: str
    note: str | None
    #: The reference as the register stores it ("PCD 512"), when that decision is on the
    #: register (its page is `/register/{published}`); else None.
    published: str | None = None


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
    #: Decided after its required-by date; `timeliness` says it in the words of the
    #: timeline ("late: required by 13 December 2019, decided 16 December 2019").
    late: bool = False
    timeliness: str | None = None
    #: When the decision was recorded in Ratify, where that is not the day it was signed
    #: (signed on paper, imported from an earlier register): "recorded 17 March 2022".
    #: The date only: who recorded it and from which document are not Part 1.
    recorded: str | None = None
    #: The appendix each grant line falls in; None when the decision has no grants (or its
    #: routing was recorded before grant lines were judged one by one).
    grants: RegisterGrants | None = None
    cross_references: list[RegisterCrossReference] = Field(default_factory=list)


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
    return _register_row(engine, rows[0]) if rows else None


def _register_row(engine: Engine, row: RowMapping) -> RegisterRow:
    data = dict(row)
    data["recommendations"] = _RECOMMENDATIONS.validate_json(data["recommendations"])
    data["grants"] = (
        RegisterGrants.model_validate_json(data["grants"]) if data.get("grants") else None
    )
    refs = _CROSS_REFERENCES.validate_json(data.get("cross_references") or "[]")
    published = published_references(engine, [x.reference for x in refs])
    data["cross_references"] = [
        x.model_copy(
            update={
                "published": key if (key := normalise_reference(x.reference)) in published else None
            }
        )
        for x in refs
    ]
    return RegisterRow.model_validate(data)


_CROSS_REFERENCES = TypeAdapter(list[RegisterCrossReference])


def _line_name(lines: list[GrantLine], index: int) -> str:
    line_id = lines[index].id if index < len(lines) else None
    return line_id or f"line {index + 1}"


def grant_recipient(line: GrantLine) -> str:
    """Who a grant line goes to: the recipient, or for a batch of separate awards
    "23 grants (largest £48,000)"."""
    if line.batch is None:
        return line.recipient or ""
    text = f"{line.batch.count} grants (largest {format_pounds(line.batch.largest)})"
    return f"{text}: {line.recipient}" if line.recipient else text


def register_answer(state: CaseState, events: Iterable[Event] = ()) -> dict[str, Any]:
    """The register's columns besides Part 1 (`late`, `timeliness`, `recorded`, `grants`,
    `cross_references`), from the decided case and its events: Part 1 facts only."""
    decision = decision_event(events)
    case, routing = state.case, state.routing
    grants = None
    if case is not None and routing is not None and routing.grant_lines:
        labels = {g.key: g.label for g in routing.grant_groups}
        lines = case.grant_lines
        grants = RegisterGrants(
            lines=[
                RegisterGrantLine(
                    line=_line_name(lines, o.index),
                    recipient=grant_recipient(lines[o.index])
                    if o.index < len(lines)
                    else o.recipient or "",
                    amount=o.amount,
                    group=labels.get(o.group, o.group),
                    outcome=o.outcome.label,
                    paragraph=o.reference,
                )
                for o in routing.grant_lines
            ],
            groups=[
                RegisterGrantGroup(
                    label=g.label,
                    lines=[_line_name(lines, i) for i in g.lines],
                    total=g.total,
                    outcome=g.outcome.label,
                    paragraph=g.reference,
                )
                for g in routing.grant_groups
            ],
        )
    refs = [
        RegisterCrossReference(reference=x.reference, relation=x.relation.value, note=x.note)
        for x in (case.cross_references if case is not None else [])
    ]
    return {
        "late": state.late,
        "timeliness": timeliness(state),
        "recorded": recorded_words(decision, public=True) if decision is not None else None,
        "grants": grants.model_dump_json() if grants is not None else None,
        "cross_references": json.dumps(
            [x.model_dump(mode="json", exclude={"published"}) for x in refs],
            separators=(",", ":"),
            ensure_ascii=False,
        ),
    }


def published_references(engine: Engine, references: Iterable[str]) -> set[str]:
    """Which of these decision references (`PCD 512`, any spacing or case) are on the
    register, as stored (`PCD 512`): a cross-reference to one links to its page."""
    wanted = {normalise_reference(r) for r in references if r and "\x00" not in r}
    if not wanted:
        return set()
    r = register_entries.c
    query = sa.select(r.reference).where(r.reference.in_(sorted(wanted)))
    return {row["reference"] for row in read_rows(engine, query)}
