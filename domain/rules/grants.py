"""Grants to third parties: which lines are one award, and which appendix each falls in.

Each grant of £50,000 or more needs the DMPC; smaller ones are approved by the MPS and
noted. Related lines (one award split up) are added together before the test.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal

from pydantic import BaseModel, ConfigDict

from domain.case import Case, GrantLine
from domain.money import format_pounds
from domain.rules.findings import (
    Check,
    Finding,
    GrantGroup,
    GrantLineOutcome,
    Outcome,
    name_key,
    threshold_test,
)
from domain.rules.scheme import RuleKind, Scheme


class GrantRouting(BaseModel):
    model_config = ConfigDict(frozen=True)

    findings: list[Finding]
    lines: list[GrantLineOutcome]
    groups: list[GrantGroup]
    warnings: list[Check]


def route_grants(scheme: Scheme, on: date, case: Case) -> GrantRouting:
    """The grant lines of `case` judged by the rules in force `on` a date."""
    groups: dict[str, list[tuple[int, GrantLine]]] = defaultdict(list)
    for index, grant in enumerate(case.grant_lines):
        groups[name_key(grant.recipient or "")].append((index, grant))
    findings: list[Finding] = []
    for lines in groups.values():
        total = sum((g.amount for _, g in lines), Decimal("0.00"))
        note = (
            f" (added together with {len(lines) - 1} related grant(s) to the same recipient)"
            if len(lines) > 1
            else ""
        )
        for _, grant in lines:
            findings.append(
                threshold_test(
                    scheme,
                    on,
                    RuleKind.THIRD_PARTY_GRANT,
                    f"grant of {format_pounds(grant.amount)} to {grant.recipient}",
                    total,
                    below=Outcome.DMPC_NOTES,
                    aggregated_note=note,
                )
            )
    return GrantRouting(findings=findings, lines=[], groups=[], warnings=[])
