"""Working days against real 2019, 2020 and 2024 bank holidays, and FOI due dates."""

from __future__ import annotations

from datetime import date, timedelta

import holidays
import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.calendar import (
    ENGLAND,
    WALES,
    WorkingCalendar,
    add_working_days,
    bank_holiday_name,
    bank_holidays,
    foi_due_date,
    is_working_day,
    next_working_day,
    subtract_working_days,
    working_days_between,
)

EW = WorkingCalendar.ENGLAND_AND_WALES
UK = WorkingCalendar.ANY_PART_OF_UK


@pytest.mark.parametrize(
    ("day", "name"),
    [
        (date(2019, 12, 25), "Christmas Day"),
        (date(2019, 12, 26), "Boxing Day"),
        (date(2020, 4, 10), "Good Friday"),
        (date(2020, 4, 13), "Easter Monday"),
        # 2020: the early May bank holiday moved from Monday 4 May to Friday 8 May (VE Day 75).
        (date(2020, 5, 8), "May Day"),
        (date(2020, 12, 28), "Boxing Day (observed)"),
        (date(2022, 9, 19), "State Funeral of Queen Elizabeth II"),
        (date(2024, 3, 29), "Good Friday"),
        (date(2024, 4, 1), "Easter Monday"),
        (date(2024, 8, 26), "Late Summer Bank Holiday"),
        (date(2024, 12, 25), "Christmas Day"),
        (date(2024, 12, 26), "Boxing Day"),
    ],
)
def test_england_and_wales_bank_holidays_are_not_working_days(day: date, name: str) -> None:
    assert bank_holiday_name(day, EW) == name
    assert not is_working_day(day, EW)
    assert not is_working_day(day, UK)  # a bank holiday in England is one "in any part of the UK"


@pytest.mark.parametrize(
    "day",
    [
        date(2019, 12, 24),  # Christmas Eve
        date(2019, 12, 27),
        date(2020, 5, 4),  # the usual early May bank holiday, moved in 2020
        date(2020, 4, 14),
        date(2024, 12, 27),
    ],
)
def test_ordinary_weekdays_are_working_days(day: date) -> None:
    assert is_working_day(day, EW)
    assert is_working_day(day, UK)
    assert bank_holiday_name(day, EW) is None


@pytest.mark.parametrize(
    ("day", "name"),
    [
        (date(2020, 1, 2), "New Year Holiday"),  # Scotland only
        (date(2020, 11, 30), "Saint Andrew's Day"),  # Scotland only (a Monday)
        (date(2019, 12, 2), "Saint Andrew's Day (observed)"),  # 30 Nov 2019 was a Saturday
        (date(2024, 8, 5), "Summer Bank Holiday"),  # Scotland: first Monday in August
        (date(2019, 7, 12), "Battle of the Boyne"),  # Northern Ireland only (a Friday)
        (date(2020, 7, 13), "Battle of the Boyne (observed)"),  # 12 July 2020 was a Sunday
        (date(2020, 3, 17), "Saint Patrick's Day"),  # Northern Ireland only
    ],
)
def test_other_nations_holidays_count_for_foi_only(day: date, name: str) -> None:
    assert day.weekday() < 5
    assert is_working_day(day, EW)
    assert bank_holiday_name(day, EW) is None
    assert not is_working_day(day, UK)
    assert bank_holiday_name(day, UK) == name


def test_weekends_are_never_working_days() -> None:
    saturday, sunday = date(2019, 12, 14), date(2019, 12, 15)
    for calendar in WorkingCalendar:
        assert not is_working_day(saturday, calendar)
        assert not is_working_day(sunday, calendar)


def test_wales_has_the_same_bank_holidays_as_england() -> None:
    # The calendar takes the union of ENG and WLS anyway; this checks the "in theory" claim.
    years = range(1990, 2061)
    england = holidays.country_holidays("GB", subdiv=ENGLAND, years=years)
    wales = holidays.country_holidays("GB", subdiv=WALES, years=years)
    assert dict(england) == dict(wales)


