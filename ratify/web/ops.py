"""What the web pages do: the API's own steps (`ratify.services.commands`), nothing of their own."""

from __future__ import annotations

from ratify.services.commands import (
    act,
    acting,
    check_dates,
    create_meeting,
    meeting_action,
    meeting_view,
    run_update,
    shown_part2,
    start_case,
    today,
    viewer,
)

__all__ = [
    "act",
    "acting",
    "check_dates",
    "create_meeting",
    "meeting_action",
    "meeting_view",
    "run_update",
    "shown_part2",
    "start_case",
    "today",
    "viewer",
]
