"""What the officer must see before a case goes on: `case_checks(case, routing, today)`.

The engine's own warnings (`Routing.warnings`: possible split awards, a procedure the
Regulations do not allow as described, an unknown VAT basis) come first, then what this
module finds by comparing the paper with itself and with the routing:

- the recommendations against the routing (`CheckKind.RECOMMENDATION`, acknowledge): an
  amount that is not the sum of the lines it covers; a line the DMPC must approve that no
  recommendation to approve covers; a recommendation to approve a line the DMPC only notes;
  a recommendation to note a line the DMPC must approve;
- the financial tables (`CheckKind.FIGURES`, acknowledge): stated totals, of rows and of
  columns, that are not the sum of what they total;
- the officer declaration (`CheckKind.DECLARATION`, fix): lines neither ticked nor explained;
- the required-by date (`CheckKind.REQUIRED_BY`, info): already passed.

Pure and deterministic: the same case, routing and day give the same checks, in the same
order, with the same keys (`make_check`), so that an acknowledgement names what was seen.
No message depends on `today` beyond whether a check is raised, so a key does not change
from one day to the next.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from domain.case import Case, FinancialTable, IncomingFundingKind
from domain.money import format_pounds
from domain.rules.delegation import DecisionMaker, Routing
from domain.rules.findings import Check, CheckKind, Finding, Outcome, Severity, make_check
from domain.rules.funding import EXISTING_BUDGETS, EXPENDITURE_SOUGHT
from domain.rules.scheme import RuleKind

__all__ = ["case_checks"]

_ZERO = Decimal("0.00")


def case_checks(case: Case, routing: Routing, today: date) -> list[Check]:
    """Every check on `case` judged with `routing` on `today`, without repeats, in order:
    the engine's warnings, recommendations, figures, declaration, required-by."""
    found = [
        *routing.warnings,
        *_recommendation_checks(case, routing),
        *_table_checks(case.financial_tables),
        *_declaration_checks(case),
        *_required_by_checks(case, today),
    ]
    unique: dict[str, Check] = {}
    for check in found:
        unique.setdefault(check.key, check)
    return list(unique.values())


# -- recommendations against the routing ---------------------------------------------------


@dataclass(frozen=True)
class _Line:
    """A line a recommendation can cover, with what the routing says of it."""

    #: How a person names it: "grant line 3 (G3, Bright Futures)".
    label: str
    line_id: str | None
    amount: Decimal
    #: The routing's outcome for the line; None when the routing says nothing of it alone.
    outcome: Outcome | None
    #: The paragraph of that outcome, if any.
    reference: str | None
    #: The grant group it belongs to, if any (a recommendation may cover a whole group).
    group: str | None = None


def _named(kind: str, position: int, line_id: str | None, what: str | None) -> str:
    inner = ", ".join(p for p in (line_id, what) if p)
    return f"{kind} {position}" + (f" ({inner})" if inner else "")


def _finding_for(findings: Iterable[Finding], kinds: set[RuleKind], subject: str) -> list[Finding]:
    """The findings of `kinds` whose subject names `subject` among the contracts it tested
    together ("procurement of A; B")."""
    matched = []
    for finding in findings:
        if finding.rule not in kinds:
            continue
        first, *rest = finding.subject.split("; ")
        if subject in rest or first == subject or first.endswith(" " + subject):
            matched.append(finding)
    return matched


def _strongest(findings: list[Finding]) -> Finding | None:
    for outcome in (Outcome.DMPC_APPROVES, Outcome.DMPC_NOTES, Outcome.BELOW_THRESHOLD):
        for finding in findings:
            if finding.outcome is outcome:
                return finding
    return None


