"""Money in the budget: expenditure and virements against para 4.8, and money coming in
(offers of grant funding and bids for it, para 4.8: all of them).

Money coming in is not money going out: an offer of grant funding is approved under para
4.8 on its own, and money lines paid for by it (`MoneyLine.funded_by`) are new external
money, never "expenditure within existing approved budgets".
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from domain.case import ApprovalSought, Case, IncomingFunding, IncomingFundingKind
from domain.money import format_pounds
from domain.rules.findings import Finding, Outcome, threshold_test
from domain.rules.scheme import RuleKind, Scheme, SchemeVersion

#: Funders named with "the" in running text ("from the Home Office").
_WITH_THE = ("home office", "ministry ", "department ", "cabinet office", "treasury", "mayor ")


def _named(funder: str) -> str:
    return f"the {funder}" if funder.casefold().startswith(_WITH_THE) else funder


def _incoming(version: SchemeVersion, funding: IncomingFunding) -> Finding:
    """One offer (or bid) of grant funding: the DMPC approves it under para 4.8."""
    offer = funding.kind is IncomingFundingKind.OFFER
    kind = RuleKind.GRANT_FUNDING_OFFER if offer else RuleKind.GRANT_FUNDING_BID
    rule = version.rules[kind]
    subject = (
        f"{'offer' if offer else 'bid'} of {format_pounds(funding.amount)} grant funding "
        f"{'from' if offer else 'to'} {_named(funding.funder)}"
    )
    said = [f"{subject[0].upper()}{subject[1:]}: {rule.text.rstrip('.')} ({rule.reference})"]
    if funding.capital is not None or funding.revenue is not None:
        split = [
            f"{label} {format_pounds(amount)}"
            for label, amount in (("capital", funding.capital), ("revenue", funding.revenue))
            if amount is not None
        ]
        said.append("Split: " + ", ".join(split))
    if funding.spend_by is not None:
        said.append(f"To be spent by {funding.spend_by.isoformat()}")
    if funding.match_funding_required:
        source = f" from {funding.match_funding_source}" if funding.match_funding_source else ""
        said.append(
            f"Match funding required: {format_pounds(funding.match_funding_required)}{source}"
        )
    else:
        said.append("No match funding is required")
    return Finding(
        rule=kind,
        reference=rule.reference,
        outcome=Outcome.DMPC_APPROVES,
        subject=subject,
        amount=funding.amount,
        threshold=rule.threshold,
        explanation=". ".join(said) + ".",
    )


#: The subject of the expenditure test when the expenditure's approval is sought.
EXPENDITURE_SOUGHT = "business case for revenue and capital expenditure"
#: The subject of the finding that notes expenditure within existing approved budgets.
EXISTING_BUDGETS = "expenditure within existing approved budgets"


def _existing_budgets(version: SchemeVersion, amount: Decimal, note: str) -> Finding:
    rule = version.rules[RuleKind.EXPENDITURE]
    return Finding(
        rule=RuleKind.EXPENDITURE,
        reference=rule.reference,
        outcome=Outcome.DMPC_NOTES,
        subject=EXISTING_BUDGETS,
        amount=amount,
        threshold=rule.threshold,
        explanation=(
            f"Expenditure of {format_pounds(amount)} is in the case but its approval is not "
            "sought (funded within existing approved budgets): the DMPC notes it." + note
        ),
    )


def route_funding(scheme: Scheme, on: date, case: Case) -> list[Finding]:
    """The findings on expenditure, virements and grant funding bids and offers."""
    version = scheme.scheme_on(on)
    sought = set(case.approval_sought)
    findings: list[Finding] = []
    if case.money_lines:
        if ApprovalSought.EXPENDITURE in sought:
            # The lines the paper only notes (`MoneyLine.noted`) are not part of it.
            asked = [line for line in case.money_lines if not line.noted]
            findings.append(
                threshold_test(
                    scheme,
                    on,
                    RuleKind.EXPENDITURE,
                    EXPENDITURE_SOUGHT,
                    sum((line.amount for line in asked), Decimal("0.00")),
                )
            )
            noted = [line for line in case.money_lines if line.noted]
            if noted:
                findings.append(
                    _existing_budgets(
                        version,
                        sum((line.amount for line in noted), Decimal("0.00")),
                        " The paper notes these lines apart from the expenditure it asks "
                        "the DMPC to approve.",
                    )
                )
        else:
            # Lines paid for by incoming funding are new external money, not existing budgets.
            own = [line for line in case.money_lines if line.funded_by is None]
            if own:
                external = len(own) < len(case.money_lines)
                findings.append(
                    _existing_budgets(
                        version,
                        sum((line.amount for line in own), Decimal("0.00")),
                        " Lines paid for by incoming grant funding are not counted: that "
                        "money is new, not existing budgets."
                        if external
                        else "",
                    )
                )
    if ApprovalSought.BUDGET_VIREMENT in sought and case.virement_amount is not None:
        findings.append(
            threshold_test(
                scheme, on, RuleKind.BUDGET_VIREMENT, "budget virement", case.virement_amount
            )
        )
    for kind, rule_kind, incoming_kind in (
        (ApprovalSought.GRANT_FUNDING_BID, RuleKind.GRANT_FUNDING_BID, IncomingFundingKind.BID),
        (
            ApprovalSought.GRANT_FUNDING_OFFER,
            RuleKind.GRANT_FUNDING_OFFER,
            IncomingFundingKind.OFFER,
        ),
    ):
        if kind not in sought:
            continue
        lines = [f for f in case.incoming_funding if f.kind is incoming_kind]
        if lines:
            findings.extend(_incoming(version, f) for f in lines)
        else:
            findings.append(
                threshold_test(scheme, on, rule_kind, kind.value.replace("_", " "), None)
            )
    return findings
