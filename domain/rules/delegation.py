"""Who must approve a case: apply the scheme of delegation in force on a date.

`route_case(case, submitted_on)` is pure. It returns a `Routing`: the decision maker (the
DMPC, or the MPS under its own delegated authority), each finding with the paragraph that
requires it, what the DMPC only notes, whether the Public Contracts Regulations are engaged
(comparing like with like on VAT), the sign-offs required, and the rule-set version applied.

Anti-splitting: related grants to one recipient, and contracts with one supplier, are added
together before any threshold test, so that splitting cannot slip a case under it.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from domain.case import ApprovalSought, Case, GrantLine, Procurement
from domain.money import PENNY, format_pounds
from domain.roles import AdviceArea
from domain.rules.scheme import RuleKind, Scheme, default_scheme


class Outcome(StrEnum):
    DMPC_APPROVES = "dmpc_approves"
    DMPC_NOTES = "dmpc_notes"
    BELOW_THRESHOLD = "below_threshold"


class DecisionMaker(StrEnum):
    DMPC = "dmpc"
    MPS_DELEGATED = "mps_delegated"


class Route(StrEnum):
    BOARD = "board"
    EXTREMIS = "extremis"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Finding(_Frozen):
    """One rule applied to one part of the case, with the reason in words."""

    rule: RuleKind
    reference: str
    outcome: Outcome
    subject: str
    amount: Decimal | None
    threshold: Decimal | None
    explanation: str


class ProcurementTest(_Frozen):
    """Public Contracts Regulations 2015: is this contract (with its related ones) engaged?"""

    subject: str
    #: The contracts' total, net of VAT when they were stated on different bases.
    contract_value: Decimal
    vat_included: bool
    #: The value put on the threshold's VAT basis (grossed up or netted down).
    compared_value: Decimal
    threshold: Decimal
    threshold_vat_included: bool
    threshold_effective_from: date
    engaged: bool
    explanation: str


class RuleSetVersion(_Frozen):
    scheme_version: str
    scheme_effective_from: date
    procurement_threshold_effective_from: date
    vat_rate_effective_from: date
    #: SHA-256 of the rules applied (scheme text, threshold, VAT rate).
    digest: str

    @property
    def label(self) -> str:
        return (
            f"{self.scheme_version} (from {self.scheme_effective_from.isoformat()}); "
            f"PCR threshold from {self.procurement_threshold_effective_from.isoformat()}"
        )


class Routing(_Frozen):
    """The rules engine's answer for one case on one date."""

    judged_on: date
    rule_set: RuleSetVersion
    decision_maker: DecisionMaker
    route: Route
    findings: list[Finding]
    procurement_tests: list[ProcurementTest]
    required_signoffs: list[AdviceArea]

    @property
    def dmpc_approves(self) -> list[Finding]:
        return [f for f in self.findings if f.outcome is Outcome.DMPC_APPROVES]

    @property
    def noted(self) -> list[Finding]:
        return [f for f in self.findings if f.outcome is Outcome.DMPC_NOTES]

    @property
    def regulations_engaged(self) -> bool:
        return any(t.engaged for t in self.procurement_tests)

    @property
    def paragraphs(self) -> list[str]:
        """The paragraphs that require the DMPC's approval, without repeats, in order."""
        return list(dict.fromkeys(f.reference for f in self.dmpc_approves))

    def grants(self, outcome: Outcome) -> list[Finding]:
        """Grant lines with this outcome: DMPC_APPROVES (>= £50,000) or DMPC_NOTES."""
        return [
            f
            for f in self.findings
            if f.rule is RuleKind.THIRD_PARTY_GRANT and f.outcome is outcome
        ]


def _key(name: str) -> str:
    """Normalise a recipient or supplier name so that 'Safer  London' == 'safer london'."""
    return re.sub(r"[^a-z0-9]+", " ", name.casefold()).strip()


