"""Exact money for the domain: pounds as Decimal with pence, never floats.

Amounts in a decision paper are exact (`£353,000`, `£87,000 per annum`), and the scheme of
delegation compares them with thresholds to the penny. A number written in a YAML file
(`87000.50`) is read through its decimal text, never kept as a binary fraction, so that
`0.1 + 0.2` can never decide who approves a case.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, PlainSerializer

#: The largest amount a single money line may carry. Anything larger is a typo (an extra
#: zero or two), not a policing budget: the whole MOPAC budget is a few billion pounds.
MAX_AMOUNT = Decimal("10000000000.00")

PENNY = Decimal("0.01")


def _exact_decimal(value: Any) -> Any:
    if isinstance(value, float):
        # repr gives the shortest text that reads back as this float: the amount as written.
        value = Decimal(repr(value))
    if isinstance(value, str):
        cleaned = value.replace(",", "").replace("£", "").strip()
        return cleaned
    return value


def _check_amount(value: Decimal) -> Decimal:
    if not value.is_finite():
        raise ValueError("an amount must be a finite number of pounds")
    if value < 0:
        raise ValueError("an amount cannot be negative")
    if value > MAX_AMOUNT:
        raise ValueError(f"an amount cannot exceed £{MAX_AMOUNT:,.2f} (is a zero too many?)")
    if value != value.quantize(PENNY):
        raise ValueError("an amount cannot have fractions of a penny")
    return value.quantize(PENNY)


#: Pounds, exact to the penny, non-negative, at most £10bn. Accepts 788000, "788000",
#: "788,000.00" or "£788,000"; serialises to a string such as "788000.00".
Pounds = Annotated[
    Decimal,
    BeforeValidator(_exact_decimal),
    AfterValidator(_check_amount),
    PlainSerializer(lambda v: f"{v:.2f}", return_type=str, when_used="json"),
]


def _check_signed_amount(value: Decimal) -> Decimal:
    if value.is_finite() and value < 0:
        return -_check_amount(-value)
    return _check_amount(value)


#: Pounds that may be negative (an underspend, a variance in a financial table): exact to
#: the penny, at most £10bn either way. Accepts "-12,500" and "(12,500)" as minus £12,500.
SignedPounds = Annotated[
    Decimal,
    BeforeValidator(lambda v: _exact_decimal(_parenthesised(v))),
    AfterValidator(_check_signed_amount),
    PlainSerializer(lambda v: f"{v:.2f}", return_type=str, when_used="json"),
]


def _parenthesised(value: Any) -> Any:
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("(") and text.endswith(")"):
            return "-" + text[1:-1]
    return value


def format_pounds(amount: Decimal) -> str:
    """Render an amount as the papers do: `£788,000` or `£181,302.50`."""
    q = amount.quantize(PENNY, rounding=ROUND_HALF_UP)
    if q < 0:
        return "-" + format_pounds(-q)
    if q == q.to_integral_value():
        return f"£{q:,.0f}"
    return f"£{q:,.2f}"


def format_figure(amount: Decimal) -> str:
    """An amount in a table of figures, as the papers write it: `£12,500`, and a negative
    one (an underspend) in brackets, `(£12,500)`."""
    return f"({format_pounds(-amount)})" if amount < 0 else format_pounds(amount)
