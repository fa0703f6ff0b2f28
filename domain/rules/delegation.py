"""Who must approve a case: apply the scheme of delegation in force on a date.

`route_case(case, submitted_on)` is pure. It returns a `Routing`: the decision maker (the
DMPC, or the MPS under its own delegated authority), each finding with the paragraph that
requires it, what the DMPC only notes, whether the Public Contracts Regulations are engaged
(comparing like with like on VAT), the sign-offs required, and the rule-set version applied.

Anti-splitting: related grants to one recipient, and contracts with one supplier, are added
together before any threshold test, so that splitting cannot slip a case under it.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from domain.case import Case
from domain.roles import AdviceArea
from domain.rules.findings import (
    Check,
    Finding,
    GrantGroup,
    GrantLineOutcome,
    Outcome,
    ProcedureAssessment,
    ProcurementTest,
)
from domain.rules.funding import route_funding
from domain.rules.grants import route_grants
from domain.rules.procurement import route_procurements
from domain.rules.scheme import RuleKind, Scheme, default_scheme

__all__ = [
    "Check",
    "DecisionMaker",
    "Finding",
    "GrantGroup",
    "GrantLineOutcome",
    "Outcome",
    "ProcedureAssessment",
    "ProcurementTest",
    "Route",
    "Routing",
    "RuleSetVersion",
    "required_signoffs",
    "route_case",
]


class DecisionMaker(StrEnum):
    DMPC = "dmpc"
    MPS_DELEGATED = "mps_delegated"


class Route(StrEnum):
    BOARD = "board"
    EXTREMIS = "extremis"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


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
    #: Per grant line and per group of lines tested together (empty in routings recorded
    #: before December 2026).
    grant_lines: list[GrantLineOutcome] = Field(default_factory=list)
    grant_groups: list[GrantGroup] = Field(default_factory=list)
    #: Whether each contract's procedure is one the Regulations allow.
    procedures: list[ProcedureAssessment] = Field(default_factory=list)
    #: What the engine found that the officer must see (possible split awards, a
    #: procedure without its ground, an unknown VAT basis): see `domain.rules.checks`.
    warnings: list[Check] = Field(default_factory=list)

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
    findings = route_funding(scheme, submitted_on, case)
    procurement = route_procurements(scheme, submitted_on, case)
    findings.extend(procurement.findings)
    grants = route_grants(scheme, submitted_on, case)
    findings.extend(grants.findings)

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
        procurement_tests=procurement.tests,
        required_signoffs=required_signoffs(case),
        grant_lines=grants.lines,
        grant_groups=grants.groups,
        procedures=procurement.procedures,
        warnings=[*grants.warnings, *procurement.warnings],
    )
