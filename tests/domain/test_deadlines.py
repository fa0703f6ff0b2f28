"""When reminders, the escalation and the deadline-missed record fall due."""

from __future__ import annotations

from datetime import UTC, date, datetime

from domain.clock import london_date
from domain.deadlines import (
    DeadlineStepKind,
    deadline_ended_at,
    deadline_schedule,
    due_steps,
    overdue_words,
)

# Friday 27 December 2019: Christmas Day and Boxing Day are bank holidays.
REQUIRED_BY = date(2019, 12, 27)
SCHEDULE = deadline_schedule(REQUIRED_BY, [5, 1])


def _due(
    now: datetime, sent: list[int] | None = None, escalated: bool = False, missed: bool = False
):
    return due_steps(SCHEDULE, now, reminders_sent=sent or [], escalated=escalated, missed=missed)


def test_the_schedule_skips_weekends_and_bank_holidays():
    reminders = [s for s in SCHEDULE if s.kind is DeadlineStepKind.REMINDER]
    assert [(s.working_days_before, s.at.date()) for s in reminders] == [
        (5, date(2019, 12, 18)),
        (1, date(2019, 12, 24)),
    ]
    assert all(s.at.hour == 9 for s in reminders)
    escalation, missed = SCHEDULE[-2:]
    assert escalation.at == datetime(2019, 12, 27, 9, tzinfo=UTC)
    assert missed.at == datetime(2019, 12, 28, 0, tzinfo=UTC)


def test_nothing_is_due_before_the_first_reminder():
    due, upcoming = _due(datetime(2019, 12, 1, tzinfo=UTC))
    assert due == [] and upcoming is SCHEDULE[0]


def test_a_late_submission_gets_only_the_latest_reminder():
    due, upcoming = _due(datetime(2019, 12, 24, 12, tzinfo=UTC))
    assert [(s.kind, s.working_days_before) for s in due] == [(DeadlineStepKind.REMINDER, 1)]
    due, upcoming = _due(datetime(2019, 12, 24, 12, tzinfo=UTC), sent=[1])
    assert due == [] and upcoming is not None
    assert upcoming.kind is DeadlineStepKind.ESCALATION


def test_a_case_drafted_after_its_date_records_escalation_and_missed_but_no_reminders():
    now = datetime(2020, 1, 6, tzinfo=UTC)
    due, upcoming = _due(now)
    assert [s.kind for s in due] == [DeadlineStepKind.ESCALATION, DeadlineStepKind.MISSED]
    due, upcoming = _due(now, escalated=True, missed=True)
    assert due == [] and upcoming is None  # the old reminders never come back


def test_a_date_the_arithmetic_cannot_handle_gives_no_schedule_rather_than_an_error():
    # 9999-12-31 has no next day (the deadline is missed at midnight after it); the first
    # days of year 1 have no working days before them. Inside the workflow an exception
    # here wedged the case for ever; now the case simply gets no reminders.
    assert deadline_schedule(date(9999, 12, 31), [5, 1]) == []
    assert deadline_schedule(date(1, 1, 3), [5, 1]) == []
    assert len(deadline_schedule(date(2100, 12, 31), [5, 1])) == 4


def test_an_escalation_on_the_day_says_due_today_and_a_late_one_says_when() -> None:

    due = date(2022, 3, 9)
    assert overdue_words(due, datetime(2022, 3, 9, 9, 0, tzinfo=UTC)) == "due today"
    # Ratify first saw the case three years after its date (a case drafted late, or one
    # brought in from paper): the escalation says when it was due, not "today".
    late = overdue_words(due, datetime(2025, 3, 10, 9, 0, tzinfo=UTC))
    assert late == "due on 9 March 2022, 1,097 days earlier"
    assert "today" not in late


def test_a_date_already_past_is_only_recorded_missed_once_under_the_patch() -> None:
    now = datetime(2020, 1, 6, tzinfo=UTC)
    due, upcoming = due_steps(
        SCHEDULE, now, reminders_sent=[], escalated=False, missed=False, past_only_missed=True
    )
    assert [s.kind for s in due] == [DeadlineStepKind.MISSED] and upcoming is None
    due, upcoming = due_steps(
        SCHEDULE, now, reminders_sent=[], escalated=False, missed=True, past_only_missed=True
    )
    assert due == [] and upcoming is None


def test_a_date_still_ahead_keeps_its_reminders_and_escalation_under_the_patch() -> None:
    on_the_day = datetime(2019, 12, 27, 10, tzinfo=UTC)
    due, upcoming = due_steps(
        SCHEDULE,
        on_the_day,
        reminders_sent=[5, 1],
        escalated=False,
        missed=False,
        past_only_missed=True,
    )
    assert [s.kind for s in due] == [DeadlineStepKind.ESCALATION]
    assert upcoming is not None and upcoming.kind is DeadlineStepKind.MISSED


def test_the_end_of_a_required_by_day_is_that_day_in_london() -> None:
    ended = deadline_ended_at(date(2022, 3, 9))
    assert london_date(ended) == date(2022, 3, 9) and ended > SCHEDULE[0].at
