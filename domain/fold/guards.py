"""The checks every applier makes before it changes the state: the step is taken at a stage
the case is in (`need_stage`), by someone in a role allowed to take it (`need_role`); and
the stages a case can be in only once a step was taken, so that a step someone has just
taken is refused to whoever raced them for it as already done.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from domain.clock import london_date, long_date
from domain.errors import DomainError
from domain.roles import Actor, Role
from domain.state import CaseState, Stage

#: How the fold applies one type of event: `(state, event) -> state`, or `DomainError`.
Handler = Callable[[CaseState, Any], CaseState]


def need_stage(state: CaseState, what: str, *allowed: Stage) -> None:
    """Refuse (`wrong_stage`) unless the case is at one of the `allowed` stages."""
    if state.stage in allowed:
        return
    if state.stage is Stage.REVISION and state.returned is not None:
        raise DomainError(
            f"{what}: the case was sent back for changes on "
            f"{long_date(london_date(state.returned.on))} and the officer has not yet revised it",
            code="wrong_stage",
        )
    raise DomainError(f"{what}: the case is {state.stage.label}", code="wrong_stage")


def need_role(actor: Actor, what: str, *roles: Role) -> None:
    """Refuse (`wrong_role`) unless the actor acts in one of the `roles`."""
    if actor.role in roles:
        return
    needed = " or ".join(r.value.replace("_", " ") for r in roles)
    raise DomainError(
        f"{what}: only the {needed} may do this, not {actor.describe()}", code="wrong_role"
    )


def who_on(actor: Actor | None, at: Any) -> str:
    """Who took an earlier step, and on which day, in the words of a refusal."""
    who = actor.describe() if actor else "someone"
    return f"{who} on {long_date(london_date(at))}" if at else who


# A step that someone has just taken, and that moved the case on, is refused to whoever
# raced them for it as already done (a 409 with the case as it now is), not as a step at the
# wrong stage: two advisers on the last sign-off, two clicks on "decide". These are the stages
# a case can be in only after the step was taken (not sent back, not withdrawn).
MOVED_ON_FROM_DRAFT = frozenset(
    {
        Stage.BOARD,
        Stage.ADVICE,
        Stage.CHIEF_EXECUTIVE,
        Stage.DECISION,
        Stage.APPROVED,
        Stage.DECLINED,
    }
)
MOVED_ON_FROM_ADVICE = frozenset(
    {Stage.CHIEF_EXECUTIVE, Stage.DECISION, Stage.APPROVED, Stage.DECLINED}
)
MOVED_ON_FROM_CHIEF_EXECUTIVE = frozenset({Stage.DECISION, Stage.APPROVED, Stage.DECLINED})
