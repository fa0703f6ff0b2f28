"""The steps the pages offer, derived from the one catalogue of actions
(`workflows.actions`, through `ratify.services.commands.ACTIONS`): the case page's actions
and the form fields each takes, the meeting page's actions and theirs, and what a page says
once a step is accepted (`?done=...`). A field added to an action's message is offered here
at once; only the meeting's own steps and their wording are the pages' own.

The forms themselves are in the templates (`case.html`, `meeting.html`); the steps are
taken by `ratify.services.commands` and `ratify.services.meetings`.
"""

from __future__ import annotations

from ratify.services.commands import ACTIONS
from ratify.services.meetings import MEETING_ACTIONS
from workflows.actions import typed_fields


def _form(fields: tuple[tuple[str, bool], ...]) -> tuple[str, ...]:
    """Form field names, `*` marking a list (one item a line)."""
    return tuple(f"{name}*" if many else name for name, many in fields)


#: Actions the case page offers, and the form fields each takes (`*`: one item a line).
ACTION_FIELDS: dict[str, tuple[str, ...]] = {
    name: _form(spec.typed_fields) for name, spec in ACTIONS.items()
}

#: Actions the meeting page offers, and the form fields each takes.
MEETING_ACTION_FIELDS: dict[str, tuple[str, ...]] = {
    name: _form(typed_fields(message)) for name, (_update, message) in MEETING_ACTIONS.items()
}

#: What the page says after an accepted step (`?done=...`).
DONE: dict[str, str] = {
    "created": "The draft case was created.",
    **{name: spec.done for name, spec in ACTIONS.items()},
    "meeting": "The meeting was created.",
    "cases": "The case was added to the agenda.",
    "advice": "The board's advice was recorded.",
    "close": "The meeting was closed.",
}
