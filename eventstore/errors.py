"""Exceptions raised by the event store.

Every error the store raises on purpose derives from :class:`EventStoreError`, so
callers can catch the whole family. Each carries the identifiers it is about as
attributes as well as in its message.
"""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID


class EventStoreError(Exception):
    """Base class of every error raised on purpose by the event store."""


class InvalidEvent(EventStoreError, ValueError):
    """An argument was refused before anything was written.

    Raised for naive datetimes, an empty batch, a bad stream id, values in ``data``
    or ``metadata`` that are not JSON-native (floats NaN/inf, Decimals, sets...),
    and similar mistakes by the caller.
    """


class ConcurrencyConflict(EventStoreError):
    """The stream's version was not the one the caller expected; nothing was written."""

    def __init__(self, stream_id: str, expected_version: int, actual_version: int) -> None:
        self.stream_id = stream_id
        self.expected_version = expected_version
        self.actual_version = actual_version
        super().__init__(
            f"concurrency conflict on stream {stream_id!r}: expected version "
            f"{expected_version}, actual version {actual_version}"
        )


class EventIdConflict(EventStoreError):
    """An event id is already stored with different content; nothing was written.

    A retry of exactly the same batch is not an error (the stored records are
    returned); this is raised only when re-using an id would lose information.
    """

    def __init__(self, event_id: UUID, reason: str) -> None:
        self.event_id = event_id
        self.reason = reason
        super().__init__(f"event id {event_id} is already stored: {reason}")


class PartialBatchConflict(EventIdConflict):
    """Some, but not all, of a batch's event ids are already stored; nothing was written.

    A batch is appended atomically, so a genuine retry finds all of its ids stored
    or none of them. A mixture means the caller has changed the batch.
    """

    def __init__(self, stored: Sequence[UUID], not_stored: Sequence[UUID]) -> None:
        self.stored_ids = tuple(stored)
        self.not_stored_ids = tuple(not_stored)
        super().__init__(
            self.stored_ids[0],
            "the batch is only partly stored (already stored: "
            + ", ".join(str(i) for i in self.stored_ids)
            + "; not stored: "
            + ", ".join(str(i) for i in self.not_stored_ids)
            + "); a batch must be retried exactly as it was first sent",
        )


class NumberTaken(EventStoreError):
    """A number of a sequence was claimed for an owner, but another owner holds it, or the
    owner holds another number already; nothing was written."""

    def __init__(self, sequence: str, number: int, owner: str, *, holder: str, held: int) -> None:
        self.sequence = sequence
        self.number = number
        self.owner = owner
        #: Who holds what: another owner holding `number`, or `owner` holding another number.
        self.holder = holder
        self.held = held
        reason = (
            f"{holder!r} holds it"
            if holder != owner
            else f"{owner!r} already holds {sequence} {held}"
        )
        super().__init__(f"{sequence} {number} cannot be claimed for {owner!r}: {reason}")


class EngineNotConfigured(EventStoreError, ValueError):
    """A SQLite engine was not made by :func:`eventstore.create_engine_for`.

    Such an engine lacks WAL mode and ``BEGIN IMMEDIATE`` write transactions, which
    the store relies on for its ordering guarantees.
    """
