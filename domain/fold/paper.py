"""Steps recorded on paper: when they may be dated, who may record them, and their disputes.

A records officer records a step someone took on paper (a form signed while travelling)
on that person's behalf: the event's actor is the person who took it, its `effective_at`
when they took it, and its provenance the records officer and the evidence. The step is
judged as if that person had taken it on that date: the appliers judge the stage order and
the roles, `check_people` the four-eyes rule and separation of duties, and `check_paper`
(a rule for new steps, in `domain.fold.apply_new`) the date and the records officer.

`note` keeps what those rules are judged on (when the latest step happened, the steps
recorded on paper); the applier of `StepDisputed` lets the person a paper step was recorded
for, and only them, dispute it, at any stage.
"""

from __future__ import annotations

from typing import Any

from domain.clock import LONDON, london_date, long_date
from domain.errors import DomainError
from domain.events import (
    DeadlineEscalated,
    DeadlineMissed,
    DeadlineReminderSent,
    Event,
    StepDisputed,
)
from domain.fold.guards import Handler
from domain.state import CaseState, Dispute, PaperStep, evolve, persons

#: Ratify's own timer events (and disputes): not steps of the case a paper step follows.
NOT_STEPS: frozenset[type[Event]] = frozenset(
    {DeadlineReminderSent, DeadlineEscalated, DeadlineMissed, StepDisputed}
)


def note(state: CaseState, event: Event, update: dict[str, Any]) -> None:
    """Add to `update` (the fold's changes for `event`, folded into `state`) when the
    case's latest step happened and, for a step recorded on paper, the paper step."""
    if type(event) in NOT_STEPS:
        return
    at = event.at
    if state.last_step_at is None or at > state.last_step_at:
        update["last_step_at"] = at
    provenance = event.provenance
    if provenance is not None and provenance.how == "on_paper":
        step = PaperStep.model_construct(
            event_id=event.event_id,
            version=state.version + 1,
            step=event.TYPE,
            actor=event.actor,
            recorded_by=provenance.recorded_by,
            at=at,
        )
        update["paper_steps"] = [*state.paper_steps, step]


def check_paper(state: CaseState, event: Event) -> None:
    """The rules for a step recorded now with a date of its own, or on paper.

    Judged by London day: `effective_in_future` when it is dated after the day it is
    recorded; `effective_before_previous_step` when it is dated before the day of the case's
    previous step (Ratify's timer events aside, as steps and as the step judged);
    `records_officer_conflict` when the records
    officer records a step for themself, or on a case they took part in (drafted, is an
    officer of, advised on, confirmed, decided): the person who vouches for a paper record
    must not be one whose own conduct it concerns.
    """
    effective = event.effective_at
    if effective is not None and type(event) not in NOT_STEPS:
        # Ratify's own timer events are dated by their deadline (a miss noticed late is
        # recorded at the end of its own day): they are not steps a paper step follows.
        # Exact instants, not days: a step may not be placed after the moment it is
        # recorded, nor before the step it follows (a day alone is placed by the edge and
        # the workflow: today means now, the day of the latest step means at that step).
        day, today = london_date(effective), london_date(event.occurred_at)
        if effective > event.occurred_at:
            raise DomainError(
                f"effective_at: the step is dated {long_date(day)}"
                + ("" if day > today else f" at {effective.astimezone(LONDON):%H:%M}")
                + f", which is in the future (today is {long_date(today)})",
                code="effective_in_future",
            )
        previous = state.last_step_at
        if previous is not None and effective < previous:
            before = london_date(previous)
            raise DomainError(
                f"effective_at: the step is dated {long_date(day)}, before the case's "
                f"previous step on {long_date(before)}"
                + (f" at {previous.astimezone(LONDON):%H:%M}" if before == day else ""),
                code="effective_before_previous_step",
            )
    provenance = event.provenance
    if provenance is None or provenance.how != "on_paper":
        return
    recorder = provenance.recorded_by
    if recorder in persons(event.actor):
        raise DomainError(
            f"on_paper: {recorder} may not record a step on paper for themself: another "
            "records officer must record it",
            code="records_officer_conflict",
        )
    took_part = recorder in state.case_officers or any(
        recorder in p.people for p in state.participants
    )
    if took_part:
        raise DomainError(
            f"on_paper: {recorder} took part in this case and may not record its steps on "
            "paper: another records officer must record it",
            code="records_officer_conflict",
        )


def _disputed(state: CaseState, e: StepDisputed) -> CaseState:
    step = next((p for p in state.paper_steps if p.event_id == e.disputed_event_id), None)
    if step is None or step.version != e.disputed_version:
        raise DomainError(
            f"the step cannot be disputed: version {e.disputed_version} of this case is not "
            "a step recorded on paper",
            code="not_found",
        )
    if e.actor.user_id != step.actor.user_id or e.actor.on_behalf_of:
        raise DomainError(
            f"the step cannot be disputed: only {step.actor.user_id}, for whom it was "
            f"recorded on paper, may dispute it, not {e.actor.describe()}",
            code="not_yours",
        )
    if any(d.event_id == step.event_id for d in state.disputes):
        raise DomainError(
            f"the step cannot be disputed: version {step.version} is disputed already",
            code="already_done",
        )
    dispute = Dispute(
        event_id=step.event_id,
        version=step.version,
        step=step.step,
        by=e.actor,
        at=e.at,
        reason=e.reason,
    )
    return evolve(state, {"disputes": [*state.disputes, dispute]})


APPLIERS: dict[type[Event], Handler] = {StepDisputed: _disputed}
