"""Advice: the advisers' sign-offs (given, not required, changes requested), which sign-offs
a routing requires, and the move to the chief executive or the decision maker once every
required sign-off is in.
"""

from __future__ import annotations

from domain.case import Case
from domain.errors import DomainError
from domain.events import AdviceNotRequired, ChangesRequested, Event, SignOffGiven
from domain.fold.guards import MOVED_ON_FROM_ADVICE, Handler, need_role, need_stage, who_on
from domain.fold.people import four_eyes_rule
from domain.roles import Actor, AdviceArea, Role
from domain.rules.delegation import Routing
from domain.state import CaseState, Return, SignOff, SignOffStatus, Stage, evolve


def signoffs_for(routing: Routing, current: dict[AdviceArea, SignOff]) -> dict[AdviceArea, SignOff]:
    """The sign-offs a routing requires: those already held as they are, the others new."""
    return {area: current.get(area, SignOff(area=area)) for area in routing.required_signoffs}


def advance_after_advice(state: CaseState) -> CaseState:
    """Once every required sign-off is in, the case goes to the chief executive (DMPC
    decisions) or straight to the MPS decision maker (MPS-delegated decisions)."""
    if state.stage is not Stage.ADVICE or state.outstanding_signoffs:
        return state
    if state.is_dmpc_decision:
        return evolve(state, {"stage": Stage.CHIEF_EXECUTIVE})
    return evolve(state, {"stage": Stage.DECISION, "decision_maker_role": Role.MPS_DECISION_MAKER})


def _signoff_guard(state: CaseState, actor: Actor, area: AdviceArea, what: str) -> SignOff:
    current = state.signoffs.get(area)
    if current is not None and current.status.is_done and state.stage in MOVED_ON_FROM_ADVICE:
        need_role(actor, what, area.adviser_role)
        raise _advice_done(current, what)
    need_stage(state, what, Stage.ADVICE)
    need_role(actor, what, area.adviser_role)
    if current is None:
        raise DomainError(
            f"{what}: {area.label} advice is not required for this case", code="not_required"
        )
    if current.status.is_done:
        raise _advice_done(current, what)
    four_eyes_rule(state, actor, what)
    return current


def _advice_done(current: SignOff, what: str) -> DomainError:
    verb = "given" if current.status is SignOffStatus.SIGNED_OFF else "recorded as not required"
    return DomainError(
        f"{what}: {current.area.label} advice was already {verb} by "
        f"{who_on(current.by, current.at)}",
        code="already_done",
    )


def _complete_signoff(
    state: CaseState,
    e: SignOffGiven | AdviceNotRequired,
    status: SignOffStatus,
    what: str,
    note: str | None,
) -> CaseState:
    current = _signoff_guard(state, e.actor, e.area, what)
    done = evolve(current, {"status": status, "by": e.actor, "at": e.at, "note": note})
    return advance_after_advice(evolve(state, {"signoffs": {**state.signoffs, e.area: done}}))


def _signed_off(state: CaseState, e: SignOffGiven) -> CaseState:
    what = f"{e.area.label} sign-off cannot be given"
    return _complete_signoff(state, e, SignOffStatus.SIGNED_OFF, what, e.comment)


def _not_required(state: CaseState, e: AdviceNotRequired) -> CaseState:
    what = f"{e.area.label} advice cannot be recorded as not required"
    return _complete_signoff(state, e, SignOffStatus.NOT_REQUIRED, what, e.reason)


def _changes(state: CaseState, e: ChangesRequested) -> CaseState:
    what = f"changes cannot be requested for {e.area.label}"
    current = _signoff_guard(state, e.actor, e.area, what)
    unknown = [s for s in e.sections if s not in Case.model_fields]
    if unknown:
        raise DomainError(f"{what}: the case has no section {', '.join(unknown)}")
    marked = evolve(
        current,
        {
            "status": SignOffStatus.CHANGES_REQUESTED,
            "by": e.actor,
            "at": e.at,
            "note": "; ".join(e.reasons),
        },
    )
    return evolve(
        state,
        {
            "signoffs": {**state.signoffs, e.area: marked},
            "stage": Stage.REVISION,
            "returns": state.returns + 1,
            "returned": Return(
                by=e.actor,
                on=e.at,
                reasons=e.reasons,
                area=e.area,
                resume_stage=Stage.ADVICE,
            ),
        },
    )


APPLIERS: dict[type[Event], Handler] = {
    SignOffGiven: _signed_off,
    AdviceNotRequired: _not_required,
    ChangesRequested: _changes,
}
