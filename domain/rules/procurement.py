"""Procurement: contract values against para 4.13 and the Public Contracts Regulations,
and whether the procedure named is one the Regulations allow.

Contracts with one supplier (or with none named yet) are added together before any
threshold test, so that a purchase cannot be split to slip under it; values stated on
different VAT bases are compared on one. A value whose VAT basis the paper does not state
is compared both ways (as net of VAT and as including it): when the two readings differ,
the stricter one holds (the Regulations engaged, the DMPC approves) and the officer is told.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from pydantic import BaseModel, ConfigDict

from domain.case import ApprovalSought, Case, Procurement, ProcurementRoute
from domain.money import PENNY, format_pounds
from domain.rules.findings import (
    Check,
    CheckKind,
    Finding,
    Outcome,
    ProcedureAssessment,
    ProcurementTest,
    Severity,
    make_check,
    recipient_key,
    threshold_test,
)
from domain.rules.scheme import ProcurementThreshold, RuleKind, Scheme


class ProcurementRouting(BaseModel):
    model_config = ConfigDict(frozen=True)

    findings: list[Finding]
    tests: list[ProcurementTest]
    procedures: list[ProcedureAssessment]
    warnings: list[Check]


# -- regulation grounds ---------------------------------------------------------------------

#: The grounds of reg 32 (negotiated procedure without prior publication).
REG32_GROUNDS: tuple[tuple[str, ...], ...] = (
    ("2", "a"),
    ("2", "b"),
    ("2", "c"),
    ("3", "a"),
    ("3", "b"),
    ("3", "c"),
    ("3", "d"),
    ("4",),
    ("5",),
)
REG32_LIST = "reg 32(2)(a), (b) or (c), 32(3)(a) to (d), 32(4) or 32(5)"

#: The grounds of reg 72 (modification of a contract during its term).
REG72_GROUNDS: tuple[tuple[str, ...], ...] = (
    ("1", "a"),
    ("1", "b"),
    ("1", "c"),
    ("1", "d"),
    ("1", "e"),
    ("1", "f"),
    ("5",),
)
REG72_LIST = "reg 72(1)(a) to (f) or 72(5)"

# "Regulation 32(2)(b)", "reg. 32 (2)(b)", "32(2)(b)", "Reg 32(2)(b)(ii)": a number not part
# of a longer one, then its bracketed subdivisions.
_CITATION = re.compile(r"(?<![\d.])(\d{1,3})(?![\d.])\s*((?:\(\s*[0-9a-z]{1,6}\s*\)\s*)*)", re.I)
_PART = re.compile(r"\(\s*([0-9a-z]{1,6})\s*\)", re.I)


@dataclass(frozen=True)
class Ground:
    """A regulation ground as the engine read it from the paper's words."""

    regulation: int
    parts: tuple[str, ...]
    #: Whether it is (or is a subdivision of) one of the grounds looked for.
    valid: bool

    @property
    def label(self) -> str:
        return f"reg {self.regulation}" + "".join(f"({p})" for p in self.parts)


def read_ground(
    text: str | None, regulation: int, grounds: Sequence[tuple[str, ...]]
) -> Ground | None:
    """The first citation of `regulation` in `text` that is one of `grounds` (or falls under
    one, like 32(2)(b)(ii)); else the first citation of it at all; None when it is not cited.

    Lenient about the spelling: "Regulation 32(2)(b)", "reg. 32 (2)(b)" and "32(2)(b)" are
    one ground."""
    if not text:
        return None
    first: Ground | None = None
    for match in _CITATION.finditer(text):
        if int(match.group(1)) != regulation:
            continue
        parts = tuple(p.lower() for p in _PART.findall(match.group(2)))
        valid = any(parts[: len(g)] == g for g in grounds)
        ground = Ground(regulation=regulation, parts=parts, valid=valid)
        if valid:
            return ground
        first = first or ground
    return first


# -- values and VAT -------------------------------------------------------------------------


def _gross(p: Procurement, unknown_as_gross: bool) -> bool:
    """Whether the value is read as including VAT (an unknown basis: as the reading says)."""
    return p.vat_included is True or (not p.vat_known and unknown_as_gross)