def test_bank_holidays_lists_a_year_in_order_read_only() -> None:
    ew_2020 = bank_holidays(2020, EW)
    assert list(ew_2020) == sorted(ew_2020)
    assert len(ew_2020) == 9  # incl. Boxing Day on a Saturday and its Monday substitute
    uk_2020 = bank_holidays(2020, UK)
    assert set(ew_2020) < set(uk_2020)
    assert set(uk_2020) - set(ew_2020) == {
        date(2020, 1, 2),
        date(2020, 3, 17),
        date(2020, 7, 12),
        date(2020, 7, 13),
        date(2020, 8, 3),
        date(2020, 11, 30),
    }
    with pytest.raises(TypeError):
        ew_2020[date(2020, 6, 1)] = "Made up"  # type: ignore[index]


def test_add_working_days_over_christmas_2019() -> None:
    friday = date(2019, 12, 20)
    assert add_working_days(friday, 0, EW) == friday
    assert add_working_days(friday, 1, EW) == date(2019, 12, 23)
    assert add_working_days(friday, 2, EW) == date(2019, 12, 24)
    assert add_working_days(friday, 3, EW) == date(2019, 12, 27)
    assert add_working_days(friday, 5, EW) == date(2019, 12, 31)
    assert add_working_days(friday, 6, EW) == date(2020, 1, 2)
    assert add_working_days(friday, 6, UK) == date(2020, 1, 3)  # 2 January: Scotland


def test_add_working_days_from_a_non_working_day() -> None:
    saturday = date(2019, 12, 14)
    assert add_working_days(saturday, 1, EW) == date(2019, 12, 16)
    assert add_working_days(saturday, 0, EW) == saturday
    assert next_working_day(saturday, EW) == date(2019, 12, 16)
    assert next_working_day(date(2019, 12, 16), EW) == date(2019, 12, 16)
    assert next_working_day(date(2019, 12, 25), EW) == date(2019, 12, 27)


def test_reminders_before_the_des_required_by_date() -> None:
    # PCD 679: "A decision is required from the Deputy Mayor by 13/12/2019" (a Friday).
    required_by = date(2019, 12, 13)
    assert subtract_working_days(required_by, 5, EW) == date(2019, 12, 6)
    assert subtract_working_days(required_by, 1, EW) == date(2019, 12, 12)


def test_subtracting_five_working_days_across_a_bank_holiday() -> None:
    # Wed 13 May 2020, back: 12 (1), 11 (2), Fri 8 May VE Day skipped, 7 (3), 6 (4), 5 (5).
    assert subtract_working_days(date(2020, 5, 13), 5, EW) == date(2020, 5, 5)
    # Tue 31 Dec 2019, back: 30 (1), 27 (2), Boxing Day and Christmas skipped, 24 (3),
    # 23 (4), Fri 20 (5).
    assert subtract_working_days(date(2019, 12, 31), 5, EW) == date(2019, 12, 20)
    # Tue 14 Apr 2020, back over Easter Monday and Good Friday: 9, 8, 7, 6, 3 April.
    assert subtract_working_days(date(2020, 4, 14), 5, EW) == date(2020, 4, 3)


def test_subtract_from_a_non_working_day() -> None:
    boxing_day = date(2019, 12, 26)
    assert subtract_working_days(boxing_day, 1, EW) == date(2019, 12, 24)
    assert subtract_working_days(boxing_day, 0, EW) == boxing_day


def test_working_days_between() -> None:
    assert working_days_between(date(2019, 12, 14), date(2019, 12, 16), EW) == 1  # Sat -> Mon
    assert working_days_between(date(2019, 12, 6), date(2019, 12, 13), EW) == 5  # Fri -> Fri
    assert working_days_between(date(2019, 12, 13), date(2019, 12, 6), EW) == -5
    assert working_days_between(date(2019, 12, 13), date(2019, 12, 13), EW) == 0
    assert working_days_between(date(2019, 12, 20), date(2019, 12, 31), EW) == 5
    assert working_days_between(date(2019, 12, 20), date(2020, 1, 3), EW) == 7
    assert working_days_between(date(2019, 12, 20), date(2020, 1, 3), UK) == 6


@pytest.mark.parametrize("function", [add_working_days, subtract_working_days])
def test_counts_must_be_non_negative_ints(function: object) -> None:
    assert callable(function)
    with pytest.raises(ValueError, match="cannot be negative"):
        function(date(2019, 12, 13), -1, EW)
    with pytest.raises(TypeError):
        function(date(2019, 12, 13), 1.0, EW)
    with pytest.raises(TypeError):
        function(date(2019, 12, 13), True, EW)


