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

from domain.case import Case, GrantLine, Procurement, Recommendation, foi_title
from domain.clock import london_date
from domain.events import BoardAdviceRecorded, Event, PlacedOnAgenda
from domain.money import format_pounds
from domain.state import CaseState, Stage
from domain.timeline import decision_event, recorded_words, timeliness
from ratify.services.identity.directory import Directory
from ratify.services.identity.errors import IdentityError
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
    executive_summary: str = ""
    #: The decision maker's user id (the principal when a deputy signed); None for an entry
    #: projected before it was kept.
    decided_by: str | None = None
    #: The decision maker's name, from the directory when the list is read (not stored).
    decision_maker_name: str | None = None


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


class RegisterSection(FrozenRow):
    """One section of Part 1 in the paper's order: its heading and its text as written."""

    heading: str
    text: str


class RegisterMoneyLine(FrozenRow):
    line: str
    kind: str
    amount: Decimal
    financial_years: list[str]
    funding_source: str
    description: str | None = None


class RegisterContract(FrozenRow):
    """A contract the decision concerns, as Part 1 describes it."""

    line: str
    subject: str
    route: str
    value: Decimal
    vat: str
    term_years: Decimal | None = None
    suppliers: list[str] = Field(default_factory=list)
    single_tender_action: bool = False


class RegisterBoard(FrozenRow):
    """The board's advice at its meeting, as the secretariat recorded it."""

    board: str | None = None
    meeting_date: date | None = None
    #: supported, supported with conditions, not supported, deferred; None for an extremis
    #: case the board chair agreed outside the meeting cycle.
    advice: str | None = None
    #: As typed, line breaks kept.
    conditions: str | None = None
    comment: str | None = None
    #: Why an extremis submission could not wait for a meeting.
    extremis_reason: str | None = None


class RegisterPart2Notice(FrozenRow):
    """That a confidential Part 2 exists, why it is exempt and until when: never its text."""

    security_marking: str
    exemption_basis: str | None = None
    foi_exemptions: list[str]
    #: The day the exemption is reviewed (as extended by reviews since), or ceases.
    review_date: date | None = None
    ceases_to_be_exempt: bool = False


class RegisterPapers(FrozenRow):
    """The whole of Part 1 beside the summary and recommendations, the board's advice, who
    decided and why, and the Part 2 notice: what the published decision form shows."""

    approval_sought: list[str] = Field(default_factory=list)
    sections: list[RegisterSection] = Field(default_factory=list)
    personal_data: bool | None = None
    dpia: str | None = None
    money_lines: list[RegisterMoneyLine] = Field(default_factory=list)
    total_expenditure: Decimal | None = None
    contracts: list[RegisterContract] = Field(default_factory=list)
    background_papers: list[str] = Field(default_factory=list)
    report_author: str | None = None
    board: RegisterBoard | None = None
    chief_executive_consulted: date | None = None
    #: The decision maker's user id (the principal when a deputy signed), and the deputy.
    decided_by: str | None = None
    deputy: str | None = None
    #: "approved" or "declined".
    outcome: str = "approved"
    #: The decision maker's reasons: the comment on approval, the reason for a decline.
    reasons: str | None = None
    part2: RegisterPart2Notice | None = None


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
    #: The rest of Part 1, the board's advice, the reasons and the Part 2 notice; None for
    #: an entry projected before they were (never after a rebuild).
    papers: RegisterPapers | None = None
    #: The decision maker's name, from the directory when the page is read (not stored).
    decision_maker_name: str | None = None


