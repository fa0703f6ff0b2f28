"""London time for the domain: which calendar day an instant falls on at MOPAC.

Events carry aware UTC instants; deadlines ("required by 13/12/2019") are London calendar
days. A decision signed at 23:30 UTC on 13 December 2019 was signed on the 13th in London,
and one signed at 23:30 UTC on 30 June 2020 was signed on 1 July (British Summer Time).
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")


def london_date(instant: datetime) -> date:
    """The calendar day in London at this instant (which must be timezone-aware)."""
    if instant.tzinfo is None:
        raise ValueError("a naive datetime has no place in time: give a timezone")
    return instant.astimezone(LONDON).date()


def long_date(day: date) -> str:
    """A date as people write it: `3 December 2019`."""
    return f"{day.day} {day:%B %Y}"
