"""Who may see a case's Part 2: the business rule, judged on the case as it is now.

Part 2 is need-to-know, by person, not by role. It is visible only to the people acting on
the case:

- the case's own officers (who drafted it, the deputy who drafted it for them, and the
  co-officers the case names, or a deputy acting for one of them today) while an officer's
  task (submit, revise) is open: no other originating officer;
- whoever holds the role of another open task (an adviser whose advice is open, the board
  secretariat or chair while the case is with the board, the chief executive, the decision
  maker), in their own right or as a deputy today;
- whoever took one of the case's lifecycle steps (an adviser who signed off, ...), both the
  deputy who acted and the principal they acted for, from then on; recording an
  irregularity or moving the required-by date does not count, as anyone may;
- auditors who also hold the Part 2 clearance role an administrator grants;
- the publication officer once a Part 2 review is due.

Everyone else, including a colleague in the same role who holds no open task of the case
and a deputy whose delegation has ended, gets the Part 1 view: the case without its Part 2
text. Once a review has published Part 2, it is public. The services record every read of
confidential Part 2 in the case's access log, with the basis `part2_clearance` returns.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from domain.events import Event, IrregularityRecorded, RequiredByChanged
from domain.roles import Role
from domain.state import CaseState, Part2Status, Task, open_tasks


class Viewer(BaseModel):
    """Who is looking: a user id, the roles they hold today (own or delegated), and for the
    delegated ones the principals they act for today."""

    model_config = ConfigDict(frozen=True)

    user_id: str
    roles: frozenset[Role]
    #: (role, principal) for each delegation in force today; `roles` includes these roles.
    deputy_for: frozenset[tuple[Role, str]] = frozenset()
    #: The roles held in their own right; None: all of `roles` (a viewer built without
    #: delegations).
    own_roles: frozenset[Role] | None = None

    def holds(self, task: Task) -> bool:
        """Whether the viewer may act on an open task today: in the task's role, and for a
        personal task as (or as a deputy of) one of the people it names."""
        own = self.roles if self.own_roles is None else self.own_roles
        principals = [p for r, p in self.deputy_for if r is task.role]
        return task.held_by(self.user_id, own, principals)


def has_confidential_part2(state: CaseState) -> bool:
    """Whether the case holds Part 2 text that has not been published."""
    return (
        state.case is not None
        and state.case.part2 is not None
        and state.part2 is not Part2Status.PUBLISHED
    )


#: Steps any person (or any drafting officer) may take on any case: taking one does not make
#: someone a party to the case, or recording a bogus irregularity would open its Part 2.
_OPEN_TO_ANYONE = (IrregularityRecorded, RequiredByChanged)


def part2_clearance(viewer: Viewer, state: CaseState, events: list[Event]) -> str | None:
    """On what basis `viewer` may read the case's confidential Part 2; None if they may not.

    The basis ("auditor with clearance", "publication officer, review due", "open task as
    <role>", "acted on the case") is what the access log records with each read. An open
    task clears only those who hold it (`Viewer.holds`): the officer's tasks, only the
    case's own officers and their deputies.
    """
    if Role.AUDITOR in viewer.roles and Role.PART2_CLEARANCE in viewer.roles:
        return "auditor with Part 2 clearance"
    if Role.PUBLICATION_OFFICER in viewer.roles and state.part2 is Part2Status.REVIEW_DUE:
        return "publication officer, Part 2 review due"
    for task in open_tasks(state):
        if viewer.holds(task):
            return f"open task as {task.role.value.replace('_', ' ')}"
    if any(
        viewer.user_id in (e.actor.user_id, e.actor.on_behalf_of)
        for e in events
        if not isinstance(e, _OPEN_TO_ANYONE)
    ):
        return "acted on the case"
    return None


def may_see_part2(viewer: Viewer, state: CaseState, events: list[Event]) -> bool:
    """Whether `viewer` may see the case's Part 2 (always, when there is none to hide)."""
    if not has_confidential_part2(state):
        return True
    return part2_clearance(viewer, state, events) is not None
