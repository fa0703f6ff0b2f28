"""Drafting, submission, revision and withdrawal: the officer's steps, and which advice
areas each section of the case concerns (`SECTION_AREAS`), so that a revision takes again
the sign-offs of the sections it changed.
"""

from __future__ import annotations

from typing import Any

from domain.case import Case
from domain.errors import DomainError
from domain.events import CaseDrafted, CaseRevised, CaseSubmitted, CaseWithdrawn, Event
from domain.fold.advice import advance_after_advice, signoffs_for
from domain.fold.guards import MOVED_ON_FROM_DRAFT, Handler, need_role, need_stage, who_on
from domain.roles import AdviceArea, Role
from domain.state import CaseState, SignOff, SignOffStatus, Stage, evolve


def _drafted(state: CaseState, e: CaseDrafted) -> CaseState:
    if state.case is not None:
        raise DomainError(
            "the case cannot be drafted again: it exists already", code="already_done"
        )
    need_role(e.actor, "a case cannot be drafted", Role.ORIGINATING_OFFICER)
    return evolve(
        state,
        {
            "case": e.case,
            "case_revision": 1,
            "drafted_by": e.actor,
            "drafted_at": e.at,
            "required_by": e.case.time_sensitivity.required_by if e.case.time_sensitivity else None,
        },
    )


#: Which advice each section of the case concerns: a revision of a section makes the
#: sign-offs of those areas be taken again.
SECTION_AREAS: dict[str, frozenset[AdviceArea]] = {
    "executive_summary": frozenset(AdviceArea),
    "recommendations": frozenset(AdviceArea),
    "approval_sought": frozenset({AdviceArea.FINANCE, AdviceArea.LEGAL}),
    "money_lines": frozenset({AdviceArea.FINANCE}),
    "virement_amount": frozenset({AdviceArea.FINANCE}),
    "financial_comments": frozenset({AdviceArea.FINANCE}),
    "grant_lines": frozenset({AdviceArea.FINANCE, AdviceArea.LEGAL}),
    "procurements": frozenset({AdviceArea.FINANCE, AdviceArea.LEGAL, AdviceArea.COMMERCIAL}),
    "incoming_funding": frozenset({AdviceArea.FINANCE, AdviceArea.LEGAL}),
    "financial_tables": frozenset({AdviceArea.FINANCE}),
    "commercial_comments": frozenset({AdviceArea.COMMERCIAL}),
    "procurement_comments": frozenset({AdviceArea.COMMERCIAL, AdviceArea.LEGAL}),
    "legal_comments": frozenset({AdviceArea.LEGAL}),
    "part2": frozenset({AdviceArea.LEGAL}),
    "equality_comments": frozenset({AdviceArea.EQUALITIES}),
    "privacy_comments": frozenset({AdviceArea.INFORMATION_ASSURANCE}),
}


def changed_sections(old: Case, new: Case) -> list[str]:
    """The top-level sections of the case that differ, in the order of the form."""
    return [name for name in Case.model_fields if getattr(old, name) != getattr(new, name)]


def affected_areas(old: Case, new: Case) -> set[AdviceArea]:
    """The advice areas whose sign-off a revision from `old` to `new` must take again."""
    areas: set[AdviceArea] = set()
    for section in changed_sections(old, new):
        areas |= SECTION_AREAS.get(section, frozenset())
    return areas


def _deadline_from(state: CaseState, case: Case) -> dict[str, Any]:
    """A revised case's time sensitivity sets the required-by date; a new date starts the
    reminders afresh."""
    required_by = case.time_sensitivity.required_by if case.time_sensitivity else None
    if required_by == state.required_by:
        return {}
    return {
        "required_by": required_by,
        "reminders_sent": [],
        "escalated": False,
        "deadline_missed": False,
    }


def _revised(state: CaseState, e: CaseRevised) -> CaseState:
    what = "the case cannot be revised"
    need_role(e.actor, what, Role.ORIGINATING_OFFICER)
    if state.stage is Stage.DRAFT:
        if e.routing is not None:
            raise DomainError(f"{what} with a routing: it has not been submitted yet")
        return evolve(
            state,
            {"case": e.case, "case_revision": state.case_revision + 1}
            | _deadline_from(state, e.case),
        )
    if state.stage is not Stage.REVISION or state.returned is None:
        raise DomainError(
            f"{what}: the case is {state.stage.label}; it can be revised in draft or once it "
            "has been sent back for changes",
            code="wrong_stage",
        )
    assert state.case is not None and state.routing is not None
    routing = e.routing or state.routing
    retake = affected_areas(state.case, e.case)
    if state.returned.area is not None:
        retake.add(state.returned.area)
    signoffs: dict[AdviceArea, SignOff] = {}
    for area, s in signoffs_for(routing, state.signoffs).items():
        needs_retake = s.status is SignOffStatus.CHANGES_REQUESTED or (
            area in retake and s.status.is_done
        )
        signoffs[area] = SignOff(area=area, round=s.round + 1) if needs_retake else s
    resume = state.returned.resume_stage
    new = evolve(
        state,
        {
            "case": e.case,
            "case_revision": state.case_revision + 1,
            "routing": routing,
            "signoffs": signoffs,
            "stage": resume,
            "returned": None,
            "ceo_consulted_by": None,
            "ceo_consulted_at": None,
        }
        | _deadline_from(state, e.case),
    )
    return advance_after_advice(new)


def _submitted(state: CaseState, e: CaseSubmitted) -> CaseState:
    what = "the case cannot be submitted"
    if state.submitted_by is not None and state.stage in MOVED_ON_FROM_DRAFT:
        need_role(e.actor, what, Role.ORIGINATING_OFFICER)
        raise DomainError(
            f"{what}: it was already submitted by {who_on(state.submitted_by, state.submitted_at)}",
            code="already_done",
        )
    need_stage(state, what, Stage.DRAFT)
    need_role(e.actor, what, Role.ORIGINATING_OFFICER)
    return evolve(
        state,
        {
            "stage": Stage.BOARD,
            "submitted_by": e.actor,
            "submitted_at": e.at,
            "routing": e.routing,
            "signoffs": signoffs_for(e.routing, {}),
        },
    )


def _withdrawn(state: CaseState, e: CaseWithdrawn) -> CaseState:
    what = "the case cannot be withdrawn"
    if state.stage.is_closed:
        raise DomainError(f"{what}: it is already {state.stage.label}", code="wrong_stage")
    need_role(e.actor, what, Role.ORIGINATING_OFFICER)
    return evolve(state, {"stage": Stage.WITHDRAWN, "withdrawn_reason": e.reason})


APPLIERS: dict[type[Event], Handler] = {
    CaseDrafted: _drafted,
    CaseRevised: _revised,
    CaseSubmitted: _submitted,
    CaseWithdrawn: _withdrawn,
}
