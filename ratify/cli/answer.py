"""`ratify case show`: the papers' parts and the engine's answer, as the case page shows them.

Each grant line with the appendix it falls in (approve or note), its group and paragraph;
each group with its lines and total; each contract's procedure with its ground, framework or
exemption, its VAT basis, term and extensions, the Public Contracts Regulations test and
whether the procedure is allowed; offers of funding; the paper's tables of figures (total
rows bold, negative amounts with a minus); cross-references; the form and the sections that
do not apply; the checks the engine raised.
"""

from __future__ import annotations

from decimal import Decimal

from rich.console import Console
from rich.table import Table
from rich.text import Text

from domain.case import NOT_APPLICABLE, Case, FinancialTable, GrantLine, Procurement
from domain.money import format_figure, format_pounds
from domain.rules.delegation import Routing
from domain.rules.scheme import RuleKind
from ratify.cli.common import make_table

_GROUP_KINDS = {
    "declared": "declared by the paper",
    "recipient": "one recipient",
    "batch": "batch of separate awards",
}
_OPTIONAL_SECTIONS = (
    ("police and crime plan", "police_and_crime_plan"),
    ("commercial comments", "commercial_comments"),
    ("procurement comments", "procurement_comments"),
    ("real estate implications", "real_estate_implications"),
    ("environmental implications", "environmental_implications"),
)


def _pounds(value: Decimal | None) -> str:
    return format_pounds(value) if value is not None else "-"


def _years(value: Decimal) -> str:
    text = f"{value.normalize():f}"
    return f"{text} year" if value == 1 else f"{text} years"


def line_name(lines: list[GrantLine], index: int) -> str:
    """A grant line's id, or "line 3"."""
    line_id = lines[index].id if index < len(lines) else None
    return line_id or f"line {index + 1}"


def grant_recipient(line: GrantLine) -> str:
    """The recipient, or for a batch "23 grants (largest £48,000)"."""
    if line.batch is None:
        return line.recipient or ""
    text = f"{line.batch.count} grants (largest {format_pounds(line.batch.largest)})"
    return f"{text}: {line.recipient}" if line.recipient else text


def procedure(p: Procurement) -> str:
    """ "negotiated without prior publication, on the ground reg 32(2)(b)"."""
    text = p.route.value.replace("_", " ")
    if p.regulation_ground:
        text += f", on the ground {p.regulation_ground}"
    if p.framework:
        text += f", under the framework {p.framework}"
    if p.exemption:
        text += f", under the exemption {p.exemption}"
    if p.route_detail:
        text += f" ({p.route_detail})"
    return text


def vat_basis(p: Procurement) -> str:
    if p.vat_included is True:
        return "includes VAT"
    if p.vat_included is False:
        return "net of VAT"
    return "not stated: compared both ways"


def term(p: Procurement) -> str:
    if p.term_years is None:
        return "not stated"
    text = _years(p.term_years)
    if p.extension_years:
        text += f", with extension options of up to {_years(p.extension_years)}"
    return text


def print_answer(out: Console, case: Case, routing: Routing | None) -> None:
    """The parts of `case` a decision turns on, with `routing` (once submitted)."""
    absent = [
        f"{name}: {'not applicable' if value == NOT_APPLICABLE else 'not given'}"
        for name, field in _OPTIONAL_SECTIONS
        if (value := getattr(case, field)) is None or value == NOT_APPLICABLE
    ]
    out.print(f"form: {case.form_version.value}", markup=False)
    if absent:
        out.print(f"sections: {'; '.join(absent)}", markup=False)
    if case.is_extremis:
        board = f" to the {case.board.board.value}" if case.board else " (no board named)"
        out.print(f"extremis submission{board}: {case.extremis_reason}", markup=False)
    if routing is not None:
        _print_routing(out, routing)
    if case.grant_lines:
        _print_grants(out, case, routing)
    if case.procurements:
        _print_procurements(out, case, routing)
    for f in case.incoming_funding:
        kind = "Offer of grant funding" if f.kind.value == "offer" else "Bid for grant funding"
        out.print(Text(f"{kind} from {f.funder}: {format_pounds(f.amount)}", style="bold"))
        if f.capital is not None or f.revenue is not None:
            out.print(
                f"  split: capital {_pounds(f.capital)}; revenue {_pounds(f.revenue)}",
                markup=False,
            )
        out.print(f"  spend by: {f.spend_by.isoformat() if f.spend_by else 'not stated'}")
        match = (
            format_pounds(f.match_funding_required)
            + (f" from {f.match_funding_source}" if f.match_funding_source else "")
            if f.match_funding_required
            else "none required"
        )
        out.print(f"  match funding: {match}", markup=False)
        out.print(f"  conditions: {f.conditions or 'none stated'}", markup=False)
    for table in case.financial_tables:
        out.print(financial_table(table))
    if case.cross_references:
        out.print(Text("Other decisions referred to", style="bold"))
        for x in case.cross_references:
            note = f" ({x.note})" if x.note else ""
            out.print(f"  {x.relation.value.replace('_', ' ')}: {x.reference}{note}", markup=False)


