"""Canonical serialisation and the per-stream hash chain.

``data`` and ``metadata`` are stored as canonical JSON text (sorted keys, no
whitespace, UTF-8 without ASCII escaping), so the bytes that are hashed are
exactly the bytes that are stored, on every backend.

Each stored row is hashed with SHA-256 over the canonical JSON of *all* its
columns plus the previous hash of its stream (``GENESIS_HASH`` for version 1)::

    {"actor_id":..,"actor_role":..,"data":"<stored text>","event_id":"<uuid>",
     "event_type":..,"metadata":"<stored text>","occurred_at":"<iso, µs, +00:00>",
     "position":..,"prev_hash":..,"recorded_at":..,"schema_version":..,
     "stream_id":..,"version":..}

Datetimes are hashed as UTC ``isoformat`` with microseconds, UUIDs in their
canonical hyphenated lower-case form.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from eventstore.errors import InvalidEvent

GENESIS_HASH = "0" * 64
"""The ``prev_hash`` of the first event of every stream."""


def check_json_native(value: Any, path: str = "$") -> None:
    """Raise :class:`InvalidEvent` unless ``value`` is made only of JSON-native values.

    Allowed: ``None``, ``bool``, ``int``, finite ``float``, ``str``, ``list`` and
    ``dict`` with ``str`` keys. Everything else (``Decimal``, ``datetime``, ``UUID``,
    tuples, sets, NaN, infinities, strings that cannot be encoded as UTF-8) is
    refused, naming where in the value it was found, because it would not come back
    unchanged from a JSON round trip.
    """
    if value is None or isinstance(value, bool | int):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidEvent(f"{path}: float {value!r} is not allowed in JSON")
        return
    if isinstance(value, str):
        _check_utf8(value, path)
        return
    if isinstance(value, list):
        for index, item in enumerate(value):
            check_json_native(item, f"{path}[{index}]")
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise InvalidEvent(f"{path}: key {key!r} is not a string")
            _check_utf8(key, path)
            check_json_native(item, f"{path}[{key!r}]")
        return
    hint = ""
    type_name = type(value).__name__
    if type_name == "Decimal":
        hint = " (serialise Decimals as strings)"
    elif isinstance(value, datetime):
        hint = " (serialise datetimes as ISO 8601 strings)"
    elif isinstance(value, UUID):
        hint = " (serialise UUIDs as strings)"
    elif isinstance(value, tuple):
        hint = " (use a list)"
    raise InvalidEvent(f"{path}: {type_name} is not a JSON-native value{hint}")


def _check_utf8(text: str, path: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidEvent(f"{path}: string is not valid Unicode text ({exc.reason})") from None


def canonical_json(value: Any, path: str = "$") -> str:
    """The canonical JSON text of a JSON-native value.

    Raises :class:`InvalidEvent` if ``value`` is not JSON-native, naming where in
    it (``path`` names the whole value in the message).
    """
    return canonicalise(value, path)[0]


def canonicalise(value: Any, path: str = "$") -> tuple[str, Any]:
    """``(canonical JSON text, the value parsed back from it)``; see :func:`canonical_json`.

    The fast path serialises and parses back: anything that does not come back
    equal (tuples, non-string keys, ...) or does not serialise (NaN, Decimal, ...)
    is then walked by :func:`check_json_native` for a precise error message.
    """
    try:
        text = json.dumps(
            value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
        )
        text.encode("utf-8")
        parsed = json.loads(text)
        if parsed == value:
            return text, parsed
    except (TypeError, ValueError):  # includes UnicodeEncodeError
        pass
    check_json_native(value, path)
    raise InvalidEvent(f"{path}: value does not come back unchanged from JSON")


def canonical_datetime(value: datetime) -> str:
    """UTC ISO 8601 with microseconds, e.g. ``2024-05-01T12:00:00.000000+00:00``."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidEvent(f"datetime {value!r} is naive; a timezone-aware datetime is required")
    return value.astimezone(UTC).isoformat(timespec="microseconds")


@dataclass(frozen=True, slots=True)
class HashInput:
    """Every stored column of one row, in the form that is hashed.

    ``data_text``/``metadata_text`` are the stored canonical JSON texts.
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
    data_text: str
    metadata_text: str
    prev_hash: str


def row_hash(row: HashInput) -> str:
    """SHA-256 (hex) of the canonical serialisation of ``row`` (see module docstring)."""
    document = {
        "position": row.position,
        "event_id": str(row.event_id),
        "stream_id": row.stream_id,
        "version": row.version,
        "event_type": row.event_type,
        "schema_version": row.schema_version,
        "occurred_at": canonical_datetime(row.occurred_at),
        "recorded_at": canonical_datetime(row.recorded_at),
        "actor_id": row.actor_id,
        "actor_role": row.actor_role,
        "data": row.data_text,
        "metadata": row.metadata_text,
        "prev_hash": row.prev_hash,
    }
    serialised = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(serialised.encode("utf-8")).hexdigest()
