"""The scheme of delegation as data: load and validate the effective-dated rules file.

`scheme_of_delegation.yaml` beside this module holds every version of the rules. This
module turns it into typed, validated objects and picks the entries in force on a date.
Reading the packaged file is the only I/O, done once; everything else is pure.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date
from decimal import Decimal
from enum import StrEnum
from functools import cache
from importlib import resources
from typing import Self, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from domain.errors import RulesError


class RuleKind(StrEnum):
    EXPENDITURE = "expenditure"
    BUDGET_VIREMENT = "budget_virement"
    GRANT_FUNDING_BID = "grant_funding_bid"
    GRANT_FUNDING_OFFER = "grant_funding_offer"
    PROCUREMENT = "procurement"
    CONTRACT_EXEMPTION = "contract_exemption"
    THIRD_PARTY_GRANT = "third_party_grant"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Rule(_Frozen):
    reference: str
    #: None: every case of this kind needs the DMPC, whatever the amount.
    threshold: Decimal | None
    text: str


class SchemeVersion(_Frozen):
    version: str
    title: str
    effective_from: date
    rules: dict[RuleKind, Rule]

    @model_validator(mode="after")
    def _complete(self) -> Self:
        missing = set(RuleKind) - set(self.rules)
        if missing:
            names = ", ".join(sorted(m.value for m in missing))
            raise ValueError(f"scheme {self.version} has no rule for: {names}")
        return self


class ProcurementThreshold(_Frozen):
    effective_from: date
    amount: Decimal
    vat_included: bool


class VatRate(_Frozen):
    effective_from: date
    rate: Decimal = Field(ge=0, lt=1)


_Dated = TypeVar("_Dated", "SchemeVersion", "ProcurementThreshold", "VatRate")


def _in_force(entries: list[_Dated], on: date, what: str) -> _Dated:
    found = [e for e in entries if e.effective_from <= on]
    if not found:
        first = entries[0].effective_from.isoformat() if entries else "never"
        raise RulesError(f"no {what} is in force on {on.isoformat()} (the first starts {first})")
    return found[-1]


def _ascending(entries: list[SchemeVersion] | list[ProcurementThreshold] | list[VatRate]) -> None:
    dates = [e.effective_from for e in entries]
    if dates != sorted(dates) or len(set(dates)) != len(dates):
        raise ValueError("entries must be in strictly increasing effective_from order")


class Scheme(_Frozen):
    """Every version of the rules, in effective-date order."""

    schemes: list[SchemeVersion] = Field(min_length=1)
    procurement_thresholds: list[ProcurementThreshold] = Field(min_length=1)
    vat_rates: list[VatRate] = Field(min_length=1)

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        _ascending(self.schemes)
        _ascending(self.procurement_thresholds)
        _ascending(self.vat_rates)
        if len({s.version for s in self.schemes}) != len(self.schemes):
            raise ValueError("scheme versions must be unique")
        return self

    def scheme_on(self, on: date) -> SchemeVersion:
        return _in_force(self.schemes, on, "scheme of delegation")

    def procurement_threshold_on(self, on: date) -> ProcurementThreshold:
        return _in_force(self.procurement_thresholds, on, "procurement threshold")

    def vat_rate_on(self, on: date) -> VatRate:
        return _in_force(self.vat_rates, on, "VAT rate")

    def digest_on(self, on: date) -> str:
        """SHA-256 of the rules in force on a date: proves later which text was applied."""
        applied = {
            "scheme": self.scheme_on(on).model_dump(mode="json"),
            "procurement_threshold": self.procurement_threshold_on(on).model_dump(mode="json"),
            "vat_rate": self.vat_rate_on(on).model_dump(mode="json"),
        }
        canonical = json.dumps(applied, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()


def parse_scheme(text: str) -> Scheme:
    """Parse a rules file; a malformed one raises RulesError naming the problem."""
    try:
        raw = yaml.safe_load(text)
        return Scheme.model_validate(raw)
    except (yaml.YAMLError, ValueError) as exc:
        raise RulesError(f"the scheme of delegation file is invalid: {exc}") from exc


@cache
def default_scheme() -> Scheme:
    """The scheme shipped with Ratify (`domain/rules/scheme_of_delegation.yaml`)."""
    text = resources.files("domain.rules").joinpath("scheme_of_delegation.yaml").read_text("utf-8")
    return parse_scheme(text)
