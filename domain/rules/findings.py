"""What the rules engine says about a case, part by part: the types of its answer.

A `Finding` is one rule applied to one part of the case (a grant line, a group of contracts,
an offer of funding); a `Check` is something the officer must see, and fix or acknowledge
with a reason before submission (a possible split award, a recommendation that disagrees
with the routing, a total that does not add up). The engine's modules (`grants`,
`procurement`) and `checks` build them; `delegation.route_case` puts them together.
"""

from __future__ import annotations

import hashlib
import re
from datetime import date
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from domain.money import format_pounds
from domain.rules.scheme import RuleKind, Scheme


class Outcome(StrEnum):
    DMPC_APPROVES = "dmpc_approves"
    DMPC_NOTES = "dmpc_notes"
    BELOW_THRESHOLD = "below_threshold"

    @property
    def label(self) -> str:
        return {
            Outcome.DMPC_APPROVES: "approve",
            Outcome.DMPC_NOTES: "note",
            Outcome.BELOW_THRESHOLD: "delegated",
        }[self]


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
    #: False when a contract of the group does not state its VAT basis: the value was then
    #: compared both ways, and `compared_value` is the stricter reading (as net of VAT).
    vat_basis_known: bool = True
    #: When the basis is unknown: the value on the threshold's basis had the contracts of
    #: unknown basis included VAT, and whether that reading engages the Regulations.
    compared_value_if_gross: Decimal | None = None
    engaged_if_gross: bool | None = None


class ProcedureAssessment(_Frozen):
    """Whether the procedure named for a contract is one the Regulations allow."""

    #: The procurement's position in `Case.procurements` (from 0) and its id, if any.
    index: int
    line_id: str | None = None
    subject: str
    #: The procedure, as `ProcurementRoute` names it.
    procedure: str
    #: Whether the Regulations are engaged for this contract (with its related ones).
    regulations_engaged: bool
    #: True: allowed; False: not allowed as described; None: the engine cannot tell.
    allowed: bool | None
    explanation: str
    #: The PCR threshold in force on the day judged (None in answers recorded before
    #: December 2026).
    threshold: Decimal | None = None
    threshold_vat_included: bool | None = None
    threshold_effective_from: date | None = None
    #: What the procedure relies on, as the engine read it: a regulation ground ("reg
    #: 32(2)(b)"), the exemption, or the framework of a call-off; None when nothing is.
    ground: str | None = None


class GrantLineOutcome(_Frozen):
    """The outcome of one grant line: which appendix it falls in, and why."""

    #: The line's position in `Case.grant_lines` (from 0) and its id, if any.
    index: int
    line_id: str | None = None
    recipient: str | None
    #: The line's amount (for a batch: its total).
    amount: Decimal
    #: The key of the group it was tested in (`GrantGroup.key`).
    group: str
    #: What was weighed against the threshold: the group's total, or a batch's largest award.
    tested_amount: Decimal
    batch_count: int | None = None
    outcome: Outcome
    reference: str
    explanation: str


class GrantGroup(_Frozen):
    """Grant lines tested together as one award (a declared group, or the ungrouped lines
    to one recipient), or one batch line of separate awards."""

    key: str
    #: How the paper names it: the declared group, or the recipient.
    label: str
    #: "declared": the paper's `group`; "recipient": ungrouped lines to one recipient
    #: (names compared normalised); "batch": a batch line, tested by its largest award.
    kind: str
    lines: list[int]
    total: Decimal
    tested_amount: Decimal
    threshold: Decimal | None
    outcome: Outcome
    reference: str
    explanation: str


class CheckKind(StrEnum):
    SPLITTING = "splitting"
    """Grants or contracts that may be one award split up."""
    RECOMMENDATION = "recommendation"
    """A recommendation disagrees with the routing."""
    FIGURES = "figures"
    """A stated total is not the sum of its rows."""
    PROCEDURE = "procedure"
    """A procurement procedure the Regulations do not allow as described."""
    VAT = "vat"
    """A contract's VAT basis is unknown."""
    DECLARATION = "declaration"
    """An officer declaration line neither ticked nor explained."""
    REQUIRED_BY = "required_by"
    """The required-by date has passed already."""


class Severity(StrEnum):
    INFO = "info"
    """Shown to everyone who reads the case; nothing to do."""
    ACKNOWLEDGE = "acknowledge"
    """The officer fixes it, or acknowledges it with a reason, before submission; the
    acknowledgement is shown to every approver."""
    FIX = "fix"
    """Submission is refused until it is fixed."""


class Check(_Frozen):
    """Something about the case a person must see before it goes on."""

    #: Stable for the same facts: `<kind>:<digest of the message>`. A change of the facts
    #: (an amount, a name) gives a new key, so an acknowledgement covers what was seen.
    key: str
    kind: CheckKind
    severity: Severity
    #: What it concerns, in words ("grant lines 3 and 7 (Bright Futures)").
    subject: str
    message: str


def make_check(kind: CheckKind, severity: Severity, subject: str, message: str) -> Check:
    digest = hashlib.sha256(f"{subject}\n{message}".encode()).hexdigest()[:12]
    return Check(
        key=f"{kind.value}:{digest}", kind=kind, severity=severity, subject=subject, message=message
    )


#: Words at the end of an organisation's name that say only what kind of body it is.
_LEGAL_FORMS: tuple[tuple[str, ...], ...] = (
    ("community", "interest", "company"),
    ("charitable", "incorporated", "organisation"),
    ("charitable", "incorporated", "organization"),
    ("limited",),
    ("ltd",),
    ("plc",),
    ("llp",),
    ("cic",),
    ("cio",),
)


def recipient_key(name: str) -> str:
    """Normalise an organisation's name for comparison, so that 'Bright Futures Ltd',
    'bright futures' and 'The Bright Futures Limited' are one, and so are 'Women & Girls
    Network' and 'Women and Girls Network'.

    Case, punctuation, whitespace and apostrophes are ignored; '&' is 'and'; a leading
    'The' and trailing legal forms (Ltd, Limited, plc, LLP, CIC, CIO, and the words they
    stand for) are dropped; dotted initials are joined ('C.I.C.' is 'cic'). A name that is
    nothing but those words keeps them.
    """
    text = name.casefold().replace("&", " and ")
    text = re.sub(r"['\u2019`]", "", text)
    words = re.sub(r"[^a-z0-9]+", " ", text).split()
    words = _join_initials(words)
    kept = list(words)
    if len(kept) > 1 and kept[0] == "the":
        kept = kept[1:]
    stripped = True
    while stripped:
        stripped = False
        for form in _LEGAL_FORMS:
            if len(kept) > len(form) and tuple(kept[-len(form) :]) == form:
                kept = kept[: -len(form)]
                stripped = True
                break
    return " ".join(kept if kept else words)


def _join_initials(words: list[str]) -> list[str]:
    """['c', 'i', 'c'] -> ['cic']: runs of two or more single letters are one word."""
    out: list[str] = []
    run: list[str] = []
    for word in [*words, ""]:
        if len(word) == 1 and word.isalpha():
            run.append(word)
            continue
        if len(run) > 1:
            out.append("".join(run))
        else:
            out.extend(run)
        run = []
        if word:
            out.append(word)
    return out


def threshold_test(
    scheme: Scheme,
    on: date,
    kind: RuleKind,
    subject: str,
    amount: Decimal | None,
    *,
    below: Outcome = Outcome.BELOW_THRESHOLD,
    aggregated_note: str = "",
) -> Finding:
    """Apply the rule of `kind` in force `on` a date to `amount`."""
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
