"""Validation of NewEvent and the canonical serialisation and hashing (no database)."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from eventstore import InvalidEvent, canonical_json
from eventstore.hashing import GENESIS_HASH, HashInput, row_hash

from .helpers import T0, new_event


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"occurred_at": datetime(2024, 4, 1, 12, 0)}, "naive"),
        ({"occurred_at": "2024-04-01T12:00:00Z"}, "must be a datetime"),
        ({"event_id": "not-a-uuid"}, "event_id must be a UUID"),
        ({"event_type": ""}, "event_type must not be empty"),
        ({"schema_version": 0}, "schema_version"),
        ({"schema_version": True}, "schema_version"),
        ({"actor_id": " u"}, "actor_id"),
        ({"actor_role": "x" * 101}, "actor_role"),
        ({"data": {"amount": Decimal("1.50")}}, r"Decimal .*serialise Decimals as strings"),
        ({"data": {"x": float("nan")}}, r"data\['x'\]: float nan"),
        ({"data": {"x": [1, float("inf")]}}, r"data\['x'\]\[1\]: float inf"),
        ({"data": {"x": -float("inf")}}, "float -inf"),
        ({"data": {1: "x"}}, "key 1 is not a string"),
        ({"data": {"when": T0}}, "serialise datetimes"),
        ({"data": {"id": uuid.uuid4()}}, "serialise UUIDs"),
        ({"data": {"pair": (1, 2)}}, "use a list"),
        ({"data": {"s": {1, 2}}}, "set is not a JSON-native value"),
        ({"data": {"s": "\ud800"}}, "not valid Unicode"),
        ({"data": []}, "data .* must be a dict"),
        ({"metadata": {"x": float("nan")}}, r"metadata\['x'\]"),
    ],
)
def test_new_event_refuses_bad_values_clearly(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidEvent, match=message):
        new_event(**overrides)


def test_new_event_accepts_json_native_values() -> None:
    data: dict[str, Any] = {
        "a": None,
        "b": True,
        "c": 1,
        "d": 1.5,
        "e": "x",
        "f": [{"g": []}],
        "h": "1.50",
    }
    event = new_event(data=data)
    assert event.data == data
    assert new_event(metadata={}).metadata == {}


def test_canonical_json_is_sorted_compact_and_unescaped() -> None:
    assert canonical_json({"b": 1, "a": {"d": "é", "c": [1, 2]}}) == (
        '{"a":{"c":[1,2],"d":"é"},"b":1}'
    )
    assert canonical_json({"nul": "\x00"}) == '{"nul":"\\u0000"}'


def _input(**overrides: Any) -> HashInput:
    fields: dict[str, Any] = {
        "position": 7,
        "event_id": uuid.UUID("12345678-1234-5678-1234-567812345678"),
        "stream_id": "s",
        "version": 2,
        "event_type": "T",
        "schema_version": 1,
        "occurred_at": T0,
        "recorded_at": T0,
        "actor_id": "a",
        "actor_role": "r",
        "data_text": "{}",
        "metadata_text": "{}",
        "prev_hash": GENESIS_HASH,
    }
    fields.update(overrides)
    return HashInput(**fields)


def test_row_hash_covers_every_field() -> None:
    base = _input()
    changed: dict[str, Any] = {
        "position": 8,
        "event_id": uuid.uuid4(),
        "stream_id": "t",
        "version": 3,
        "event_type": "U",
        "schema_version": 2,
        "occurred_at": T0 + timedelta(microseconds=1),
        "recorded_at": T0 + timedelta(microseconds=1),
        "actor_id": "b",
        "actor_role": "q",
        "data_text": "{ }",
        "metadata_text": '{"a":1}',
        "prev_hash": "1" * 64,
    }
    assert set(changed) == {f.name for f in dataclasses.fields(HashInput)}
    digests = {row_hash(base)}
    for name, value in changed.items():
        digests.add(row_hash(dataclasses.replace(base, **{name: value})))
    assert len(digests) == len(changed) + 1
    assert len(row_hash(base)) == 64


def test_row_hash_depends_on_the_instant_not_the_time_zone() -> None:
    elsewhere = T0.astimezone(timezone(timedelta(hours=-5)))
    assert row_hash(_input(occurred_at=elsewhere)) == row_hash(_input())
