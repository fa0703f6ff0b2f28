"""Money in the budget: expenditure and virements against para 4.8, and money coming in
(offers of grant funding and bids for it, para 4.8: all of them)."""

from __future__ import annotations

from datetime import date

from domain.case import ApprovalSought, Case
from domain.money import format_pounds
from domain.rules.findings import Finding, Outcome, threshold_test
from domain.rules.scheme import RuleKind, Scheme


def route_funding(scheme: Scheme, on: date, case: Case) -> list[Finding]:
    """The findings on expenditure, virements and grant funding bids and offers."""
    version = scheme.scheme_on(on)
    sought = set(case.approval_sought)
    findings: list[Finding] = []
    if case.money_lines:
        total = case.total_expenditure
        if ApprovalSought.EXPENDITURE in sought:
            findings.append(
                threshold_test(
                    scheme,
                    on,
                    RuleKind.EXPENDITURE,
                    "business case for revenue and capital expenditure",
                    total,
                )
            )
        else:
            rule = version.rules[RuleKind.EXPENDITURE]
            findings.append(
                Finding(
                    rule=RuleKind.EXPENDITURE,
                    reference=rule.reference,
                    outcome=Outcome.DMPC_NOTES,
                    subject="expenditure within existing approved budgets",
                    amount=total,
                    threshold=rule.threshold,
                    explanation=(
                        f"Expenditure of {format_pounds(total)} is in the case but its approval "
                        "is not sought (funded within existing approved budgets): the DMPC "
                        "notes it."
                    ),
                )
            )
    if ApprovalSought.BUDGET_VIREMENT in sought and case.virement_amount is not None:
        findings.append(
            threshold_test(
                scheme, on, RuleKind.BUDGET_VIREMENT, "budget virement", case.virement_amount
            )
        )
    for kind, label in (
        (ApprovalSought.GRANT_FUNDING_BID, RuleKind.GRANT_FUNDING_BID),
        (ApprovalSought.GRANT_FUNDING_OFFER, RuleKind.GRANT_FUNDING_OFFER),
    ):
        if kind in sought:
            findings.append(threshold_test(scheme, on, label, kind.value.replace("_", " "), None))
    return findings
