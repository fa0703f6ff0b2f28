"""The case files in examples/ load completely and survive a dump/load round trip: the two
seed decisions (version 1 files, upgraded as they are read) and the five files of the family
of papers of issue 14 (a grants programme, a grant offer, a single tender action, a framework
call-off, a budget drawdown)."""

from __future__ import annotations

import json
import re
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from domain.case import (
    NOT_APPLICABLE,
    SPECIFIED_INFORMATION_ORDER,
    ApprovalSought,
    BoardName,
    Case,
    CrossReferenceKind,
    DpiaStatus,
    FormVersion,
    GrantLine,
    IncomingFundingKind,
    MoneyKind,
    ProcurementRoute,
    SecurityMarking,
)
from domain.casefile import CaseFileError, dump_case, parse_case

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


ALL_EXAMPLES = sorted(EXAMPLES.glob("*.yaml"))


def test_examples_directory_has_the_seeds_and_the_family() -> None:
    assert {p.name for p in ALL_EXAMPLES} >= {
        METTRACE.name,
        DES.name,
        "grants-programme.yaml",
        "grant-offer-home-office.yaml",
        "single-tender-action.yaml",
        "framework-call-off.yaml",
        "budget-drawdown.yaml",
    }


@pytest.mark.parametrize("path", ALL_EXAMPLES, ids=lambda p: p.stem)
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


# -- the five case files of the family (issue 14): they load with the facts they state ----
# The engine's answer for them is asserted once the grants, procurement and checks work
# is in; here: what each file says, so that a change to the format that loses or
# misreads a part of them fails.

GRANTS = EXAMPLES / "grants-programme.yaml"
OFFER = EXAMPLES / "grant-offer-home-office.yaml"
STA = EXAMPLES / "single-tender-action.yaml"
FRAMEWORK = EXAMPLES / "framework-call-off.yaml"
DRAWDOWN = EXAMPLES / "budget-drawdown.yaml"
FAMILY = [GRANTS, OFFER, STA, FRAMEWORK, DRAWDOWN]

MENTORING = "Bright Futures: Safer Streets Mentoring 2021-24"
SUMMER_ARTS = "Bright Futures: Summer Arts Pilot 2021"
PATHWAYS = "Southwark Youth Trust: Youth Pathways Programme"


def _covered_lines(case: Case, names: list[str]) -> set[str]:
    """The ids of the lines a recommendation covers, its group names expanded."""
    found: set[str] = set()
    for name in names:
        in_group = {g.id for g in case.grant_lines if g.group == name and g.id}
        found |= in_group or {name}
    return found


