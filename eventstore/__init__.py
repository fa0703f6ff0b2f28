"""Ratify's event store: append-only, hash-chained event streams on PostgreSQL or SQLite.

The store knows nothing about the domain: an event is a type name, a schema
version and a JSON-native ``data`` dict. Typical use::

    from eventstore import EventStore, NewEvent, migrate

    migrate("sqlite:///ratify.db")
    store = EventStore.from_url("sqlite:///ratify.db")
    store.append("decision-42", 0, [NewEvent(...)])
    store.read_stream("decision-42")
    store.verify_all()
"""

from eventstore.engine import create_engine_for
from eventstore.errors import (
    ConcurrencyConflict,
    EngineNotConfigured,
    EventIdConflict,
    EventStoreError,
    InvalidEvent,
    NumberTaken,
    PartialBatchConflict,
)
from eventstore.hashing import GENESIS_HASH, canonical_json
from eventstore.migrate import current_revision, downgrade, migrate
from eventstore.records import NewEvent, StoredEvent
from eventstore.store import EventStore
from eventstore.verify import ProblemKind, VerificationProblem, VerificationResult

__all__ = [
    "GENESIS_HASH",
    "ConcurrencyConflict",
    "EngineNotConfigured",
    "EventIdConflict",
    "EventStore",
    "EventStoreError",
    "InvalidEvent",
    "NewEvent",
    "NumberTaken",
    "PartialBatchConflict",
    "ProblemKind",
    "StoredEvent",
    "VerificationProblem",
    "VerificationResult",
    "canonical_json",
    "create_engine_for",
    "current_revision",
    "downgrade",
    "migrate",
]
