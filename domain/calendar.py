"""Working days: deadlines and reminders (England and Wales) and FOI due dates (whole UK).

Pure functions over `datetime.date`; the bank holidays come from the `holidays` package,
looked up once per (calendar, year) and cached.

Two calendars are used, and choosing the right one is the caller's job:

* `WorkingCalendar.ENGLAND_AND_WALES` is for the workflow's own deadlines: the reminders
  "5 and 1 working days before required-by", escalations, board papers. MOPAC sits in
  London, so the bank holidays of England and Wales apply. (`holidays` gives the same dates
  for the subdivisions ENG and WLS; the calendar takes the union of the two anyway, so it
  stays right if they ever part.)
* `WorkingCalendar.ANY_PART_OF_UK` is for the Freedom of Information Act 2000. Section 10(6)
  defines a working day as "any day other than a Saturday, a Sunday, Christmas Day, Good
  Friday or a day which is a bank holiday under the Banking and Financial Dealings Act 1971
  in any part of the United Kingdom". So the union of the bank holidays of England, Wales,
  Scotland and Northern Ireland is excluded: 2 January and St Andrew's Day (Scotland) and
  12 July (Northern Ireland) are not FOI working days even for a London authority.

Counting convention, used by every function here: the start date is day 0 and is never
counted itself; "n working days after d" is the n-th working day strictly after d. This is
the FOI convention ("the twentieth working day following the date of receipt") and the
natural one for "n working days before the required-by date".
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from enum import StrEnum
from functools import lru_cache
from types import MappingProxyType

import holidays

#: The subdivision codes of `holidays.country_holidays("GB", subdiv=...)`.
ENGLAND = "ENG"
WALES = "WLS"
SCOTLAND = "SCT"
NORTHERN_IRELAND = "NIR"

#: Number of working days allowed for an FOI answer (FOIA 2000 s10(1)).
FOI_WORKING_DAYS = 20

_ONE_DAY = timedelta(days=1)
#: Saturday and Sunday, as `date.weekday()` numbers.
_WEEKEND = frozenset({5, 6})


class WorkingCalendar(StrEnum):
    """Which bank holidays are excluded from working days."""

    ENGLAND_AND_WALES = "england_and_wales"
    """Bank holidays of England and Wales: workflow deadlines and reminders."""
    ANY_PART_OF_UK = "any_part_of_uk"
    """Bank holidays anywhere in the UK (FOIA s10(6)): FOI due dates."""

    @property
    def subdivisions(self) -> tuple[str, ...]:
        """The `holidays` subdivision codes whose bank holidays this calendar excludes."""
        if self is WorkingCalendar.ENGLAND_AND_WALES:
            return (ENGLAND, WALES)
        return (ENGLAND, WALES, SCOTLAND, NORTHERN_IRELAND)


@lru_cache(maxsize=512)
def _bank_holidays(calendar: WorkingCalendar, year: int) -> Mapping[date, str]:
    names: dict[date, list[str]] = {}
    for subdiv in calendar.subdivisions:
        for day, name in holidays.country_holidays("GB", subdiv=subdiv, years=year).items():
            if day.year != year:
                continue
            seen = names.setdefault(day, [])
            for part in str(name).split("; "):
                if part not in seen:
                    seen.append(part)
    return MappingProxyType({day: "; ".join(parts) for day, parts in sorted(names.items())})


def bank_holidays(year: int, calendar: WorkingCalendar) -> Mapping[date, str]:
    """The bank holidays of `year` in `calendar`, date -> name, in date order (read-only).

    Includes substitute days ("Boxing Day (observed)") and one-off days such as the 2020 VE
    Day move of the early May bank holiday to Friday 8 May or the State Funeral of
    19 September 2022. A holiday falling on a weekend is listed on its own date as well.
    """
    return _bank_holidays(calendar, year)


def bank_holiday_name(d: date, calendar: WorkingCalendar) -> str | None:
    """The name of the bank holiday on `d` in `calendar`, or None if `d` is not one."""
    return _bank_holidays(calendar, d.year).get(d)


def is_working_day(d: date, calendar: WorkingCalendar) -> bool:
    """True if `d` is Monday to Friday and not a bank holiday in `calendar`."""
    return d.weekday() not in _WEEKEND and d not in _bank_holidays(calendar, d.year)


def _check_count(n: int) -> None:
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"a number of working days must be an int, not {type(n).__name__}")
    if n < 0:
        raise ValueError(f"a number of working days cannot be negative (got {n})")


def add_working_days(d: date, n: int, calendar: WorkingCalendar) -> date:
    """The n-th working day after `d`; `d` is day 0 and need not be a working day.

    `add_working_days(d, 0, c)` is `d` itself. For n >= 1 the result is always a working
    day: from Friday 20 December 2019, 1 working day on (England and Wales) is Monday
    23 December and 3 working days on is Friday 27 December (Christmas and Boxing Day are
    skipped). Raises ValueError for a negative `n` (use `subtract_working_days`).
    """
    _check_count(n)
    current = d
    remaining = n
    while remaining:
        current += _ONE_DAY
        if is_working_day(current, calendar):
            remaining -= 1
    return current


def subtract_working_days(d: date, n: int, calendar: WorkingCalendar) -> date:
    """The n-th working day before `d`; `d` is day 0 and need not be a working day.

    This is "n working days before the required-by date": with required-by Friday
    13 December 2019, 5 working days before is Friday 6 December and 1 working day before is
    Thursday 12 December. `subtract_working_days(d, 0, c)` is `d`; for n >= 1 the result is
    a working day. Raises ValueError for a negative `n` (use `add_working_days`).
    """
    _check_count(n)
    current = d
    remaining = n
    while remaining:
        current -= _ONE_DAY
        if is_working_day(current, calendar):
            remaining -= 1
    return current


def working_days_between(start: date, end: date, calendar: WorkingCalendar) -> int:
    """The number of working days after `start` up to and including `end`.

    That is, the count of working days in the half-open interval (start, end]; negative, the
    count in (end, start], when `end` is before `start`. It inverts `add_working_days`:
    `working_days_between(d, add_working_days(d, n, c), c) == n` for every date `d`, and
    `working_days_between(subtract_working_days(d, n, c), d, c) == n` when `d` is a working
    day (when it is not, `d` itself is not counted and the result is n - 1).
    Saturday to Monday is 1 working day; Friday to the following Friday is 5.
    """
    if end < start:
        return -working_days_between(end, start, calendar)
    count = 0
    current = start
    while current < end:
        current += _ONE_DAY
        if is_working_day(current, calendar):
            count += 1
    return count


def next_working_day(d: date, calendar: WorkingCalendar) -> date:
    """`d` if it is a working day, else the first working day after it."""
    return d if is_working_day(d, calendar) else add_working_days(d, 1, calendar)


def foi_due_date(received: date) -> date:
    """The date by which an FOI request received on `received` must be answered.

    FOIA 2000 s10(1): "not later than the twentieth working day following the date of
    receipt", with working days as defined by s10(6) (no weekend, Christmas Day, Good Friday
    or bank holiday in any part of the UK). The day of receipt is day 0 and the due date is
    working day 20. A request received on a non-working day is treated the same way: the
    first working day after it is day 1. Example: received Tuesday 2 July 2019, due
    Wednesday 31 July 2019 (Friday 12 July, the Northern Ireland bank holiday, is skipped).
    """
    return add_working_days(received, FOI_WORKING_DAYS, WorkingCalendar.ANY_PART_OF_UK)
