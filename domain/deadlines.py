"""When a required-by date's reminders, escalation and deadline-missed fall due.

Pure: given the required-by date and the reminder days, `deadline_schedule` lists the steps
as London instants. Reminders go out at 09:00 on the working day that is N working days
before the date (England and Wales bank holidays excluded); the escalation to the chief
executive's office at 09:00 on the day itself; the deadline is missed at midnight at the end
of the day, London time. The decision workflow sleeps until each step in turn, and moves its
timers when the date changes.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from domain.calendar import WorkingCalendar, subtract_working_days
from domain.clock import LONDON

#: Working hours start: reminders and escalations go out at this London time.
OFFICE_OPENS = time(9, 0)


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
    """Every step for a required-by date, in time order."""
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
) -> tuple[list[DeadlineStep], DeadlineStep | None]:
    """The steps to take now, and the next step to sleep until (None: nothing left).

    Of several reminders already past, only the latest is sent: a case submitted two days
    before its date gets the 1-day reminder, not a late 5-day one as well.
    """
    pending = [
        s
        for s in schedule
        if not (
            (s.kind is DeadlineStepKind.REMINDER and s.working_days_before in reminders_sent)
            or (s.kind is DeadlineStepKind.ESCALATION and escalated)
            or (s.kind is DeadlineStepKind.MISSED and missed)
        )
    ]
    past = [s for s in pending if s.at <= now]
    future = [s for s in pending if s.at > now]
    past_reminders = [s for s in past if s.kind is DeadlineStepKind.REMINDER]
    later_passed = any(s.kind is not DeadlineStepKind.REMINDER for s in past)
    keep_reminders = [] if later_passed else past_reminders[-1:]
    due = [s for s in past if s.kind is not DeadlineStepKind.REMINDER or s in keep_reminders]
    return due, (future[0] if future else None)