def _threshold_test(
    scheme: Scheme,
    on: date,
    kind: RuleKind,
    subject: str,
    amount: Decimal | None,
    *,
    below: Outcome = Outcome.BELOW_THRESHOLD,
    aggregated_note: str = "",
) -> Finding:
    rule = scheme.scheme_on(on).rules[kind]
    if rule.threshold is None:
        return Finding(
            rule=kind,
            reference=rule.reference,
            outcome=Outcome.DMPC_APPROVES,
            subject=subject,
            amount=amount,
            threshold=None,
            explanation=f"{rule.text} ({rule.reference})",
        )
    if amount is None:
        raise ValueError(f"{subject}: an amount is needed to test {rule.reference}")
    needs = amount >= rule.threshold
    comparison = "at or above" if needs else "below"
    verdict = (
        f"so the DMPC approves under {rule.reference}"
        if needs
        else (
            "so the DMPC only notes it"
            if below is Outcome.DMPC_NOTES
            else "so it is within the MPS's delegated authority"
        )
    )
    return Finding(
        rule=kind,
        reference=rule.reference,
        outcome=Outcome.DMPC_APPROVES if needs else below,
        subject=subject,
        amount=amount,
        threshold=rule.threshold,
        explanation=(
            f"{subject}: {format_pounds(amount)}{aggregated_note} is {comparison} "
            f"the {format_pounds(rule.threshold)} threshold, {verdict}."
        ),
    )


def _grant_findings(scheme: Scheme, on: date, grants: Iterable[GrantLine]) -> list[Finding]:
    groups: dict[str, list[GrantLine]] = defaultdict(list)
    for grant in grants:
        groups[_key(grant.recipient)].append(grant)
    findings: list[Finding] = []
    for lines in groups.values():
        total = sum((g.amount for g in lines), Decimal("0.00"))
        note = (
            f" (added together with {len(lines) - 1} related grant(s) to the same recipient)"
            if len(lines) > 1
            else ""
        )
        for grant in lines:
            finding = _threshold_test(
                scheme,
                on,
                RuleKind.THIRD_PARTY_GRANT,
                f"grant of {format_pounds(grant.amount)} to {grant.recipient}",
                total,
                below=Outcome.DMPC_NOTES,
                aggregated_note=note,
            )
            findings.append(finding)
    return findings


def _by_supplier(procurements: Iterable[Procurement]) -> list[list[Procurement]]:
    """Contracts with one supplier go together, and so do all contracts whose supplier is
    not named yet (at tender stage): lots of one decision cannot slip under a threshold
    one by one."""
    groups: dict[str, list[Procurement]] = defaultdict(list)
    for p in procurements:
        groups[_key(p.supplier) if p.supplier else ""].append(p)
    return list(groups.values())


def _group_value(group: list[Procurement], vat: Decimal) -> Decimal:
    """The contracts' total; net of VAT when they are stated on different VAT bases."""
    if len({p.vat_included for p in group}) == 1:
        return sum((p.contract_value for p in group), Decimal("0.00"))
    return sum(
        (_on_basis(p.contract_value, p.vat_included, False, vat) for p in group), Decimal("0.00")
    )


def _on_basis(value: Decimal, value_gross: bool, want_gross: bool, vat: Decimal) -> Decimal:
    if value_gross == want_gross:
        return value
    factor = Decimal(1) + vat
    converted = value * factor if want_gross else value / factor
    return converted.quantize(PENNY, rounding=ROUND_HALF_UP)


def _procurement_tests(
    scheme: Scheme, on: date, procurements: list[Procurement]
) -> list[ProcurementTest]:
    threshold = scheme.procurement_threshold_on(on)
    vat = scheme.vat_rate_on(on).rate
    tests = []
    for group in _by_supplier(procurements):
        compared = sum(
            (
                _on_basis(p.contract_value, p.vat_included, threshold.vat_included, vat)
                for p in group
            ),
            Decimal("0.00"),
        )
        value = _group_value(group, vat)
        subject = "; ".join(p.subject for p in group)
        engaged = compared >= threshold.amount
        basis = "including VAT" if threshold.vat_included else "net of VAT"
        explanation = (
            f"{subject}: {format_pounds(compared)} {basis} is "
            f"{'at or above' if engaged else 'below'} the {format_pounds(threshold.amount)} "
            f"threshold ({basis}) in force from {threshold.effective_from.isoformat()}, so the "
            f"Public Contracts Regulations 2015 are {'engaged' if engaged else 'not engaged'}."
        )
        tests.append(
            ProcurementTest(
                subject=subject,
                contract_value=value,
                vat_included=all(p.vat_included for p in group),
                compared_value=compared,
                threshold=threshold.amount,
                threshold_vat_included=threshold.vat_included,
                threshold_effective_from=threshold.effective_from,
                engaged=engaged,
                explanation=explanation,
            )
        )
    return tests


