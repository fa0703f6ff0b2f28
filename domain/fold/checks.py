"""The checks on a case in the fold: acknowledging one, and submitting with none open.

`current_checks(state, today)` is what the officer sees now (`domain.rules.checks`): the
case as it stands, judged with its routing (in draft, the routing it would get if submitted
`today`). An acknowledgement (`case.check_acknowledged`) is kept by the check's key;
`open_checks` are the checks that still stop the case: each FIX check, and each
ACKNOWLEDGE check not acknowledged.

`check_steps` is the rule for new steps (`domain.fold.apply_new`, beside `check_people`): an
acknowledgement names an ACKNOWLEDGE check of the case as it is now (`invalid` otherwise,
`already_done` when it was acknowledged already), and a submission, or a revision that
sends the case back on its way after changes were requested, is refused (`checks_open`)
while checks are open. `apply` does not judge these: a stored history folds whatever the
engine of the day says, so a later change of the checks never stops it loading.
"""

from __future__ import annotations

from datetime import date

from domain.clock import london_date
from domain.errors import DomainError, RulesError
from domain.events import CaseRevised, CaseSubmitted, CheckAcknowledged, Event
from domain.fold.guards import Handler, need_role, need_stage
from domain.roles import Role
from domain.rules.checks import case_checks
from domain.rules.delegation import route_case
from domain.rules.findings import Check, Severity
from domain.state import Acknowledgement, CaseState, Stage, evolve

#: The most checks a refusal lists one by one (the rest are counted).
MAX_LISTED = 20


def current_checks(state: CaseState, today: date) -> list[Check]:
    """The checks on the case as it stands: judged with its routing, or in draft with the
    routing it would be given if submitted `today`. Raises `RulesError` when no rules are
    in force to judge it by."""
    if state.case is None:
        return []
    routing = state.routing or route_case(state.case, today)
    return case_checks(state.case, routing, today)


def open_checks(state: CaseState, checks: list[Check]) -> list[Check]:
    """The checks that stop the case going on: FIX ones, and ACKNOWLEDGE ones not
    acknowledged."""
    return [
        c
        for c in checks
        if c.severity is Severity.FIX
        or (c.severity is Severity.ACKNOWLEDGE and c.key not in state.acknowledgements)
    ]


#: Where a check can be acknowledged: before submission, and until the decision, so that a
#: check raised by a revision sent back on its way can be acknowledged once it is there.
ACKNOWLEDGE_STAGES = (
    Stage.DRAFT,
    Stage.REVISION,
    Stage.BOARD,
    Stage.ADVICE,
    Stage.CHIEF_EXECUTIVE,
    Stage.DECISION,
)


def _acknowledged(state: CaseState, e: CheckAcknowledged) -> CaseState:
    what = "the check cannot be acknowledged"
    need_stage(state, what, *ACKNOWLEDGE_STAGES)
    need_role(e.actor, what, Role.ORIGINATING_OFFICER)
    acknowledgement = Acknowledgement(
        check=e.check,
        by=e.actor,
        at=e.at,
        reason=e.reason,
        subject=e.subject,
        message=e.message,
    )
    return evolve(state, {"acknowledgements": {**state.acknowledgements, e.check: acknowledgement}})


#: How much of each check's message a refusal quotes (the key names the whole check).
MAX_QUOTED = 300


def _quoted(text: str) -> str:
    return text if len(text) <= MAX_QUOTED else text[: MAX_QUOTED - 1] + "…"


def _listed(checks: list[Check]) -> str:
    shown = [
        f"[{c.severity.value}] {_quoted(c.message)} (check {c.key})" for c in checks[:MAX_LISTED]
    ]
    if len(checks) > MAX_LISTED:
        shown.append(f"and {len(checks) - MAX_LISTED} more")
    return "; ".join(shown)


def _refuse_open(what: str, found: list[Check]) -> None:
    if found:
        raise DomainError(
            f"{what}: {len(found)} check(s) open; fix each, or acknowledge each that can be "
            f"acknowledged with a reason: {_listed(found)}",
            code="checks_open",
        )


def check_steps(state: CaseState, event: Event) -> None:
    """The rule of the checks for a step taken now on a case in `state` (before the step).

    Raises `DomainError`: `invalid` when an acknowledgement names no ACKNOWLEDGE check of
    the case as it is now (or misquotes it), `already_done` when that check is acknowledged
    already, `checks_open` when a submission (or a revision that sends the case back on its
    way) leaves checks open, naming each.
    """
    if state.case is None:
        return
    today = london_date(event.at)
    try:
        if isinstance(event, CheckAcknowledged):
            _check_acknowledgement(state, event, today)
        elif isinstance(event, CaseSubmitted) and state.stage is Stage.DRAFT:
            found = open_checks(state, case_checks(state.case, event.routing, today))
            _refuse_open("the case cannot be submitted", found)
        elif (
            isinstance(event, CaseRevised)
            and state.stage is Stage.REVISION
            and state.routing is not None
        ):
            _check_revision(state, event, today)
    except RulesError as exc:
        raise DomainError(str(exc), code="rules") from None


def _check_acknowledgement(state: CaseState, e: CheckAcknowledged, today: date) -> None:
    what = "the check cannot be acknowledged"
    checks = current_checks(state, today)
    match = next((c for c in checks if c.key == e.check), None)
    if match is None or match.severity is not Severity.ACKNOWLEDGE:
        can = [c.key for c in checks if c.severity is Severity.ACKNOWLEDGE]
        listed = ", ".join(can[:MAX_LISTED]) or "none"
        raise DomainError(
            f"{what}: {e.check} is not a check on this case that can be acknowledged "
            f"(those that can: {listed})",
            code="invalid",
        )
    if (match.subject, match.message) != (e.subject, e.message):
        raise DomainError(f"{what}: the check is not quoted as it stands", code="invalid")
    earlier = state.acknowledgements.get(e.check)
    if earlier is not None:
        raise DomainError(
            f"{what}: {earlier.by.describe()} acknowledged it already", code="already_done"
        )


def _check_revision(state: CaseState, e: CaseRevised, today: date) -> None:
    """A revision after changes were requested sends the case on at once: it may leave no
    FIX check, nor an ACKNOWLEDGE check the officer could have acknowledged before revising
    (one already on the case). A check the revision itself raises cannot have been
    acknowledged yet: it goes on, shown unacknowledged to every approver until the officer
    acknowledges it (`ACKNOWLEDGE_STAGES`)."""
    assert state.case is not None and state.routing is not None
    before = {c.key for c in case_checks(state.case, state.routing, today)}
    after = case_checks(e.case, e.routing or state.routing, today)
    found = [c for c in open_checks(state, after) if c.severity is Severity.FIX or c.key in before]
    _refuse_open("the case cannot be revised", found)


APPLIERS: dict[type[Event], Handler] = {
    CheckAcknowledged: _acknowledged,
}
