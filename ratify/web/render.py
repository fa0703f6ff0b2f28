"""Rendering the pages: the Jinja2 environment (autoescaped) and its filters.

Dates and times are shown as MOPAC writes them, in London time (`19 July 2019, 10:03`), and
amounts as the papers do (`£1,120,000`). Free text keeps its paragraphs: a blank line starts
a new paragraph, and every character is escaped.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup, escape

from domain.case import foi_title
from domain.clock import LONDON, long_date
from domain.money import format_figure, format_pounds
from ratify.services.projections.paging import normalise_reference

TEMPLATES_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"


def london_time(value: datetime | None) -> str:
    """`19 July 2019, 10:03` in London time; empty for None."""
    if value is None:
        return ""
    local = value.astimezone(LONDON)
    return f"{long_date(local.date())}, {local:%H:%M}"


def day(value: date | None) -> str:
    """`19 July 2019`; empty for None."""
    return long_date(value) if value is not None else ""


def paper_date(value: date | None) -> str:
    """`19/07/2019`, as the signed decision forms write the date."""
    return f"{value:%d/%m/%Y}" if value is not None else ""


def pounds(value: Decimal | int | str | None) -> str:
    """`£1,120,000`; empty for None."""
    return format_pounds(Decimal(value)) if value is not None else ""


def figure(value: Decimal | int | str | None) -> str:
    """An amount in a table of figures: `£12,500`, or `(£12,500)` when negative."""
    return format_figure(Decimal(value)) if value is not None else ""


def paragraphs(value: str | None) -> Markup:
    """Text as `<p>` paragraphs (a blank line between paragraphs), escaped."""
    if not value:
        return Markup("")
    blocks = [b.strip() for b in value.replace("\r\n", "\n").split("\n\n") if b.strip()]
    return Markup("\n").join(
        Markup("<p>{}</p>").format(Markup("<br>").join(escape(line) for line in b.split("\n")))
        for b in blocks
    )


def label(value: object) -> str:
    """An enum value or identifier for people: `information_assurance` -> `information
    assurance`."""
    if value is None:
        return ""
    text = getattr(value, "value", value)
    return str(text).replace("_", " ")


def years(value: Decimal | int | None) -> str:
    """`3 years`, `1 year`, `1.5 years`; empty for None."""
    if value is None:
        return ""
    number = Decimal(value).normalize()
    text = f"{number:f}"
    return f"{text} year" if number == 1 else f"{text} years"


def overdue(due: date | None, today: date | None = None) -> Markup:
    """ "overdue by 3 days" (marked up) for a due date already past on `today` (London,
    by default the real today); nothing for a date today or ahead, or none."""
    if due is None:
        return Markup("")
    today = today or datetime.now(LONDON).date()
    days = (today - due).days
    if days <= 0:
        return Markup("")
    return Markup('<strong class="overdue">overdue by {} day{}</strong>').format(
        f"{days:,}", "s" if days != 1 else ""
    )


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        london_time=london_time,
        figure=figure,
        day=day,
        paper_date=paper_date,
        pounds=pounds,
        paragraphs=paragraphs,
        label=label,
        years=years,
        foi_title=foi_title,
        reference_key=normalise_reference,
        overdue=overdue,
    )
    # A fresh key in each rendered action form: submitting the same form twice (a double
    # click, a resend after a timeout) is one step, answered with the first outcome.
    env.globals["attempt_key"] = lambda: uuid.uuid4().hex
    return env


ENVIRONMENT = _environment()


#: No script, no framing (the forms cannot be clickjacked), forms post only to Ratify.
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def page(template: str, context: dict[str, Any], status_code: int = 200) -> HTMLResponse:
    """A rendered page. Pages can show personal and Part 2 text: never cached."""
    html = ENVIRONMENT.get_template(template).render(**context)
    return HTMLResponse(html, status_code=status_code, headers=SECURITY_HEADERS)