def test_foi_due_date_for_the_mettrace_request_of_2_july() -> None:
    # The FOI seed answers "your Freedom of Information request of 2 July"; the year is not
    # given, so take 2019 (MetTrace was approved on 19/7/19). Received Tuesday 2 July 2019 =
    # day 0. Working days: Wed 3 (1), Thu 4 (2), Fri 5 (3), Mon 8 (4), Tue 9 (5), Wed 10 (6),
    # Thu 11 (7), Fri 12 is the Battle of the Boyne holiday in Northern Ireland, so it does not
    # count (FOIA s10(6): "in any part of the United Kingdom"); Mon 15 (8) to Fri 19 (12),
    # Mon 22 (13) to Fri 26 (17), Mon 29 (18), Tue 30 (19), Wed 31 July (20).
    assert foi_due_date(date(2019, 7, 2)) == date(2019, 7, 31)
    # Counting England and Wales holidays only would wrongly give Tuesday 30 July.
    assert add_working_days(date(2019, 7, 2), 20, EW) == date(2019, 7, 30)


def test_foi_due_date_over_easter_2020() -> None:
    # Wed 1 April 2020: Apr 2-3 (2), 6-9 (6), Good Friday 10 and Easter Monday 13 skipped,
    # 14-17 (10), 20-24 (15), 27-30 (19), Fri 1 May (20).
    assert foi_due_date(date(2020, 4, 1)) == date(2020, 5, 1)


def test_foi_due_date_over_christmas_and_scottish_holidays() -> None:
    # Received Mon 2 Dec 2019 (St Andrew's Day observed in Scotland): day 0 all the same.
    # Dec 3-6 (4), 9-13 (9), 16-20 (14), 23-24 (16), 27 (17), 30-31 (19); 1 Jan (all UK) and
    # 2 Jan (Scotland) skipped; Fri 3 Jan 2020 (20).
    assert foi_due_date(date(2019, 12, 2)) == date(2020, 1, 3)


def test_foi_request_received_at_the_weekend() -> None:
    # Received Saturday 6 July 2019: Monday 8 July is day 1, so the answer is due a working
    # day after that for a request received on Friday 5 July.
    assert foi_due_date(date(2019, 7, 6)) == foi_due_date(date(2019, 7, 7))
    assert foi_due_date(date(2019, 7, 6)) == add_working_days(date(2019, 7, 5), 20, UK)


# --- properties ------------------------------------------------------------------------------

any_day = st.dates(min_value=date(1995, 1, 1), max_value=date(2055, 12, 31))
calendars = st.sampled_from(list(WorkingCalendar))
counts = st.integers(min_value=0, max_value=300)


@given(day=any_day, n=counts, calendar=calendars)
def test_add_then_subtract_returns_a_working_day(
    day: date, n: int, calendar: WorkingCalendar
) -> None:
    start = next_working_day(day, calendar)
    later = add_working_days(start, n, calendar)
    assert subtract_working_days(later, n, calendar) == start
    assert working_days_between(start, later, calendar) == n


@given(day=any_day, n=counts.filter(lambda n: n > 0), calendar=calendars)
def test_results_are_working_days(day: date, n: int, calendar: WorkingCalendar) -> None:
    later = add_working_days(day, n, calendar)
    earlier = subtract_working_days(day, n, calendar)
    assert is_working_day(later, calendar)
    assert is_working_day(earlier, calendar)
    assert earlier < day < later
    # ... and n working days is at least n weekdays.
    assert (later - day).days >= n
    assert working_days_between(day, later, calendar) == n
    # (earlier, day] holds the n - 1 working days after `earlier`, plus `day` if it is one.
    assert working_days_between(earlier, day, calendar) == n - 1 + is_working_day(day, calendar)


@given(a=any_day, b=any_day, c=any_day, calendar=calendars)
def test_working_days_between_adds_up(a: date, b: date, c: date, calendar: WorkingCalendar) -> None:
    assert working_days_between(a, b, calendar) + working_days_between(b, c, calendar) == (
        working_days_between(a, c, calendar)
    )


@given(day=any_day)
def test_foi_due_date_is_never_before_the_england_and_wales_count(day: date) -> None:
    due = foi_due_date(day)
    assert is_working_day(due, UK)
    assert due >= add_working_days(day, 20, EW)
    assert working_days_between(day, due, UK) == 20
    assert due - day <= timedelta(days=40)  # 20 working days: four weeks plus holidays
