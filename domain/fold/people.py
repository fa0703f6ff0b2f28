"""The rules over persons: who may take a step on a case given who took the earlier ones.

`four_eyes_rule` is the rule stored histories were judged by (the submitter signs none of
the case's approvals); the appliers of the approvals apply it to every step, stored or new.
`check_people` is the fuller rule the workflows judge every *new* step by
(`domain.fold.apply_new`): only the case's own officers revise, submit or withdraw it or
move its required-by date; nobody who drafted, submitted or revised it approves it; nobody
acts in two of the roles adviser, chief executive and decision maker on one case, in person
or as a deputy. `CAPACITY` is the capacity each step is taken in, which `domain.fold.apply`
records as participation.
"""

from __future__ import annotations

from typing import Any

from domain.clock import london_date, long_date
from domain.errors import DomainError
from domain.events import (
    AdviceNotRequired,
    CaseDrafted,
    CaseRevised,
    CaseSubmitted,
    CaseWithdrawn,
    ChangesRequested,
    CheckAcknowledged,
    ChiefExecutiveConsulted,
    ChiefExecutiveSentBack,
    DecisionApproved,
    DecisionDeclined,
    Event,
    ExtremisAgreed,
    InterestsDeclared,
    RequiredByChanged,
    SignOffGiven,
)
from domain.roles import Actor, AdviceArea, Role
from domain.state import Capacity, CaseState, persons


def four_eyes_rule(state: CaseState, actor: Actor, what: str) -> None:
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


#: The capacity each lifecycle step is taken in (steps not listed, such as a board's advice,
#: an irregularity or a new required-by date, are not recorded as participation).
CAPACITY: dict[type[Event], Capacity] = {
    CaseDrafted: Capacity.OFFICER,
    CaseRevised: Capacity.OFFICER,
    CaseSubmitted: Capacity.OFFICER,
    CaseWithdrawn: Capacity.OFFICER,
    CheckAcknowledged: Capacity.OFFICER,
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
    CheckAcknowledged.TYPE: "acknowledged a check on this case",
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
    CheckAcknowledged: "the check cannot be acknowledged",
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
    capacity = CAPACITY.get(type(event))
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
    CheckAcknowledged: "the check cannot be acknowledged",
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
