"""Publication after approval: Part 1 on the register (deferred or published), and the review
of an exempt Part 2 (due, published whole or redacted, or its exemption extended).
"""

from __future__ import annotations

from domain.clock import london_date, long_date
from domain.errors import DomainError
from domain.events import (
    Event,
    Part1Deferred,
    Part1Published,
    Part2ExemptionExtended,
    Part2Published,
    Part2PublishedRedacted,
    Part2ReviewDue,
)
from domain.fold.guards import Handler, need_role, need_stage
from domain.register import redact
from domain.roles import Actor, Role
from domain.state import CaseState, Part1Status, Part2Status, Stage, evolve

_PUBLISHERS = (Role.PUBLICATION_OFFICER, Role.SYSTEM)


def _p1_deferred(state: CaseState, e: Part1Deferred) -> CaseState:
    what = "Part 1 publication cannot be deferred"
    need_stage(state, what, Stage.APPROVED)
    need_role(e.actor, what, *_PUBLISHERS)
    if state.part1 is not Part1Status.PENDING:
        raise DomainError(
            f"{what}: Part 1 is {state.part1.value.replace('_', ' ')}", code="already_done"
        )
    if e.until <= london_date(e.at):
        raise DomainError(f"{what}: the date {long_date(e.until)} is not in the future")
    return evolve(state, {"part1": Part1Status.DEFERRED, "part1_deferred_until": e.until})


def _p1_published(state: CaseState, e: Part1Published) -> CaseState:
    what = "Part 1 cannot be published"
    need_stage(state, what, Stage.APPROVED)
    need_role(e.actor, what, *_PUBLISHERS)
    if state.part1 is Part1Status.PUBLISHED:
        raise DomainError(f"{what}: it was already published", code="already_done")
    if state.part1 is Part1Status.NOT_DUE:
        raise DomainError(f"{what}: MPS-delegated decisions are not published on the register")
    assert state.case is not None
    until = state.part1_deferred_until or (
        state.case.part1_deferral.until if state.case.part1_deferral else None
    )
    if until is not None and london_date(e.at) < until:
        raise DomainError(f"{what}: publication is deferred until {long_date(until)}")
    if (e.entry.case_id, e.entry.reference, e.entry.title) != (
        state.case_id,
        state.reference,
        state.case.title,
    ):
        raise DomainError(f"{what}: the register entry does not match the decision")
    return evolve(state, {"part1": Part1Status.PUBLISHED, "part1_published_at": e.at})


def _p2_due(state: CaseState, e: Part2ReviewDue) -> CaseState:
    what = "the Part 2 review cannot fall due"
    need_stage(state, what, Stage.APPROVED)
    need_role(e.actor, what, *_PUBLISHERS)
    if state.part2 is not Part2Status.EXEMPT:
        raise DomainError(f"{what}: Part 2 is {state.part2.value.replace('_', ' ')}")
    assert state.part2_review_date is not None
    if e.review_date != state.part2_review_date:
        raise DomainError(f"{what}: the review date is {long_date(state.part2_review_date)}")
    if london_date(e.at) < state.part2_review_date:
        raise DomainError(f"{what}: it is not due until {long_date(state.part2_review_date)}")
    return evolve(state, {"part2": Part2Status.REVIEW_DUE})


def _review_guard(state: CaseState, actor: Actor, what: str) -> None:
    need_stage(state, what, Stage.APPROVED)
    need_role(actor, what, Role.PUBLICATION_OFFICER)
    if state.part2 is not Part2Status.REVIEW_DUE:
        raise DomainError(f"{what}: no Part 2 review is due", code="wrong_stage")


def _part2_text(state: CaseState) -> str:
    assert state.case is not None and state.case.part2 is not None
    return state.case.part2.content


def _p2_published(state: CaseState, e: Part2Published) -> CaseState:
    what = "Part 2 cannot be published"
    _review_guard(state, e.actor, what)
    if e.content != _part2_text(state):
        raise DomainError(f"{what}: the text published is not the Part 2 of the case")
    return evolve(state, {"part2": Part2Status.PUBLISHED})


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


def _p2_extended(state: CaseState, e: Part2ExemptionExtended) -> CaseState:
    what = "the Part 2 exemption cannot be extended"
    _review_guard(state, e.actor, what)
    if e.new_review_date <= london_date(e.at):
        raise DomainError(f"{what}: the new review date {long_date(e.new_review_date)} has passed")
    return evolve(
        state,
        {
            "part2": Part2Status.EXEMPT,
            "part2_review_date": e.new_review_date,
            "part2_extensions": state.part2_extensions + 1,
        },
    )


APPLIERS: dict[type[Event], Handler] = {
    Part1Deferred: _p1_deferred,
    Part1Published: _p1_published,
    Part2ReviewDue: _p2_due,
    Part2Published: _p2_published,
    Part2PublishedRedacted: _p2_redacted,
    Part2ExemptionExtended: _p2_extended,
}