def _by_supplier(procurements: Sequence[Procurement]) -> list[list[int]]:
    """Contracts with one supplier go together, and so do all contracts whose supplier is
    not named yet (at tender stage): lots of one decision cannot slip under a threshold
    one by one. The positions of the contracts, group by group."""
    groups: dict[str, list[int]] = defaultdict(list)
    for i, p in enumerate(procurements):
        groups[recipient_key(p.supplier) if p.supplier else ""].append(i)
    return list(groups.values())


def _on_basis(value: Decimal, value_gross: bool, want_gross: bool, vat: Decimal) -> Decimal:
    if value_gross == want_gross:
        return value
    factor = Decimal(1) + vat
    converted = value * factor if want_gross else value / factor
    return converted.quantize(PENNY, rounding=ROUND_HALF_UP)


def _group_value(group: list[Procurement], vat: Decimal) -> Decimal:
    """The contracts' total for para 4.13: as stated when they share a VAT basis, net of
    VAT when they do not (an unknown basis read as net, the stricter reading)."""
    if len({_gross(p, False) for p in group}) == 1:
        return sum((p.contract_value for p in group), Decimal("0.00"))
    return sum(
        (_on_basis(p.contract_value, _gross(p, False), False, vat) for p in group), Decimal("0.00")
    )


def _group_value_if_gross(group: list[Procurement], vat: Decimal) -> Decimal:
    """The other reading of an unknown basis: those values include VAT; all net of VAT."""
    return sum(
        (_on_basis(p.contract_value, _gross(p, True), False, vat) for p in group), Decimal("0.00")
    )


def _subjects(group: list[Procurement]) -> str:
    return "; ".join(p.subject for p in group)


def _unknown(group: list[Procurement]) -> list[Procurement]:
    return [p for p in group if not p.vat_known]


def _quoted(group: list[Procurement]) -> str:
    return ", ".join(f"'{p.subject}'" for p in group)


@dataclass
class _VatNotes:
    """What each comparison of an unknown-basis value found, per contract position."""

    notes: dict[int, list[str]] = field(default_factory=lambda: defaultdict(list))
    differs: set[int] = field(default_factory=set)

    def add(self, indices: list[int], note: str, differs: bool) -> None:
        for i in indices:
            self.notes[i].append(note)
            if differs:
                self.differs.add(i)


def _basis(vat_included: bool) -> str:
    return "including VAT" if vat_included else "net of VAT"


def _procurement_test(
    group: list[Procurement], threshold: ProcurementThreshold, vat: Decimal
) -> ProcurementTest:
    def compared(unknown_as_gross: bool) -> Decimal:
        return sum(
            (
                _on_basis(
                    p.contract_value,
                    _gross(p, unknown_as_gross),
                    threshold.vat_included,
                    vat,
                )
                for p in group
            ),
            Decimal("0.00"),
        )

    subject = _subjects(group)
    basis = _basis(threshold.vat_included)
    in_force = (
        f"the {format_pounds(threshold.amount)} threshold ({basis}) in force from "
        f"{threshold.effective_from.isoformat()}"
    )
    value = compared(False)
    engaged = value >= threshold.amount
    unknown = _unknown(group)
    if not unknown:
        explanation = (
            f"{subject}: {format_pounds(value)} {basis} is "
            f"{'at or above' if engaged else 'below'} {in_force}, so the Public Contracts "
            f"Regulations 2015 are {'engaged' if engaged else 'not engaged'}."
        )
        if_gross: Decimal | None = None
        engaged_if_gross: bool | None = None
    else:
        if_gross = compared(True)
        engaged_if_gross = if_gross >= threshold.amount
        readings = (
            f"The VAT basis of {_quoted(unknown)} is not stated, so the value is compared "
            f"both ways against {in_force}: read as net of VAT it is {format_pounds(value)} "
            f"{basis}, read as including VAT {format_pounds(if_gross)} {basis}."
        )
        if engaged_if_gross == engaged:
            verdict = (
                f"The Public Contracts Regulations 2015 are "
                f"{'engaged' if engaged else 'not engaged'} either way."
            )
        else:
            # The net reading is never the smaller value: it is the stricter, and it holds
            # (engaged, not engaged if gross).
            verdict = (
                "The two readings differ (engaged if net of VAT, not engaged if it includes "
                "VAT): the stricter result holds, so the Public Contracts Regulations 2015 "
                "are engaged."
            )
        explanation = f"{subject}: {readings} {verdict}"
    return ProcurementTest(
        subject=subject,
        contract_value=_group_value(group, vat),
        vat_included=all(_gross(p, False) for p in group),
        compared_value=value,
        threshold=threshold.amount,
        threshold_vat_included=threshold.vat_included,
        threshold_effective_from=threshold.effective_from,
        engaged=engaged,
        explanation=explanation,
        vat_basis_known=not unknown,
        compared_value_if_gross=if_gross,
        engaged_if_gross=engaged_if_gross,
    )


