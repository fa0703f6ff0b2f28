"""The required-by date: moved by a person, and the reminders, escalation and missed
deadline Ratify records against it (when they fall due is `domain.deadlines`).
"""

from __future__ import annotations

from typing import Any

from domain.clock import london_date, long_date
from domain.deadlines import deadline_ended_at
from domain.errors import DomainError
from domain.events import (
    DeadlineEscalated,
    DeadlineMissed,
    DeadlineReminderSent,
    Event,
    RequiredByChanged,
)
from domain.fold.guards import Handler, need_role
from domain.roles import Role
from domain.state import CaseState, evolve


def _deadline_guard(state: CaseState, what: str, required_by: Any) -> None:
    if state.stage.is_closed:
        raise DomainError(f"{what}: the case is already {state.stage.label}", code="wrong_stage")
    if state.required_by is None:
        raise DomainError(f"{what}: the case has no required-by date")
    if required_by != state.required_by:
        raise DomainError(f"{what}: the required-by date is now {long_date(state.required_by)}")


def _required_by(state: CaseState, e: RequiredByChanged) -> CaseState:
    what = "the required-by date cannot be changed"
    if state.stage.is_closed:
        raise DomainError(f"{what}: the case is already {state.stage.label}", code="wrong_stage")
    need_role(e.actor, what, Role.ORIGINATING_OFFICER, Role.DRAFTING_OFFICER, Role.CHIEF_EXECUTIVE)
    return evolve(
        state,
        {
            "required_by": e.required_by,
            "reminders_sent": [],
            "escalated": False,
            "deadline_missed": False,
        },
    )


def _reminder(state: CaseState, e: DeadlineReminderSent) -> CaseState:
    what = "a deadline reminder cannot be sent"
    need_role(e.actor, what, Role.SYSTEM)
    _deadline_guard(state, what, e.required_by)
    if e.working_days_before in state.reminders_sent:
        raise DomainError(
            f"{what}: the {e.working_days_before}-working-day reminder was already sent",
            code="already_done",
        )
    return evolve(state, {"reminders_sent": [*state.reminders_sent, e.working_days_before]})


def _escalated(state: CaseState, e: DeadlineEscalated) -> CaseState:
    what = "the deadline cannot be escalated"
    need_role(e.actor, what, Role.SYSTEM)
    _deadline_guard(state, what, e.required_by)
    if state.escalated:
        raise DomainError(f"{what}: it was already escalated", code="already_done")
    return evolve(state, {"escalated": True})


def _missed(state: CaseState, e: DeadlineMissed) -> CaseState:
    what = "the deadline cannot be recorded as missed"
    need_role(e.actor, what, Role.SYSTEM)
    _deadline_guard(state, what, e.required_by)
    if state.deadline_missed:
        raise DomainError(f"{what}: it was already recorded", code="already_done")
    # Recorded once the day has ended; when it was recorded later than that (a date already
    # past when the case was drafted or the date set), it is effective at the end of the
    # day itself, never earlier.
    ended = deadline_ended_at(e.required_by)
    if london_date(e.occurred_at) <= e.required_by or (
        e.effective_at is not None and e.effective_at < ended
    ):
        raise DomainError(f"{what}: the day {long_date(e.required_by)} has not ended")
    return evolve(state, {"deadline_missed": True})


APPLIERS: dict[type[Event], Handler] = {
    RequiredByChanged: _required_by,
    DeadlineReminderSent: _reminder,
    DeadlineEscalated: _escalated,
    DeadlineMissed: _missed,
}
