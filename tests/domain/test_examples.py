"""The two seed decisions in examples/ load completely and survive a dump/load round trip."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from domain.case import (
    ApprovalSought,
    BoardName,
    Case,
    DpiaStatus,
    MoneyKind,
    ProcurementRoute,
    SecurityMarking,
)
from domain.casefile import dump_case, parse_case

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
METTRACE = EXAMPLES / "mettrace.yaml"
DES = EXAMPLES / "pcd-679-data-environment-solution.yaml"
YEARS = ["2019/20", "2020/21", "2021/22", "2022/23", "2023/24"]


def load(path: Path) -> Case:
    return parse_case(path.read_text(encoding="utf-8"), str(path))


@pytest.fixture(scope="module")
def mettrace() -> Case:
    return load(METTRACE)


@pytest.fixture(scope="module")
def des() -> Case:
    return load(DES)


def test_examples_directory_has_both_seeds() -> None:
    assert {p.name for p in EXAMPLES.glob("*.yaml")} >= {METTRACE.name, DES.name}


@pytest.mark.parametrize("path", [METTRACE, DES], ids=lambda p: p.stem)
@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_round_trip(path: Path, fmt: str) -> None:
    case = load(path)
    text = dump_case(case, fmt)
    again = parse_case(text, fmt)
    assert again == case
    assert dump_case(again, fmt) == text  # dumping is deterministic


def test_mettrace_summary_recommendations_and_route(mettrace: Case) -> None:
    assert mettrace.title == "Met Trace"
    assert mettrace.executive_summary.startswith("MetTrace is the MPS flagship crime prevention")
    assert "MPS Management Board took the decision to continue MetTrace" in (
        mettrace.executive_summary
    )
    assert [r.number for r in mettrace.recommendations] == [1, 2]
    assert mettrace.recommendations[0].text == (
        "Approval to commence and award a tender for a new phase of MetTrace for 5 years"
    )
    # Recommendation 2 only notes the cost: it asks for no amount.
    assert "£5.6m cost over 5 years" in mettrace.recommendations[1].text
    assert all(r.amount is None and r.parts == [] for r in mettrace.recommendations)
    assert mettrace.approval_sought == [ApprovalSought.PROCUREMENT]
    assert mettrace.board is not None
    assert mettrace.board.board is BoardName.IAB
    assert mettrace.board.intended_meeting == date(2019, 7, 1)
    assert not mettrace.is_extremis
    assert mettrace.time_sensitivity is None
    assert mettrace.part1_deferral is None


def test_mettrace_money_and_procurement(mettrace: Case) -> None:
    assert mettrace.total_expenditure == Decimal("5600000.00")
    assert [line.financial_years for line in mettrace.money_lines] == [[y] for y in YEARS]
    for line in mettrace.money_lines:
        assert line.kind is MoneyKind.REVENUE
        assert line.amount == Decimal("1120000")
        assert line.funding_source.startswith("Frontline Policing budget")
    (procurement,) = mettrace.procurements
    assert procurement.route is ProcurementRoute.OPEN_TENDER
    assert procurement.contract_value == Decimal("5600000")
    assert procurement.vat_included is False
    assert not procurement.single_tender_action
    assert mettrace.grant_lines == []
    assert mettrace.virement_amount is None


def test_mettrace_sections(mettrace: Case) -> None:
    assert "(typically 85%)" in mettrace.introduction_and_background
    assert "minimum of 88,000 MetTrace kits per year" in mettrace.introduction_and_background
    assert "7,652 residential burglaries" in mettrace.issues_for_consideration
    assert mettrace.police_and_crime_plan is not None
    assert "most vulnerable households in London" in mettrace.police_and_crime_plan
    assert "(total cost £5.6m over 5 years)" in mettrace.financial_comments
    assert "restricted section of the report" in mettrace.financial_comments
    assert "Paragraph 4.13 of the MOPAC Scheme of Delegation" in mettrace.legal_comments
    assert "the PCRs are engaged" in mettrace.legal_comments
    assert "Lower Super Output Area (LSOA)" in mettrace.equality_comments
    assert "MPS Airspace database" in mettrace.privacy_comments.text
    assert mettrace.privacy_comments.personal_data is True
    assert mettrace.privacy_comments.dpia is DpiaStatus.NOT_REQUIRED
    assert mettrace.involves_personal_data
    assert (mettrace.real_estate_implications or "").startswith(
        "There are no real estate implications"
    )
    assert "single-use plastic" in (mettrace.environmental_implications or "")
    assert mettrace.background_papers == []


def test_mettrace_author_part2_and_declaration(mettrace: Case) -> None:
    author = mettrace.report_author
    assert (author.name, author.role, author.on_behalf_of) == (
        "Matt Turner",
        "MetTrace Inspector",
        "Deputy Commissioner",
    )
    part2 = mettrace.part2
    assert part2 is not None
    assert part2.security_marking is SecurityMarking.OFFICIAL_SENSITIVE_COMMERCIAL
    assert part2.foi_sections == ["s43"]
    assert part2.ceases_to_be_exempt_on == date(2024, 4, 1)
    assert part2.review_on is None
    assert part2.review_date == date(2024, 4, 1)
    assert "Article 2(2)(a)" in (part2.exemption_basis or "")
    assert "held separately" in part2.content
    declaration = mettrace.officer_declaration
    assert declaration.financial_advice and declaration.legal_advice
    assert declaration.gdpr_data_privacy
    assert declaration.financial_advice.confirmed  # illegible in the scan: see the YAML
    assert declaration.legal_advice.statement == (
        "The MPS legal team has been consulted on the proposal."
    )
    assert "A DPIA is not required." in declaration.gdpr_data_privacy.statement


def test_des_recommendations(des: Case) -> None:
    assert des.title == "MET Intelligence – Data Environment Solution (DES)"
    assert [r.number for r in des.recommendations] == [1, 2, 3]
    first = des.recommendations[0]
    assert first.amount == Decimal("788000")
    assert [part.amount for part in first.parts] == [Decimal("353000"), Decimal("435000")]
    assert first.parts[0].text.startswith("£353,000 capital costs")
    assert "£87,000 per annum" in first.parts[1].text
    assert des.recommendations[2].text.endswith("via the G-Cloud Market Place.")
    assert des.approval_sought == [ApprovalSought.EXPENDITURE, ApprovalSought.PROCUREMENT]


def test_des_money_procurement_and_timing(des: Case) -> None:
    assert des.total_expenditure == Decimal("788000.00")
    capital = [line for line in des.money_lines if line.kind is MoneyKind.CAPITAL]
    revenue = [line for line in des.money_lines if line.kind is MoneyKind.REVENUE]
    assert [(c.amount, c.financial_years, c.funding_source) for c in capital] == [
        (Decimal("353000"), ["2019/20"], "Home Office funding")
    ]
    assert [line.financial_years for line in revenue] == [[y] for y in YEARS]
    assert {line.amount for line in revenue} == {Decimal("87000")}
    assert {line.funding_source for line in revenue} == {"MOPAC approved revenue budget"}
    assert sum(line.amount for line in revenue) == Decimal("435000")
    (procurement,) = des.procurements
    assert procurement.route is ProcurementRoute.FRAMEWORK
    assert procurement.route_detail == "CCS G-Cloud 11 framework"
    assert procurement.contract_value == Decimal("788000")
    assert des.time_sensitivity is not None
    assert des.time_sensitivity.required_by == date(2019, 12, 13)
    assert "better than anticipated police settlement" in des.time_sensitivity.reason
    assert des.board is not None
    assert des.board.board is BoardName.IAM
    assert des.board.intended_meeting is None
    assert des.part1_deferral is None


def test_des_sections_author_part2_and_declaration(des: Case) -> None:
    assert "Digital Marketplace G-Cloud 11" in (des.commercial_comments or "")
    assert "The £353K Capital implementation costs" in des.financial_comments
    assert "Accordingly, the Regulations are engaged." in des.legal_comments
    assert des.privacy_comments.dpia is DpiaStatus.COMPLETED
    assert "A DPIA has been completed for this project." in des.privacy_comments.text
    assert des.environmental_implications == "No environmental implications have been identified."
    assert des.background_papers == ["Report"]
    author = des.report_author
    assert (author.name, author.role, author.on_behalf_of) == (
        "Ollie Lane",
        "Digital Policing – Business Engagement Manager",
        "Chief of Corporate Services",
    )
    part2 = des.part2
    assert part2 is not None
    assert part2.security_marking is SecurityMarking.OFFICIAL_SENSITIVE_COMMERCIAL
    assert part2.foi_sections == ["s31"]
    assert part2.review_on == date(2029, 6, 1)
    assert part2.ceases_to_be_exempt_on is None
    assert "reviewed after ten years (June 2029)" in (part2.exemption_note or "")
    assert "No disclosure of part 2 is permitted without consultation from the MPS" in (
        part2.exemption_note or ""
    )
    legal = des.officer_declaration.legal_advice
    assert legal and des.officer_declaration.director_head_of_service
    assert legal.confirmed
    assert legal.statement == "Legal advice is not required."
    assert des.officer_declaration.director_head_of_service.statement.startswith(
        "The Interim Chief Finance Officer"
    )


# -- the rules engine's answer for each seed --------------------------------------------


def test_pcd_679_needs_the_dmpc_under_4_8_and_4_13_and_engages_the_regulations(des: Case) -> None:
    from domain.roles import AdviceArea
    from domain.rules.delegation import DecisionMaker, Outcome, route_case
    from domain.rules.scheme import RuleKind

    routing = route_case(des, date(2019, 11, 20))
    assert routing.decision_maker is DecisionMaker.DMPC
    assert routing.paragraphs == ["para 4.8", "para 4.13"]
    by_rule = {f.rule: f for f in routing.findings}
    assert by_rule[RuleKind.EXPENDITURE].amount == Decimal("788000.00")
    assert by_rule[RuleKind.EXPENDITURE].outcome is Outcome.DMPC_APPROVES
    assert by_rule[RuleKind.PROCUREMENT].outcome is Outcome.DMPC_APPROVES
    [test] = routing.procurement_tests
    assert test.engaged and test.threshold == Decimal("181302.00")
    assert routing.rule_set.scheme_version == "SoDC-2019"
    assert routing.required_signoffs == [
        AdviceArea.FINANCE,
        AdviceArea.LEGAL,
        AdviceArea.COMMERCIAL,
        AdviceArea.EQUALITIES,
        AdviceArea.INFORMATION_ASSURANCE,
    ]


def test_mettrace_tender_needs_the_dmpc_under_4_13_and_the_56m_is_noted(mettrace: Case) -> None:
    from domain.rules.delegation import DecisionMaker, route_case

    routing = route_case(mettrace, date(2019, 7, 1))
    assert routing.decision_maker is DecisionMaker.DMPC
    assert routing.paragraphs == ["para 4.13"]
    [noted] = routing.noted
    assert noted.amount == Decimal("5600000.00")
    assert routing.regulations_engaged
    assert routing.procurement_tests[0].threshold == Decimal("181302.00")
