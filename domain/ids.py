"""The names Ratify gives streams and workflows, and the prefixes a case id may not take.

A case's id is the id of its event stream and of its decision workflow. Ratify names other
streams and workflows after a case's id (its access log, its notifications, its Part 2
review's workflow) or a meeting's id (the meeting's workflow), each with a prefix of its
own. A case id may not begin like one of them (`RESERVED_PREFIXES`), or the case would take
over another case's stream or workflow; and a stream named with one of them is no case.

Pure: every rule here is a string rule, the same in the workflows, the activities, the
services and the observability that reads a workflow id back.
"""

from __future__ import annotations

#: A case's access log (every read of its confidential Part 2, every evidence export).
ACCESS_PREFIX = "access-"
#: The notifications sent about a case.
NOTIFICATION_PREFIX = "notifications-"
#: A case's Part 2 review workflow (started by its decision workflow).
PART2_REVIEW_PREFIX = "part2-review-"
#: A board meeting's workflow.
MEETING_PREFIX = "meeting-"


def access_stream(case_id: str) -> str:
    """The stream holding a case's access records."""
    return f"{ACCESS_PREFIX}{case_id}"


def notification_stream(case_id: str) -> str:
    """The stream holding the notifications sent about a case."""
    return f"{NOTIFICATION_PREFIX}{case_id}"


def part2_review_id(case_id: str) -> str:
    """The id of a case's Part 2 review workflow (started by its decision workflow)."""
    return f"{PART2_REVIEW_PREFIX}{case_id}"


def meeting_workflow_id(meeting_id: str) -> str:
    """The id of a board meeting's workflow."""
    return f"{MEETING_PREFIX}{meeting_id}"


#: What Ratify names after a case's id or a meeting's: a case id may not begin like one.
RESERVED_PREFIXES = (ACCESS_PREFIX, NOTIFICATION_PREFIX, PART2_REVIEW_PREFIX, MEETING_PREFIX)


def reserved_prefix(case_id: str) -> str | None:
    """The reserved prefix a case id begins with (then it names no case); None if none."""
    for prefix in RESERVED_PREFIXES:
        if case_id.startswith(prefix):
            return prefix
    return None


def case_id_of_workflow(workflow_id: str | None) -> str | None:
    """The case a workflow belongs to: a decision's id is its case id, a Part 2 review's is
    `part2-review-<case>`; board meetings (`meeting-<id>`) belong to no one case."""
    if not workflow_id or workflow_id.startswith(MEETING_PREFIX):
        return None
    if workflow_id.startswith(PART2_REVIEW_PREFIX):
        return workflow_id.removeprefix(PART2_REVIEW_PREFIX)
    return workflow_id
