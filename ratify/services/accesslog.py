"""The audit of the audit: who read a case's confidential Part 2, and who exported evidence.

Every time Ratify shows someone a case's unpublished Part 2 (the API, the pages, the
auditors' event list and timeline) and every time an evidence bundle is exported, an event
is appended to the case's access stream, `access-<case id>`, in the same hash-chained store
as the case itself, so the record of who looked at what is as tamper-evident as the case.
The access stream is separate from the case's own stream so that reading never moves the
case's version (an approver's expected version stays valid while an auditor reads).

A read that cannot be recorded is not served: `record` raises, and the caller refuses.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from domain.ids import access_stream
from eventstore import ConcurrencyConflict, EventStore, NewEvent, StoredEvent

PART2_READ: Literal["access.part2_read"] = "access.part2_read"
EVIDENCE_EXPORTED: Literal["access.evidence_exported"] = "access.evidence_exported"

AccessKind = Literal["access.part2_read", "access.evidence_exported"]


class AccessRecord(BaseModel):
    """One read of Part 2 or one export, as an auditor sees it."""

    model_config = ConfigDict(frozen=True)

    case_id: str
    kind: AccessKind
    at: datetime
    user_id: str
    #: The role or reason that allowed it, e.g. "auditor with Part 2 clearance".
    basis: str
    #: Where: "api", "page", "events", "timeline", "history", "bundle".
    via: str
    #: The case version that was shown or exported.
    case_version: int
    #: For exports: the bundle's SHA-256 and the digest it proves inclusion against.
    details: dict[str, Any] = {}
    position: int
    hash: str


class AccessLog:
    """Appends and reads the access streams."""

    def __init__(self, store: EventStore) -> None:
        self.store = store

    def record(
        self,
        case_id: str,
        kind: AccessKind,
        *,
        user_id: str,
        basis: str,
        via: str,
        case_version: int,
        details: dict[str, Any] | None = None,
        at: datetime | None = None,
    ) -> AccessRecord:
        """Append one access record (retrying if another read is recorded at once)."""
        stream = access_stream(case_id)
        event = NewEvent(
            event_id=uuid.uuid4(),
            event_type=kind,
            schema_version=1,
            occurred_at=at or datetime.now(UTC),
            actor_id=user_id,
            actor_role="auditor" if kind == EVIDENCE_EXPORTED else "reader",
            data={
                "case_id": case_id,
                "basis": basis,
                "via": via,
                "case_version": case_version,
                "details": details or {},
            },
        )
        for _ in range(50):
            try:
                (stored,) = self.store.append(stream, self.store.stream_version(stream), [event])
                return _record(stored)
            except ConcurrencyConflict:
                continue
        raise RuntimeError(f"could not record access to {case_id}: the access log is too busy")

    def records(self, case_id: str) -> list[AccessRecord]:
        """Every access record of a case, oldest first."""
        return [_record(r) for r in self.store.read_stream(access_stream(case_id))]


def _record(stored: StoredEvent) -> AccessRecord:
    data = stored.data
    return AccessRecord(
        case_id=str(data["case_id"]),
        kind=PART2_READ if stored.event_type == PART2_READ else EVIDENCE_EXPORTED,
        at=stored.occurred_at,
        user_id=stored.actor_id,
        basis=str(data["basis"]),
        via=str(data["via"]),
        case_version=int(data["case_version"]),
        details=dict(data.get("details") or {}),
        position=stored.position,
        hash=stored.hash,
    )
