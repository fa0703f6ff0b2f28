"""Activities that write and read cases in the event store.

`record_events` is how every accepted step is committed: through the case journal, which
folds the events onto the stored stream (an illegal step writes nothing) and is idempotent
on event ids. `allocate_reference` takes the next PCD number for a case, the same number on
every retry.
"""

from __future__ import annotations

import time

import structlog
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities import refusal
from domain.errors import DomainError, UnknownEventError
from domain.state import CaseState
from eventstore import EventIdConflict, InvalidEvent
from ratify.infra.observability import metrics
from ratify.services.journal import CaseJournal
from workflows import activity_names as names
from workflows.messages import AllocateRequest, RecordRequest, StoredRef

#: Each line carries the request id, case, workflow, run and activity bound by the
#: worker's interceptor (`ratify.infra.observability.interceptors`).
log = structlog.get_logger("ratify.activities")


class CaseActivities:
    """Activities bound to one event store (through its journal)."""

    def __init__(self, journal: CaseJournal) -> None:
        self.journal = journal

    @activity.defn(name=names.RECORD_EVENTS)
    def record_events(self, request: RecordRequest) -> list[StoredRef]:
        events = [e.decode() for e in request.events]
        before = self.journal.store.stream_version(request.case_id)
        started = time.perf_counter()
        try:
            stored = self.journal.record(request.case_id, events)
        except DomainError as exc:
            # The stored stream does not allow this step: retrying cannot help.
            raise refusal(exc.message, exc.code) from exc
        except (EventIdConflict, InvalidEvent, UnknownEventError) as exc:
            raise ApplicationError(str(exc), type=type(exc).__name__, non_retryable=True) from exc
        # ConcurrencyConflict and database errors are retried by Temporal.
        finally:
            metrics.APPEND_SECONDS.labels(activity=names.RECORD_EVENTS).observe(
                time.perf_counter() - started
            )
        new = [r for r in stored if r.version > before]  # not the ones a retry found stored
        for record in new:
            metrics.EVENTS_RECORDED.labels(type=record.event_type).inc()
            kind = metrics.DEADLINE_KINDS.get(record.event_type)
            if kind is not None:
                metrics.DEADLINE_EVENTS.labels(kind=kind).inc()
        log.info(
            "events recorded",
            types=[r.event_type for r in stored],
            version=stored[-1].version if stored else before,
            new=len(new),
        )
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

    @activity.defn(name=names.ALLOCATE_REFERENCE)
    def allocate_reference(self, request: AllocateRequest) -> int:
        return self.journal.store.allocate(request.sequence, request.owner, first=request.first)

    @activity.defn(name=names.LOAD_CASE)
    def load_case(self, case_id: str) -> CaseState:
        return self.journal.load(case_id)
