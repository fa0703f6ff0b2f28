"""The core of the fold: `apply` one event, `apply_new` for a step taken now, `fold` a
history, and the dispatch table from each event type to the area module that applies it."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from domain.errors import DomainError
from domain.events import CaseDrafted, Event
from domain.fold import (
    advice,
    board,
    checks,
    decision,
    drafting,
    irregularities,
    paper,
    publication,
    required_by,
)
from domain.fold.guards import Handler
from domain.fold.irregularities import check_limits
from domain.fold.people import CAPACITY, check_people
from domain.roles import Role
from domain.state import CaseState, Participation, evolve

#: Every event type the fold knows, and the function that applies it (each area module
#: lists its own in `APPLIERS`). An event type not here cannot happen.
_HANDLERS: dict[type[Event], Handler] = {
    **drafting.APPLIERS,
    **board.APPLIERS,
    **advice.APPLIERS,
    **decision.APPLIERS,
    **publication.APPLIERS,
    **required_by.APPLIERS,
    **irregularities.APPLIERS,
    **checks.APPLIERS,
    **paper.APPLIERS,
}


def apply(state: CaseState, event: Event) -> CaseState:
    """Fold one event into the state, or raise DomainError if it cannot happen now."""
    if event.case_id != state.case_id:
        raise DomainError(
            f"event {event.event_id} belongs to case {event.case_id}, not {state.case_id}"
        )
    handler = _HANDLERS.get(type(event))
    if handler is None:
        raise DomainError(f"no rule for {event.TYPE} events", code="illegal_transition")
    if state.case is None and not isinstance(event, CaseDrafted):
        raise DomainError(
            f"{event.TYPE} cannot happen: case {state.case_id} has not been drafted",
            code="wrong_stage",
        )
    new = handler(state, event)
    update: dict[str, Any] = {"version": state.version + 1}
    capacity = CAPACITY.get(type(event))
    if capacity is not None and event.actor.role is not Role.SYSTEM:
        # Built from a validated event: no need to validate again (the fold is measured).
        took = Participation.model_construct(
            actor=event.actor,
            capacity=capacity,
            step=event.TYPE,
            at=event.at,
            area=getattr(event, "area", None),
        )
        update["participants"] = [*state.participants, took]
    paper.note(state, event, update)
    return evolve(new, update)


def apply_new(state: CaseState, event: Event, *, with_checks: bool = True) -> CaseState:
    """Fold a step someone is taking now: `apply`, then the rules over persons
    (`check_people`), the bounds of what a case holds (`check_limits`) and, unless
    `with_checks` is False, the rule of the checks (`checks.check_steps`: nothing goes on
    with checks open) on the state before it, and the rules of a step dated or recorded on
    paper (`paper.check_paper`: not dated in the future nor before the previous step, not
    recorded by someone who took part; no step of a recorded run has a date or paper
    provenance, so the handlers of old runs take the same path). The workflows use this
    for new steps (a run recorded before the rule of the checks passes `with_checks=False`
    in its handlers); a stored history is folded with `apply`."""
    new = apply(state, event)
    check_people(state, event)
    check_limits(state, event)
    paper.check_paper(state, event)
    if with_checks:
        checks.check_steps(state, event)
    return new


def fold(case_id: str, events: Iterable[Event]) -> CaseState:
    """The state of a case after all its events, from nothing."""
    state = CaseState(case_id=case_id)
    for event in events:
        state = apply(state, event)
    return state
