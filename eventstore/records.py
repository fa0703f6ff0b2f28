"""The records that go into and come out of the store.

:class:`NewEvent` is what a caller appends; :class:`StoredEvent` is what the store
returns. Both are frozen dataclasses and know nothing about the domain: an event
is a type name, a schema version and a JSON-native ``data`` dict. Validation
happens on construction, so mistakes surface where they are made.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from eventstore.errors import InvalidEvent
from eventstore.hashing import canonicalise

MAX_STREAM_ID_LENGTH = 200
MAX_EVENT_TYPE_LENGTH = 200
MAX_ACTOR_ID_LENGTH = 200
MAX_ACTOR_ROLE_LENGTH = 100


def check_identifier(value: object, what: str, max_length: int) -> str:
    """Return ``value`` if it is a usable identifier, else raise :class:`InvalidEvent`.

    An identifier is a non-empty ``str`` of at most ``max_length`` printable
    characters (``str.isprintable``: no control, format, line-break or non-ASCII
    space characters) that neither starts nor ends with a space.
    """
    if not isinstance(value, str):
        raise InvalidEvent(f"{what} must be a str, not {type(value).__name__}")
    if not value:
        raise InvalidEvent(f"{what} must not be empty")
    if len(value) > max_length:
        raise InvalidEvent(f"{what} is {len(value)} characters long; the maximum is {max_length}")
    if value.isprintable():
        if value[0] == " " or value[-1] == " ":
            raise InvalidEvent(f"{what} {value!r} has leading or trailing whitespace")
        return value
    for char in value:
        if not char.isprintable():
            raise InvalidEvent(
                f"{what} {value!r} contains the non-printable character U+{ord(char):04X} "
                f"({unicodedata.name(char, unicodedata.category(char))})"
            )
    raise AssertionError("unreachable")  # pragma: no cover


def check_stream_id(stream_id: object) -> str:
    """Return ``stream_id`` if valid (see :func:`check_identifier`), else raise."""
    return check_identifier(stream_id, "stream_id", MAX_STREAM_ID_LENGTH)


def check_aware(value: object, what: str) -> datetime:
    """Return ``value`` if it is a timezone-aware datetime, else raise :class:`InvalidEvent`."""
    if not isinstance(value, datetime):
        raise InvalidEvent(f"{what} must be a datetime, not {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidEvent(f"{what} {value.isoformat()} is naive; give a timezone-aware datetime")
    return value


@dataclass(frozen=True)
class NewEvent:
    """An event to append. The store assigns position, version, recorded_at and hashes.

    ``event_id`` makes appends idempotent: appending an id that is already stored
    with identical content returns the stored record instead of writing again.
    """

    event_id: UUID
    event_type: str
    schema_version: int
    occurred_at: datetime
    actor_id: str
    actor_role: str
    data: dict[str, Any]
    metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.event_id, UUID):
            raise InvalidEvent(f"event_id must be a UUID, not {type(self.event_id).__name__}")
        check_identifier(self.event_type, "event_type", MAX_EVENT_TYPE_LENGTH)
        if (
            not isinstance(self.schema_version, int)
            or isinstance(self.schema_version, bool)
            or self.schema_version < 1
        ):
            raise InvalidEvent(
                f"schema_version must be an int >= 1, not {self.schema_version!r} "
                f"(event {self.event_id})"
            )
        occurred_at = self.occurred_at
        if type(occurred_at) is not datetime or occurred_at.utcoffset() is None:
            check_aware(occurred_at, f"occurred_at of event {self.event_id}")
        check_identifier(self.actor_id, "actor_id", MAX_ACTOR_ID_LENGTH)
        check_identifier(self.actor_role, "actor_role", MAX_ACTOR_ROLE_LENGTH)
        forms: list[tuple[str, Any]] = []
        for name in ("data", "metadata"):
            value = getattr(self, name)
            if not isinstance(value, dict):
                raise InvalidEvent(
                    f"{name} of event {self.event_id} must be a dict, not {type(value).__name__}"
                )
            try:
                forms.append(canonicalise(value, name))
            except InvalidEvent as exc:
                raise InvalidEvent(f"event {self.event_id}: {exc}") from None
        # For the append of this event (take_canonical): not a field, so neither compared
        # nor shown; a copy made by copy.copy() does not use it (the id differs).
        self.__dict__[_CANONICAL] = (id(self), forms[0], forms[1])


_CANONICAL = "_eventstore_canonical"


def take_canonical(event: NewEvent) -> tuple[tuple[str, Any], tuple[str, Any]] | None:
    """What ``canonicalise`` gave for the event's data and metadata when it was made.

    Given once (the parsed values are then the caller's, and are not handed out
    again), and only to the event that made them; ``None`` after that. The values
    may have been changed since: see :func:`eventstore.hashing.recanonicalise`.
    """
    kept = event.__dict__.pop(_CANONICAL, None)
    if kept is None or kept[0] != id(event):
        return None
    return kept[1], kept[2]


@dataclass(frozen=True)
class StoredEvent:
    """An event as stored: the appended fields plus what the store assigned.

    ``position`` is the event's place in the global order (1, 2, 3, ... with no
    gaps); ``version`` its place in its stream (1, 2, 3, ...). ``occurred_at`` and
    ``recorded_at`` are timezone-aware UTC. ``hash`` is the SHA-256 of the row and
    ``prev_hash`` the hash of the stream's previous event (64 zeros for version 1).
    """

    position: int
    event_id: UUID
    stream_id: str
    version: int
    event_type: str
    schema_version: int
    occurred_at: datetime
    recorded_at: datetime
    actor_id: str
    actor_role: str
    data: dict[str, Any]
    metadata: dict[str, Any]
    prev_hash: str
    hash: str


_new_object = object.__new__
_set_attribute = object.__setattr__


def stored_event(
    position: int,
    event_id: UUID,
    stream_id: str,
    version: int,
    event_type: str,
    schema_version: int,
    occurred_at: datetime,
    recorded_at: datetime,
    actor_id: str,
    actor_role: str,
    data: dict[str, Any],
    metadata: dict[str, Any],
    prev_hash: str,
    hash_: str,
) -> StoredEvent:
    """``StoredEvent(...)`` for the store's own use, at a third of the cost.

    A frozen dataclass's ``__init__`` assigns each field through
    ``object.__setattr__``; this sets the instance dictionary in one go. The result
    is the same object (``StoredEvent`` has no ``__post_init__``, no slots, no
    defaults); the tests compare the two.
    """
    record: StoredEvent = _new_object(StoredEvent)
    _set_attribute(
        record,
        "__dict__",
        {
            "position": position,
            "event_id": event_id,
            "stream_id": stream_id,
            "version": version,
            "event_type": event_type,
            "schema_version": schema_version,
            "occurred_at": occurred_at,
            "recorded_at": recorded_at,
            "actor_id": actor_id,
            "actor_role": actor_role,
            "data": data,
            "metadata": metadata,
            "prev_hash": prev_hash,
            "hash": hash_,
        },
    )
    return record
