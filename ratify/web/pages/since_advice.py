"""What changed in a case since an adviser last gave their advice on it.

When a revision asks an adviser's sign-off again (round 2 and after), their task on the case
page shows the sections changed since the case they advised on, section by section, as
`domain.revisions.diff_cases` gives them; Part 2's detail only for those cleared to see it.
"""

from __future__ import annotations

from collections.abc import Iterable

from domain.case import Case
from domain.events import (
    AdviceNotRequired,
    CaseDrafted,
    CaseRevised,
    ChangesRequested,
    Event,
    SignOffGiven,
)
from domain.revisions import SectionDiff, diff_cases, section_label, withhold_part2
from domain.roles import AdviceArea
from domain.state import CaseState

#: Sections of the case that are not offered as "sections concerned" by a request for
#: changes: they say how the file is written, not what the paper says.
_NOT_OFFERED = frozenset({"schema_version", "form_version"})


def case_when_advised(events: Iterable[Event], area: AdviceArea) -> Case | None:
    """The case as it stood when the `area` adviser last gave advice on it (signed off,
    asked for changes, or said it was not required); None when they never did."""
    case: Case | None = None
    advised: Case | None = None
    for event in events:
        if isinstance(event, CaseDrafted | CaseRevised):
            case = event.case
        elif (
            isinstance(event, SignOffGiven | ChangesRequested | AdviceNotRequired)
            and event.area == area
        ):
            advised = case
    return advised


def changes_since_advice(
    state: CaseState, events: Iterable[Event], area: AdviceArea, part2_visible: bool
) -> list[SectionDiff]:
    """The sections changed since the `area` adviser's last advice, when their sign-off is
    asked again after it ([] in the first round); Part 2 withheld unless `part2_visible`."""
    signoff = state.signoffs.get(area)
    if signoff is None or signoff.round <= 1 or state.case is None:
        return []
    before = case_when_advised(events, area)
    if before is None:
        return []
    diffs = diff_cases(before, state.case)
    return diffs if part2_visible else withhold_part2(diffs)


def section_choices(case: Case | None) -> list[tuple[str, str]]:
    """(name, label) of each section the case has, in the order of the form: what a request
    for changes may say it concerns."""
    if case is None:
        return []
    return [
        (name, section_label(name))
        for name in Case.model_fields
        if name not in _NOT_OFFERED and getattr(case, name) not in (None, [], "")
    ]