def _para_4_13(
    scheme: Scheme,
    on: date,
    kind: RuleKind,
    subject: str,
    group: list[Procurement],
    note: str,
    vat: Decimal,
) -> tuple[Finding, str | None, bool]:
    """The para 4.13 test of a group of contracts; when a VAT basis is unknown, also what
    the other reading gives (a note for the officer) and whether it differs."""
    finding = threshold_test(
        scheme, on, kind, subject, _group_value(group, vat), aggregated_note=note
    )
    unknown = _unknown(group)
    if not unknown or finding.threshold is None or finding.amount is None:
        return finding, None, False
    if_gross = _group_value_if_gross(group, vat)
    needs_if_gross = if_gross >= finding.threshold
    needs = finding.outcome is Outcome.DMPC_APPROVES
    limit = f"{finding.reference} ({format_pounds(finding.threshold)})"
    if needs_if_gross == needs:
        verdict = "the DMPC approves" if needs else "below the threshold"
        extra = (
            f" The VAT basis of {_quoted(unknown)} is not stated: read as including VAT the "
            f"value is {format_pounds(if_gross)} net of VAT, and the result is the same either "
            f"way ({verdict})."
        )
        vat_note = f"{limit}: {verdict} either way"
    else:
        extra = (
            f" The VAT basis of {_quoted(unknown)} is not stated: read as including VAT the "
            f"value would be {format_pounds(if_gross)} net of VAT, below the threshold. The "
            f"two readings differ: the stricter result holds, so the DMPC approves under "
            f"{finding.reference}."
        )
        vat_note = (
            f"{limit}: the DMPC approves if the value is net of VAT, not if it includes VAT; "
            "the stricter result holds (the DMPC approves)"
        )
    finding = finding.model_copy(update={"explanation": finding.explanation + extra})
    return finding, vat_note, needs_if_gross != needs


# -- procedures -----------------------------------------------------------------------------

_COMPETITIVE = {
    ProcurementRoute.OPEN_TENDER: "an open procedure (reg 27)",
    ProcurementRoute.RESTRICTED_TENDER: "a restricted procedure (reg 28)",
    ProcurementRoute.COMPETITIVE_WITH_NEGOTIATION: "a competitive procedure with negotiation "
    "(reg 29)",
    ProcurementRoute.COMPETITIVE_DIALOGUE: "a competitive dialogue (reg 30)",
    ProcurementRoute.INNOVATION_PARTNERSHIP: "an innovation partnership (reg 31)",
}


def _years(value: Decimal) -> str:
    text = f"{value.normalize():f}"
    return f"{text} year" + ("" if value == 1 else "s")


def _term(p: Procurement) -> str:
    """The term and extension options, and that the value tested should cover them."""
    if p.term_years is None and p.extension_years is None:
        return ""
    if p.term_years is not None:
        said = f"Term: {_years(p.term_years)}"
        if p.extension_years:
            total = p.term_years + p.extension_years
            said += (
                f", with options to extend by up to {_years(p.extension_years)} "
                f"({_years(total)} in all)"
            )
        elif p.extension_years is not None:
            said += ", with no extension options"
    else:
        assert p.extension_years is not None
        said = f"Extension options: up to {_years(p.extension_years)}"
    return (
        f" {said}. The value tested should cover the whole term including any extension "
        "options (reg 6)."
    )


_GENERIC = {"framework", "agreement", "call", "off", "a", "the", "from", "under", "of", "via"}


def _framework_in(detail: str | None) -> str | None:
    """A framework named in the route's free text ("CCS G-Cloud 11 framework"), when the
    paper gave no `framework`: the text must say framework and name one."""
    if not detail or "framework" not in detail.casefold():
        return None
    words = set(re.findall(r"[a-z0-9]+", detail.casefold()))
    return detail if words - _GENERIC else None