#: The longest search text the register takes.
MAX_SEARCH = 200

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
    text: str | None = None,
    decided_by: str | None = None,
) -> RegisterPage:
    """A page of the public register, most recently published first, matching every filter
    given: `reference` exactly (`pcd 679` finds `PCD 679`), `title_contains` as a
    case-insensitive substring, `text` in the title or the executive summary, the date
    signed between `signed_from` and `signed_to` (both included), `decided_by` the decision
    maker's user id. `cursor` is the `next` of the page before.

    A `text` search reads the summaries of the entries it passes (no index holds them): the
    register holds thousands of decisions, not millions, and a page stops at `limit`.

    The rows are read backwards along ix_register_entries_published (published_at,
    case_id, title), `limit` + 1 at most; a title search filters that index's entries on
    SQLite, and asks the trigram index ix_register_entries_title_trgm on PostgreSQL.
    """
    check_limit(limit, MAX_PAGE)
    for name, value in (("text", text), ("decided_by", decided_by), ("title", title_contains)):
        if value is not None and len(value) > MAX_SEARCH:
            raise QueryError(name, f"must be at most {MAX_SEARCH} characters")
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
        r.executive_summary,
        r.decided_by,
    )
    if (reference := search_text("reference", reference)) is not None:
        query = query.where(r.reference == normalise_reference(reference))
    if (title_contains := search_text("title", title_contains)) is not None:
        query = query.where(r.title.icontains(title_contains, autoescape=True))
    if (text := search_text("text", text)) is not None:
        query = query.where(
            sa.or_(
                r.title.icontains(text, autoescape=True),
                r.executive_summary.icontains(text, autoescape=True),
            )
        )
    if (decided_by := search_text("decided_by", decided_by)) is not None:
        query = query.where(r.decided_by == decided_by)
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


class RegisterDecisionMaker(FrozenRow):
    """Someone who took decisions on the register: the search's choice of decision maker."""

    decided_by: str
    decision_maker: str
    name: str | None = None


#: The most decision makers the search offers (people who held the office, over years).
MAX_DECISION_MAKERS = 200


def decision_makers(engine: Engine) -> list[RegisterDecisionMaker]:
    """Who decided the decisions on the register, each once with the office they held, by
    user id; at most `MAX_DECISION_MAKERS`."""
    r = register_entries.c
    query = (
        sa.select(r.decided_by, sa.func.max(r.decision_maker).label("decision_maker"))
        .where(r.decided_by.is_not(None))
        .group_by(r.decided_by)
        .order_by(r.decided_by)
        .limit(MAX_DECISION_MAKERS)
    )
    return [RegisterDecisionMaker.model_validate(row) for row in read_rows(engine, query)]


def person_names(directory: Directory, user_ids: Iterable[str | None]) -> dict[str, str]:
    """The names of these people as the directory holds them; one it does not know is left
    out (the register then shows the office alone)."""
    names: dict[str, str] = {}
    for user_id in dict.fromkeys(u for u in user_ids if u):
        try:
            names[user_id] = directory.get_user(user_id).name
        except IdentityError:
            continue
    return names


def named_page(page: RegisterPage, directory: Directory) -> RegisterPage:
    """The page with each decision maker's name."""
    names = person_names(directory, (i.decided_by for i in page.items))
    return page.model_copy(
        update={
            "items": [
                i.model_copy(update={"decision_maker_name": names.get(i.decided_by or "")})
                for i in page.items
            ]
        }
    )


def named_entry(row: RegisterRow, directory: Directory) -> RegisterRow:
    """The entry with the decision maker's name (and the deputy's, when one signed)."""
    papers = row.papers
    if papers is None or papers.decided_by is None:
        return row
    names = person_names(directory, (papers.decided_by, papers.deputy))
    name = names.get(papers.decided_by)
    if name is not None and papers.deputy is not None:
        name = f"{names.get(papers.deputy, 'a deputy')} for {name}"
    return row.model_copy(update={"decision_maker_name": name})


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
    data["papers"] = (
        RegisterPapers.model_validate_json(data["papers"]) if data.get("papers") else None
    )
    data.pop("decided_by", None)
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


def _words(value: object) -> str:
    return str(getattr(value, "value", value)).replace("_", " ")


def _sections(case: Case) -> list[RegisterSection]:
    """Part 1's sections in the order of the paper, each as written (line breaks kept)."""
    found: list[tuple[str, str | None]] = [
        ("Introduction and background", case.introduction_and_background),
        ("Issues for consideration", case.issues_for_consideration),
        ("Contributes to the Police and Crime Plan", case.police_and_crime_plan),
        ("Financial comments", case.financial_comments),
        ("Commercial comments", case.commercial_comments),
        ("Procurement comments", case.procurement_comments),
        ("Legal comments", case.legal_comments),
        ("Equality comments", case.equality_comments),
        ("Privacy comments", case.privacy_comments.text),
        ("Real estate implications", case.real_estate_implications),
        ("Environmental implications", case.environmental_implications),
    ]
    if case.time_sensitivity is not None:
        found.append(("Time sensitivity", case.time_sensitivity.reason))
    return [RegisterSection(heading=h, text=t) for h, t in found if t]


