"""What the API and the pages show of a case: its state and events, Part 2 withheld unless
the viewer is cleared for it (`domain.visibility` says who is), and the hashes that would
confirm a guess of withheld text.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Sequence
from typing import Any

from domain.events import Event
from domain.state import CaseState
from domain.timeline import board_advice_event, decision_event, recorded_words, timeliness
from eventstore.records import StoredEvent

#: What stands in for withheld Part 2 text.
WITHHELD = "[Part 2 withheld: needs the part2_clearance role]"

#: Why a viewer without Part 2 clearance is not shown an event's hash.
HASH_WITHHELD = "Part 2 withheld: the hash would confirm a guess of it"


def case_view(state: CaseState, *, part2: bool, events: Iterable[Event] = ()) -> dict[str, Any]:
    """The state as JSON, with Part 2's text only when the viewer is cleared for it; with
    `events` (the case's, as folded), when the decision was recorded where that is not
    when it was taken (`decision_recorded`), and the board's comment (`board_comment`)."""
    data = state.model_dump(mode="json")
    case = data.get("case")
    if case is not None:
        data["part2_exists"] = case.get("part2") is not None
        if not part2 and case.get("part2") is not None:
            case["part2"] = None
    data["part2_visible"] = part2
    # Derived, not stored: decided after the required-by date, and that in words.
    data["late"] = state.late
    data["timeliness"] = timeliness(state)
    decision = decision_event(events)
    data["decision_recorded"] = recorded_words(decision) if decision is not None else None
    # The board's comment is in its event, not in the state.
    board = board_advice_event(events)
    data["board_comment"] = board.comment if board is not None else None
    return data


def event_data_view(event_type: str, data: dict[str, Any], *, part2: bool) -> dict[str, Any]:
    """A stored event's data as shown to a viewer: Part 2 text withheld unless cleared.

    Withheld: the Part 2 of a drafted or revised case, and the passages a redacted
    publication kept back (the published text itself is public).
    """
    if part2:
        return data
    shown = copy.deepcopy(data)
    case = shown.get("case")
    if isinstance(case, dict) and case.get("part2") is not None:
        case["part2"] = WITHHELD
    if event_type == "part2.published_redacted":
        for redaction in shown.get("redactions", []):
            if isinstance(redaction, dict):
                redaction["passage"] = WITHHELD
    return shown


def chain_view(records: Sequence[StoredEvent], *, part2: bool) -> list[dict[str, str | None]]:
    """Each record's `hash` and `prev_hash` as shown to a viewer, with `hash_withheld`
    saying why when they are not (None when they are shown).

    A hash covers every stored column, Part 2 included: shown next to the data with Part 2
    withheld, it would let anyone confirm a guess of Part 2 offline (put the guess back,
    hash, compare), and the structured fields (marking, dates, FOI sections) have few
    values. So a viewer shown the data with anything withheld (`event_data_view`) is not
    shown the hash of that event, nor the `prev_hash` and hash of any later event of the
    stream: each hash covers the one before it, so any later hash would confirm the guess
    just as well. Earlier events' hashes cover nothing withheld and are shown. A cleared
    viewer gets every hash.
    """
    links: list[dict[str, str | None]] = []
    withheld = False
    for r in records:
        after_withheld = withheld
        withheld = withheld or (
            not part2 and event_data_view(r.event_type, r.data, part2=False) != r.data
        )
        links.append(
            {
                "hash": None if withheld else r.hash,
                "prev_hash": None if after_withheld else r.prev_hash,
                "hash_withheld": HASH_WITHHELD if withheld else None,
            }
        )
    return links