def _reg32_reason(p: Procurement, ground: Ground | None) -> str:
    if ground is None:
        return "no regulation_ground is given"
    if ground.parts:
        return f"{ground.label} is not one of them"
    return f"'{p.regulation_ground}' does not name one"


def _judge_procedure(p: Procurement) -> tuple[bool | None, str, str | None]:
    """Whether the Regulations allow the procedure, when they are engaged: the answer,
    the reason in words, and the ground relied on."""
    route = p.route
    if route in _COMPETITIVE:
        return True, f"{_COMPETITIVE[route]} is a procedure the Regulations allow.", None
    if route is ProcurementRoute.NEGOTIATED_WITHOUT_PRIOR_PUBLICATION:
        ground = read_ground(p.regulation_ground, 32, REG32_GROUNDS)
        if ground is not None and ground.valid:
            return (
                True,
                f"a negotiated procedure without prior publication on the ground of "
                f"{ground.label} is allowed by the Regulations.",
                ground.label,
            )
        return (
            False,
            "a negotiated procedure without prior publication is allowed only on a ground of "
            f"reg 32 ({REG32_LIST}): {_reg32_reason(p, ground)}.",
            ground.label if ground else None,
        )
    if route is ProcurementRoute.FRAMEWORK:
        framework = p.framework or _framework_in(p.route_detail)
        if framework:
            return (
                True,
                f"a call-off from a framework agreement (reg 33), {framework}, is allowed by "
                "the Regulations.",
                framework,
            )
        return (
            False,
            "a call-off needs the framework it is made under (reg 33): name it in framework.",
            None,
        )
    if route is ProcurementRoute.DIRECT_AWARD_EXEMPT:
        if p.exemption:
            return (
                True,
                f"the direct award relies on {p.exemption}, which takes it outside the "
                "Regulations.",
                p.exemption,
            )
        return (
            False,
            "a direct award needs the exemption from the Regulations it relies on (e.g. reg 12 "
            "public-to-public (Teckal)): none is given in exemption.",
            None,
        )
    if route is ProcurementRoute.SINGLE_TENDER_ACTION:
        ground = read_ground(p.regulation_ground, 32, REG32_GROUNDS)
        if ground is not None and ground.valid:
            return (
                True,
                f"the single tender action relies on {ground.label}, a ground for a negotiated "
                "procedure without prior publication the Regulations allow.",
                ground.label,
            )
        if p.exemption:
            return (
                True,
                f"the single tender action relies on {p.exemption}, which takes it outside the "
                "Regulations.",
                p.exemption,
            )
        return (
            False,
            f"a single tender action needs a ground of reg 32 ({REG32_LIST}) or an exemption "
            f"from the Regulations, and {_reg32_reason(p, ground)}: a contract exemption under "
            "para 4.13 does not disapply the Regulations.",
            ground.label if ground else None,
        )
    if route is ProcurementRoute.CONTRACT_VARIATION:
        ground = read_ground(p.regulation_ground, 72, REG72_GROUNDS)
        if ground is not None and ground.valid:
            return (
                True,
                f"the variation relies on {ground.label}, a modification the Regulations allow "
                "without a new procurement.",
                ground.label,
            )
        reason = (
            "no regulation_ground is given"
            if ground is None
            else f"{ground.label} is not one of them"
        )
        return (
            False,
            f"a contract variation is allowed only on a ground of reg 72 ({REG72_LIST}): {reason}.",
            ground.label if ground else None,
        )
    detail = f" ({p.route_detail})" if p.route_detail else ""
    return (
        None,
        f"the procedure is described as other{detail}: the engine cannot assess whether the "
        "Regulations allow it.",
        None,
    )


def _assess(
    index: int, p: Procurement, test: ProcurementTest, threshold: ProcurementThreshold
) -> ProcedureAssessment:
    in_force = (
        f"the {format_pounds(threshold.amount)} threshold ({_basis(threshold.vat_included)}) "
        f"in force from {threshold.effective_from.isoformat()}"
    )
    ground: str | None = None
    if test.engaged:
        allowed, reason, ground = _judge_procedure(p)
        explanation = (
            f"{p.subject}: the Public Contracts Regulations 2015 are engaged (the contract, "
            f"with any related ones, is at or above {in_force}); {reason}"
        )
    else:
        allowed = True
        explanation = (
            f"{p.subject}: the contract, with any related ones, is below {in_force}: the "
            "Regulations are not engaged below the threshold, so they do not govern the "
            "procedure."
        )
    return ProcedureAssessment(
        index=index,
        line_id=p.id,
        subject=p.subject,
        procedure=p.route.value,
        regulations_engaged=test.engaged,
        allowed=allowed,
        explanation=explanation + _term(p),
        threshold=threshold.amount,
        threshold_vat_included=threshold.vat_included,
        threshold_effective_from=threshold.effective_from,
        ground=ground,
    )