def _contract(index: int, p: Procurement) -> RegisterContract:
    vat = (
        "includes VAT"
        if p.vat_included is True
        else "net of VAT"
        if p.vat_included is False
        else "VAT basis not stated"
    )
    return RegisterContract(
        line=p.id or f"contract {index + 1}",
        subject=p.subject,
        route=p.route_detail or _words(p.route),
        value=p.contract_value,
        vat=vat,
        term_years=p.term_years,
        suppliers=p.suppliers,
        single_tender_action=p.single_tender_action,
    )


def _board(state: CaseState, events: Iterable[Event]) -> RegisterBoard | None:
    board: str | None = None
    comment: str | None = None
    for event in events:
        if isinstance(event, PlacedOnAgenda) and event.meeting_id == state.meeting_id:
            board = event.board.value
        elif isinstance(event, BoardAdviceRecorded) and event.meeting_id == state.meeting_id:
            comment = event.comment
    case = state.case
    extremis = case.extremis_reason if case is not None else None
    if state.board_advice is None and extremis is None:
        return None
    return RegisterBoard(
        board=board or (case.board.board.value if case and case.board else None),
        meeting_date=state.meeting_date,
        advice=_words(state.board_advice) if state.board_advice is not None else None,
        conditions=state.board_conditions,
        comment=comment,
        extremis_reason=extremis,
    )


def _part2_notice(state: CaseState) -> RegisterPart2Notice | None:
    """Part 2's marking, exemptions and review date: never its text or its note."""
    part2 = state.case.part2 if state.case is not None else None
    if part2 is None:
        return None
    return RegisterPart2Notice(
        security_marking=part2.security_marking.value,
        exemption_basis=part2.exemption_basis,
        foi_exemptions=[foi_title(s) for s in part2.foi_sections],
        review_date=state.part2_review_date or part2.review_date,
        ceases_to_be_exempt=part2.ceases_to_be_exempt_on is not None
        and state.part2_extensions == 0,
    )


def register_papers(state: CaseState, events: Iterable[Event] = ()) -> RegisterPapers:
    """What the published decision form shows beside the summary and recommendations, from
    the decided case: Part 1's sections, tables of money and contracts, the board's advice,
    who decided and why, and that a Part 2 exists (its exemption, never its content)."""
    case = state.case
    decided = state.decided_by
    papers = RegisterPapers(
        board=_board(state, events),
        chief_executive_consulted=london_date(state.ceo_consulted_at)
        if state.ceo_consulted_at
        else None,
        decided_by=decided.accountable_user if decided else None,
        deputy=decided.user_id if decided and decided.on_behalf_of else None,
        outcome="declined" if state.stage is Stage.DECLINED else "approved",
        reasons=state.decision_comment,
        part2=_part2_notice(state),
    )
    if case is None:
        return papers
    author = case.report_author
    return papers.model_copy(
        update={
            "approval_sought": [_words(a) for a in case.approval_sought],
            "sections": _sections(case),
            "personal_data": case.privacy_comments.personal_data,
            "dpia": _words(case.privacy_comments.dpia),
            "money_lines": [
                RegisterMoneyLine(
                    line=m.id or str(i + 1),
                    kind=_words(m.kind),
                    amount=m.amount,
                    financial_years=list(m.financial_years),
                    funding_source=m.funding_source,
                    description=m.description,
                )
                for i, m in enumerate(case.money_lines)
            ],
            "total_expenditure": case.total_expenditure if case.money_lines else None,
            "contracts": [_contract(i, p) for i, p in enumerate(case.procurements)],
            "background_papers": list(case.background_papers),
            "report_author": f"{author.name}, {author.role}, on behalf of {author.on_behalf_of}",
        }
    )


def register_answer(state: CaseState, events: Iterable[Event] = ()) -> dict[str, Any]:
    """The register's columns besides Part 1 (`late`, `timeliness`, `recorded`, `grants`,
    `cross_references`, `papers`, `decided_by`), from the decided case and its events:
    Part 1 facts only."""
    events = list(events)
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
        "decided_by": state.decided_by.accountable_user if state.decided_by else None,
        "papers": register_papers(state, events).model_dump_json(),
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
