"""When a required-by date's reminders, escalation and deadline-missed fall due.

Pure: given the required-by date and the reminder days, `deadline_schedule` lists the steps
as London instants. Reminders go out at 09:00 on the working day that is N working days
before the date (England and Wales bank holidays excluded); the escalation to the chief
executive's office at 09:00 on the day itself; the deadline is missed at midnight at the end
of the day, London time. The decision workflow sleeps until each step in turn, and moves its
timers when the date changes.

Defensive: a date the arithmetic cannot handle (9999-12-31 has no next day; a date in the
first days of year 1 has no working days before it) gives no schedule at all, never an
exception: inside the workflow an exception would fail every workflow task, and the case
would answer no step again. People cannot write such dates any more (`domain.bounds`), but
cases stored before the window existed may hold them.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from domain.calendar import WorkingCalendar, subtract_working_days
from domain.clock import LONDON, london_date, long_date

#: Working hours start: reminders and escalations go out at this London time.
OFFICE_OPENS = time(9, 0)

#: The last second of a required-by day, London time: when a deadline recorded as missed
#: after the event (a date already past when the case was drafted, set or imported) was
#: missed. Its London date is the deadline's own date.
DAY_ENDS = time(23, 59, 59)


def deadline_ended_at(required_by: date) -> datetime:
    """The end of the required-by day, London time: the effective time of a deadline
    recorded as missed after the event ("missed on 9 March 2022", not on the day noticed)."""
    return datetime.combine(required_by, DAY_ENDS, tzinfo=LONDON)


class DeadlineStepKind(StrEnum):
    REMINDER = "reminder"
    ESCALATION = "escalation"
    MISSED = "missed"


class DeadlineStep(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: DeadlineStepKind
    at: datetime
    #: For reminders: how many working days before the required-by date.
    working_days_before: int | None = None


def _london(day: date, at: time) -> datetime:
    return datetime.combine(day, at, tzinfo=LONDON)


def deadline_schedule(required_by: date, reminder_days: list[int]) -> list[DeadlineStep]:
    """Every step for a required-by date, in time order; none for a date the arithmetic
    cannot handle (see the module's docstring)."""
    try:
        return _schedule(required_by, reminder_days)
    except (OverflowError, ValueError):
        return []


def _schedule(required_by: date, reminder_days: list[int]) -> list[DeadlineStep]:
    steps = [
        DeadlineStep(
            kind=DeadlineStepKind.REMINDER,
            at=_london(
                subtract_working_days(required_by, n, WorkingCalendar.ENGLAND_AND_WALES),
                OFFICE_OPENS,
            ),
            working_days_before=n,
        )
        for n in sorted(set(reminder_days), reverse=True)
    ]
    steps.append(
        DeadlineStep(kind=DeadlineStepKind.ESCALATION, at=_london(required_by, OFFICE_OPENS))
    )
    steps.append(
        DeadlineStep(
            kind=DeadlineStepKind.MISSED,
            at=_london(required_by + timedelta(days=1), time(0, 0)),
        )
    )
    return sorted(steps, key=lambda s: s.at)


def due_steps(
    schedule: list[DeadlineStep],
    now: datetime,
    *,
    reminders_sent: list[int],
    escalated: bool,
    missed: bool,
    past_only_missed: bool = False,
) -> tuple[list[DeadlineStep], DeadlineStep | None]:
    """The steps to take now, and the next step to sleep until (None: nothing left).

    A reminder whose time has passed is sent only while no later step's time has also
    passed: a case submitted two days before its date gets the 1-day reminder, not a late
    5-day one as well, and a case drafted after its date gets no reminders at all. The
    escalation and the deadline-missed record are always taken, late if need be.

    `past_only_missed` (the decision workflow's `PAST_DEADLINES_PATCH`): once the day has
    ended, the only step left is the deadline-missed record. A date already past when the
    case is drafted, when it is set, or when a timer fires late gets no reminder and no
    escalation in the present; reminders and escalation go out only for dates still ahead.
    """
    if past_only_missed:
        ended = [s for s in schedule if s.kind is DeadlineStepKind.MISSED and s.at <= now]
        if ended:
            return ([] if missed else ended[:1]), None

    def done(step: DeadlineStep) -> bool:
        if step.kind is DeadlineStepKind.REMINDER:
            return step.working_days_before in reminders_sent
        return escalated if step.kind is DeadlineStepKind.ESCALATION else missed

    ordered = sorted(schedule, key=lambda s: s.at)
    past = [s for s in ordered if s.at <= now]
    latest_past = past[-1] if past else None
    due = [
        s
        for s in past
        if not done(s) and (s.kind is not DeadlineStepKind.REMINDER or s is latest_past)
    ]
    upcoming = next((s for s in ordered if s.at > now and not done(s)), None)
    return due, upcoming


def overdue_words(required_by: date, at: datetime) -> str:
    """How a required-by date stands on the day something is said about it: "due today",
    or for a date that has passed, when it was ("due on 9 March 2022, 1,004 days
    earlier") — never "due today" for a date long gone."""
    on = london_date(at)
    if on <= required_by:
        return "due today" if on == required_by else f"due on {long_date(required_by)}"
    days = (on - required_by).days
    return f"due on {long_date(required_by)}, {days:,} day{'s' if days != 1 else ''} earlier"
