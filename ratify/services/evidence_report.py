"""The evidence bundle's report: its own small Jinja environment and template.

The report is part of what `ratify.services.evidence.check_bundle` checks: it is rendered
again from the evidence and compared byte for byte, so the environment (autoescaped, the
same whitespace rules) and the filters below must stay as they were when a bundle was made.
Dates and times are written as MOPAC writes them, in London time (`19 July 2019, 10:03`).
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup, escape

from domain.clock import LONDON, long_date

TEMPLATES_DIR = Path(__file__).parent / "templates"


def london_time(value: datetime | None) -> str:
    """`19 July 2019, 10:03` in London time; empty for None."""
    if value is None:
        return ""
    local = value.astimezone(LONDON)
    return f"{long_date(local.date())}, {local:%H:%M}"


def day(value: date | None) -> str:
    """`19 July 2019`; empty for None."""
    return long_date(value) if value is not None else ""


def label(value: object) -> str:
    """An enum value or identifier for people: `information_assurance` -> `information
    assurance`."""
    if value is None:
        return ""
    text = getattr(value, "value", value)
    return str(text).replace("_", " ")


def lines(value: str | None) -> Markup:
    """Text with its line breaks kept (`<br>`), escaped: two conditions typed on two lines
    stay on two lines."""
    if not value:
        return Markup("")
    return Markup("<br>").join(escape(line) for line in value.replace("\r\n", "\n").split("\n"))


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(london_time=london_time, day=day, label=label, lines=lines)
    return env


ENVIRONMENT = _environment()