def _print_routing(out: Console, routing: Routing) -> None:
    table = make_table(
        f"Who must approve, and why (judged on {routing.judged_on.isoformat()}, "
        f"{routing.rule_set.label})",
        "paragraph",
        "outcome",
        "why",
        keep={"paragraph", "outcome"},
    )
    for f in routing.findings:
        if routing.grant_lines and f.rule is RuleKind.THIRD_PARTY_GRANT:
            continue  # each grant line's appendix is in the grants table
        table.add_row(f.reference, f.outcome.label, f.explanation)
    out.print(table)


def _print_grants(out: Console, case: Case, routing: Routing | None) -> None:
    lines = case.grant_lines
    if routing is None or not routing.grant_lines:
        table = make_table(
            "Grants to third parties", "line", "recipient", "amount", "group", keep={"line"}
        )
        for i, g in enumerate(lines):
            table.add_row(line_name(lines, i), grant_recipient(g), _pounds(g.amount), g.group or "")
        out.print(table)
        return
    labels = {g.key: g.label for g in routing.grant_groups}
    table = make_table(
        "Grants: the appendix each falls in (approve: the DMPC approves; note: noted)",
        *("line", "recipient", "amount", "group", "tested at", "appendix", "paragraph"),
        keep={"line", "amount", "tested at", "appendix"},
    )
    for o in routing.grant_lines:
        recipient = grant_recipient(lines[o.index]) if o.index < len(lines) else o.recipient
        table.add_row(
            line_name(lines, o.index),
            recipient or "",
            _pounds(o.amount),
            labels.get(o.group, o.group),
            _pounds(o.tested_amount),
            Text(o.outcome.label, style="bold"),
            o.reference,
        )
    out.print(table)
    groups = make_table(
        "Grants tested together (one award for the £50,000 test)",
        *("group", "kind", "lines", "total", "tested at", "appendix", "paragraph"),
        keep={"total", "tested at", "appendix"},
    )
    for grp in routing.grant_groups:
        groups.add_row(
            grp.label,
            _GROUP_KINDS.get(grp.kind, grp.kind),
            ", ".join(line_name(lines, i) for i in grp.lines),
            _pounds(grp.total),
            _pounds(grp.tested_amount),
            Text(grp.outcome.label, style="bold"),
            grp.reference,
        )
    out.print(groups)


def _print_procurements(out: Console, case: Case, routing: Routing | None) -> None:
    for p in case.procurements:
        out.print(Text(f"Contract: {p.subject}", style="bold"))
        out.print(f"  procedure: {procedure(p)}", markup=False)
        out.print(f"  value: {_pounds(p.contract_value)} ({vat_basis(p)})", markup=False)
        out.print(f"  term: {term(p)}", markup=False)
        out.print(f"  supplier: {', '.join(p.suppliers) or '-'}", markup=False)
        sta = f"yes: {p.single_tender_justification}" if p.single_tender_action else "no"
        out.print(f"  single tender action: {sta}", markup=False)
    if routing is None:
        return
    for t in routing.procurement_tests:
        engaged = "engaged" if t.engaged else "not engaged"
        out.print(f"  PCR 2015 {engaged}: {t.explanation}", markup=False)
    for a in routing.procedures:
        allowed = "cannot tell" if a.allowed is None else "allowed" if a.allowed else "NOT allowed"
        out.print(f"  procedure {allowed}: {a.subject}: {a.explanation}", markup=False)


def financial_table(t: FinancialTable) -> Table:
    """The table as the paper gives it: total rows bold, negative amounts with a minus."""
    table = Table(title=t.title)
    table.add_column("")
    for column in t.columns:
        table.add_column(column, justify="right", no_wrap=True)
    for row in t.rows:
        style = "bold" if row.total else None
        table.add_row(
            row.label,
            *(format_figure(a) if a is not None else "" for a in row.amounts),
            style=style,
        )
    return table
