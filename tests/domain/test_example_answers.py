"""The engine's full answer for every case file in examples/ (issue 14, "Done when").

Each example is judged on a day that fits its paper (the board meeting it was written for,
or a day in its financial year), and the test states what the paper needs from the scheme of
delegation (/work/shared/DOMAIN.md, domain/rules/scheme_of_delegation.yaml): the decision
maker, the route, the paragraphs, every finding (outcome, paragraph, amount, threshold), the
Public Contracts Regulations test (threshold in force, value compared, engaged or not), the
procedure assessed, the sign-offs, and what `case_checks` raises and does not raise. For the
grants programme: every grant line's outcome and group, every group's total, each batch
tested by its largest award, and the splitting warning.

Expected figures are the paper's own, written out or added up here from the file, never
computed by the engine. Explanations are asserted by their key words only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from domain.case import Case
from domain.casefile import parse_case
from domain.roles import AdviceArea
from domain.rules.checks import case_checks
from domain.rules.delegation import DecisionMaker, Route, Routing, route_case
from domain.rules.findings import Check, CheckKind, Finding, Outcome
from domain.rules.scheme import RuleKind

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

#: The day each paper is judged on, with why it fits the paper.
JUDGED_ON: dict[str, date] = {
    # For the IAM of 16 September 2021 (FY 2021/22).
    "grants-programme": date(2021, 9, 1),
    # Extremis: offer made 21 March 2022, agreement due back 14 April 2022 (FY 2022/23).
    "grant-offer-home-office": date(2022, 4, 4),
    # For the IAB of 17 October 2019; the paper quotes the £181,302 threshold.
    "single-tender-action": date(2019, 10, 1),
    # For the IAM of 22 April 2021; the paper quotes the £189,330 threshold.
    "framework-call-off": date(2021, 4, 6),
    # For the IAM of 21 October 2021 (FY 2021/22).
    "budget-drawdown": date(2021, 10, 4),
    # For the IAB of July 2019 (signed 19/7/19); the paper quotes £181,302.
    "mettrace": date(2019, 6, 24),
    # Required by 13/12/2019, signed 17/01/2020; the paper quotes £181,302.
    "pcd-679-data-environment-solution": date(2019, 11, 25),
}

P48 = "para 4.8"
P413 = "para 4.13"
GRANTS = "grants to third parties"

ALWAYS = [AdviceArea.FINANCE, AdviceArea.LEGAL]
EQ = AdviceArea.EQUALITIES
COM = AdviceArea.COMMERCIAL
IA = AdviceArea.INFORMATION_ASSURANCE


def load(name: str) -> Case:
    path = EXAMPLES / f"{name}.yaml"
    return parse_case(path.read_text(encoding="utf-8"), str(path))


def answer(name: str) -> tuple[Case, Routing, list[Check]]:
    case = load(name)
    on = JUDGED_ON[name]
    routing = route_case(case, on)
    return case, routing, case_checks(case, routing, on)


def pounds(value: int | str) -> Decimal:
    return Decimal(value).quantize(Decimal("0.01"))


def row(finding: Finding) -> tuple[RuleKind, str, Outcome, Decimal | None, Decimal | None]:
    return (finding.rule, finding.reference, finding.outcome, finding.amount, finding.threshold)


def words_in(text: str, *words: str) -> bool:
    return all(w in text for w in words)


# -- the answer per example: decision maker, route, paragraphs, findings, sign-offs ---------


@dataclass(frozen=True)
class Expected:
    name: str
    decision_maker: DecisionMaker
    route: Route
    paragraphs: list[str]
    signoffs: list[AdviceArea]
    #: (rule, paragraph, outcome, amount, threshold), in the engine's order: funding first,
    #: then procurement, then grants (the grants programme has its own tests).
    findings: list[tuple[RuleKind, str, Outcome, Decimal | None, Decimal | None]]
    #: Key words of each finding's explanation, in the same order.
    explained_by: list[tuple[str, ...]]


EXPECTED = [
    Expected(
        "single-tender-action",
        DecisionMaker.DMPC,
        Route.BOARD,
        [P413],
        [*ALWAYS, COM, EQ, IA],  # personal data of detained people
        [
            # £160,000 a year for four years, within the Digital Policing budget: noted.
            (
                RuleKind.EXPENDITURE,
                P48,
                Outcome.DMPC_NOTES,
                pounds(4 * 160_000),
                pounds(500_000),
            ),
            # The single tender action: a contract exemption of £100,000 or above.
            (
                RuleKind.CONTRACT_EXEMPTION,
                P413,
                Outcome.DMPC_APPROVES,
                pounds(640_000),
                pounds(100_000),
            ),
        ],
        [
            ("£640,000", "existing approved budgets", "notes"),
            ("single tender action", "£640,000", "£100,000", P413),
        ],
    ),
    Expected(
        "framework-call-off",
        DecisionMaker.DMPC,
        Route.BOARD,
        [P48, P413],
        [*ALWAYS, COM, EQ],
        [
            # £250,000 capital and £260,000 a year for five years.
            (
                RuleKind.EXPENDITURE,
                P48,
                Outcome.DMPC_APPROVES,
                pounds(250_000 + 5 * 260_000),
                pounds(500_000),
            ),
            (
                RuleKind.PROCUREMENT,
                P413,
                Outcome.DMPC_APPROVES,
                pounds(1_550_000),
                pounds(500_000),
            ),
        ],
        [
            ("£1,550,000", "£500,000", P48),
            ("Custody and Front Counter Network", "£1,550,000", "£500,000", P413),
        ],
    ),
    Expected(
        "budget-drawdown",
        DecisionMaker.DMPC,
        Route.BOARD,
        [P48],
        [*ALWAYS, EQ],
        [
            # Capital 420,000 + 705,000 + 60,000 and revenue 60,000 + 90,000 + 15,000.
            (
                RuleKind.EXPENDITURE,
                P48,
                Outcome.DMPC_APPROVES,
                pounds(420_000 + 705_000 + 60_000 + 60_000 + 90_000 + 15_000),
                pounds(500_000),
            ),
            # The drawdown from the reserve: a budget movement of £500,000 or above.
            (
                RuleKind.BUDGET_VIREMENT,
                P48,
                Outcome.DMPC_APPROVES,
                pounds(1_350_000),
                pounds(500_000),
            ),
        ],
        [("£1,350,000", "£500,000", P48), ("virement", "£1,350,000", "£500,000", P48)],
    ),
    Expected(
        "mettrace",
        DecisionMaker.DMPC,
        Route.BOARD,
        [P413],
        [*ALWAYS, COM, EQ, IA],
        [
            # "Note that £5.6m cost over 5 years is included within existing approved MPS
            # budgets": noted, not approved.
            (
                RuleKind.EXPENDITURE,
                P48,
                Outcome.DMPC_NOTES,
                pounds(5 * 1_120_000),
                pounds(500_000),
            ),
            # "Approval to commence and award a tender": a contract of £500,000 or above.
            (
                RuleKind.PROCUREMENT,
                P413,
                Outcome.DMPC_APPROVES,
                pounds(5_600_000),
                pounds(500_000),
            ),
        ],
        [
            ("£5,600,000", "existing approved budgets", "notes"),
            ("MetTrace", "£5,600,000", "£500,000", P413),
        ],
    ),
    Expected(
        "pcd-679-data-environment-solution",
        DecisionMaker.DMPC,
        Route.BOARD,
        [P48, P413],
        [*ALWAYS, COM, EQ, IA],
        [
            # £353,000 capital and £87,000 a year for five years: "£788K".
            (
                RuleKind.EXPENDITURE,
                P48,
                Outcome.DMPC_APPROVES,
                pounds(353_000 + 5 * 87_000),
                pounds(500_000),
            ),
            (
                RuleKind.PROCUREMENT,
                P413,
                Outcome.DMPC_APPROVES,
                pounds(788_000),
                pounds(500_000),
            ),
        ],
        [("£788,000", "£500,000", P48), ("Data Environment Solution", "£788,000", P413)],
    ),
]


@pytest.mark.parametrize("expected", EXPECTED, ids=lambda e: e.name)
def test_decision_maker_route_paragraphs_findings_and_signoffs(expected: Expected) -> None:
    _, routing, _ = answer(expected.name)
    assert routing.decision_maker is expected.decision_maker
    assert routing.route is expected.route
    assert routing.paragraphs == expected.paragraphs
    assert routing.required_signoffs == expected.signoffs
    assert [row(f) for f in routing.findings] == expected.findings
    for finding, words in zip(routing.findings, expected.explained_by, strict=True):
        assert words_in(finding.explanation, *words), finding.explanation
    # Every one of these papers was judged by the 2019 scheme.
    assert routing.rule_set.scheme_version == "SoDC-2019"
    assert not routing.grant_lines and not routing.grant_groups


# -- the Public Contracts Regulations and the procedure -------------------------------------


@dataclass(frozen=True)
class Procedure:
    name: str
    #: The threshold in force on the day, its VAT basis and the day it took effect.
    threshold: Decimal
    threshold_vat_included: bool
    threshold_from: date
    #: The contract's value on the threshold's basis.
    compared: Decimal
    engaged: bool
    procedure: str
    allowed: bool
    ground: str | None
    #: Key words of the assessment's explanation.
    explained_by: tuple[str, ...]


PROCEDURES = [
    Procedure(
        "single-tender-action",
        pounds(181_302),
        False,
        date(2018, 1, 1),
        pounds(640_000),
        True,
        "negotiated_without_prior_publication",
        True,
        "reg 32(2)(b)",
        ("£181,302", "reg 32(2)(b)", "4 years in all"),
    ),
    Procedure(
        "framework-call-off",
        pounds(189_330),
        False,
        date(2020, 1, 1),
        pounds(1_550_000),
        True,
        "framework",
        True,
        "Crown Commercial Service Technology Services 3 (RM6100), Lot 3 Operational Services",
        ("£189,330", "reg 33", "RM6100", "5 years in all"),
    ),
    Procedure(
        "mettrace",
        pounds(181_302),
        False,
        date(2018, 1, 1),
        pounds(5_600_000),
        True,
        "open_tender",
        True,
        None,
        ("£181,302", "open procedure"),
    ),
    Procedure(
        "pcd-679-data-environment-solution",
        pounds(181_302),
        False,
        date(2018, 1, 1),
        pounds(788_000),
        True,
        "framework",
        True,
        # The framework is named only in the route's words: "CCS G-Cloud 11 framework".
        "CCS G-Cloud 11 framework",
        ("£181,302", "G-Cloud 11"),
    ),
]


@pytest.mark.parametrize("expected", PROCEDURES, ids=lambda e: e.name)
def test_regulations_test_and_procedure(expected: Procedure) -> None:
    case, routing, _ = answer(expected.name)
    assert len(case.procurements) == 1
    [test] = routing.procurement_tests
    assert test.threshold == expected.threshold
    assert test.threshold_vat_included is expected.threshold_vat_included
    assert test.threshold_effective_from == expected.threshold_from
    assert test.compared_value == expected.compared
    assert test.contract_value == case.procurements[0].contract_value
    assert test.vat_basis_known
    assert test.engaged is expected.engaged
    assert routing.regulations_engaged is expected.engaged
    assert words_in(test.explanation, f"£{expected.threshold:,.0f}", "engaged")

    [assessed] = routing.procedures
    assert assessed.procedure == expected.procedure
    assert assessed.regulations_engaged is expected.engaged
    assert assessed.allowed is expected.allowed
    assert assessed.ground == expected.ground
    assert assessed.threshold == expected.threshold
    assert assessed.threshold_effective_from == expected.threshold_from
    assert words_in(assessed.explanation, *expected.explained_by), assessed.explanation


@pytest.mark.parametrize("name", ["grants-programme", "grant-offer-home-office", "budget-drawdown"])
def test_papers_without_contracts_have_no_regulations_test(name: str) -> None:
    _, routing, _ = answer(name)
    assert routing.procurement_tests == []
    assert routing.procedures == []
    assert not routing.regulations_engaged


# -- case_checks: which mismatches exist and which do not -----------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "single-tender-action",
        "framework-call-off",
        "budget-drawdown",
        "mettrace",
        "pcd-679-data-environment-solution",
    ],
)
def test_recommendations_tables_declaration_and_dates_agree(name: str) -> None:
    """The recommendations cover what the routing says, their amounts are the sum of their
    lines, every table adds up, the declaration is complete, the date has not passed: on
    the day judged, nothing to acknowledge."""
    _, routing, checks = answer(name)
    assert routing.warnings == []
    assert checks == []


def test_budget_drawdown_table_adds_up_in_every_row_and_column() -> None:
    case = load("budget-drawdown")
    [table] = case.financial_tables
    *rows, total = table.rows
    assert total.total
    for r in rows:
        cells = [a or Decimal(0) for a in r.amounts]
        assert sum(cells[:-1]) == cells[-1], r.label
    for column in range(len(table.columns)):
        assert sum(r.amounts[column] or Decimal(0) for r in rows) == total.amounts[column]
    # The money lines are the same £1,185,000 capital and £165,000 revenue.
    capital = sum(m.amount for m in case.money_lines if m.kind.value == "capital")
    revenue = sum(m.amount for m in case.money_lines if m.kind.value == "revenue")
    assert (capital, revenue) == (pounds(1_185_000), pounds(165_000))
    assert total.amounts[-1] == capital + revenue


def test_pcd_679_decided_after_its_required_by_date_is_told_so() -> None:
    """PCD 679 was required by 13/12/2019 and signed on 17/01/2020: checked on the day of
    the decision, the date has passed, and only that is raised."""
    case = load("pcd-679-data-environment-solution")
    signed = date(2020, 1, 17)
    routing = route_case(case, JUDGED_ON["pcd-679-data-environment-solution"])
    checks = case_checks(case, routing, signed)
    assert [c.kind for c in checks] == [CheckKind.REQUIRED_BY]
    assert words_in(checks[0].message, "13 December 2019", "late")


# -- the grants programme ------------------------------------------------------------------

#: Appendix 1 of the paper: the groups declared, and the single awards of £50,000 or more.
MENTORING = "Bright Futures: Safer Streets Mentoring 2021-24"
PATHWAYS = "Southwark Youth Trust: Youth Pathways Programme"
ARTS_PILOT = "Bright Futures: Summer Arts Pilot 2021"
APPENDIX_1_SINGLE = ["G08", "G09", "G10", "G11", "G12", "G13", "G14"]
#: Appendix 2: single awards below £50,000, then the two batches.
APPENDIX_2_SINGLE = [f"G{n}" for n in range(16, 31)]
BATCHES = {"G31": (6, pounds(9_950), pounds(47_850)), "G32": (23, pounds(48_500), pounds(402_118))}


@pytest.fixture(scope="module")
def grants() -> tuple[Case, Routing, list[Check]]:
    return answer("grants-programme")


def test_grants_programme_decision_maker_paragraphs_and_findings(
    grants: tuple[Case, Routing, list[Check]],
) -> None:
    case, routing, _ = grants
    assert routing.decision_maker is DecisionMaker.DMPC
    assert routing.route is Route.BOARD
    assert routing.paragraphs == [GRANTS]
    # No personal data, but a DPIA was completed for the Fund.
    assert routing.required_signoffs == [*ALWAYS, EQ, IA]
    # The awards are paid from the Fund's approved budget (PCD 880): noted, not sought.
    expenditure, *grant_findings = routing.findings
    assert row(expenditure) == (
        RuleKind.EXPENDITURE,
        P48,
        Outcome.DMPC_NOTES,
        pounds(1_578_018),
        pounds(500_000),
    )
    assert words_in(expenditure.explanation, "£1,578,018", "existing approved budgets")
    assert len(grant_findings) == len(case.grant_lines) == 32
    assert all(f.rule is RuleKind.THIRD_PARTY_GRANT for f in grant_findings)
    assert all(f.threshold == pounds(50_000) for f in grant_findings)


def test_grants_programme_every_line_outcome_and_group(
    grants: tuple[Case, Routing, list[Check]],
) -> None:
    case, routing, _ = grants
    by_id = {g.id or "": g for g in case.grant_lines}
    outcomes = {line.line_id: line for line in routing.grant_lines}
    assert [g.id for g in case.grant_lines if g.group == MENTORING] == ["G01", "G02", "G03"]
    assert [g.id for g in case.grant_lines if g.group == PATHWAYS] == ["G04", "G05", "G06", "G07"]

    def total(group: str) -> Decimal:
        return sum((g.amount for g in case.grant_lines if g.group == group), Decimal(0))

    expected: dict[str, tuple[Outcome, Decimal]] = {}
    for group in (MENTORING, PATHWAYS):
        for g in case.grant_lines:
            if g.group == group:
                expected[g.id or ""] = (Outcome.DMPC_APPROVES, total(group))
    for line_id in APPENDIX_1_SINGLE:
        expected[line_id] = (Outcome.DMPC_APPROVES, by_id[line_id].amount)
    expected["G15"] = (Outcome.DMPC_NOTES, total(ARTS_PILOT))
    for line_id in APPENDIX_2_SINGLE:
        expected[line_id] = (Outcome.DMPC_NOTES, by_id[line_id].amount)
    for line_id, (_, largest, _) in BATCHES.items():
        expected[line_id] = (Outcome.DMPC_NOTES, largest)
    assert sorted(expected) == sorted(by_id)  # every one of the 32 lines

    assert [line.index for line in routing.grant_lines] == list(range(32))
    for line_id, (outcome, tested) in expected.items():
        got = outcomes[line_id]
        assert (got.outcome, got.tested_amount, got.reference) == (outcome, tested, GRANTS), line_id
        assert got.amount == by_id[line_id].amount
    # The phases of one award: £49,200 three times, £147,600 together.
    assert total(MENTORING) == pounds(3 * 49_200)
    assert total(PATHWAYS) == pounds(22_500 + 18_750 + 15_000 + 9_800)
    # Exactly £50,000 is "£50,000 or more"; £48,750 on its own is not.
    assert outcomes["G11"].outcome is Outcome.DMPC_APPROVES
    assert outcomes["G29"].outcome is Outcome.DMPC_NOTES

    # Lines of one declared group share its key; ungrouped lines have one of their own.
    group_of = {line.line_id: line.group for line in routing.grant_lines}
    assert len({group_of[g.id] for g in case.grant_lines if g.group == MENTORING}) == 1
    assert len({group_of[g.id] for g in case.grant_lines if g.group == PATHWAYS}) == 1
    assert group_of["G15"] not in {group_of["G01"], group_of["G04"]}
    singles = [group_of[i] for i in [*APPENDIX_1_SINGLE, *APPENDIX_2_SINGLE, *BATCHES]]
    assert len(set(singles)) == len(singles)

    # Explanations, by key words.
    assert words_in(outcomes["G02"].explanation, "£147,600", "added together", "£50,000")
    assert words_in(outcomes["G07"].explanation, "£66,050", "added together")
    assert words_in(outcomes["G15"].explanation, "£12,000", "only notes")
    for line_id, (count, largest, batch_total) in BATCHES.items():
        got = outcomes[line_id]
        assert got.batch_count == count
        assert got.amount == batch_total
        assert words_in(got.explanation, "largest", f"£{largest:,.0f}", "never the batch's total")


def test_grants_programme_every_group_total_and_outcome(
    grants: tuple[Case, Routing, list[Check]],
) -> None:
    case, routing, _ = grants
    amount = {g.id: g.amount for g in case.grant_lines}
    index = {g.id: i for i, g in enumerate(case.grant_lines)}
    groups = {tuple(g.lines): g for g in routing.grant_groups}

    def lines_of(group: str) -> tuple[int, ...]:
        return tuple(i for i, g in enumerate(case.grant_lines) if g.group == group)

    # (lines, kind, total, tested, outcome)
    expected = [
        (lines_of(MENTORING), "declared", pounds(147_600), pounds(147_600), Outcome.DMPC_APPROVES),
        (lines_of(PATHWAYS), "declared", pounds(66_050), pounds(66_050), Outcome.DMPC_APPROVES),
        *[
            ((index[i],), "recipient", amount[i], amount[i], Outcome.DMPC_APPROVES)
            for i in APPENDIX_1_SINGLE
        ],
        (lines_of(ARTS_PILOT), "declared", pounds(12_000), pounds(12_000), Outcome.DMPC_NOTES),
        *[
            ((index[i],), "recipient", amount[i], amount[i], Outcome.DMPC_NOTES)
            for i in APPENDIX_2_SINGLE
        ],
        *[
            ((index[i],), "batch", total, largest, Outcome.DMPC_NOTES)
            for i, (_, largest, total) in BATCHES.items()
        ],
    ]
    assert [
        (tuple(g.lines), g.kind, g.total, g.tested_amount, g.outcome) for g in routing.grant_groups
    ] == expected
    assert all(g.reference == GRANTS and g.threshold == pounds(50_000) for g in groups.values())
    assert lines_of(MENTORING) == (0, 1, 2)
    assert lines_of(PATHWAYS) == (3, 4, 5, 6)
    assert groups[(0, 1, 2)].label == MENTORING
    assert words_in(groups[(30,)].explanation, "largest", "£9,950", "£47,850")
    assert words_in(groups[(31,)].explanation, "largest", "£48,500", "£402,118")

    # The appendices add up to the paper's figures: £759,700 to approve, £818,318 to note.
    approve = sum(
        (g.total for g in routing.grant_groups if g.outcome is Outcome.DMPC_APPROVES), Decimal(0)
    )
    note = sum(
        (g.total for g in routing.grant_groups if g.outcome is Outcome.DMPC_NOTES), Decimal(0)
    )
    assert (approve, note) == (pounds(759_700), pounds(818_318))
    assert approve + note == case.money_lines[0].amount


def test_grants_programme_splitting_warning_names_the_bright_futures_lines(
    grants: tuple[Case, Routing, list[Check]],
) -> None:
    """One recipient, written three ways, in two declared groups: one warning naming lines
    1, 2, 3 and 15; nothing else in the paper looks split."""
    _, routing, _ = grants
    [warning] = routing.warnings
    assert warning.kind is CheckKind.SPLITTING
    assert warning.severity.value == "acknowledge"
    assert warning.subject.startswith("grant lines 1, 2, 3 and 15")
    assert words_in(
        warning.message,
        '"Bright Futures Ltd"',
        '"Bright Futures"',
        '"Bright Futures Ltd."',
        "2 groups",
        MENTORING,
        ARTS_PILOT,
        "£147,600",
        "£12,000",
        "unrelated",
    )
    # The Southwark lines ("The Southwark Youth Trust" among them) are one group: no warning.
    assert "Southwark" not in warning.message


def test_grants_programme_checks_only_the_splitting_warning(
    grants: tuple[Case, Routing, list[Check]],
) -> None:
    """Recommendation 1 (£759,700) covers exactly Appendix 1, recommendation 2 (£818,318)
    exactly Appendix 2, the Round 1 table adds up (its overspend in brackets included), and
    the declaration is complete: the only check is the splitting warning."""
    case, routing, checks = grants
    assert checks == routing.warnings
    assert [c.kind for c in checks] == [CheckKind.SPLITTING]
    [table] = case.financial_tables
    *rows, total = table.rows
    for column in range(len(table.columns)):
        assert sum(r.amounts[column] or Decimal(0) for r in rows) == total.amounts[column]
    assert total.amounts[2] == pounds(98_200)


# -- the offer of grant funding ------------------------------------------------------------


@pytest.fixture(scope="module")
def offer() -> tuple[Case, Routing, list[Check]]:
    return answer("grant-offer-home-office")


def test_offer_is_approved_under_4_8_by_extremis(
    offer: tuple[Case, Routing, list[Check]],
) -> None:
    _, routing, _ = offer
    assert routing.decision_maker is DecisionMaker.DMPC
    assert routing.route is Route.EXTREMIS
    assert routing.paragraphs == [P48]
    assert routing.required_signoffs == [*ALWAYS, EQ]
    [incoming] = [f for f in routing.findings if f.rule is RuleKind.GRANT_FUNDING_OFFER]
    # "All offers of grant funding": no threshold.
    assert row(incoming) == (
        RuleKind.GRANT_FUNDING_OFFER,
        P48,
        Outcome.DMPC_APPROVES,
        pounds(2_100_000),
        None,
    )
    assert words_in(
        incoming.explanation,
        "Home Office",
        "all offers of grant funding",
        P48,
        "capital £250,000",
        "revenue £1,850,000",
        "2023-03-31",
        "£420,000",
    )
    # The offer's own money is never "within existing approved budgets".
    for finding in routing.findings:
        if "existing approved budgets" in finding.explanation:
            assert finding.amount != pounds(2_100_000)


def test_offer_declaration_explained_line_and_date_raise_nothing(
    offer: tuple[Case, Routing, list[Check]],
) -> None:
    """The commercial issues line is unticked with its reason, and on 4 April 2022 the
    required-by date (14 April) has not passed: neither is a check."""
    _, _, checks = offer
    kinds = {c.kind for c in checks}
    assert CheckKind.DECLARATION not in kinds
    assert CheckKind.REQUIRED_BY not in kinds
    assert CheckKind.SPLITTING not in kinds
    assert CheckKind.FIGURES not in kinds


def test_offer_expenditure_sought_is_the_grant_funded_spending_and_match_funding_is_noted(
    offer: tuple[Case, Routing, list[Check]],
) -> None:
    _, routing, _ = offer
    expenditure = [row(f) for f in routing.findings if f.rule is RuleKind.EXPENDITURE]
    assert sorted(expenditure, key=lambda r: r[2].value) == [
        (
            RuleKind.EXPENDITURE,
            P48,
            Outcome.DMPC_APPROVES,
            pounds(1_850_000 + 250_000),
            pounds(500_000),
        ),
        (RuleKind.EXPENDITURE, P48, Outcome.DMPC_NOTES, pounds(420_000), pounds(500_000)),
    ]


def test_offer_recommendations_agree_with_the_routing(
    offer: tuple[Case, Routing, list[Check]],
) -> None:
    _, _, checks = offer
    assert [c for c in checks if c.kind is CheckKind.RECOMMENDATION] == []