def required_signoffs(case: Case) -> list[AdviceArea]:
    """Finance, legal and equalities always; commercial with procurement; information
    assurance when personal data or a DPIA is involved."""
    areas = [AdviceArea.FINANCE, AdviceArea.LEGAL]
    if case.has_procurement:
        areas.append(AdviceArea.COMMERCIAL)
    areas.append(AdviceArea.EQUALITIES)
    if case.involves_personal_data:
        areas.append(AdviceArea.INFORMATION_ASSURANCE)
    return areas


def route_case(case: Case, submitted_on: date, scheme: Scheme | None = None) -> Routing:
    """Judge a case by the rules in force on the day it was submitted."""
    scheme = scheme or default_scheme()
    version = scheme.scheme_on(submitted_on)
    sought = set(case.approval_sought)
    findings: list[Finding] = []

    if case.money_lines:
        total = case.total_expenditure
        if ApprovalSought.EXPENDITURE in sought:
            findings.append(
                _threshold_test(
                    scheme,
                    submitted_on,
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
            _threshold_test(
                scheme,
                submitted_on,
                RuleKind.BUDGET_VIREMENT,
                "budget virement",
                case.virement_amount,
            )
        )
    for kind, label in (
        (ApprovalSought.GRANT_FUNDING_BID, RuleKind.GRANT_FUNDING_BID),
        (ApprovalSought.GRANT_FUNDING_OFFER, RuleKind.GRANT_FUNDING_OFFER),
    ):
        if kind in sought:
            findings.append(
                _threshold_test(scheme, submitted_on, label, kind.value.replace("_", " "), None)
            )
    if ApprovalSought.PROCUREMENT in sought:
        vat_rate = scheme.vat_rate_on(submitted_on).rate
        for group in _by_supplier(case.procurements):
            value = _group_value(group, vat_rate)
            note = (
                f" (added together: {len(group)} contracts with one supplier, or none named)"
                if len(group) > 1
                else ""
            )
            findings.append(
                _threshold_test(
                    scheme,
                    submitted_on,
                    RuleKind.PROCUREMENT,
                    "procurement of " + "; ".join(p.subject for p in group),
                    value,
                    aggregated_note=note,
                )
            )
    if ApprovalSought.CONTRACT_EXEMPTION in sought:
        exempt = [p for p in case.procurements if p.single_tender_action]
        for group in _by_supplier(exempt):
            value = _group_value(group, scheme.vat_rate_on(submitted_on).rate)
            findings.append(
                _threshold_test(
                    scheme,
                    submitted_on,
                    RuleKind.CONTRACT_EXEMPTION,
                    "contract exemption (single tender action) for "
                    + "; ".join(p.subject for p in group),
                    value,
                )
            )
    if ApprovalSought.THIRD_PARTY_GRANTS in sought:
        findings.extend(_grant_findings(scheme, submitted_on, case.grant_lines))

    threshold = scheme.procurement_threshold_on(submitted_on)
    vat = scheme.vat_rate_on(submitted_on)
    rule_set = RuleSetVersion(
        scheme_version=version.version,
        scheme_effective_from=version.effective_from,
        procurement_threshold_effective_from=threshold.effective_from,
        vat_rate_effective_from=vat.effective_from,
        digest=scheme.digest_on(submitted_on),
    )
    needs_dmpc = any(f.outcome is Outcome.DMPC_APPROVES for f in findings)
    return Routing(
        judged_on=submitted_on,
        rule_set=rule_set,
        decision_maker=DecisionMaker.DMPC if needs_dmpc else DecisionMaker.MPS_DELEGATED,
        route=Route.EXTREMIS if case.is_extremis else Route.BOARD,
        findings=findings,
        procurement_tests=_procurement_tests(scheme, submitted_on, case.procurements),
        required_signoffs=required_signoffs(case),
    )
