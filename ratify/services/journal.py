"""The case journal: domain events in and out of the event store, and checked appends.

The event store knows nothing of the domain; the domain knows nothing of storage. This
module joins them: it encodes a domain event as a `NewEvent` (type, schema version, JSON
payload, actor, and the principal in metadata when a deputy acted), decodes stored records
back through the upcasters, and rebuilds a case's state with the one fold.

`CaseJournal.record` is the only way Ratify writes a case's events: it folds the new events
onto the stored stream first, so an illegal step writes nothing, and it is idempotent on
event ids, so a retried activity never stores a step twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from domain.events import Event, decode, encode
from domain.fold import apply
from domain.roles import Actor, Role
from domain.state import CaseState
from eventstore import EventStore, NewEvent, StoredEvent


def to_new_event(event: Event) -> NewEvent:
    """A domain event as the store takes it."""
    event_type, version, payload = encode(event)
    metadata = {"on_behalf_of": event.actor.on_behalf_of} if event.actor.on_behalf_of else {}
    return NewEvent(
        event_id=event.event_id,
        event_type=event_type,
        schema_version=version,
        occurred_at=event.occurred_at,
        actor_id=event.actor.user_id,
        actor_role=event.actor.role.value,
        data=payload,
        metadata=metadata,
    )


@lru_cache(maxsize=4096)
def _actor(user_id: str, role: str, on_behalf_of: str | None) -> Actor:
    """The actor of a stored event. Actors are frozen and few (the same people act on
    case after case), so each is built once rather than validated for every event read."""
    return Actor(user_id=user_id, role=Role(role), on_behalf_of=on_behalf_of)


def from_stored(stored: StoredEvent) -> Event:
    """A stored record as a domain event, upcast to the current schema."""
    actor = _actor(stored.actor_id, stored.actor_role, stored.metadata.get("on_behalf_of"))
    return decode(
        stored.event_type,
        stored.schema_version,
        stored.data,
        event_id=stored.event_id,
        case_id=stored.stream_id,
        occurred_at=stored.occurred_at,
        actor=actor,
    )


def replay(case_id: str, records: Sequence[StoredEvent]) -> tuple[CaseState, list[Event]]:
    """Decode (upcasting) and fold stored records: the state and the events, no database."""
    events = [from_stored(r) for r in records]
    state = CaseState(case_id=case_id)
    for event in events:
        state = apply(state, event)
    return state, events


@dataclass(frozen=True)
class CaseHistory:
    """A case's stored records, the events they hold, and the state they fold to."""

    state: CaseState
    events: list[Event]
    records: list[StoredEvent]


class CaseJournal:
    """Reads and writes cases' event streams (stream id = case id)."""

    def __init__(self, store: EventStore) -> None:
        self.store = store

    def history(
        self, case_id: str, *, to_version: int | None = None, as_of: datetime | None = None
    ) -> CaseHistory:
        """The case as of a version or an instant (occurred-at), rebuilt by the fold."""
        records = self.store.read_stream(case_id, to_version=to_version, as_of=as_of)
        state, events = replay(case_id, records)
        return CaseHistory(state=state, events=events, records=records)

    def load(self, case_id: str) -> CaseState:
        return self.history(case_id).state

    def record(self, case_id: str, events: Sequence[Event]) -> list[StoredEvent]:
        """Append events after checking them against the stored state.

        A retry of events already stored returns the stored records. Otherwise the
        events are folded onto the current state first: an illegal step raises
        DomainError and nothing is written. A concurrent writer makes the store raise
        ConcurrencyConflict, also with nothing written.
        """
        history = self.history(case_id)
        stored_ids = {r.event_id for r in history.records}
        is_retry = bool(events) and all(e.event_id in stored_ids for e in events)
        if not is_retry:
            state = history.state
            for event in events:
                state = apply(state, event)
        # On a retry the store compares the content, and refuses an id reused for another.
        new = [to_new_event(e) for e in events]
        return self.store.append(case_id, history.state.version, new)
