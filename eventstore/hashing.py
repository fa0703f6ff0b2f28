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
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from json.encoder import c_make_encoder, encode_basestring  # type: ignore[attr-defined]
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


def _not_serialisable(value: Any) -> Any:
    raise TypeError(f"Object of type {value.__class__.__name__} is not JSON serializable")


def _canonical_encoder() -> Callable[[Any], str]:
    """``json.dumps`` with the canonical options (``sort_keys``, compact separators,
    ``ensure_ascii=False``, ``allow_nan=False``), as one C call.

    ``json.dumps`` (``JSONEncoder.encode``) builds that C encoder anew on every call,
    which costs more than encoding a small event. This one is built once. It has no
    ``markers`` (the check for circular references): a circular value then ends in a
    ``RecursionError``, as it does in :func:`check_json_native` through ``json.dumps``.
    """
    make = c_make_encoder
    if make is None:  # pragma: no cover - no C accelerator (not CPython)
        return json.JSONEncoder(
            sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
        ).encode
    encode = make(None, _not_serialisable, encode_basestring, None, ":", ",", True, False, False)
    join = "".join

    def encode_canonical(value: Any) -> str:
        return join(encode(value, 0))

    return encode_canonical


_encode_canonical = _canonical_encoder()
"""The canonical JSON text of a value, exactly as ``json.dumps`` with the canonical
options would give it (or the same exception)."""


_scan: Callable[[str, int], tuple[Any, int]] = json.JSONDecoder().scan_once  # type: ignore[attr-defined]


def parse_json(text: str) -> Any:
    """``json.loads(text)`` for a ``str``, faster on a document with no surrounding
    whitespace (every stored one): the C scanner is called directly, without
    ``json.loads``'s checks and ``JSONDecoder.decode``'s two regular expressions;
    anything else (whitespace, trailing data, invalid JSON) goes to ``json.loads``,
    which gives the same value or the same error."""
    try:
        value, end = _scan(text, 0)
    except StopIteration:
        return json.loads(text)
    if end != len(text):
        return json.loads(text)
    return value


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
        text = _encode_canonical(value)
        text.encode("utf-8")
        parsed = parse_json(text)
        if parsed == value:
            return text, parsed
    except (TypeError, ValueError):  # includes UnicodeEncodeError
        pass
    check_json_native(value, path)
    raise InvalidEvent(f"{path}: value does not come back unchanged from JSON")


def recanonicalise(value: Any, earlier: tuple[str, Any], path: str = "$") -> tuple[str, Any]:
    """``canonicalise(value, path)``, given ``earlier``, what it returned for this value
    before (the value may have been changed since), whose parsed value nobody else has.

    If ``value`` still serialises to the same text and equals the parsed value, the
    result is ``earlier``: canonicalise would serialise the same text, parse it back
    to a value equal to ``earlier[1]`` and compare that with ``value``. So the answer is
    the same, without parsing the text again. Anything else goes to canonicalise.
    """
    text, parsed = earlier
    try:
        if _encode_canonical(value) == text and parsed == value:
            return earlier
    except (TypeError, ValueError):
        pass
    return canonicalise(value, path)


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
    if (
        type(row.position) is int
        and type(row.version) is int
        and type(row.schema_version) is int
        and type(row.event_id) is UUID
        and all(type(text) is str for text in _texts(row))
    ):
        return chain_hash(
            row.position,
            str(row.event_id),
            row.stream_id,
            row.version,
            row.event_type,
            row.schema_version,
            canonical_datetime(row.occurred_at),
            canonical_datetime(row.recorded_at),
            row.actor_id,
            row.actor_role,
            row.data_text,
            row.metadata_text,
            row.prev_hash,
        )
    return reference_row_hash(row)  # e.g. a bool or an int subclass where an int belongs


def _texts(row: HashInput) -> tuple[object, ...]:
    return (
        row.stream_id,
        row.event_type,
        row.actor_id,
        row.actor_role,
        row.data_text,
        row.metadata_text,
        row.prev_hash,
    )


def chain_hash(
    position: int,
    event_id: str,
    stream_id: str,
    version: int,
    event_type: str,
    schema_version: int,
    occurred_at: str,
    recorded_at: str,
    actor_id: str,
    actor_role: str,
    data_text: str,
    metadata_text: str,
    prev_hash: str,
) -> str:
    """:func:`row_hash` of a row whose values are already in their hashed form.

    ``event_id`` is the hyphenated lower-case UUID, ``occurred_at``/``recorded_at`` the
    output of :func:`canonical_datetime` (these three are not escaped: they cannot hold
    a character JSON escapes), the integers are exact ``int`` instances. The document is
    assembled directly in the canonical key order, strings escaped by the function
    ``json.dumps(..., ensure_ascii=False)`` itself uses, so the bytes are the ones
    :func:`reference_row_hash` hashes (the tests compare the two on generated rows).
    """
    esc = encode_basestring
    document = (
        f'{{"actor_id":{esc(actor_id)},"actor_role":{esc(actor_role)},'
        f'"data":{esc(data_text)},"event_id":"{event_id}",'
        f'"event_type":{esc(event_type)},"metadata":{esc(metadata_text)},'
        f'"occurred_at":"{occurred_at}","position":{position},'
        f'"prev_hash":{esc(prev_hash)},"recorded_at":"{recorded_at}",'
        f'"schema_version":{schema_version},"stream_id":{esc(stream_id)},'
        f'"version":{version}}}'
    )
    return hashlib.sha256(document.encode("utf-8")).hexdigest()


def reference_row_hash(row: HashInput) -> str:
    """The definition of :func:`row_hash`: ``json.dumps`` of a dict of every column.

    Slower than :func:`chain_hash`; kept as the specification it is tested against.
    """
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
