"""Irregularities anyone records against a case, and the bounds of what one case may hold
of them (`check_limits`, new steps only).
"""

from __future__ import annotations

from domain.errors import DomainError
from domain.events import Event, IrregularityRecorded
from domain.fold.guards import Handler
from domain.roles import Role
from domain.state import CaseState, evolve


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


APPLIERS: dict[type[Event], Handler] = {
    IrregularityRecorded: _irregularity,
}
