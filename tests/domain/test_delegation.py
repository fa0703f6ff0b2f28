"""The scheme of delegation: who must approve, what is noted, and when the Regulations bite."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from domain.errors import RulesError
from domain.roles import AdviceArea
from domain.rules.delegation import DecisionMaker, Outcome, Route, route_case
from domain.rules.scheme import RuleKind, default_scheme, parse_scheme
from tests.factories import make_case

ON = date(2019, 11, 20)


def _procurement(
    value: str,
    *,
    vat: bool = False,
    supplier: str | None = None,
    sta: bool = False,
    subject: str = "support service",
) -> dict:
    p = {
        "subject": subject,
        "route": "single_tender_action" if sta else "open_tender",
        "contract_value": value,
        "vat_included": vat,
        "supplier": supplier,
        "single_tender_action": sta,
    }
    if sta:
        p["single_tender_justification"] = "Only one supplier holds the rights."
    return p


def _revenue(amount: str) -> list[dict]:
    return [
        {
            "kind": "revenue",
            "amount": amount,
            "financial_years": ["2019/20"],
            "funding_source": "MOPAC approved revenue budget",
        }
    ]


@pytest.mark.parametrize(
    ("amount", "maker"),
    [
        ("500000", DecisionMaker.DMPC),
        ("499999.99", DecisionMaker.MPS_DELEGATED),
        ("788000", DecisionMaker.DMPC),
    ],
)
def test_expenditure_threshold_is_500k_or_above_under_para_4_8(amount, maker):
    routing = route_case(make_case(money_lines=_revenue(amount)), ON)
    assert routing.decision_maker is maker
    [finding] = routing.findings
    assert finding.rule is RuleKind.EXPENDITURE and finding.reference == "para 4.8"
    assert finding.threshold == Decimal("500000.00")
    if maker is DecisionMaker.DMPC:
        assert routing.paragraphs == ["para 4.8"]
        assert "at or above the £500,000 threshold" in finding.explanation
    else:
        assert routing.paragraphs == []
        assert finding.outcome is Outcome.BELOW_THRESHOLD
        assert "delegated authority" in finding.explanation


def test_three_grants_to_one_recipient_are_added_together():
    grants = [
        {"recipient": "Safer London", "amount": "49200", "purpose": "Youth outreach"},
        {"recipient": "SAFER  LONDON", "amount": "49200", "purpose": "Mentoring"},
        {"recipient": "safer london.", "amount": "49200", "purpose": "Training"},
        {"recipient": "Victim Support", "amount": "20000", "purpose": "Helpline"},
    ]
    case = make_case(grant_lines=grants, approval_sought=["third_party_grants"], money_lines=[])
    routing = route_case(case, ON)
    approved = routing.grants(Outcome.DMPC_APPROVES)
    noted = routing.grants(Outcome.DMPC_NOTES)
    assert len(approved) == 3 and all(f.amount == Decimal("147600.00") for f in approved)
    assert (
        "£147,600 (the total of the ungrouped grants to Safer London: grant lines 1, 2 and 3 "
        "added together as one award) is at or above the £50,000 threshold"
    ) in approved[0].explanation
    assert [f.subject for f in noted] == ["grant of £20,000 to Victim Support"]
    assert routing.decision_maker is DecisionMaker.DMPC
    [safer, victim] = routing.grant_groups
    assert (safer.kind, safer.lines, safer.total) == ("recipient", [0, 1, 2], Decimal("147600.00"))
    assert safer.outcome is Outcome.DMPC_APPROVES and victim.outcome is Outcome.DMPC_NOTES
    assert [line.group for line in routing.grant_lines] == [safer.key] * 3 + [victim.key]
    assert routing.warnings == []


def test_small_grants_only_are_mps_delegated_and_noted_by_the_dmpc():
    grants = [
        {"recipient": "A Charity", "amount": "49999.99", "purpose": "Outreach"},
        {"recipient": "Another Charity", "amount": "10000", "purpose": "Outreach"},
    ]
    case = make_case(grant_lines=grants, approval_sought=["third_party_grants"], money_lines=[])
    routing = route_case(case, ON)
    assert routing.decision_maker is DecisionMaker.MPS_DELEGATED
    assert len(routing.noted) == 2 and routing.dmpc_approves == []


def test_a_grant_of_exactly_50k_needs_the_dmpc():
    grants = [{"recipient": "A Charity", "amount": "50000", "purpose": "Outreach"}]
    case = make_case(grant_lines=grants, approval_sought=["third_party_grants"], money_lines=[])
    assert route_case(case, ON).decision_maker is DecisionMaker.DMPC


@pytest.mark.parametrize(
    ("value", "vat", "on", "engaged", "threshold"),
    [
        # 2019: £181,302 net of VAT
        ("181302", False, date(2019, 12, 31), True, "181302.00"),
        ("181301.99", False, date(2019, 12, 31), False, "181302.00"),
        # a gross value is netted down before comparing with a net threshold
        ("200000", True, date(2019, 12, 31), False, "181302.00"),
        ("218000", True, date(2019, 12, 31), True, "181302.00"),
        # 2020: £189,330 net
        ("185000", False, date(2020, 1, 1), False, "189330.00"),
        ("185000", False, date(2019, 12, 31), True, "181302.00"),
        # 2022: £213,477 including VAT: a net value is grossed up
        ("180000", False, date(2022, 1, 1), True, "213477.00"),
        ("177000", False, date(2022, 6, 1), False, "213477.00"),
        ("213477", True, date(2023, 12, 31), True, "213477.00"),
        # 2024: £214,904; 2026: £207,720, both including VAT
        ("213477", True, date(2024, 1, 1), False, "214904.00"),
        ("210000", True, date(2026, 1, 1), True, "207720.00"),
        ("210000", True, date(2025, 12, 31), False, "214904.00"),
    ],
)
def test_procurement_regulations_compare_like_with_like_on_vat(value, vat, on, engaged, threshold):
    case = make_case(
        procurements=[_procurement(value, vat=vat)], approval_sought=["expenditure", "procurement"]
    )
    routing = route_case(case, on)
    [test] = routing.procurement_tests
    assert test.engaged is engaged
    assert test.threshold == Decimal(threshold)
    assert routing.regulations_engaged is engaged
    assert ("are engaged" in test.explanation) is engaged


def test_rule_set_version_and_digest_follow_the_date():
    case = make_case(
        procurements=[_procurement("185000")], approval_sought=["expenditure", "procurement"]
    )
    before = route_case(case, date(2019, 12, 31)).rule_set
    after = route_case(case, date(2020, 1, 1)).rule_set
    assert before.scheme_version == after.scheme_version == "SoDC-2019"
    assert before.procurement_threshold_effective_from == date(2018, 1, 1)
    assert after.procurement_threshold_effective_from == date(2020, 1, 1)
    assert before.digest != after.digest
    assert route_case(case, date(2019, 6, 1)).rule_set.digest == before.digest
    assert "PCR threshold from 2020-01-01" in after.label


def test_tender_of_500k_needs_dmpc_under_para_4_13_and_contracts_with_one_supplier_add_up():
    split = [
        _procurement("300000", supplier="Acme Ltd", subject="lot 1"),
        _procurement("250000", supplier="ACME LTD", subject="lot 2"),
    ]
    routing = route_case(
        make_case(procurements=split, approval_sought=["procurement"], money_lines=[]), ON
    )
    [finding] = routing.findings
    assert finding.reference == "para 4.13" and finding.amount == Decimal("550000.00")
    assert routing.decision_maker is DecisionMaker.DMPC
    apart = [_procurement("300000", supplier="Acme Ltd"), _procurement("250000", supplier="Beta")]
    routing = route_case(
        make_case(procurements=apart, approval_sought=["procurement"], money_lines=[]), ON
    )
    assert routing.decision_maker is DecisionMaker.MPS_DELEGATED


@pytest.mark.parametrize(
    ("value", "maker"), [("100000", DecisionMaker.DMPC), ("99999.99", DecisionMaker.MPS_DELEGATED)]
)
def test_single_tender_action_of_100k_needs_dmpc(value, maker):
    case = make_case(
        procurements=[_procurement(value, sta=True)],
        approval_sought=["contract_exemption"],
        money_lines=[],
    )
    routing = route_case(case, ON)
    assert routing.decision_maker is maker
    assert routing.findings[0].rule is RuleKind.CONTRACT_EXEMPTION


def test_every_grant_funding_bid_needs_dmpc_whatever_the_amount():
    case = make_case(approval_sought=["grant_funding_bid"], money_lines=[])
    routing = route_case(case, ON)
    assert routing.decision_maker is DecisionMaker.DMPC
    assert routing.findings[0].threshold is None


def test_expenditure_not_sought_is_noted():
    case = make_case(
        approval_sought=["procurement"],
        procurements=[_procurement("400000")],
        money_lines=_revenue("5600000"),
    )
    routing = route_case(case, ON)
    noted = routing.noted
    assert len(noted) == 1 and noted[0].amount == Decimal("5600000.00")
    assert routing.decision_maker is DecisionMaker.MPS_DELEGATED


def test_virement_of_500k_needs_dmpc():
    case = make_case(approval_sought=["budget_virement"], virement_amount="500000", money_lines=[])
    assert route_case(case, ON).decision_maker is DecisionMaker.DMPC


def test_required_signoffs_depend_on_procurement_and_personal_data():
    plain = route_case(make_case(), ON)
    assert plain.required_signoffs == [AdviceArea.FINANCE, AdviceArea.LEGAL, AdviceArea.EQUALITIES]
    assert plain.route is Route.BOARD
    privacy = {"text": "DPIA done.", "personal_data": False, "dpia": "completed"}
    full = route_case(
        make_case(
            procurements=[_procurement("1000")],
            privacy_comments=privacy,
            approval_sought=["expenditure", "procurement"],
        ),
        ON,
    )
    assert AdviceArea.COMMERCIAL in full.required_signoffs
    assert AdviceArea.INFORMATION_ASSURANCE in full.required_signoffs


def test_extremis_case_takes_the_extremis_route():
    case = make_case(board=None, extremis_reason="The funding lapses on Friday.")
    assert route_case(case, ON).route is Route.EXTREMIS


def test_no_rules_before_the_first_scheme():
    with pytest.raises(RulesError, match="no scheme of delegation is in force on 2018-06-01"):
        route_case(make_case(), date(2018, 6, 1))


def test_a_bad_rules_file_is_refused_with_the_reason():
    good = default_scheme().model_dump(mode="json")
    good["procurement_thresholds"].reverse()
    import yaml

    with pytest.raises(RulesError, match="strictly increasing effective_from"):
        parse_scheme(yaml.safe_dump(good))
    del good["schemes"][0]["rules"]["expenditure"]
    with pytest.raises(RulesError, match="no rule for: expenditure"):
        parse_scheme(yaml.safe_dump(good))


def test_unnamed_lots_of_one_tender_are_added_together():
    lots = [_procurement("300000", subject="lot 1"), _procurement("250000", subject="lot 2")]
    routing = route_case(
        make_case(procurements=lots, approval_sought=["procurement"], money_lines=[]), ON
    )
    assert routing.decision_maker is DecisionMaker.DMPC
    assert routing.findings[0].amount == Decimal("550000.00")


def test_contracts_on_different_vat_bases_are_added_net_of_vat():
    lots = [
        _procurement("240000", vat=True, supplier="Acme", subject="lot 1"),  # £200,000 net
        _procurement("290000", vat=False, supplier="Acme", subject="lot 2"),
    ]
    routing = route_case(
        make_case(procurements=lots, approval_sought=["procurement"], money_lines=[]), ON
    )
    assert routing.findings[0].amount == Decimal("490000.00")
    assert routing.decision_maker is DecisionMaker.MPS_DELEGATED


def test_a_single_tender_action_must_ask_for_the_contract_exemption():
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="add contract_exemption to approval_sought"):
        make_case(procurements=[_procurement("200000", sta=True)], approval_sought=["procurement"])


def test_the_seed_papers_procedures_are_assessed():
    from pathlib import Path

    from domain.casefile import parse_case

    examples = Path(__file__).resolve().parents[2] / "examples"
    answers = {}
    for name in ("pcd-679-data-environment-solution.yaml", "mettrace.yaml"):
        path = examples / name
        routing = route_case(parse_case(path.read_text(encoding="utf-8"), str(path)), ON)
        [assessment] = routing.procedures
        answers[name] = assessment
        assert assessment.regulations_engaged and assessment.allowed is True
        assert assessment.threshold == Decimal("181302.00")
        assert routing.warnings == []
    # The G-Cloud call-off names its framework only in route_detail: it is read from there.
    des = answers["pcd-679-data-environment-solution.yaml"]
    assert des.procedure == "framework" and des.ground == "CCS G-Cloud 11 framework"
    assert "an open procedure (reg 27)" in answers["mettrace.yaml"].explanation


def test_a_grant_funding_offer_is_never_expenditure_within_existing_budgets():
    offer = {"id": "HO", "funder": "Home Office", "amount": "2100000", "spend_by": "2021-03-31"}
    lines = [{**_revenue("2100000")[0], "funded_by": "HO"}]
    case = make_case(
        approval_sought=["grant_funding_offer"], incoming_funding=[offer], money_lines=lines
    )
    routing = route_case(case, ON)
    assert [(f.rule, f.outcome) for f in routing.findings] == [
        (RuleKind.GRANT_FUNDING_OFFER, Outcome.DMPC_APPROVES)
    ]