def _lines(case: Case, routing: Routing) -> list[_Line]:
    """Every line of the case a recommendation can cover, in the order of the form (money
    lines, grant lines, procurements, incoming funding), with its outcome in the routing."""
    lines: list[_Line] = []
    spending = [f for f in routing.findings if f.rule is RuleKind.EXPENDITURE]
    tested = _strongest([f for f in spending if f.subject == EXPENDITURE_SOUGHT])
    noted = _strongest([f for f in spending if f.subject == EXISTING_BUDGETS])
    if not any(f.subject in (EXPENDITURE_SOUGHT, EXISTING_BUDGETS) for f in spending):
        # A routing recorded before these subjects were fixed: its one expenditure finding.
        tested = _strongest(spending)
    for position, money in enumerate(case.money_lines, start=1):
        judged: Finding | None
        if tested is not None and tested.subject == EXPENDITURE_SOUGHT:
            # The expenditure is sought: each line is part of it unless the paper notes it.
            judged = noted if money.noted else tested
        elif money.funded_by is None:
            judged = noted or tested
        else:
            # Not sought, paid for by incoming money: it follows the offer, not this test.
            judged = None
        lines.append(
            _Line(
                _named("money line", position, money.id, money.description),
                money.id,
                money.amount,
                judged.outcome if judged else None,
                judged.reference if judged else None,
            )
        )
    by_index = {outcome.index: outcome for outcome in routing.grant_lines}
    for index, grant in enumerate(case.grant_lines):
        judged_line = by_index.get(index)
        who = grant.recipient or (f"{grant.batch.count} grants" if grant.batch else None)
        lines.append(
            _Line(
                _named("grant line", index + 1, grant.id, who),
                grant.id,
                grant.amount,
                judged_line.outcome if judged_line else None,
                judged_line.reference if judged_line else None,
                grant.group,
            )
        )
    contract_rules = {RuleKind.PROCUREMENT, RuleKind.CONTRACT_EXEMPTION}
    for position, contract in enumerate(case.procurements, start=1):
        judged = _strongest(_finding_for(routing.findings, contract_rules, contract.subject))
        lines.append(
            _Line(
                _named("procurement", position, contract.id, contract.subject),
                contract.id,
                contract.contract_value,
                judged.outcome if judged else None,
                judged.reference if judged else None,
            )
        )
    for position, funding in enumerate(case.incoming_funding, start=1):
        rule = (
            RuleKind.GRANT_FUNDING_OFFER
            if funding.kind is IncomingFundingKind.OFFER
            else RuleKind.GRANT_FUNDING_BID
        )
        judged = _strongest([f for f in routing.findings if f.rule is rule])
        lines.append(
            _Line(
                _named("incoming funding", position, funding.id, funding.funder),
                funding.id,
                funding.amount,
                judged.outcome if judged else None,
                judged.reference if judged else None,
            )
        )
    return lines


def _covered(names: list[str], lines: list[_Line]) -> list[_Line]:
    """The lines a recommendation's `covers` names: line ids, and grant groups (every line
    of the group), each line once, in the order of the form."""
    wanted = set(names)
    return [
        line
        for line in lines
        if (line.line_id is not None and line.line_id in wanted)
        or (line.group is not None and line.group in wanted)
    ]


#: The most lines a message names one by one (the rest are counted), so that a message
#: stays short enough to quote in an acknowledgement.
MAX_NAMED_LINES = 10


def _labels(lines: list[_Line]) -> str:
    named = "; ".join(
        f"{line.label}: {format_pounds(line.amount)}" for line in lines[:MAX_NAMED_LINES]
    )
    more = len(lines) - MAX_NAMED_LINES
    return named + (f"; and {more} more line(s)" if more > 0 else "")


def _each(lines: list[_Line], with_reference: bool = False) -> str:
    """ "grant line 2 (G2, Bright Futures) (£20,000)", or several such, at most
    `MAX_NAMED_LINES` named."""
    said = [
        f"{line.label} ({format_pounds(line.amount)}"
        + (f", {line.reference})" if with_reference else ")")
        for line in lines[:MAX_NAMED_LINES]
    ]
    more = len(lines) - MAX_NAMED_LINES
    return "; ".join(said) + (f"; and {more} more line(s)" if more > 0 else "")


def _recommendation_checks(case: Case, routing: Routing) -> list[Check]:
    """At most three checks a recommendation (its amount; lines it asks to approve that are
    only noted; lines it asks to note that must be approved) and one for the lines no
    recommendation asks to approve: a paper of many lines gives a few checks to read, each
    naming its lines, never one check a line."""
    lines = _lines(case, routing)
    checks: list[Check] = []

    def add(subject: str, message: str) -> None:
        checks.append(make_check(CheckKind.RECOMMENDATION, Severity.ACKNOWLEDGE, subject, message))

    uses_covers = any(r.covers for r in case.recommendations)
    approved_lines: set[int] = set()
    for rec in case.recommendations:
        covered = _covered(rec.covers, lines)
        subject = f"recommendation {rec.number}"
        if rec.amount is not None and covered:
            total = sum((line.amount for line in covered), _ZERO)
            if total != rec.amount:
                add(
                    subject,
                    f"Recommendation {rec.number} states {format_pounds(rec.amount)}, but the "
                    f"lines it covers add up to {format_pounds(total)} ({_labels(covered)}).",
                )
        if rec.action == "approve":
            approved_lines.update(id(line) for line in covered)
            only_noted = [line for line in covered if line.outcome is Outcome.DMPC_NOTES]
            if only_noted:
                reference = only_noted[0].reference
                add(
                    f"{subject}; " + "; ".join(line.label for line in only_noted[:3]),
                    f"Recommendation {rec.number} asks the DMPC to approve "
                    f"{_each(only_noted)}, but the routing says the DMPC only notes "
                    + ("it" if len(only_noted) == 1 else "them")
                    + f" ({reference}).",
                )
        else:
            must = [line for line in covered if line.outcome is Outcome.DMPC_APPROVES]
            if must:
                reference = must[0].reference
                add(
                    f"{subject}; " + "; ".join(line.label for line in must[:3]),
                    f"Recommendation {rec.number} asks the DMPC to note {_each(must)}, but "
                    "the routing says the DMPC must approve "
                    + ("it" if len(must) == 1 else "them")
                    + f" ({reference}).",
                )
    if uses_covers:
        uncovered = [
            line
            for line in lines
            if line.outcome is Outcome.DMPC_APPROVES and id(line) not in approved_lines
        ]
        if uncovered:
            add(
                "; ".join(line.label for line in uncovered[:3]),
                f"The routing says the DMPC must approve {_each(uncovered, True)}, but no "
                "recommendation to approve covers " + ("it." if len(uncovered) == 1 else "them."),
            )
    elif routing.decision_maker is DecisionMaker.DMPC and not any(
        r.action == "approve" for r in case.recommendations
    ):
        paragraphs = ", ".join(routing.paragraphs)
        add(
            "recommendations",
            f"The routing says the DMPC must approve this case ({paragraphs}), but every "
            "recommendation only asks the DMPC to note.",
        )
    return checks


