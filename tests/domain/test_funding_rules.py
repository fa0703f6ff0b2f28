"""Money coming in is not money going out: offers and bids of grant funding (para 4.8), and
no "existing approved budgets" finding for money an offer brings."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from domain.casefile import CaseFileError, case_from_data
from domain.rules.delegation import DecisionMaker, Outcome, route_case
from domain.rules.scheme import RuleKind
from tests.factories import case_data, make_case

ON = date(2020, 3, 2)


def _offer(**fields: Any) -> dict[str, Any]:
    offer: dict[str, Any] = {
        "id": "HO1",
        "kind": "offer",
        "funder": "Home Office",
        "amount": "2100000",
        "purpose": "One year of violence reduction work",
        "conditions": "Quarterly monitoring returns.",
        "spend_by": "2021-03-31",
    }
    offer.update(fields)
    return offer


def _line(amount: str, funded_by: str | None = "HO1", source: str = "Home Office grant") -> dict:
    line: dict[str, Any] = {
        "kind": "revenue",
        "amount": amount,
        "financial_years": ["2020/21"],
        "funding_source": source,
    }
    if funded_by is not None:
        line["funded_by"] = funded_by
    return line


def test_home_office_offer_is_approved_under_4_8_and_is_not_existing_budget():
    case = make_case(
        approval_sought=["grant_funding_offer"],
        incoming_funding=[_offer()],
        money_lines=[_line("2100000")],
    )
    routing = route_case(case, ON)

    [finding] = routing.findings
    assert finding.rule is RuleKind.GRANT_FUNDING_OFFER
    assert finding.reference == "para 4.8"
    assert finding.outcome is Outcome.DMPC_APPROVES
    assert finding.subject == "offer of £2,100,000 grant funding from the Home Office"
    assert finding.amount == Decimal("2100000.00") and finding.threshold is None
    assert "The DMPC approves all offers of grant funding. (para 4.8)" not in finding.explanation
    assert "The DMPC approves all offers of grant funding (para 4.8)" in finding.explanation
    assert "To be spent by 2021-03-31" in finding.explanation
    assert "No match funding is required" in finding.explanation
    assert routing.decision_maker is DecisionMaker.DMPC
    assert routing.paragraphs == ["para 4.8"]
    assert routing.noted == []
    assert all("existing approved budgets" not in f.subject for f in routing.findings)


def test_only_lines_not_paid_by_the_offer_are_noted_as_existing_budgets():
    case = make_case(
        approval_sought=["grant_funding_offer"],
        incoming_funding=[
            _offer(
                match_funding_required="300000",
                match_funding_source="MOPAC violence reduction budget",
                capital="100000",
                revenue="2000000",
            )
        ],
        money_lines=[
            _line("2100000"),
            _line("300000", None, "MOPAC violence reduction budget"),
        ],
    )
    routing = route_case(case, ON)
    noted, offer = routing.findings
    assert offer.rule is RuleKind.GRANT_FUNDING_OFFER
    assert "Split: capital £100,000, revenue £2,000,000" in offer.explanation
    assert "Match funding required: £300,000 from MOPAC violence reduction budget" in (
        offer.explanation
    )
    assert noted.subject == "expenditure within existing approved budgets"
    assert noted.outcome is Outcome.DMPC_NOTES
    assert noted.amount == Decimal("300000.00")
    assert "Lines paid for by incoming grant funding are not counted" in noted.explanation


def test_a_bid_and_two_offers_each_get_their_own_finding():
    case = make_case(
        approval_sought=["grant_funding_bid", "grant_funding_offer"],
        incoming_funding=[
            _offer(),
            _offer(id="YEF", funder="Youth Endowment Fund", amount="250000", spend_by=None),
            _offer(id="BID", kind="bid", funder="Ministry of Justice", amount="400000"),
        ],
        money_lines=[],
    )
    findings = route_case(case, ON).findings
    assert [(f.rule, f.subject) for f in findings] == [
        (RuleKind.GRANT_FUNDING_BID, "bid of £400,000 grant funding to the Ministry of Justice"),
        (RuleKind.GRANT_FUNDING_OFFER, "offer of £2,100,000 grant funding from the Home Office"),
        (RuleKind.GRANT_FUNDING_OFFER, "offer of £250,000 grant funding from Youth Endowment Fund"),
    ]
    assert all(f.outcome is Outcome.DMPC_APPROVES for f in findings)
    assert "The DMPC approves all bids for grant funding" in findings[0].explanation
    assert "spent by" not in findings[2].explanation


def test_an_offer_without_incoming_funding_lines_keeps_the_generic_finding():
    case = make_case(approval_sought=["grant_funding_offer"], money_lines=[])
    [finding] = route_case(case, ON).findings
    assert finding.rule is RuleKind.GRANT_FUNDING_OFFER
    assert finding.subject == "grant funding offer"
    assert finding.amount is None and finding.outcome is Outcome.DMPC_APPROVES


def test_expenditure_sought_still_tests_every_line():
    case = make_case(
        approval_sought=["expenditure", "grant_funding_offer"],
        incoming_funding=[_offer()],
        money_lines=[_line("2100000"), _line("50000", None, "MOPAC budget")],
    )
    spend, offer = route_case(case, ON).findings
    assert spend.rule is RuleKind.EXPENDITURE and spend.amount == Decimal("2150000.00")
    assert offer.rule is RuleKind.GRANT_FUNDING_OFFER


def test_a_noted_line_is_left_out_of_the_expenditure_sought_and_noted_on_its_own():
    # £460,000 of grant-funded spending sought (below £500,000) and £100,000 of match
    # funding already budgeted: adding the noted line in would have made it £560,000 and
    # moved the spending into the DMPC's approval.
    noted = _line("100000", funded_by=None, source="MOPAC budget") | {"noted": True}
    case = make_case(
        approval_sought=["grant_funding_offer", "expenditure"],
        incoming_funding=[_offer(amount="460000")],
        money_lines=[_line("460000"), noted],
    )
    routing = route_case(case, ON)
    spending = {f.subject: f for f in routing.findings if f.rule is RuleKind.EXPENDITURE}
    sought = spending["business case for revenue and capital expenditure"]
    assert (sought.amount, sought.outcome) == (Decimal("460000.00"), Outcome.BELOW_THRESHOLD)
    kept = spending["expenditure within existing approved budgets"]
    assert (kept.amount, kept.outcome) == (Decimal("100000.00"), Outcome.DMPC_NOTES)


def test_expenditure_sought_with_every_line_noted_is_refused_naming_the_rule():
    data = case_data(approval_sought=["expenditure"])
    data["money_lines"] = [{**line, "noted": True} for line in data["money_lines"]]
    with pytest.raises(CaseFileError) as refused:
        case_from_data(data)
    assert "money_lines are all noted" in str(refused.value)
