"""The steps the pages offer, in one place: the case page's actions and the form fields
each takes, the meeting page's actions and theirs, and what a page says once a step is
accepted (`?done=...`).

The forms themselves are in the templates (`case.html`, `meeting.html`); the steps are
taken by `ratify.services.commands`.
"""

from __future__ import annotations

#: Actions the case page offers, and the form fields each takes (`*`: one item a line).
ACTION_FIELDS: dict[str, tuple[str, ...]] = {
    "submit": (),
    "withdraw": ("reason",),
    "revise": ("note",),
    "agree_extremis": ("reason",),
    "sign_off": ("area", "comment"),
    "advice_not_required": ("area", "reason"),
    "request_changes": ("area", "reasons*", "sections*"),
    "consult_chief_executive": ("comment",),
    "chief_executive_send_back": ("reasons*",),
    "declare_interests": ("has_interest", "details"),
    "decide": ("approve", "comment"),
    "review_part2": ("outcome", "reason", "new_review_date"),
    "change_required_by": ("required_by", "reason"),
    "record_irregularity": ("description",),
}

#: What the page says after an accepted step (`?done=...`).
DONE: dict[str, str] = {
    "created": "The draft case was created.",
    "submit": "The case was submitted.",
    "withdraw": "The case was withdrawn.",
    "revise": "The case was revised.",
    "agree_extremis": "The extremis submission was agreed.",
    "sign_off": "Your sign-off was recorded.",
    "advice_not_required": "Recorded: advice not required.",
    "request_changes": "The case was sent back to the officer with your reasons.",
    "consult_chief_executive": "Your confirmation was recorded.",
    "chief_executive_send_back": "The case was sent back to the officer.",
    "declare_interests": "Your declaration of interests was recorded.",
    "decide": "Your decision was recorded.",
    "review_part2": "The Part 2 review outcome was recorded.",
    "change_required_by": "The required-by date was changed.",
    "record_irregularity": "The irregularity was recorded.",
    "meeting": "The meeting was created.",
    "cases": "The case was added to the agenda.",
    "advice": "The board's advice was recorded.",
    "close": "The meeting was closed.",
}

#: Actions the meeting page offers, and the form fields each takes.
MEETING_ACTION_FIELDS: dict[str, tuple[str, ...]] = {
    "cases": ("case_id",),
    "advice": ("case_id", "advice", "conditions", "comment"),
    "close": (),
}
