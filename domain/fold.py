"""The fold: `state = apply(state, event)`, the one set of lifecycle rules.

The workflows validate an approver's action by folding the event it would write into the
current state; the auditors' replay folds the stored events. Both use this module, so a step
the workflows accept is a step a replay accepts, and the other way round.

An event that cannot happen in the current state raises `DomainError` with a message a
person understands and a stable `code` (wrong_stage, wrong_role, already_done, four_eyes,
interests_not_declared, not_required, illegal_transition).

The rules over *persons* (only the case's own officers revise, submit or withdraw it or
move its required-by date; nobody who drafted, submitted or revised a case advises on it,
confirms it as chief executive or decides it; nobody acts in two of the roles adviser, chief
executive and decision maker on one case, in person or as a deputy) are judged by
`check_people`, which the workflows run on every *new* step (`apply_new`). `apply` keeps the
record they are judged on (`CaseState.participants`) but does not refuse a stored step for
them: histories recorded before the rules existed must still fold and replay.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from domain.case import BoardAdvice, Case
from domain.clock import london_date, long_date
from domain.errors import DomainError
from domain.events import (
    AdviceNotRequired,
    BoardAdviceRecorded,
    CaseDrafted,
    CaseRevised,
    CaseSubmitted,
    CaseWithdrawn,
    ChangesRequested,
    ChiefExecutiveConsulted,
    ChiefExecutiveSentBack,
    DeadlineEscalated,
    DeadlineMissed,
    DeadlineReminderSent,
    DecisionApproved,
    DecisionDeclined,
    Event,
    ExtremisAgreed,
    InterestsDeclared,
    IrregularityRecorded,
    Part1Deferred,
    Part1Published,
    Part2ExemptionExtended,
    Part2Published,
    Part2PublishedRedacted,
    Part2ReviewDue,
    PlacedOnAgenda,
    RequiredByChanged,
    SignOffGiven,
)
from domain.register import redact
from domain.roles import Actor, AdviceArea, Role
from domain.rules.delegation import DecisionMaker, Route, Routing
from domain.state import (
    Capacity,
    CaseState,
    Part1Status,
    Part2Status,
    Participation,
    Return,
    SignOff,
    SignOffStatus,
    Stage,
    evolve,
    persons,
)

_E = TypeVar("_E", bound=Event)
Handler = Callable[[CaseState, Any], CaseState]
_HANDLERS: dict[type[Event], Handler] = {}


def _on(cls: type[_E]) -> Callable[[Callable[[CaseState, _E], CaseState]], Handler]:
    def register(fn: Callable[[CaseState, _E], CaseState]) -> Handler:
        _HANDLERS[cls] = fn
        return fn

    return register


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
    capacity = _CAPACITY.get(type(event))
    if capacity is not None and event.actor.role is not Role.SYSTEM:
        # Built from a validated event: no need to validate again (the fold is measured).
        took = Participation.model_construct(
            actor=event.actor,
            capacity=capacity,
            step=event.TYPE,
            at=event.occurred_at,
            area=getattr(event, "area", None),
        )
        update["participants"] = [*state.participants, took]
    return evolve(new, update)


def apply_new(state: CaseState, event: Event) -> CaseState:
    """Fold a step someone is taking now: `apply`, then the rules over persons
    (`check_people`) and the bounds of what a case holds (`check_limits`) on the state
    before it. The workflows use this for new steps; a
    stored history is folded with `apply`."""
    new = apply(state, event)
    check_people(state, event)
    check_limits(state, event)
    return new


def fold(case_id: str, events: Iterable[Event]) -> CaseState:
    """The state of a case after all its events, from nothing."""
    state = CaseState(case_id=case_id)
    for event in events:
        state = apply(state, event)
    return state


# -- guards ----------------------------------------------------------------------------


def _stage(state: CaseState, what: str, *allowed: Stage) -> None:
    if state.stage in allowed:
        return
    if state.stage is Stage.REVISION and state.returned is not None:
        raise DomainError(
            f"{what}: the case was sent back for changes on "
            f"{long_date(london_date(state.returned.on))} and the officer has not yet revised it",
            code="wrong_stage",
        )
    raise DomainError(f"{what}: the case is {state.stage.label}", code="wrong_stage")


def _role(actor: Actor, what: str, *roles: Role) -> None:
    if actor.role in roles:
        return
    needed = " or ".join(r.value.replace("_", " ") for r in roles)
    raise DomainError(
        f"{what}: only the {needed} may do this, not {actor.describe()}", code="wrong_role"
    )


def _four_eyes(state: CaseState, actor: Actor, what: str) -> None:
    """The submitter may not sign any of the case's approvals (the rule stored histories were
    judged by; `check_people` extends it to everyone who drafted or revised the case)."""
    submitter = state.submitted_by
    if submitter is None or not persons(actor) & persons(submitter):
        return
    at = state.submitted_at or state.drafted_at
    raise _conflict(what, actor, submitter, "submitted this case", at, four_eyes=True)


def _who(actor: Actor) -> str:
    """A person as they acted: `kim.deputy (deputy for sam.officer)`, or `sam.officer`."""
    if actor.on_behalf_of:
        return f"{actor.user_id} (deputy for {actor.on_behalf_of})"
    return actor.user_id


#: What someone doing a step is barred from, in the words of a refusal.
_DOING: dict[Capacity, str] = {
    Capacity.OFFICER: "revise, submit or withdraw it",
    Capacity.ADVISER: "advise on it",
    Capacity.CHIEF_EXECUTIVE: "act on it as chief executive",
    Capacity.DECISION_MAKER: "decide it",
    Capacity.BOARD_CHAIR: "agree it as an extremis submission",
}


def _conflict(
    what: str, actor: Actor, earlier: Actor, did: str, at: Any, *, four_eyes: bool
) -> DomainError:
    """The refusal naming the person in conflict and what they did on the case, when."""
    capacity = _CAPACITY_OF_ROLE.get(actor.role, Capacity.DECISION_MAKER)
    doing = _DOING[capacity]
    when = f" on {long_date(london_date(at))}" if at is not None else ""
    shared = persons(actor) & persons(earlier)
    rule = "four-eyes rule" if four_eyes else "separation of duties"
    if earlier.user_id in shared:
        sentence = f"{_who(earlier)} {did}{when} and may not {doing}"
    else:
        person = sorted(shared)[0]
        sentence = (
            f"{_who(earlier)} {did}{when}, so {person} may not {doing}, "
            "in person or through a deputy"
        )
    return DomainError(
        f"{what}: {sentence} ({rule})", code="four_eyes" if four_eyes else "separation_of_duties"
    )


def _when(actor: Actor | None, at: Any) -> str:
    who = actor.describe() if actor else "someone"
    return f"{who} on {long_date(london_date(at))}" if at else who


# A step that someone has just taken, and that moved the case on, is refused to whoever
# raced them for it as already done (a 409 with the case as it now is), not as a step at the
# wrong stage: two advisers on the last sign-off, two clicks on "decide". These are the stages
# a case can be in only after the step was taken (not sent back, not withdrawn).
_MOVED_ON_FROM_DRAFT = frozenset(
    {
        Stage.BOARD,
        Stage.ADVICE,
        Stage.CHIEF_EXECUTIVE,
        Stage.DECISION,
        Stage.APPROVED,
        Stage.DECLINED,
    }
)
_MOVED_ON_FROM_ADVICE = frozenset(
    {Stage.CHIEF_EXECUTIVE, Stage.DECISION, Stage.APPROVED, Stage.DECLINED}
)
_MOVED_ON_FROM_CHIEF_EXECUTIVE = frozenset({Stage.DECISION, Stage.APPROVED, Stage.DECLINED})


# -- drafting and submission -----------------------------------------------------------


@_on(CaseDrafted)
def _drafted(state: CaseState, e: CaseDrafted) -> CaseState:
    if state.case is not None:
        raise DomainError(
            "the case cannot be drafted again: it exists already", code="already_done"
        )
    _role(e.actor, "a case cannot be drafted", Role.ORIGINATING_OFFICER)
    return evolve(
        state,
        {
            "case": e.case,
            "case_revision": 1,
            "drafted_by": e.actor,
            "drafted_at": e.occurred_at,
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


def _signoffs_for(
    routing: Routing, current: dict[AdviceArea, SignOff]
) -> dict[AdviceArea, SignOff]:
    return {area: current.get(area, SignOff(area=area)) for area in routing.required_signoffs}


def _advance_after_advice(state: CaseState) -> CaseState:
    """Once every required sign-off is in, the case goes to the chief executive (DMPC
    decisions) or straight to the MPS decision maker (MPS-delegated decisions)."""
    if state.stage is not Stage.ADVICE or state.outstanding_signoffs:
        return state
    if state.is_dmpc_decision:
        return evolve(state, {"stage": Stage.CHIEF_EXECUTIVE})
    return evolve(state, {"stage": Stage.DECISION, "decision_maker_role": Role.MPS_DECISION_MAKER})


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


@_on(CaseRevised)
def _revised(state: CaseState, e: CaseRevised) -> CaseState:
    what = "the case cannot be revised"
    _role(e.actor, what, Role.ORIGINATING_OFFICER)
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
    for area, s in _signoffs_for(routing, state.signoffs).items():
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
    return _advance_after_advice(new)


@_on(CaseSubmitted)
def _submitted(state: CaseState, e: CaseSubmitted) -> CaseState:
    what = "the case cannot be submitted"
    if state.submitted_by is not None and state.stage in _MOVED_ON_FROM_DRAFT:
        _role(e.actor, what, Role.ORIGINATING_OFFICER)
        raise DomainError(
            f"{what}: it was already submitted by {_when(state.submitted_by, state.submitted_at)}",
            code="already_done",
        )
    _stage(state, what, Stage.DRAFT)
    _role(e.actor, what, Role.ORIGINATING_OFFICER)
    return evolve(
        state,
        {
            "stage": Stage.BOARD,
            "submitted_by": e.actor,
            "submitted_at": e.occurred_at,
            "routing": e.routing,
            "signoffs": _signoffs_for(e.routing, {}),
        },
    )


@_on(CaseWithdrawn)
def _withdrawn(state: CaseState, e: CaseWithdrawn) -> CaseState:
    what = "the case cannot be withdrawn"
    if state.stage.is_closed:
        raise DomainError(f"{what}: it is already {state.stage.label}", code="wrong_stage")
    _role(e.actor, what, Role.ORIGINATING_OFFICER)
    return evolve(state, {"stage": Stage.WITHDRAWN, "withdrawn_reason": e.reason})


# -- board -----------------------------------------------------------------------------


@_on(PlacedOnAgenda)
def _placed(state: CaseState, e: PlacedOnAgenda) -> CaseState:
    what = "the case cannot be placed on an agenda"
    _stage(state, what, Stage.BOARD)
    _role(e.actor, what, Role.BOARD_SECRETARIAT)
    if state.routing and state.routing.route is Route.EXTREMIS:
        raise DomainError(f"{what}: it is an extremis submission outside the meeting cycle")
    if state.meeting_id is not None:
        raise DomainError(
            f"{what}: it is already on the agenda of meeting {state.meeting_id}",
            code="already_done",
        )
    return evolve(state, {"meeting_id": e.meeting_id, "meeting_date": e.meeting_date})


@_on(BoardAdviceRecorded)
def _board_advice(state: CaseState, e: BoardAdviceRecorded) -> CaseState:
    what = "the board's advice cannot be recorded"
    _stage(state, what, Stage.BOARD)
    _role(e.actor, what, Role.BOARD_SECRETARIAT)
    if state.meeting_id is None:
        raise DomainError(f"{what}: the case is not on any meeting's agenda", code="wrong_stage")
    if e.meeting_id != state.meeting_id:
        raise DomainError(
            f"{what}: the case is on the agenda of meeting {state.meeting_id}, not {e.meeting_id}"
        )
    if state.meeting_date is not None and london_date(e.occurred_at) < state.meeting_date:
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
                on=e.occurred_at,
                reasons=[e.comment or "the board did not support the case"],
                area=None,
                resume_stage=Stage.BOARD,
            ),
        )
    return evolve(state, update)


@_on(ExtremisAgreed)
def _extremis(state: CaseState, e: ExtremisAgreed) -> CaseState:
    what = "the extremis route cannot be agreed"
    _stage(state, what, Stage.BOARD)
    _role(e.actor, what, Role.BOARD_CHAIR)
    if not state.routing or state.routing.route is not Route.EXTREMIS:
        raise DomainError(f"{what}: the case goes to a board meeting, not as an extremis case")
    _four_eyes(state, e.actor, what)
    return evolve(state, {"stage": Stage.ADVICE, "extremis_agreed_by": e.actor})


# -- advice ----------------------------------------------------------------------------


def _signoff_guard(state: CaseState, actor: Actor, area: AdviceArea, what: str) -> SignOff:
    current = state.signoffs.get(area)
    if current is not None and current.status.is_done and state.stage in _MOVED_ON_FROM_ADVICE:
        _role(actor, what, area.adviser_role)
        raise _advice_done(current, what)
    _stage(state, what, Stage.ADVICE)
    _role(actor, what, area.adviser_role)
    if current is None:
        raise DomainError(
            f"{what}: {area.label} advice is not required for this case", code="not_required"
        )
    if current.status.is_done:
        raise _advice_done(current, what)
    _four_eyes(state, actor, what)
    return current


def _advice_done(current: SignOff, what: str) -> DomainError:
    verb = "given" if current.status is SignOffStatus.SIGNED_OFF else "recorded as not required"
    return DomainError(
        f"{what}: {current.area.label} advice was already {verb} by "
        f"{_when(current.by, current.at)}",
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
    done = evolve(current, {"status": status, "by": e.actor, "at": e.occurred_at, "note": note})
    return _advance_after_advice(evolve(state, {"signoffs": {**state.signoffs, e.area: done}}))


@_on(SignOffGiven)
def _signed_off(state: CaseState, e: SignOffGiven) -> CaseState:
    what = f"{e.area.label} sign-off cannot be given"
    return _complete_signoff(state, e, SignOffStatus.SIGNED_OFF, what, e.comment)


@_on(AdviceNotRequired)
def _not_required(state: CaseState, e: AdviceNotRequired) -> CaseState:
    what = f"{e.area.label} advice cannot be recorded as not required"
    return _complete_signoff(state, e, SignOffStatus.NOT_REQUIRED, what, e.reason)


@_on(ChangesRequested)
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
            "at": e.occurred_at,
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
                on=e.occurred_at,
                reasons=e.reasons,
                area=e.area,
                resume_stage=Stage.ADVICE,
            ),
        },
    )


# -- chief executive and decision ------------------------------------------------------


@_on(ChiefExecutiveConsulted)
def _ceo(state: CaseState, e: ChiefExecutiveConsulted) -> CaseState:
    what = "the chief executive cannot confirm the case"
    if state.ceo_consulted_by is not None and state.stage in _MOVED_ON_FROM_CHIEF_EXECUTIVE:
        _role(e.actor, what, Role.CHIEF_EXECUTIVE)
        raise DomainError(
            f"{what}: it was already confirmed by "
            f"{_when(state.ceo_consulted_by, state.ceo_consulted_at)}",
            code="already_done",
        )
    _stage(state, what, Stage.CHIEF_EXECUTIVE)
    _role(e.actor, what, Role.CHIEF_EXECUTIVE)
    _four_eyes(state, e.actor, what)
    return evolve(
        state,
        {
            "stage": Stage.DECISION,
            "ceo_consulted_by": e.actor,
            "ceo_consulted_at": e.occurred_at,
            "decision_maker_role": Role.DMPC,
        },
    )


@_on(ChiefExecutiveSentBack)
def _ceo_back(state: CaseState, e: ChiefExecutiveSentBack) -> CaseState:
    what = "the chief executive cannot send the case back"
    _stage(state, what, Stage.CHIEF_EXECUTIVE)
    _role(e.actor, what, Role.CHIEF_EXECUTIVE)
    return evolve(
        state,
        {
            "stage": Stage.REVISION,
            "returns": state.returns + 1,
            "returned": Return(
                by=e.actor,
                on=e.occurred_at,
                reasons=e.reasons,
                area=None,
                resume_stage=Stage.ADVICE,
            ),
        },
    )


def _decider_guard(state: CaseState, actor: Actor, what: str) -> None:
    _stage(state, what, Stage.DECISION)
    assert state.decision_maker_role is not None
    _role(actor, what, state.decision_maker_role)
    _four_eyes(state, actor, what)


@_on(InterestsDeclared)
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
        _role(e.actor, what, state.decision_maker_role)
        outcome = "approved" if state.stage is Stage.APPROVED else "declined"
        raise DomainError(
            f"{what}: it was already {outcome} by {_when(state.decided_by, state.decided_at)}",
            code="already_done",
        )
    _decider_guard(state, e.actor, what)
    dmpc_side = state.decision_maker_role is not Role.MPS_DECISION_MAKER
    if dmpc_side and state.interests_declared_by is None:
        who = "the DMPC" if state.decision_maker_role is Role.DMPC else "the alternate"
        raise DomainError(
            f"{what}: {who} has not declared interests", code="interests_not_declared"
        )


@_on(DecisionApproved)
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
            "decided_at": e.occurred_at,
            "reference": e.reference,
            "decision_comment": e.comment,
            "part1": Part1Status.PENDING if dmpc else Part1Status.NOT_DUE,
            "part2": Part2Status.EXEMPT if state.case.part2 else Part2Status.NONE,
            "part2_review_date": state.case.part2.review_date if state.case.part2 else None,
        },
    )


@_on(DecisionDeclined)
def _declined(state: CaseState, e: DecisionDeclined) -> CaseState:
    _decide(state, e, "the decision cannot be declined")
    return evolve(
        state,
        {
            "stage": Stage.DECLINED,
            "decided_by": e.actor,
            "decided_at": e.occurred_at,
            "decision_comment": e.comment,
        },
    )


# -- publication -----------------------------------------------------------------------

_PUBLISHERS = (Role.PUBLICATION_OFFICER, Role.SYSTEM)


@_on(Part1Deferred)
def _p1_deferred(state: CaseState, e: Part1Deferred) -> CaseState:
    what = "Part 1 publication cannot be deferred"
    _stage(state, what, Stage.APPROVED)
    _role(e.actor, what, *_PUBLISHERS)
    if state.part1 is not Part1Status.PENDING:
        raise DomainError(
            f"{what}: Part 1 is {state.part1.value.replace('_', ' ')}", code="already_done"
        )
    if e.until <= london_date(e.occurred_at):
        raise DomainError(f"{what}: the date {long_date(e.until)} is not in the future")
    return evolve(state, {"part1": Part1Status.DEFERRED, "part1_deferred_until": e.until})


@_on(Part1Published)
def _p1_published(state: CaseState, e: Part1Published) -> CaseState:
    what = "Part 1 cannot be published"
    _stage(state, what, Stage.APPROVED)
    _role(e.actor, what, *_PUBLISHERS)
    if state.part1 is Part1Status.PUBLISHED:
        raise DomainError(f"{what}: it was already published", code="already_done")
    if state.part1 is Part1Status.NOT_DUE:
        raise DomainError(f"{what}: MPS-delegated decisions are not published on the register")
    assert state.case is not None
    until = state.part1_deferred_until or (
        state.case.part1_deferral.until if state.case.part1_deferral else None
    )
    if until is not None and london_date(e.occurred_at) < until:
        raise DomainError(f"{what}: publication is deferred until {long_date(until)}")
    if (e.entry.case_id, e.entry.reference, e.entry.title) != (
        state.case_id,
        state.reference,
        state.case.title,
    ):
        raise DomainError(f"{what}: the register entry does not match the decision")
    return evolve(state, {"part1": Part1Status.PUBLISHED, "part1_published_at": e.occurred_at})


@_on(Part2ReviewDue)
def _p2_due(state: CaseState, e: Part2ReviewDue) -> CaseState:
    what = "the Part 2 review cannot fall due"
    _stage(state, what, Stage.APPROVED)
    _role(e.actor, what, *_PUBLISHERS)
    if state.part2 is not Part2Status.EXEMPT:
        raise DomainError(f"{what}: Part 2 is {state.part2.value.replace('_', ' ')}")
    assert state.part2_review_date is not None
    if e.review_date != state.part2_review_date:
        raise DomainError(f"{what}: the review date is {long_date(state.part2_review_date)}")
    if london_date(e.occurred_at) < state.part2_review_date:
        raise DomainError(f"{what}: it is not due until {long_date(state.part2_review_date)}")
    return evolve(state, {"part2": Part2Status.REVIEW_DUE})


def _review_guard(state: CaseState, actor: Actor, what: str) -> None:
    _stage(state, what, Stage.APPROVED)
    _role(actor, what, Role.PUBLICATION_OFFICER)
    if state.part2 is not Part2Status.REVIEW_DUE:
        raise DomainError(f"{what}: no Part 2 review is due", code="wrong_stage")


def _part2_text(state: CaseState) -> str:
    assert state.case is not None and state.case.part2 is not None
    return state.case.part2.content


@_on(Part2Published)
def _p2_published(state: CaseState, e: Part2Published) -> CaseState:
    what = "Part 2 cannot be published"
    _review_guard(state, e.actor, what)
    if e.content != _part2_text(state):
        raise DomainError(f"{what}: the text published is not the Part 2 of the case")
    return evolve(state, {"part2": Part2Status.PUBLISHED})


@_on(Part2PublishedRedacted)
def _p2_redacted(state: CaseState, e: Part2PublishedRedacted) -> CaseState:
    what = "Part 2 cannot be published redacted"
    _review_guard(state, e.actor, what)
    try:
        expected = redact(_part2_text(state), [r.passage for r in e.redactions])
    except ValueError as exc:
        raise DomainError(f"{what}: {exc}") from None
    if e.content != expected:
        raise DomainError(f"{what}: the text published is not Part 2 with those redactions")
    return evolve(state, {"part2": Part2Status.PUBLISHED_REDACTED})


@_on(Part2ExemptionExtended)
def _p2_extended(state: CaseState, e: Part2ExemptionExtended) -> CaseState:
    what = "the Part 2 exemption cannot be extended"
    _review_guard(state, e.actor, what)
    if e.new_review_date <= london_date(e.occurred_at):
        raise DomainError(f"{what}: the new review date {long_date(e.new_review_date)} has passed")
    return evolve(
        state,
        {
            "part2": Part2Status.EXEMPT,
            "part2_review_date": e.new_review_date,
            "part2_extensions": state.part2_extensions + 1,
        },
    )


# -- deadlines -------------------------------------------------------------------------


def _deadline_guard(state: CaseState, what: str, required_by: Any) -> None:
    if state.stage.is_closed:
        raise DomainError(f"{what}: the case is already {state.stage.label}", code="wrong_stage")
    if state.required_by is None:
        raise DomainError(f"{what}: the case has no required-by date")
    if required_by != state.required_by:
        raise DomainError(f"{what}: the required-by date is now {long_date(state.required_by)}")


@_on(RequiredByChanged)
def _required_by(state: CaseState, e: RequiredByChanged) -> CaseState:
    what = "the required-by date cannot be changed"
    if state.stage.is_closed:
        raise DomainError(f"{what}: the case is already {state.stage.label}", code="wrong_stage")
    _role(e.actor, what, Role.ORIGINATING_OFFICER, Role.DRAFTING_OFFICER, Role.CHIEF_EXECUTIVE)
    return evolve(
        state,
        {
            "required_by": e.required_by,
            "reminders_sent": [],
            "escalated": False,
            "deadline_missed": False,
        },
    )


@_on(DeadlineReminderSent)
def _reminder(state: CaseState, e: DeadlineReminderSent) -> CaseState:
    what = "a deadline reminder cannot be sent"
    _role(e.actor, what, Role.SYSTEM)
    _deadline_guard(state, what, e.required_by)
    if e.working_days_before in state.reminders_sent:
        raise DomainError(
            f"{what}: the {e.working_days_before}-working-day reminder was already sent",
            code="already_done",
        )
    return evolve(state, {"reminders_sent": [*state.reminders_sent, e.working_days_before]})


@_on(DeadlineEscalated)
def _escalated(state: CaseState, e: DeadlineEscalated) -> CaseState:
    what = "the deadline cannot be escalated"
    _role(e.actor, what, Role.SYSTEM)
    _deadline_guard(state, what, e.required_by)
    if state.escalated:
        raise DomainError(f"{what}: it was already escalated", code="already_done")
    return evolve(state, {"escalated": True})


@_on(DeadlineMissed)
def _missed(state: CaseState, e: DeadlineMissed) -> CaseState:
    what = "the deadline cannot be recorded as missed"
    _role(e.actor, what, Role.SYSTEM)
    _deadline_guard(state, what, e.required_by)
    if state.deadline_missed:
        raise DomainError(f"{what}: it was already recorded", code="already_done")
    if london_date(e.occurred_at) <= e.required_by:
        raise DomainError(f"{what}: the day {long_date(e.required_by)} has not ended")
    return evolve(state, {"deadline_missed": True})


@_on(IrregularityRecorded)
def _irregularity(state: CaseState, e: IrregularityRecorded) -> CaseState:
    if e.actor.role is Role.SYSTEM:
        raise DomainError(
            "an irregularity cannot be recorded by Ratify itself: a person records it",
            code="wrong_role",
        )
    return evolve(
        state,
        {
            "irregularities": [*state.irregularities, e.description],
            "irregularities_by": [*state.irregularities_by, e.actor.accountable_user],
        },
    )


#: What one case may hold of irregularities, anyone being able to record one: without a
#: bound, one person could record them until the case's state no longer fits a Temporal
#: payload and its history exceeds Temporal's limit, which ends the workflow (a case
#: killed by someone who holds no part in it). New steps only (`apply_new`).
MAX_IRREGULARITIES = 100
MAX_IRREGULARITIES_PER_PERSON = 10
MAX_IRREGULARITY_BYTES = 20_000
MAX_IRREGULARITIES_BYTES = 256 * 1024


def check_limits(state: CaseState, event: Event) -> None:
    """The bounds of what one case holds, for a step taken now: irregularities (at most
    `MAX_IRREGULARITIES` in all and `MAX_IRREGULARITIES_PER_PERSON` by one person, each at
    most `MAX_IRREGULARITY_BYTES` and all together `MAX_IRREGULARITIES_BYTES` in UTF-8).
    Raises `DomainError` with the code `limit`."""
    if not isinstance(event, IrregularityRecorded):
        return
    what = "an irregularity cannot be recorded"
    size = len(event.description.encode("utf-8"))
    if size > MAX_IRREGULARITY_BYTES:
        raise DomainError(
            f"{what}: the description is {size:,} bytes in UTF-8; at most "
            f"{MAX_IRREGULARITY_BYTES:,} (attach a longer account as a document instead)",
            code="limit",
        )
    if len(state.irregularities) >= MAX_IRREGULARITIES:
        raise DomainError(
            f"{what}: this case holds {len(state.irregularities)} already, the most one case "
            "may hold: ask the auditors to record it with the case's audit instead",
            code="limit",
        )
    who = event.actor.accountable_user
    mine = state.irregularities_by.count(who)
    if mine >= MAX_IRREGULARITIES_PER_PERSON:
        raise DomainError(
            f"{what}: {who} has recorded {mine} on this case, the most one person may",
            code="limit",
        )
    held = sum(len(text.encode("utf-8")) for text in state.irregularities)
    if held + size > MAX_IRREGULARITIES_BYTES:
        raise DomainError(
            f"{what}: the irregularities of this case would come to {held + size:,} bytes; "
            f"at most {MAX_IRREGULARITIES_BYTES:,} in all",
            code="limit",
        )


# -- the rules over persons (new steps only) ------------------------------------------------

#: The capacity each lifecycle step is taken in (steps not listed, such as a board's advice,
#: an irregularity or a new required-by date, are not recorded as participation).
_CAPACITY: dict[type[Event], Capacity] = {
    CaseDrafted: Capacity.OFFICER,
    CaseRevised: Capacity.OFFICER,
    CaseSubmitted: Capacity.OFFICER,
    CaseWithdrawn: Capacity.OFFICER,
    ExtremisAgreed: Capacity.BOARD_CHAIR,
    SignOffGiven: Capacity.ADVISER,
    AdviceNotRequired: Capacity.ADVISER,
    ChangesRequested: Capacity.ADVISER,
    ChiefExecutiveConsulted: Capacity.CHIEF_EXECUTIVE,
    ChiefExecutiveSentBack: Capacity.CHIEF_EXECUTIVE,
    InterestsDeclared: Capacity.DECISION_MAKER,
    DecisionApproved: Capacity.DECISION_MAKER,
    DecisionDeclined: Capacity.DECISION_MAKER,
}

_CAPACITY_OF_ROLE: dict[Role, Capacity] = {
    Role.ORIGINATING_OFFICER: Capacity.OFFICER,
    Role.BOARD_CHAIR: Capacity.BOARD_CHAIR,
    **{area.adviser_role: Capacity.ADVISER for area in AdviceArea},
    Role.CHIEF_EXECUTIVE: Capacity.CHIEF_EXECUTIVE,
    Role.DMPC: Capacity.DECISION_MAKER,
    Role.ALTERNATE_DECISION_MAKER: Capacity.DECISION_MAKER,
    Role.MPS_DECISION_MAKER: Capacity.DECISION_MAKER,
}

#: The capacities one person may not combine on a case. The officer's steps (drafting,
#: submitting, revising) exclude every approval (four-eyes); adviser, chief executive and
#: decision maker exclude each other (advising in two areas is allowed). Withdrawing is an
#: officer's step but closes the case, so nothing comes after it.
_EXCLUDES: dict[Capacity, frozenset[Capacity]] = {
    Capacity.OFFICER: frozenset(
        {
            Capacity.ADVISER,
            Capacity.CHIEF_EXECUTIVE,
            Capacity.DECISION_MAKER,
            Capacity.BOARD_CHAIR,
        }
    ),
    Capacity.BOARD_CHAIR: frozenset({Capacity.OFFICER}),
    Capacity.ADVISER: frozenset(
        {Capacity.OFFICER, Capacity.CHIEF_EXECUTIVE, Capacity.DECISION_MAKER}
    ),
    Capacity.CHIEF_EXECUTIVE: frozenset(
        {Capacity.OFFICER, Capacity.ADVISER, Capacity.DECISION_MAKER}
    ),
    Capacity.DECISION_MAKER: frozenset(
        {Capacity.OFFICER, Capacity.ADVISER, Capacity.CHIEF_EXECUTIVE}
    ),
}

_DID: dict[str, str] = {
    CaseDrafted.TYPE: "drafted this case",
    CaseRevised.TYPE: "revised this case",
    CaseSubmitted.TYPE: "submitted this case",
    CaseWithdrawn.TYPE: "withdrew this case",
    ExtremisAgreed.TYPE: "agreed this case as an extremis submission",
    SignOffGiven.TYPE: "signed off {area} advice on this case",
    AdviceNotRequired.TYPE: "recorded {area} advice on this case as not required",
    ChangesRequested.TYPE: "asked for changes to this case ({area} advice)",
    ChiefExecutiveConsulted.TYPE: "confirmed this case as chief executive",
    ChiefExecutiveSentBack.TYPE: "sent this case back as chief executive",
    InterestsDeclared.TYPE: "declared interests on this case as its decision maker",
    DecisionApproved.TYPE: "approved this case",
    DecisionDeclined.TYPE: "declined this case",
}

#: The officer's steps that only the case's own officers may take.
_OWN_CASE_ONLY: dict[type[Event], str] = {
    CaseRevised: "the case cannot be revised",
    CaseSubmitted: "the case cannot be submitted",
    CaseWithdrawn: "the case cannot be withdrawn",
}


def _own_case(state: CaseState, actor: Actor, what: str) -> None:
    officers = state.case_officers
    if persons(actor) & set(officers):
        return
    raise DomainError(
        f"{what}: only the case's own officers ({', '.join(officers)}) may do this, "
        f"not {actor.describe()}",
        code="not_case_officer",
    )


def check_people(state: CaseState, event: Event) -> None:
    """The rules over persons for a step taken now on a case in `state` (before the step).

    Raises `DomainError`: `not_case_officer` when someone other than the case's officers (or
    a deputy of one of them) revises, submits or withdraws it or, as an officer, moves its
    required-by date; `wrong_role` when a drafting officer moves it (only the case's officers
    and the chief executive may); `four_eyes` when someone who drafted, submitted or revised
    the case would approve it, or an approver would act as its officer; and
    `separation_of_duties` when one person would act in two of the capacities adviser, chief
    executive and decision maker. A person is the deputy who acted and the principal they
    acted for; the refusal names the person in conflict and what they did, when.
    """
    actor = event.actor
    if actor.role is Role.SYSTEM or state.case is None:
        return
    own = _OWN_CASE_ONLY.get(type(event))
    if own is not None:
        _own_case(state, actor, own)
    if isinstance(event, RequiredByChanged):
        what = "the required-by date cannot be changed"
        if actor.role is Role.ORIGINATING_OFFICER:
            _own_case(state, actor, what)
        elif actor.role is not Role.CHIEF_EXECUTIVE:
            raise DomainError(
                f"{what}: only the case's own officers or the chief executive may do this, "
                f"not {actor.describe()}",
                code="wrong_role",
            )
        return
    capacity = _CAPACITY.get(type(event))
    if capacity is None:
        return
    excluded = _EXCLUDES[capacity]
    me = persons(actor)
    what = _WHAT.get(type(event), "this step cannot be taken")
    area = getattr(event, "area", None)
    if isinstance(area, AdviceArea):
        what = what.format(area=area.label)
    for earlier in state.participants:
        if earlier.capacity in excluded and me & earlier.people:
            did = _DID.get(earlier.step, "acted on this case")
            if earlier.area is not None:
                did = did.format(area=earlier.area.label)
            officer_side = Capacity.OFFICER in (capacity, earlier.capacity)
            raise _conflict(what, actor, earlier.actor, did, earlier.at, four_eyes=officer_side)


_WHAT: dict[type[Event], str] = {
    CaseRevised: "the case cannot be revised",
    CaseSubmitted: "the case cannot be submitted",
    CaseWithdrawn: "the case cannot be withdrawn",
    ExtremisAgreed: "the extremis route cannot be agreed",
    SignOffGiven: "{area} sign-off cannot be given",
    AdviceNotRequired: "{area} advice cannot be recorded as not required",
    ChangesRequested: "changes cannot be requested for {area}",
    ChiefExecutiveConsulted: "the chief executive cannot confirm the case",
    ChiefExecutiveSentBack: "the chief executive cannot send the case back",
    InterestsDeclared: "interests cannot be declared",
    DecisionApproved: "the decision cannot be approved",
    DecisionDeclined: "the decision cannot be declined",
}
