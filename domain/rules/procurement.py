"""Procurement: contract values against para 4.13 and the Public Contracts Regulations.

Contracts with one supplier (or with none named yet) are added together before any
threshold test, so that a purchase cannot be split to slip under it; values stated on
different VAT bases are compared on one.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from pydantic import BaseModel, ConfigDict

from domain.case import ApprovalSought, Case, Procurement
from domain.money import PENNY, format_pounds
from domain.rules.findings import (
    Check,
    Finding,
    ProcedureAssessment,
    ProcurementTest,
    name_key,
    threshold_test,
)
from domain.rules.scheme import RuleKind, Scheme


class ProcurementRouting(BaseModel):
    model_config = ConfigDict(frozen=True)

    findings: list[Finding]
    tests: list[ProcurementTest]
    procedures: list[ProcedureAssessment]
    warnings: list[Check]


def _vat_included(p: Procurement) -> bool:
    # An unknown basis is treated as net of VAT until the engine compares both ways.
    return p.vat_included is True


def _by_supplier(procurements: Iterable[Procurement]) -> list[list[Procurement]]:
    """Contracts with one supplier go together, and so do all contracts whose supplier is
    not named yet (at tender stage): lots of one decision cannot slip under a threshold
    one by one."""
    groups: dict[str, list[Procurement]] = defaultdict(list)
    for p in procurements:
        groups[name_key(p.supplier) if p.supplier else ""].append(p)
    return list(groups.values())


def _group_value(group: list[Procurement], vat: Decimal) -> Decimal:
    """The contracts' total; net of VAT when they are stated on different VAT bases."""
    if len({_vat_included(p) for p in group}) == 1:
        return sum((p.contract_value for p in group), Decimal("0.00"))
    return sum(
        (_on_basis(p.contract_value, _vat_included(p), False, vat) for p in group), Decimal("0.00")
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
                _on_basis(p.contract_value, _vat_included(p), threshold.vat_included, vat)
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
                vat_included=all(_vat_included(p) for p in group),
                compared_value=compared,
                threshold=threshold.amount,
                threshold_vat_included=threshold.vat_included,
                threshold_effective_from=threshold.effective_from,
                engaged=engaged,
                explanation=explanation,
            )
        )
    return tests


def route_procurements(scheme: Scheme, on: date, case: Case) -> ProcurementRouting:
    """The procurements of `case` judged by the rules in force `on` a date."""
    sought = set(case.approval_sought)
    vat_rate = scheme.vat_rate_on(on).rate
    findings: list[Finding] = []
    if ApprovalSought.PROCUREMENT in sought:
        for group in _by_supplier(case.procurements):
            value = _group_value(group, vat_rate)
            note = (
                f" (added together: {len(group)} contracts with one supplier, or none named)"
                if len(group) > 1
                else ""
            )
            findings.append(
                threshold_test(
                    scheme,
                    on,
                    RuleKind.PROCUREMENT,
                    "procurement of " + "; ".join(p.subject for p in group),
                    value,
                    aggregated_note=note,
                )
            )
    if ApprovalSought.CONTRACT_EXEMPTION in sought:
        exempt = [p for p in case.procurements if p.single_tender_action]
        for group in _by_supplier(exempt):
            value = _group_value(group, vat_rate)
            findings.append(
                threshold_test(
                    scheme,
                    on,
                    RuleKind.CONTRACT_EXEMPTION,
                    "contract exemption (single tender action) for "
                    + "; ".join(p.subject for p in group),
                    value,
                )
            )
    return ProcurementRouting(
        findings=findings,
        tests=_procurement_tests(scheme, on, case.procurements),
        procedures=[],
        warnings=[],
    )
