"""What the API shows of a case, and who may see its Part 2.

Part 2 is visible only to the people acting on the case (they hold one of its open tasks'
roles, or have acted on it), to auditors, and to the publication officer once a Part 2
review is due. Everyone else gets the Part 1 view: the case without its Part 2 text.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from domain.events import Event
from domain.roles import Role
from domain.state import CaseState, Part2Status, open_tasks


class Viewer(BaseModel):
    """Who is looking: a user id and the roles they hold today (own or delegated)."""

    model_config = ConfigDict(frozen=True)

    user_id: str
    roles: frozenset[Role]


def may_see_part2(viewer: Viewer, state: CaseState, events: list[Event]) -> bool:
    if state.case is None or state.case.part2 is None:
        return True  # nothing to hide
    if Role.AUDITOR in viewer.roles:
        return True
    if Role.PUBLICATION_OFFICER in viewer.roles and state.part2 is Part2Status.REVIEW_DUE:
        return True
    if any(t.role in viewer.roles for t in open_tasks(state)):
        return True
    return any(viewer.user_id in (e.actor.user_id, e.actor.on_behalf_of) for e in events)


def case_view(state: CaseState, *, part2: bool) -> dict[str, Any]:
    """The state as JSON, with Part 2's text only when the viewer is cleared for it."""
    data = state.model_dump(mode="json")
    case = data.get("case")
    if case is not None:
        data["part2_exists"] = case.get("part2") is not None
        if not part2 and case.get("part2") is not None:
            case["part2"] = None
    data["part2_visible"] = part2
    return data