# -- financial tables ------------------------------------------------------------------------


def _sum(cells: list[Decimal | None]) -> Decimal | None:
    """The sum of the cells, blanks as 0; None when every cell is blank."""
    given = [c for c in cells if c is not None]
    return sum(given, _ZERO) if given else None


def _table_name(position: int, table: FinancialTable) -> str:
    return _named("table", position, table.id, table.title)


#: The most mismatches of one table a check names one by one (the rest are counted).
MAX_NAMED_CELLS = 5


def _table_checks(tables: list[FinancialTable]) -> list[Check]:
    """One check a table whose stated totals do not add up, naming its first mismatches:
    a large table typed wrong is one thing to fix or acknowledge, not thousands."""
    checks: list[Check] = []
    for position, table in enumerate(tables, start=1):
        name = _table_name(position, table)
        found = _table_mismatches(table)
        if not found:
            continue
        if len(found) == 1:
            message = f"In {name}, {found[0]}."
        else:
            named = "; ".join(found[:MAX_NAMED_CELLS])
            more = len(found) - MAX_NAMED_CELLS
            message = f"In {name}, {len(found)} stated totals do not add up: {named}" + (
                f"; and {more} more." if more > 0 else "."
            )
        checks.append(make_check(CheckKind.FIGURES, Severity.ACKNOWLEDGE, name, message))
    return checks


def _table_mismatches(table: FinancialTable) -> list[str]:
    """Each stated total of the table that is not the sum of what it totals, in words."""
    found: list[str] = []
    span_start = 0
    for row_index, row in enumerate(table.rows):
        row_name = f"row {row_index + 1} ({row.label})"
        if row.total:
            span = table.rows[span_start:row_index]
            for column, heading in enumerate(table.columns):
                stated = row.amounts[column]
                summed = _sum([r.amounts[column] for r in span])
                if stated is None or summed is None or stated == summed:
                    continue
                found.append(
                    f"{row_name} states {format_pounds(stated)} in column {heading}, but the "
                    f"rows it totals add up to {format_pounds(summed)}"
                )
            span_start = row_index + 1
        if table.total_column:
            stated = row.amounts[-1]
            summed = _sum(row.amounts[:-1])
            if stated is not None and summed is not None and stated != summed:
                found.append(
                    f"{row_name} states {format_pounds(stated)} in column {table.columns[-1]}, "
                    f"but its other columns add up to {format_pounds(summed)}"
                )
    return found


# -- the officer declaration and the required-by date ----------------------------------------


def _declaration_checks(case: Case) -> list[Check]:
    declaration = case.officer_declaration
    lines = declaration.lines()
    unexplained = declaration.unexplained()
    checks = []
    if lines and unexplained and not any(item.confirmed for _, item in lines):
        names = ", ".join(f"officer_declaration.{name}" for name, _ in lines)
        checks.append(
            make_check(
                CheckKind.DECLARATION,
                Severity.FIX,
                "officer_declaration",
                f"Every line of the officer declaration is unticked ({names}): tick each "
                "line, or give the reason it cannot be ticked.",
            )
        )
    for name in unexplained:
        field = f"officer_declaration.{name}"
        checks.append(
            make_check(
                CheckKind.DECLARATION,
                Severity.FIX,
                field,
                f"{field}: not ticked and no reason given",
            )
        )
    return checks


def _required_by_checks(case: Case, today: date) -> list[Check]:
    sensitivity = case.time_sensitivity
    if sensitivity is None or sensitivity.required_by >= today:
        return []
    day = sensitivity.required_by
    return [
        make_check(
            CheckKind.REQUIRED_BY,
            Severity.INFO,
            "time_sensitivity.required_by",
            f"The decision was required by {day.day} {day:%B %Y}, a date that has already "
            "passed: the case will be decided late.",
        )
    ]
