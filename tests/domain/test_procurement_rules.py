"""Procurement as the papers describe it: the procedure and its legal ground, the threshold
in force, whether the Regulations are engaged, and a value whose VAT basis is not stated."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from domain.rules.delegation import DecisionMaker, Outcome, Routing, route_case
from domain.rules.findings import CheckKind, ProcedureAssessment, ProcurementTest, Severity
from domain.rules.procurement import REG32_GROUNDS, read_ground
from domain.rules.scheme import RuleKind
from tests.factories import make_case

IN_2019 = date(2019, 11, 20)
JUSTIFIED = "Only one supplier holds the rights to the software."


def _contract(value: str, route: str, **fields: Any) -> dict[str, Any]:
    contract: dict[str, Any] = {
        "subject": "Case management software support",
        "route": route,
        "contract_value": value,
        "vat_included": False,
    }
    if route == "single_tender_action":
        contract["single_tender_action"] = True
    if contract.get("single_tender_action") or fields.get("single_tender_action"):
        contract["single_tender_justification"] = JUSTIFIED
    contract.update(fields)
    return contract


def _route(*contracts: dict[str, Any], sought: list[str], on: date = IN_2019) -> Routing:
    case = make_case(procurements=list(contracts), approval_sought=sought, money_lines=[])
    return route_case(case, on)


def _sta(value: str = "350000", **fields: Any) -> Routing:
    return _route(_contract(value, "single_tender_action", **fields), sought=["contract_exemption"])


# -- a single tender action -------------------------------------------------------------------


@pytest.mark.parametrize(
    "ground",
    ["reg 32(2)(b)", "Regulation 32(2)(b)", "reg. 32 (2)(b)", "32(2)(b)", "Reg 32(2)(b)(ii)"],
)
def test_single_tender_action_on_a_reg_32_ground_is_allowed_and_approved_under_4_13(ground):
    routing = _sta(regulation_ground=ground)

    [finding] = routing.findings
    assert finding.rule is RuleKind.CONTRACT_EXEMPTION
    assert finding.reference == "para 4.13"
    assert finding.outcome is Outcome.DMPC_APPROVES
    assert finding.amount == Decimal("350000.00") and finding.threshold == Decimal("100000.00")
    assert routing.decision_maker is DecisionMaker.DMPC

    [test] = routing.procurement_tests
    assert test.engaged and test.threshold == Decimal("181302.00")
    assert test.threshold_effective_from == date(2018, 1, 1) and not test.threshold_vat_included

    [assessment] = routing.procedures
    assert assessment.index == 0 and assessment.procedure == "single_tender_action"
    assert assessment.regulations_engaged is True
    assert assessment.allowed is True
    assert assessment.ground == "reg 32(2)(b)" or assessment.ground == "reg 32(2)(b)(ii)"
    assert assessment.threshold == Decimal("181302.00")
    assert assessment.threshold_effective_from == date(2018, 1, 1)
    assert "Public Contracts Regulations 2015 are engaged" in assessment.explanation
    assert "£181,302 threshold (net of VAT) in force from 2018-01-01" in assessment.explanation
    assert "relies on reg 32(2)(b)" in assessment.explanation
    assert routing.warnings == []


def test_single_tender_action_without_a_ground_is_not_allowed_and_warns():
    routing = _sta()

    # The contract exemption is still for the DMPC under para 4.13 ...
    assert [f.reference for f in routing.dmpc_approves] == ["para 4.13"]
    # ... but it does not take the contract outside the Regulations.
    [assessment] = routing.procedures
    assert assessment.regulations_engaged is True
    assert assessment.allowed is False
    assert assessment.ground is None
    assert "reg 32(2)(a), (b) or (c), 32(3)(a) to (d), 32(4) or 32(5)" in assessment.explanation
    assert "no regulation_ground is given" in assessment.explanation
    assert "para 4.13 does not disapply the Regulations" in assessment.explanation

    [warning] = routing.warnings
    assert warning.kind is CheckKind.PROCEDURE and warning.severity is Severity.ACKNOWLEDGE
    assert warning.subject == "procurement 1 (Case management software support)"
    assert "not one they allow as described" in warning.message
    assert "does not disapply the Regulations" in warning.message
    assert warning.key.startswith("procedure:")


def test_single_tender_action_under_an_exemption_is_outside_the_regulations():
    routing = _sta(exemption="reg 12(1) public-to-public (Teckal)")
    [assessment] = routing.procedures
    assert assessment.allowed is True
    assert assessment.ground == "reg 12(1) public-to-public (Teckal)"
    assert "outside the Regulations" in assessment.explanation
    assert routing.warnings == []


@pytest.mark.parametrize(
    ("ground", "reason"),
    [
        ("reg 32(2)(d)", "reg 32(2)(d) is not one of them"),
        ("reg 32(2)", "reg 32(2) is not one of them"),
        ("reg 72(1)(b)", "no regulation_ground is given"),
        ("urgency", "no regulation_ground is given"),
    ],
)
def test_negotiated_without_prior_publication_needs_a_reg_32_ground(ground, reason):
    routing = _route(
        _contract("400000", "negotiated_without_prior_publication", regulation_ground=ground),
        sought=["procurement"],
    )
    [assessment] = routing.procedures
    assert assessment.allowed is False
    assert "allowed only on a ground of reg 32" in assessment.explanation
    if "is not one" in reason:
        assert reason in assessment.explanation
    [warning] = routing.warnings
    assert warning.kind is CheckKind.PROCEDURE


def test_negotiated_without_prior_publication_on_32_3_c_is_allowed():
    routing = _route(
        _contract(
            "400000", "negotiated_without_prior_publication", regulation_ground="reg 32(3)(c)"
        ),
        sought=["procurement"],
    )
    [assessment] = routing.procedures
    assert assessment.allowed is True and assessment.ground == "reg 32(3)(c)"
    assert "on the ground of reg 32(3)(c) is allowed" in assessment.explanation


# -- a framework call-off, a direct award, competitive procedures -------------------------------


def test_g_cloud_call_off_naming_its_framework_is_allowed():
    routing = _route(
        _contract("788000", "framework", framework="CCS G-Cloud 11 (RM1557.11)"),
        sought=["procurement"],
    )
    [assessment] = routing.procedures
    assert assessment.regulations_engaged and assessment.allowed is True
    assert "framework agreement (reg 33), CCS G-Cloud 11 (RM1557.11), is allowed" in (
        assessment.explanation
    )
    assert [f.reference for f in routing.dmpc_approves] == ["para 4.13"]
    assert routing.warnings == []


def test_call_off_named_only_in_the_route_detail_is_read_from_it():
    routing = _route(
        _contract("788000", "framework", route_detail="CCS G-Cloud 11 framework"),
        sought=["procurement"],
    )
    [assessment] = routing.procedures
    assert assessment.allowed is True and assessment.ground == "CCS G-Cloud 11 framework"


@pytest.mark.parametrize("detail", [None, "framework call-off"])
def test_call_off_without_its_framework_is_not_allowed(detail):
    routing = _route(_contract("788000", "framework", route_detail=detail), sought=["procurement"])
    [assessment] = routing.procedures
    assert assessment.allowed is False
    assert "a call-off needs the framework it is made under" in assessment.explanation
    [warning] = routing.warnings
    assert warning.kind is CheckKind.PROCEDURE and warning.severity is Severity.ACKNOWLEDGE
    assert "a call-off needs the framework it is made under" in warning.message


def test_teckal_direct_award_is_outside_the_regulations():
    routing = _route(
        _contract(
            "600000",
            "direct_award_exempt",
            exemption="reg 12 public-to-public (Teckal)",
            supplier="London Shared Services Ltd",
        ),
        sought=["procurement"],
    )
    [test] = routing.procurement_tests
    assert test.engaged  # by value, at or above the threshold ...
    [assessment] = routing.procedures
    assert assessment.allowed is True  # ... but the exemption takes it outside them
    assert "relies on reg 12 public-to-public (Teckal)" in assessment.explanation
    assert "outside the Regulations" in assessment.explanation
    assert routing.warnings == []


def test_direct_award_without_its_exemption_is_not_allowed():
    routing = _route(_contract("600000", "direct_award_exempt"), sought=["procurement"])
    [assessment] = routing.procedures
    assert assessment.allowed is False
    assert "needs the exemption from the Regulations it relies on" in assessment.explanation


@pytest.mark.parametrize(
    ("route", "words"),
    [
        ("open_tender", "an open procedure (reg 27)"),
        ("restricted_tender", "a restricted procedure (reg 28)"),
        ("competitive_with_negotiation", "a competitive procedure with negotiation (reg 29)"),
        ("competitive_dialogue", "a competitive dialogue (reg 30)"),
        ("innovation_partnership", "an innovation partnership (reg 31)"),
    ],
)
def test_competitive_procedures_are_allowed(route, words):
    [assessment] = _route(_contract("600000", route), sought=["procurement"]).procedures
    assert assessment.allowed is True
    assert f"{words} is a procedure the Regulations allow" in assessment.explanation


@pytest.mark.parametrize(
    ("ground", "allowed"),
    [("reg 72(1)(c)", True), ("Regulation 72(5)", True), ("reg 72", False), (None, False)],
)
def test_contract_variation_needs_a_reg_72_ground(ground, allowed):
    routing = _route(
        _contract("600000", "contract_variation", regulation_ground=ground), sought=["procurement"]
    )
    [assessment] = routing.procedures
    assert assessment.allowed is allowed
    assert bool(routing.warnings) is not allowed
    if not allowed:
        assert "reg 72(1)(a) to (f) or 72(5)" in assessment.explanation


def test_other_procedure_cannot_be_assessed_and_does_not_warn():
    routing = _route(
        _contract("600000", "other", route_detail="Dynamic purchasing system"),
        sought=["procurement"],
    )
    [assessment] = routing.procedures
    assert assessment.allowed is None
    assert "cannot assess" in assessment.explanation
    assert "Dynamic purchasing system" in assessment.explanation
    assert routing.warnings == []


def test_below_the_threshold_any_procedure_is_allowed():
    routing = _route(
        _contract("150000", "negotiated_without_prior_publication"), sought=["procurement"]
    )
    [assessment] = routing.procedures
    assert assessment.regulations_engaged is False and assessment.allowed is True
    assert "the Regulations are not engaged below the threshold" in assessment.explanation
    assert routing.warnings == []


def test_related_contracts_engage_the_regulations_for_each():
    lots = [
        _contract("100000", "negotiated_without_prior_publication", supplier="Acme", subject="a"),
        _contract("100000", "open_tender", supplier="ACME", subject="b"),
    ]
    routing = _route(*lots, sought=["procurement"])
    assert [a.regulations_engaged for a in routing.procedures] == [True, True]
    assert [a.allowed for a in routing.procedures] == [False, True]
    assert [a.index for a in routing.procedures] == [0, 1]


def test_one_supplier_written_two_ways_is_one_supplier_for_the_thresholds():
    # £300,000 and £250,000 with "Acme Ltd" and "The Acme Limited": one purchase of
    # £550,000, at or over para 4.13's £500,000, not two below it.
    lots = [
        _contract("300000", "open_tender", supplier="Acme Ltd", subject="lot 1"),
        _contract("250000", "open_tender", supplier="The Acme Limited", subject="lot 2"),
    ]
    routing = _route(*lots, sought=["procurement"])
    [finding] = [f for f in routing.findings if f.rule is RuleKind.PROCUREMENT]
    assert finding.outcome is Outcome.DMPC_APPROVES
    assert finding.amount == Decimal("550000.00")
    assert "added together" in finding.explanation


def test_threshold_in_force_follows_the_date_of_submission():
    contract = _contract("200000", "open_tender")
    [in_2019] = _route(contract, sought=["procurement"]).procedures
    [in_2026] = _route(contract, sought=["procurement"], on=date(2026, 3, 1)).procedures
    assert (in_2019.threshold, in_2019.threshold_vat_included) == (Decimal("181302.00"), False)
    assert (in_2026.threshold, in_2026.threshold_vat_included) == (Decimal("207720.00"), True)
    assert in_2026.threshold_effective_from == date(2026, 1, 1)
    # £200,000 net is £240,000 with VAT: engaged in 2026 too.
    assert in_2019.regulations_engaged and in_2026.regulations_engaged


def test_term_and_extensions_are_stated():
    contract = _contract("5600000", "open_tender", term_years="3", extension_years="2", id="C1")
    [assessment] = _route(contract, sought=["procurement"]).procedures
    assert assessment.line_id == "C1"
    assert "Term: 3 years, with options to extend by up to 2 years (5 years in all)." in (
        assessment.explanation
    )
    assert "should cover the whole term including any extension options" in (assessment.explanation)
    [plain] = _route(_contract("5600000", "open_tender"), sought=["procurement"]).procedures
    assert "Term" not in plain.explanation


# -- VAT basis unknown ----------------------------------------------------------------------------


def test_vat_unknown_near_the_pcr_threshold_takes_the_stricter_reading():
    # £200,000: net of VAT it is over £181,302; including VAT it is £166,666.67 net, under.
    routing = _route(
        _contract("200000", "open_tender", vat_included="unknown"), sought=["procurement"]
    )
    [test] = routing.procurement_tests
    assert test.vat_basis_known is False
    assert test.vat_included is False
    assert test.compared_value == Decimal("200000.00")
    assert test.compared_value_if_gross == Decimal("166666.67")
    assert test.engaged_if_gross is False
    assert test.engaged is True
    assert "compared both ways" in test.explanation
    assert "the stricter result holds" in test.explanation
    assert "Regulations 2015 are engaged" in test.explanation
    assert routing.procedures[0].regulations_engaged is True

    # para 4.13 (£500,000): below either way.
    [finding] = routing.findings
    assert finding.outcome is Outcome.BELOW_THRESHOLD
    assert "the result is the same either way" in finding.explanation

    [warning] = routing.warnings
    assert warning.kind is CheckKind.VAT and warning.severity is Severity.ACKNOWLEDGE
    assert "engaged if the value is net of VAT, not if it includes VAT" in warning.message
    assert "para 4.13 (£500,000): below the threshold either way" in warning.message
    assert "state the VAT basis, or acknowledge" in warning.message


def test_vat_unknown_near_the_4_13_exemption_threshold_the_dmpc_approves():
    # £110,000: net of VAT it is over £100,000; including VAT it is £91,666.67, under.
    routing = _sta("110000", vat_included="unknown", regulation_ground="reg 32(2)(b)")
    [finding] = routing.findings
    assert finding.rule is RuleKind.CONTRACT_EXEMPTION
    assert finding.outcome is Outcome.DMPC_APPROVES
    assert "£91,666.67 net of VAT, below the threshold" in finding.explanation
    assert "the stricter result holds, so the DMPC approves under para 4.13" in (
        finding.explanation
    )
    assert routing.decision_maker is DecisionMaker.DMPC
    [test] = routing.procurement_tests
    assert not test.engaged and test.engaged_if_gross is False
    assert "not engaged either way" in test.explanation
    [warning] = routing.warnings
    assert warning.kind is CheckKind.VAT and warning.severity is Severity.ACKNOWLEDGE
    assert "para 4.13 (£100,000): the DMPC approves if the value is net of VAT" in warning.message


def test_vat_unknown_against_a_gross_threshold_grosses_up_the_net_reading():
    # 2022: £213,477 including VAT. £190,000 read as net is £228,000 gross: engaged;
    # read as gross it is £190,000: not engaged.
    routing = _route(
        _contract("190000", "open_tender", vat_included="unknown"),
        sought=["procurement"],
        on=date(2022, 6, 1),
    )
    [test] = routing.procurement_tests
    assert test.compared_value == Decimal("228000.00")
    assert test.compared_value_if_gross == Decimal("190000.00")
    assert test.engaged and test.engaged_if_gross is False
    assert routing.warnings[0].severity is Severity.ACKNOWLEDGE


def test_vat_unknown_far_from_the_thresholds_is_the_same_either_way():
    routing = _route(
        _contract("1000000", "open_tender", vat_included="unknown"), sought=["procurement"]
    )
    [test] = routing.procurement_tests
    assert test.engaged and test.engaged_if_gross is True
    assert "The Public Contracts Regulations 2015 are engaged either way." in test.explanation
    [finding] = routing.findings
    assert finding.outcome is Outcome.DMPC_APPROVES
    assert "£833,333.33 net of VAT, and the result is the same either way" in finding.explanation
    [warning] = routing.warnings
    assert warning.kind is CheckKind.VAT and warning.severity is Severity.INFO
    assert "PCR threshold (£181,302 net of VAT): engaged either way" in warning.message
    assert "para 4.13 (£500,000): the DMPC approves either way" in warning.message
    assert "The result is the same either way." in warning.message


def test_a_known_vat_basis_gives_no_vat_warning_and_the_plain_explanation():
    routing = _route(_contract("200000", "open_tender"), sought=["procurement"])
    [test] = routing.procurement_tests
    assert test.vat_basis_known and test.compared_value_if_gross is None
    assert "both ways" not in test.explanation
    assert routing.warnings == []


# -- reading grounds, and answers stored before --------------------------------------------------


@pytest.mark.parametrize(
    ("text", "label", "valid"),
    [
        ("Regulation 32(2)(b)", "reg 32(2)(b)", True),
        ("reg. 32 (2)(b)", "reg 32(2)(b)", True),
        ("32(2)(b)", "reg 32(2)(b)", True),
        ("PCR 2015 reg 32(2)(b) - sole supplier", "reg 32(2)(b)", True),
        ("Regulation 32(4)", "reg 32(4)", True),
        ("reg 32(2)(e)", "reg 32(2)(e)", False),
        ("reg 320(2)(b)", None, None),
        ("reg 3.32(2)(b)", None, None),
    ],
)
def test_grounds_are_read_leniently(text, label, valid):
    ground = read_ground(text, 32, REG32_GROUNDS)
    if label is None:
        assert ground is None
    else:
        assert ground is not None and ground.label == label and ground.valid is valid


def test_answers_stored_before_the_new_fields_still_load():
    routing = _route(
        _contract("200000", "open_tender", vat_included="unknown"), sought=["procurement"]
    )
    old_test = routing.procurement_tests[0].model_dump(mode="json")
    for name in ("vat_basis_known", "compared_value_if_gross", "engaged_if_gross"):
        del old_test[name]
    assert ProcurementTest.model_validate(old_test).vat_basis_known is True
    old_assessment = routing.procedures[0].model_dump(mode="json")
    for name in ("threshold", "threshold_vat_included", "threshold_effective_from", "ground"):
        del old_assessment[name]
    assert ProcedureAssessment.model_validate(old_assessment).threshold is None
    stored = routing.model_dump(mode="json")
    del stored["procedures"], stored["warnings"]
    assert Routing.model_validate(stored).procedures == []
