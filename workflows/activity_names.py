"""The names of the activities the workflows call: one constant per activity, both sides.

A workflow schedules an activity by name (`workflow.execute_activity(RECORD_EVENTS, ...)`)
and the worker registers it under the same name (`@activity.defn(name=RECORD_EVENTS)`).
The name is written into every history that scheduled the activity, so **never change
one**: every open run that scheduled it would stop replaying (docs/changing-workflows.md).
The workflows own this module; the activities import it.
"""

from __future__ import annotations

from typing import Final

#: Commit a case's events to the event store (`activities.cases`).
RECORD_EVENTS: Final = "record_events"
#: Take the next number of a sequence (a PCD reference) for an owner (`activities.cases`).
ALLOCATE_REFERENCE: Final = "allocate_reference"
#: Read a case's state from the event store (`activities.cases`).
LOAD_CASE: Final = "load_case"
#: Tell the holders of a role about a case (`activities.notify`).
NOTIFY: Final = "notify"
#: Run a decision workflow's update for another workflow (`activities.decisions`).
UPDATE_DECISION: Final = "update_decision"