def _line(index: int, p: Procurement) -> str:
    return f"procurement {index + 1} ({p.subject})"


# -- the answer -----------------------------------------------------------------------------


def route_procurements(scheme: Scheme, on: date, case: Case) -> ProcurementRouting:
    """The procurements of `case` judged by the rules in force `on` a date."""
    sought = set(case.approval_sought)
    vat = scheme.vat_rate_on(on).rate
    threshold = scheme.procurement_threshold_on(on)
    procurements = case.procurements
    vat_notes = _VatNotes()
    findings: list[Finding] = []

    def para_4_13(kind: RuleKind, label: str, indices: list[int], note: str = "") -> None:
        group = [procurements[i] for i in indices]
        finding, vat_note, differs = _para_4_13(
            scheme, on, kind, label + _subjects(group), group, note, vat
        )
        findings.append(finding)
        if vat_note is not None:
            vat_notes.add([i for i in indices if not procurements[i].vat_known], vat_note, differs)

    if ApprovalSought.PROCUREMENT in sought:
        for indices in _by_supplier(procurements):
            note = (
                f" (added together: {len(indices)} contracts with one supplier, or none named)"
                if len(indices) > 1
                else ""
            )
            para_4_13(RuleKind.PROCUREMENT, "procurement of ", indices, note)
    if ApprovalSought.CONTRACT_EXEMPTION in sought:
        exempt = [i for i, p in enumerate(procurements) if p.single_tender_action]
        for part in _by_supplier([procurements[i] for i in exempt]):
            para_4_13(
                RuleKind.CONTRACT_EXEMPTION,
                "contract exemption (single tender action) for ",
                [exempt[j] for j in part],
            )

    tests: list[ProcurementTest] = []
    test_of: dict[int, ProcurementTest] = {}
    for indices in _by_supplier(procurements):
        test = _procurement_test([procurements[i] for i in indices], threshold, vat)
        tests.append(test)
        for i in indices:
            test_of[i] = test
        if not test.vat_basis_known:
            differs = test.engaged_if_gross != test.engaged
            pcr = (
                f"PCR threshold ({format_pounds(threshold.amount)} "
                f"{_basis(threshold.vat_included)})"
            )
            vat_notes.add(
                [i for i in indices if not procurements[i].vat_known],
                (
                    f"{pcr}: engaged if the value is net of VAT, not if it includes VAT; the "
                    "stricter result holds (engaged)"
                    if differs
                    else f"{pcr}: {'engaged' if test.engaged else 'not engaged'} either way"
                ),
                differs,
            )

    procedures = [_assess(i, p, test_of[i], threshold) for i, p in enumerate(procurements)]
    warnings: list[Check] = []
    for a in procedures:
        if a.allowed is False:
            p = procurements[a.index]
            warnings.append(
                make_check(
                    CheckKind.PROCEDURE,
                    Severity.ACKNOWLEDGE,
                    _line(a.index, p),
                    f"The Public Contracts Regulations 2015 are engaged and the procedure is "
                    f"not one they allow as described: {_judge_procedure(p)[1]} Correct the "
                    "procedure or its ground, or acknowledge with a reason.",
                )
            )
    for i, notes in vat_notes.notes.items():
        p = procurements[i]
        differs = i in vat_notes.differs
        warnings.append(
            make_check(
                CheckKind.VAT,
                Severity.ACKNOWLEDGE if differs else Severity.INFO,
                _line(i, p),
                f"The VAT basis of {format_pounds(p.contract_value)} is not stated, so it was "
                f"compared both ways (as net of VAT and as including VAT). "
                + "; ".join(notes)
                + (
                    ". The readings differ: state the VAT basis, or acknowledge with a reason."
                    if differs
                    else ". The result is the same either way."
                ),
            )
        )
    return ProcurementRouting(
        findings=findings, tests=tests, procedures=procedures, warnings=warnings
    )
