"""The board: placing a case on a meeting's agenda, recording the board's advice, and the
board chair agreeing an extremis submission outside the meeting cycle.
"""

from __future__ import annotations

from typing import Any

from domain.case import BoardAdvice
from domain.clock import london_date, long_date
from domain.errors import DomainError
from domain.events import BoardAdviceRecorded, Event, ExtremisAgreed, PlacedOnAgenda
from domain.fold.guards import Handler, need_role, need_stage
from domain.fold.people import four_eyes_rule
from domain.roles import Role
from domain.rules.delegation import Route
from domain.state import CaseState, Return, Stage, evolve


def _placed(state: CaseState, e: PlacedOnAgenda) -> CaseState:
    what = "the case cannot be placed on an agenda"
    need_stage(state, what, Stage.BOARD)
    need_role(e.actor, what, Role.BOARD_SECRETARIAT)
    if state.routing and state.routing.route is Route.EXTREMIS:
        raise DomainError(f"{what}: it is an extremis submission outside the meeting cycle")
    if state.meeting_id is not None:
        raise DomainError(
            f"{what}: it is already on the agenda of meeting {state.meeting_id}",
            code="already_done",
        )
    return evolve(state, {"meeting_id": e.meeting_id, "meeting_date": e.meeting_date})


def _board_advice(state: CaseState, e: BoardAdviceRecorded) -> CaseState:
    what = "the board's advice cannot be recorded"
    need_stage(state, what, Stage.BOARD)
    need_role(e.actor, what, Role.BOARD_SECRETARIAT)
    if state.meeting_id is None:
        raise DomainError(f"{what}: the case is not on any meeting's agenda", code="wrong_stage")
    if e.meeting_id != state.meeting_id:
        raise DomainError(
            f"{what}: the case is on the agenda of meeting {state.meeting_id}, not {e.meeting_id}"
        )
    if state.meeting_date is not None and london_date(e.at) < state.meeting_date:
        raise DomainError(
            f"{what}: the board meets on {long_date(state.meeting_date)}",
            code="wrong_stage",
        )
    if e.advice is BoardAdvice.SUPPORTED_WITH_CONDITIONS and not e.conditions:
        raise DomainError(f"{what}: advice supported with conditions must state the conditions")
    update: dict[str, Any] = {"board_advice": e.advice, "board_conditions": e.conditions}
    if e.advice in (BoardAdvice.SUPPORTED, BoardAdvice.SUPPORTED_WITH_CONDITIONS):
        update["stage"] = Stage.ADVICE
    elif e.advice is BoardAdvice.DEFERRED:
        update.update(meeting_id=None, meeting_date=None)
    else:
        update.update(
            stage=Stage.REVISION,
            meeting_id=None,
            meeting_date=None,
            returns=state.returns + 1,
            returned=Return(
                by=e.actor,
                on=e.at,
                reasons=[e.comment or "the board did not support the case"],
                area=None,
                resume_stage=Stage.BOARD,
            ),
        )
    return evolve(state, update)


def _extremis(state: CaseState, e: ExtremisAgreed) -> CaseState:
    what = "the extremis route cannot be agreed"
    need_stage(state, what, Stage.BOARD)
    need_role(e.actor, what, Role.BOARD_CHAIR)
    if not state.routing or state.routing.route is not Route.EXTREMIS:
        raise DomainError(f"{what}: the case goes to a board meeting, not as an extremis case")
    four_eyes_rule(state, e.actor, what)
    return evolve(state, {"stage": Stage.ADVICE, "extremis_agreed_by": e.actor})


APPLIERS: dict[type[Event], Handler] = {
    PlacedOnAgenda: _placed,
    BoardAdviceRecorded: _board_advice,
    ExtremisAgreed: _extremis,
}