@pytest.mark.parametrize("path", FAMILY, ids=lambda p: p.stem)
def test_every_new_example_is_schema_version_2_with_the_editor_schema_line(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# yaml-language-server: $schema=../ratify/schemas/case.schema.json\n")
    assert "\nschema_version: 2\n" in text
    case = load(path)
    assert case.schema_version == 2
    # Every id a recommendation covers is a line of the case or a grant group.
    known = set(case.line_ids()) | {g.group for g in case.grant_lines if g.group}
    for rec in case.recommendations:
        assert set(rec.covers) <= known, rec.number


def test_the_family_varies_form_versions_and_says_not_applicable() -> None:
    cases = {p.stem: load(p) for p in FAMILY}
    assert {c.form_version for c in cases.values()} == {
        FormVersion.DMPC_2019,
        FormVersion.DMPC_2020,
        FormVersion.DMPC_2021,
    }
    assert cases["single-tender-action"].real_estate_implications == NOT_APPLICABLE
    assert cases["grant-offer-home-office"].commercial_comments == NOT_APPLICABLE
    assert cases["grants-programme"].procurement_comments == NOT_APPLICABLE
    # The 2021 form's drafting officer line is there; the commercial issues line is not.
    for name in ("grants-programme", "budget-drawdown"):
        declaration = cases[name].officer_declaration
        assert declaration.drafting_officer is not None
        assert declaration.commercial_issues is None
    with_part2 = [name for name, c in cases.items() if c.part2 is not None]
    assert sorted(with_part2) == ["framework-call-off", "single-tender-action"]
    extremis = [name for name, c in cases.items() if c.is_extremis]
    assert extremis == ["grant-offer-home-office"]


def test_grants_programme_lines_groups_and_batches() -> None:
    case = load(GRANTS)
    lines = case.grant_lines
    assert len(lines) == 32
    assert [g.id for g in lines] == [f"G{n:02d}" for n in range(1, 33)]
    groups: dict[str, list[GrantLine]] = {}
    for line in lines:
        if line.group:
            groups.setdefault(line.group, []).append(line)
    assert {name: len(members) for name, members in groups.items()} == {
        MENTORING: 3,
        PATHWAYS: 4,
        SUMMER_ARTS: 1,
    }
    # One award in three phases of £49,200: each under £50,000, £147,600 together, under
    # three spellings of one name.
    mentoring = groups[MENTORING]
    assert {g.amount for g in mentoring} == {Decimal("49200")}
    assert sum(g.amount for g in mentoring) == Decimal("147600")
    assert [g.recipient for g in mentoring] == [
        "Bright Futures Ltd",
        "Bright Futures",
        "Bright Futures Ltd.",
    ]
    assert sum(g.amount for g in groups[PATHWAYS]) == Decimal("66050")
    assert all(g.amount < Decimal("50000") for g in groups[PATHWAYS])
    # The same organisation's unrelated small award, in a group of its own.
    [arts] = groups[SUMMER_ARTS]
    assert (arts.recipient, arts.amount) == ("Bright Futures", Decimal("12000"))
    batches = {g.id: g for g in lines if g.batch is not None}
    assert set(batches) == {"G31", "G32"}
    named, unnamed = batches["G31"], batches["G32"]
    assert named.batch is not None and unnamed.batch is not None
    assert (named.amount, named.batch.count, named.batch.largest) == (
        Decimal("47850"),
        6,
        Decimal("9950"),
    )
    assert len(named.batch.recipients) == 6 and named.recipient is None
    assert (unnamed.amount, unnamed.batch.count, unnamed.batch.largest) == (
        Decimal("402118"),
        23,
        Decimal("48500"),
    )
    assert unnamed.batch.recipients == [] and unnamed.recipient is None
    assert unnamed.tested_amount == Decimal("48500")  # never its total


def test_grants_programme_recommendations_cover_every_line_once_with_their_amounts() -> None:
    case = load(GRANTS)
    approve, note, position = case.recommendations
    assert (approve.action, note.action, position.action) == ("approve", "note", "note")
    approved = _covered_lines(case, approve.covers)
    noted = _covered_lines(case, note.covers)
    assert approved.isdisjoint(noted)
    assert approved | noted == {g.id for g in case.grant_lines}
    amount = {g.id: g.amount for g in case.grant_lines}
    assert approve.amount == sum(amount[i] for i in approved) == Decimal("759700")
    assert note.amount == sum(amount[i] for i in noted) == Decimal("818318")
    assert MENTORING in approve.covers and SUMMER_ARTS in note.covers
    assert "G11" in approve.covers and amount["G11"] == Decimal("50000")  # at the threshold
    assert position.covers == ["round-1-position"]


def test_grants_programme_round_1_table_adds_up_with_an_overspend_in_brackets() -> None:
    case = load(GRANTS)
    [table] = case.financial_tables
    assert table.columns == ["Allocation", "Expenditure", "Under/(over)spend"]
    assert [row.label for row in table.rows][-1] == "Total"
    *rows, total = table.rows
    assert total.total and not any(row.total for row in rows)
    assert rows[1].amounts[2] == Decimal("-12500")
    for column in range(3):
        assert sum(row.amounts[column] or Decimal(0) for row in rows) == total.amounts[column]
    assert total.amounts == [Decimal("2500000"), Decimal("2401800"), Decimal("98200")]
    assert [c.reference for c in case.cross_references] == ["PCD 880"]


def test_grant_offer_is_incoming_funding_with_its_conditions() -> None:
    case = load(OFFER)
    [offer] = case.incoming_funding
    assert offer.kind is IncomingFundingKind.OFFER
    assert (offer.id, offer.funder, offer.amount) == (
        "home-office-offer",
        "Home Office",
        Decimal("2100000"),
    )
    assert (offer.capital, offer.revenue) == (Decimal("250000"), Decimal("1850000"))
    assert offer.spend_by == date(2023, 3, 31)
    assert offer.match_funding_required == Decimal("420000")
    assert "no carry-forward" in (offer.conditions or "")
    assert set(case.approval_sought) == {
        ApprovalSought.GRANT_FUNDING_OFFER,
        ApprovalSought.EXPENDITURE,
    }
    funded = [m for m in case.money_lines if m.funded_by == "home-office-offer"]
    assert sum(m.amount for m in funded) == offer.amount
    [match] = [m for m in case.money_lines if m.funded_by is None]
    assert match.amount == offer.match_funding_required
    # An extremis submission that names its board: both are kept.
    assert case.is_extremis and case.board is not None
    assert case.board.board is BoardName.IAM
    assert case.time_sensitivity is not None
    assert case.time_sensitivity.required_by == date(2022, 4, 14)
    commercial = case.officer_declaration.commercial_issues
    assert commercial is not None and not commercial.confirmed and commercial.explained


def test_single_tender_action_is_a_negotiated_procedure_on_reg_32_2_b() -> None:
    case = load(STA)
    [contract] = case.procurements
    assert contract.route is ProcurementRoute.NEGOTIATED_WITHOUT_PRIOR_PUBLICATION
    assert contract.regulation_ground == "reg 32(2)(b)"
    assert contract.single_tender_action and contract.single_tender_justification
    assert case.approval_sought == [ApprovalSought.CONTRACT_EXEMPTION]
    assert (contract.contract_value, contract.vat_included) == (Decimal("640000"), False)
    assert (contract.term_years, contract.extension_years) == (Decimal(3), Decimal(1))
    assert contract.suppliers == ["Ardent Justice Systems Ltd"]
    assert sum(m.amount for m in case.money_lines) == contract.contract_value
    assert case.part2 is not None
    assert case.part2.foi_sections == ["s43(2)", "s31(1)(a)"]
    assert case.part2.exemption_basis == SPECIFIED_INFORMATION_ORDER


def test_framework_call_off_names_its_framework_term_and_vat_basis() -> None:
    case = load(FRAMEWORK)
    [contract] = case.procurements
    assert contract.route is ProcurementRoute.FRAMEWORK
    assert "RM6100" in (contract.framework or "")
    assert contract.vat_included is False and contract.vat_known
    assert (contract.term_years, contract.extension_years) == (Decimal(3), Decimal(2))
    assert contract.contract_value == Decimal("1550000") == case.total_expenditure
    assert case.commercial_comments is not None and "RM6100" in case.commercial_comments
    assert case.part2 is not None
    assert case.part2.foi_sections == ["s31(1)(a)", "s31(1)(b)", "s43(2)"]
    assert case.part2.review_on == date(2031, 4, 1)
    [second] = case.recommendations[1:]
    assert sum(p.amount or Decimal(0) for p in second.parts) == second.amount


def test_budget_drawdown_table_cross_references_and_virement() -> None:
    case = load(DRAWDOWN)
    assert case.virement_amount == Decimal("1350000") == case.total_expenditure
    assert set(case.approval_sought) == {
        ApprovalSought.BUDGET_VIREMENT,
        ApprovalSought.EXPENDITURE,
    }
    refs = {(c.reference, c.relation) for c in case.cross_references}
    assert refs == {
        ("PCD 512", CrossReferenceKind.BUILDS_ON),
        ("PCD 1099", CrossReferenceKind.COMPANION),
    }
    [table] = case.financial_tables
    assert table.total_column and table.columns[-1] == "Total"
    *rows, total = table.rows
    assert total.total
    for row in table.rows:  # each row's last amount is the sum of its years
        *years, row_total = row.amounts
        assert sum(y or Decimal(0) for y in years) == row_total
    for column in range(len(table.columns)):
        assert sum(r.amounts[column] or Decimal(0) for r in rows) == total.amounts[column]
    # The table's capital and revenue agree with the money lines.
    capital = sum(r.amounts[-1] or 0 for r in rows if r.label.startswith("Capital"))
    by_kind = {
        kind: sum(m.amount for m in case.money_lines if m.kind is kind) for kind in MoneyKind
    }
    assert by_kind == {MoneyKind.CAPITAL: capital, MoneyKind.REVENUE: Decimal("165000")}


# -- version 1 case files still load, upgraded --------------------------------------------


def test_a_version_1_file_without_schema_version_loads_as_the_2019_form() -> None:
    text = DES.read_text(encoding="utf-8")
    assert "schema_version" not in text  # the seed transcriptions are version 1 files
    case = parse_case(text, "yaml")
    assert case.schema_version == 2
    assert case.form_version is FormVersion.DMPC_2019
    dumped = dump_case(case, "yaml")
    assert "schema_version: 2" in dumped and "form_version: dmpc-2019" in dumped


def test_a_version_1_part2_with_a_titled_foi_section_and_no_basis_is_upgraded() -> None:
    data = yaml.safe_load(METTRACE.read_text(encoding="utf-8"))
    data.pop("schema_version", None)
    del data["part2"]["exemption_basis"]
    data["part2"]["foi_sections"] = ["s43 Commercial interests"]
    case = parse_case(json.dumps(data, default=str), "json")
    assert case.part2 is not None
    assert case.part2.foi_sections == ["s43"]
    # Version 1 defaulted the basis to the Specified Information Order: the upgrade writes
    # it down, so nothing the file meant is lost.
    assert case.part2.exemption_basis == SPECIFIED_INFORMATION_ORDER
    # The same file marked as version 2 keeps the paper's silence: no basis is assumed.
    data["schema_version"] = 2
    data["form_version"] = "dmpc-2019"
    case2 = parse_case(json.dumps(data, default=str), "json")
    assert case2.part2 is not None and case2.part2.exemption_basis is None


def test_an_unknown_schema_version_is_refused_with_the_versions_read() -> None:
    data = yaml.safe_load(DES.read_text(encoding="utf-8"))
    data["schema_version"] = 3
    with pytest.raises(CaseFileError, match=r"schema_version 3 is not one this Ratify reads"):
        parse_case(json.dumps(data, default=str), "json")


# -- the case-file documentation's examples are case-file YAML -----------------------------

DOC = EXAMPLES.parent / "docs" / "case-file.md"


def test_every_yaml_example_in_the_case_file_documentation_is_valid() -> None:
    from pydantic import TypeAdapter

    blocks = re.findall(r"```yaml\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    assert len(blocks) >= 12
    checked: set[str] = set()
    for block in blocks:
        data = yaml.safe_load(block)
        if not isinstance(data, dict):
            continue  # the schema line alone, or a continuation of a list shown above it
        for name, value in data.items():
            assert name in Case.model_fields, f"docs/case-file.md names no field {name!r}"
            annotation = Case.model_fields[name].annotation
            assert annotation is not None
            TypeAdapter(annotation).validate_python(value)
            checked.add(name)
    # Every new part of format 2 has an example.
    assert checked >= {
        "schema_version",
        "form_version",
        "recommendations",
        "grant_lines",
        "incoming_funding",
        "procurements",
        "financial_tables",
        "cross_references",
        "board",
        "extremis_reason",
        "part2",
        "officer_declaration",
    }
