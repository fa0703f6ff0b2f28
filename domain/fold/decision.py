"""The chief executive's confirmation or return, the decision maker's declaration of
interests (and the alternate who takes over), and the decision: approved or declined.
"""

from __future__ import annotations

from domain.errors import DomainError
from domain.events import (
    ChiefExecutiveConsulted,
    ChiefExecutiveSentBack,
    DecisionApproved,
    DecisionDeclined,
    Event,
    InterestsDeclared,
)
from domain.fold.guards import MOVED_ON_FROM_CHIEF_EXECUTIVE, Handler, need_role, need_stage, who_on
from domain.fold.people import four_eyes_rule
from domain.roles import Actor, Role
from domain.rules.delegation import DecisionMaker
from domain.state import CaseState, Part1Status, Part2Status, Return, Stage, evolve


def _ceo(state: CaseState, e: ChiefExecutiveConsulted) -> CaseState:
    what = "the chief executive cannot confirm the case"
    if state.ceo_consulted_by is not None and state.stage in MOVED_ON_FROM_CHIEF_EXECUTIVE:
        need_role(e.actor, what, Role.CHIEF_EXECUTIVE)
        raise DomainError(
            f"{what}: it was already confirmed by "
            f"{who_on(state.ceo_consulted_by, state.ceo_consulted_at)}",
            code="already_done",
        )
    need_stage(state, what, Stage.CHIEF_EXECUTIVE)
    need_role(e.actor, what, Role.CHIEF_EXECUTIVE)
    four_eyes_rule(state, e.actor, what)
    return evolve(
        state,
        {
            "stage": Stage.DECISION,
            "ceo_consulted_by": e.actor,
            "ceo_consulted_at": e.at,
            "decision_maker_role": Role.DMPC,
        },
    )


def _ceo_back(state: CaseState, e: ChiefExecutiveSentBack) -> CaseState:
    what = "the chief executive cannot send the case back"
    need_stage(state, what, Stage.CHIEF_EXECUTIVE)
    need_role(e.actor, what, Role.CHIEF_EXECUTIVE)
    return evolve(
        state,
        {
            "stage": Stage.REVISION,
            "returns": state.returns + 1,
            "returned": Return(
                by=e.actor,
                on=e.at,
                reasons=e.reasons,
                area=None,
                resume_stage=Stage.ADVICE,
            ),
        },
    )


def _decider_guard(state: CaseState, actor: Actor, what: str) -> None:
    need_stage(state, what, Stage.DECISION)
    assert state.decision_maker_role is not None
    need_role(actor, what, state.decision_maker_role)
    four_eyes_rule(state, actor, what)


def _interests(state: CaseState, e: InterestsDeclared) -> CaseState:
    what = "interests cannot be declared"
    _decider_guard(state, e.actor, what)
    if state.decision_maker_role is Role.MPS_DECISION_MAKER:
        raise DomainError(f"{what}: this is an MPS-delegated decision, not the DMPC's")
    if state.interests_declared_by is not None:
        raise DomainError(
            f"{what}: {state.interests_declared_by.describe()} has already declared",
            code="already_done",
        )
    if e.has_interest and not e.details:
        raise DomainError(f"{what}: a declared interest must be described")
    if not e.has_interest:
        return evolve(state, {"interests_declared_by": e.actor})
    if state.decision_maker_role is Role.ALTERNATE_DECISION_MAKER:
        raise DomainError(
            f"{what}: the alternate decision maker also has an interest and there is no further "
            "alternate; the case must be withdrawn or the alternate changed in configuration"
        )
    return evolve(
        state,
        {
            "recused": [*state.recused, e.actor],
            "decision_maker_role": Role.ALTERNATE_DECISION_MAKER,
        },
    )


def _decide(state: CaseState, e: DecisionApproved | DecisionDeclined, what: str) -> None:
    if state.decided_by is not None and state.decision_maker_role is not None:
        need_role(e.actor, what, state.decision_maker_role)
        outcome = "approved" if state.stage is Stage.APPROVED else "declined"
        raise DomainError(
            f"{what}: it was already {outcome} by {who_on(state.decided_by, state.decided_at)}",
            code="already_done",
        )
    _decider_guard(state, e.actor, what)
    dmpc_side = state.decision_maker_role is not Role.MPS_DECISION_MAKER
    if dmpc_side and state.interests_declared_by is None:
        who = "the DMPC" if state.decision_maker_role is Role.DMPC else "the alternate"
        raise DomainError(
            f"{what}: {who} has not declared interests", code="interests_not_declared"
        )


def _approved(state: CaseState, e: DecisionApproved) -> CaseState:
    what = "the decision cannot be approved"
    _decide(state, e, what)
    assert state.case is not None
    dmpc = state.routing is not None and state.routing.decision_maker is DecisionMaker.DMPC
    if dmpc and e.reference is None:
        raise DomainError(f"{what}: a DMPC decision needs its PCD reference")
    if not dmpc and e.reference is not None:
        raise DomainError(f"{what}: an MPS-delegated decision has no PCD reference")
    return evolve(
        state,
        {
            "stage": Stage.APPROVED,
            "decided_by": e.actor,
            "decided_at": e.at,
            "reference": e.reference,
            "decision_comment": e.comment,
            "part1": Part1Status.PENDING if dmpc else Part1Status.NOT_DUE,
            "part2": Part2Status.EXEMPT if state.case.part2 else Part2Status.NONE,
            "part2_review_date": state.case.part2.review_date if state.case.part2 else None,
        },
    )


def _declined(state: CaseState, e: DecisionDeclined) -> CaseState:
    _decide(state, e, "the decision cannot be declined")
    return evolve(
        state,
        {
            "stage": Stage.DECLINED,
            "decided_by": e.actor,
            "decided_at": e.at,
            "decision_comment": e.comment,
        },
    )


APPLIERS: dict[type[Event], Handler] = {
    ChiefExecutiveConsulted: _ceo,
    ChiefExecutiveSentBack: _ceo_back,
    InterestsDeclared: _interests,
    DecisionApproved: _approved,
    DecisionDeclined: _declined,
}
