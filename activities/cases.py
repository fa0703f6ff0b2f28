"""Activities that write and read cases in the event store.

`record_events` is how every accepted step is committed: through the case journal, which
folds the events onto the stored stream (an illegal step writes nothing) and is idempotent
on event ids. `allocate_reference` takes the next PCD number for a case, the same number on
every retry.
"""

from __future__ import annotations

from temporalio import activity
from temporalio.exceptions import ApplicationError

from domain.errors import DomainError, UnknownEventError
from domain.state import CaseState
from eventstore import EventIdConflict, InvalidEvent
from ratify.journal import CaseJournal
from workflows.messages import AllocateRequest, RecordRequest, StoredRef


class CaseActivities:
    """Activities bound to one event store (through its journal)."""

    def __init__(self, journal: CaseJournal) -> None:
        self.journal = journal

    @activity.defn(name="record_events")
    def record_events(self, request: RecordRequest) -> list[StoredRef]:
        events = [e.decode() for e in request.events]
        try:
            stored = self.journal.record(request.case_id, events)
        except DomainError as exc:
            # The stored stream does not allow this step: retrying cannot help.
            raise ApplicationError(exc.message, type=exc.code, non_retryable=True) from exc
        except (EventIdConflict, InvalidEvent, UnknownEventError) as exc:
            raise ApplicationError(str(exc), type=type(exc).__name__, non_retryable=True) from exc
        # ConcurrencyConflict and database errors are retried by Temporal.
        return [
            StoredRef(
                event_id=r.event_id,
                event_type=r.event_type,
                position=r.position,
                version=r.version,
                hash=r.hash,
            )
            for r in stored
        ]

    @activity.defn(name="allocate_reference")
    def allocate_reference(self, request: AllocateRequest) -> int:
        return self.journal.store.allocate(request.sequence, request.owner, first=request.first)

    @activity.defn(name="load_case")
    def load_case(self, case_id: str) -> CaseState:
        return self.journal.load(case_id)
