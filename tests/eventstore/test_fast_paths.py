"""The fast paths give exactly what the definitions they replace give.

The store hashes, verifies, reads and validates through shortcuts (a hash document
assembled directly, rows checked in their stored forms, the C JSON scanner called
directly, records built without the dataclass ``__init__``, canonical JSON not parsed
twice). Each is compared here with the straightforward definition it stands for, on
generated values, and on rows edited every which way.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import json
import pickle
import random
import re
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eventstore import (
    GENESIS_HASH,
    ConcurrencyConflict,
    EventStore,
    InvalidEvent,
    NewEvent,
    ProblemKind,
    StoredEvent,
    VerificationProblem,
    VerificationResult,
    migrate,
)
from eventstore import verify as verify_module
from eventstore.backends import backend_for
from eventstore.backends.postgres import utc_text
from eventstore.engine import write_engine
from eventstore.hashing import (
    HashInput,
    _encode_canonical,
    canonical_datetime,
    canonicalise,
    check_json_native,
    parse_json,
    recanonicalise,
    reference_row_hash,
    row_hash,
)
from eventstore.records import stored_event, take_canonical
from eventstore.schema import COLUMN_NAMES
from eventstore.schema import events as events_table

from .helpers import T0, execute, new_event, raw_rows

ANY_TEXT = st.text(max_size=30)  # every character, control characters and surrogates too
TEXT = st.text(
    alphabet=st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=30
)
HEX64 = st.text(alphabet="0123456789abcdef", min_size=64, max_size=64)
ZONES = st.one_of(
    st.just(UTC),
    st.integers(min_value=-23 * 60, max_value=23 * 60).map(
        lambda minutes: timezone(timedelta(minutes=minutes))
    ),
)
# Instants whose UTC date is within the years 1 to 9999, in any offset.
AWARE = st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=ZONES)
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | TEXT,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(TEXT, children, max_size=4),
    max_leaves=12,
)
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _hash_inputs(text: st.SearchStrategy[str]) -> st.SearchStrategy[HashInput]:
    return st.builds(
        HashInput,
        position=st.integers(),
        event_id=st.uuids(),
        stream_id=text,
        version=st.integers(),
        event_type=text,
        schema_version=st.integers(),
        occurred_at=AWARE,
        recorded_at=AWARE,
        actor_id=text,
        actor_role=text,
        data_text=text,
        metadata_text=text,
        prev_hash=st.one_of(HEX64, text),
    )


def _outcome(action: Any, *args: Any) -> tuple[str, Any]:
    """What a call returns, or the type and message of what it raises."""
    try:
        return "value", action(*args)
    except Exception as exc:
        return "error", (type(exc), str(exc))


# ----------------------------------------------------------------------------- hashing


@SETTINGS
@given(row=_hash_inputs(ANY_TEXT))
def test_row_hash_is_the_reference_hash_byte_for_byte(row: HashInput) -> None:
    """The directly assembled document is json.dumps(sort_keys=True) of every column:
    the same digest, or (lone surrogates, which UTF-8 cannot encode) the same error."""
    assert _outcome(row_hash, row) == _outcome(reference_row_hash, row)


@pytest.mark.parametrize(
    "odd",
    [
        {"position": True},
        {"version": False},
        {"schema_version": type("Sub", (int,), {})(3)},
        {"stream_id": type("Text", (str,), {})("s")},
        {"event_id": "12345678-1234-5678-1234-567812345678"},
        {"prev_hash": 'a"\\\n'},
    ],
)
def test_row_hash_of_unusual_values_is_the_reference_hash(odd: dict[str, Any]) -> None:
    row = HashInput(
        position=1,
        event_id=uuid.uuid4(),
        stream_id="s",
        version=1,
        event_type="t",
        schema_version=1,
        occurred_at=T0,
        recorded_at=T0,
        actor_id="a",
        actor_role="r",
        data_text="{}",
        metadata_text="{}",
        prev_hash=GENESIS_HASH,
    )
    row = dataclasses.replace(row, **odd)
    assert row_hash(row) == reference_row_hash(row)


@SETTINGS
@given(value=st.one_of(ANY_TEXT, st.from_regex(r"\s*\{.*\}\s*", fullmatch=True), st.builds(
    lambda v, pad: pad + json.dumps(v) + pad, JSON_VALUES, st.sampled_from(["", " ", "\n"])
)))  # fmt: skip
def test_parse_json_is_json_loads(value: str) -> None:
    assert _outcome(parse_json, value) == _outcome(json.loads, value)


# ------------------------------------------------------------------------ canonical

ODD_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | ANY_TEXT
    | st.decimals(allow_nan=False)
    | st.uuids()
    | st.just(T0),
    lambda children: (
        st.lists(children, max_size=3)
        | st.lists(children, max_size=3).map(tuple)
        | st.dictionaries(
            ANY_TEXT | st.integers() | st.booleans() | st.none(), children, max_size=3
        )
    ),
    max_leaves=10,
)


def reference_canonicalise(value: Any, path: str = "$") -> tuple[str, Any]:
    """canonicalise as it was: json.dumps, json.loads, compare, else say why."""
    try:
        text = json.dumps(
            value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
        )
        text.encode("utf-8")
        parsed = json.loads(text)
        if parsed == value:
            return text, parsed
    except (TypeError, ValueError):
        pass
    check_json_native(value, path)
    raise InvalidEvent(f"{path}: value does not come back unchanged from JSON")


@SETTINGS
@given(value=st.one_of(ODD_VALUES, JSON_VALUES))
def test_canonicalise_is_json_dumps_then_loads(value: Any) -> None:
    """The encoder built once gives json.dumps's text (or its error), and canonicalise
    the same text, value or refusal as before."""
    dumped = _outcome(
        lambda v: json.dumps(
            v, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
        ),
        value,
    )
    assert _outcome(_encode_canonical, value) == dumped
    assert _outcome(canonicalise, value, "data") == _outcome(reference_canonicalise, value, "data")


# ------------------------------------------------------------------ canonical, once


@SETTINGS
@given(value=st.dictionaries(TEXT, JSON_VALUES, max_size=5), data=st.data())
def test_recanonicalise_answers_as_canonicalise(value: dict[str, Any], data: Any) -> None:
    """Given what canonicalise said before, and a value changed (or not) since."""
    earlier = canonicalise(value)
    changed = copy.deepcopy(value)
    change = data.draw(st.sampled_from(["none", "true", "float", "tuple", "int key", "nan", "new"]))
    key = data.draw(st.sampled_from(sorted(changed))) if changed else "k"
    if change == "true":
        changed[key] = True
    elif change == "float":
        changed[key] = 1.0
    elif change == "tuple":
        changed[key] = (1, 2)
    elif change == "int key":
        changed[1] = "x"  # type: ignore[index]
    elif change == "nan":
        changed[key] = float("nan")
    elif change == "new":
        changed[key] = data.draw(JSON_VALUES)
    assert _outcome(recanonicalise, changed, earlier, "data") == _outcome(
        canonicalise, changed, "data"
    )


@pytest.mark.parametrize(
    ("before", "after", "stored"),
    [
        ({"a": 1}, {"a": True}, '{"a":true}'),  # equal in Python, not in JSON
        ({"a": 1}, {"a": 1.0}, '{"a":1.0}'),
        ({"a": [1]}, {"a": [1], "b": None}, '{"a":[1],"b":null}'),
        ({"a": 1}, {"a": 1}, '{"a":1}'),
    ],
)
def test_data_changed_after_the_event_was_made_is_stored_as_it_is_then(
    tmp_path: Any, before: dict[str, Any], after: dict[str, Any], stored: str
) -> None:
    store = _sqlite_store(tmp_path)
    event = new_event(data=before)
    event.data.clear()
    event.data.update(after)
    (record,) = store.append("s", 0, [event])
    assert raw_rows(store)[0]["data"] == stored
    assert record.data == json.loads(stored) and record.data is not event.data
    assert store.verify_all().ok
    store.close()


def test_data_changed_into_a_tuple_after_the_event_was_made_is_refused(tmp_path: Any) -> None:
    store = _sqlite_store(tmp_path)
    event = new_event(data={"pair": [1, 2]})
    event.data["pair"] = (1, 2)
    with pytest.raises(InvalidEvent, match="use a list"):
        store.append("s", 0, [event])
    store.close()


def test_the_canonical_forms_of_an_event_serve_one_append_of_that_event_only() -> None:
    event = new_event(data={"a": [1, 2]})
    twin = copy.copy(event)  # shares the instance dictionary's values
    assert take_canonical(twin) is None
    kept = take_canonical(event)
    assert kept is not None and kept[0] == ('{"a":[1,2]}', {"a": [1, 2]})
    assert take_canonical(event) is None  # given once
    assert dataclasses.fields(event) == dataclasses.fields(NewEvent)
    assert event == twin and repr(event) == repr(twin)


def test_records_of_two_appends_of_one_event_share_nothing(tmp_path: Any) -> None:
    store = _sqlite_store(tmp_path)
    event = new_event(data={"a": [1]})
    with pytest.raises(ConcurrencyConflict):
        store.append("s", 3, [event])
    (first,) = store.append("s", 0, [event])
    (again,) = store.append("s", 0, [event])  # a retry: the stored record
    assert first == again
    assert first.data is not again.data and first.data is not event.data
    first.data["a"].append(2)
    assert again.data == {"a": [1]} and event.data == {"a": [1]}
    store.close()


# ------------------------------------------------------------------------- records


def test_stored_event_factory_builds_what_the_dataclass_builds() -> None:
    values: dict[str, Any] = {
        "position": 7,
        "event_id": uuid.uuid4(),
        "stream_id": "s",
        "version": 2,
        "event_type": "T",
        "schema_version": 1,
        "occurred_at": T0,
        "recorded_at": T0,
        "actor_id": "a",
        "actor_role": "r",
        "data": {"x": [1]},
        "metadata": {},
        "prev_hash": GENESIS_HASH,
        "hash": "f" * 64,
    }
    made = StoredEvent(**values)
    fast = stored_event(*values.values())
    assert type(fast) is StoredEvent
    assert fast == made and repr(fast) == repr(made) and vars(fast) == vars(made)
    assert list(vars(fast)) == [f.name for f in dataclasses.fields(StoredEvent)]
    assert dataclasses.asdict(fast) == dataclasses.asdict(made)
    assert pickle.loads(pickle.dumps(fast)) == made
    assert dataclasses.replace(fast, version=3) == dataclasses.replace(made, version=3)
    with pytest.raises(dataclasses.FrozenInstanceError):
        fast.version = 3  # type: ignore[misc]


# ----------------------------------------------------------------- verification


_REFERENCE_SQLITE_DATETIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}"
)
_REFERENCE_HEX64 = re.compile(r"[0-9a-f]{64}")


class _Malformed(Exception):
    pass


def reference_check_rows(
    rows: Iterable[Mapping[str, Any]], dialect_name: str, *, check_positions: bool
) -> VerificationResult:
    """The verifier before the fast paths (each row decoded, ``json.dumps`` hashed),
    as it was but for ASCII digits in SQLite timestamps (see the test for that)."""
    link_problem: VerificationProblem | None = None
    position_problem: VerificationProblem | None = None
    streams: dict[str, tuple[int, str]] = {}
    expected_position = 1
    checked = 0
    for raw in rows:
        checked += 1
        try:
            row, stored_hash = _reference_decode(raw, dialect_name)
        except _Malformed as exc:
            return VerificationResult(
                False, checked, _reference_problem(ProblemKind.MALFORMED_ROW, raw, str(exc))
            )
        recomputed = reference_row_hash(row)
        if recomputed != stored_hash:
            return VerificationResult(
                False,
                checked,
                _reference_problem(
                    ProblemKind.HASH_MISMATCH,
                    raw,
                    f"stored hash {stored_hash} but the row's columns hash to "
                    f"{recomputed}: the row was modified",
                ),
            )
        last_version, last_hash = streams.get(row.stream_id, (0, GENESIS_HASH))
        if link_problem is None:
            if row.version != last_version + 1:
                what = (
                    "the stream's first stored event"
                    if last_version == 0
                    else f"it follows version {last_version}"
                )
                link_problem = _reference_problem(
                    ProblemKind.VERSION_SEQUENCE,
                    raw,
                    f"expected version {last_version + 1} but found {row.version} ({what}): "
                    "events were deleted, inserted or reordered",
                )
            elif row.prev_hash != last_hash:
                link_problem = _reference_problem(
                    ProblemKind.PREV_HASH_MISMATCH,
                    raw,
                    f"prev_hash {row.prev_hash} does not match the hash {last_hash} of "
                    + (
                        f"version {last_version}"
                        if last_version
                        else "the genesis (version 1 must follow 64 zeros)"
                    )
                    + ": the chain was spliced",
                )
        streams[row.stream_id] = (row.version, stored_hash)
        if check_positions and position_problem is None and row.position != expected_position:
            if row.position > expected_position:
                detail = (
                    f"expected position {expected_position} but found {row.position}: "
                    f"positions {expected_position}..{row.position - 1} are missing "
                    "(events were deleted)"
                )
            else:
                detail = f"expected position {expected_position} but found {row.position}"
            position_problem = _reference_problem(ProblemKind.POSITION_SEQUENCE, raw, detail)
        expected_position = row.position + 1
    first = link_problem or position_problem
    return VerificationResult(first is None, checked, first)


def _reference_problem(
    kind: ProblemKind, raw: Mapping[str, Any], detail: str
) -> VerificationProblem:
    event_id = raw["event_id"]
    if isinstance(event_id, str):
        with contextlib.suppress(ValueError):
            event_id = uuid.UUID(event_id)
    version = raw["version"]
    return VerificationProblem(
        kind=kind,
        position=int(raw["position"]),
        event_id=str(event_id),
        stream_id=str(raw["stream_id"]),
        version=version if _is_int(version) else None,
        detail=detail,
    )


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _reference_decode(raw: Mapping[str, Any], dialect_name: str) -> tuple[HashInput, str]:
    sqlite = dialect_name == "sqlite"

    def integer(name: str) -> int:
        value = raw[name]
        if not _is_int(value):
            raise _Malformed(f"{name} is {value!r}, not an integer")
        return int(value)

    def text(name: str) -> str:
        value = raw[name]
        if not isinstance(value, str):
            raise _Malformed(f"{name} is {value!r}, not text")
        return value

    def timestamp(name: str) -> datetime:
        value = raw[name]
        if sqlite:
            if not isinstance(value, str) or not _REFERENCE_SQLITE_DATETIME.fullmatch(value):
                raise _Malformed(f"{name} is {value!r}, not a stored UTC timestamp")
            try:
                return datetime.strptime(value, "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=UTC)
            except ValueError:
                raise _Malformed(f"{name} is {value!r}, not a valid timestamp") from None
        if not isinstance(value, datetime) or value.tzinfo is None:
            raise _Malformed(f"{name} is {value!r}, not a timezone-aware timestamp")
        return value.astimezone(UTC)

    def event_id() -> uuid.UUID:
        value = raw["event_id"]
        if isinstance(value, uuid.UUID) and not sqlite:
            return value
        if sqlite and isinstance(value, str):
            try:
                parsed = uuid.UUID(hex=value)
            except ValueError:
                parsed = None
            if parsed is not None and parsed.hex == value:
                return parsed
        raise _Malformed(f"event_id is {value!r}, not a stored UUID")

    def digest(name: str) -> str:
        value = text(name)
        if not _REFERENCE_HEX64.fullmatch(value):
            raise _Malformed(f"{name} is {value!r}, not 64 lower-case hex digits")
        return value

    row = HashInput(
        position=integer("position"),
        event_id=event_id(),
        stream_id=text("stream_id"),
        version=integer("version"),
        event_type=text("event_type"),
        schema_version=integer("schema_version"),
        occurred_at=timestamp("occurred_at"),
        recorded_at=timestamp("recorded_at"),
        actor_id=text("actor_id"),
        actor_role=text("actor_role"),
        data_text=text("data"),
        metadata_text=text("metadata"),
        prev_hash=digest("prev_hash"),
    )
    return row, digest("hash")


def _chain_rows(streams: int, per_stream: int, seed: int) -> list[dict[str, Any]]:
    """A valid store's rows, typed as PostgreSQL returns them (UUIDs, aware datetimes)."""
    rng = random.Random(seed)
    heads: dict[str, tuple[int, str]] = {}
    rows = []
    for position in range(1, streams * per_stream + 1):
        stream_id = (
            f"stream-{rng.randrange(streams)}" if position > streams else f"stream-{position - 1}"
        )
        version, prev_hash = heads.get(stream_id, (0, GENESIS_HASH))
        row = HashInput(
            position=position,
            event_id=uuid.UUID(int=rng.getrandbits(128)),
            stream_id=stream_id,
            version=version + 1,
            event_type=rng.choice(["DecisionDrafted", 'Odd"Type\\', "Überprüfung ✓"]),
            schema_version=rng.randint(1, 3),
            occurred_at=T0 + timedelta(microseconds=rng.randrange(10**12)),
            recorded_at=T0 + timedelta(days=1, microseconds=rng.randrange(10**12)),
            actor_id=rng.choice(["user-17", "ü\ttab"]),
            actor_role="director",
            data_text=json.dumps({"n": position, "s": 'a\u2028"b'}, ensure_ascii=False),
            metadata_text="{}",
            prev_hash=prev_hash,
        )
        digest = reference_row_hash(row)
        heads[stream_id] = (row.version, digest)
        rows.append(
            {
                "position": row.position,
                "event_id": row.event_id,
                "stream_id": row.stream_id,
                "version": row.version,
                "event_type": row.event_type,
                "schema_version": row.schema_version,
                "occurred_at": row.occurred_at.astimezone(timezone(timedelta(hours=2))),
                "recorded_at": row.recorded_at,
                "actor_id": row.actor_id,
                "actor_role": row.actor_role,
                "data": row.data_text,
                "metadata": row.metadata_text,
                "prev_hash": row.prev_hash,
                "hash": digest,
            }
        )
    return rows


def _as_sqlite(row: Mapping[str, Any]) -> dict[str, Any]:
    """A typed row in SQLite's stored forms (what the store writes there)."""
    stored = dict(row)
    if isinstance(row["event_id"], uuid.UUID):
        stored["event_id"] = row["event_id"].hex
    for name in ("occurred_at", "recorded_at"):
        if isinstance(row[name], datetime) and row[name].tzinfo is not None:
            stored[name] = canonical_datetime(row[name]).replace("T", " ")[:26]
    return stored


def _as_postgres_text(row: Mapping[str, Any]) -> tuple[Any, ...]:
    """A typed PostgreSQL row as verify selects it (uuid and timestamps as text)."""
    values = dict(row)
    values["event_id"] = str(row["event_id"])
    for name in ("occurred_at", "recorded_at"):
        values[name] = canonical_datetime(row[name]) + "AD"
    return tuple(values[name] for name in COLUMN_NAMES)


_EDITS_ANY = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.booleans(),
    st.floats(allow_nan=False),
    st.none(),
    st.binary(max_size=8),
    ANY_TEXT,
    HEX64,
    HEX64.map(str.upper),
    st.uuids().map(lambda u: u.hex),
    st.uuids().map(lambda u: u.hex.upper()),
    st.uuids().map(str),
    st.uuids(),
    st.sampled_from(
        [
            "2024-02-30 10:00:00.000000",
            "2024-04-01 09:30:15.123456",
            "2024-04-01T09:30:15.123456",
            "2024-04-01 09:30:15.12345",
            "0000-01-01 00:00:00.000000",
            "\u0662024-04-01 09:30:15.123456",
            "2024-04-01 24:00:00.000000",
        ]
    ),
    AWARE,
    st.datetimes(),
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_sqlite_verification_agrees_with_the_reference(data: Any) -> None:
    rows = [_as_sqlite(r) for r in _chain_rows(3, 4, data.draw(st.integers(0, 10**6)))]
    _tamper(rows, data, _EDITS_ANY)
    check_positions = data.draw(st.booleans())
    expected = reference_check_rows(rows, "sqlite", check_positions=check_positions)
    tuples = [tuple(r[name] for name in COLUMN_NAMES) for r in rows]
    assert verify_module.check_rows(tuples, "sqlite", check_positions=check_positions) == expected


_EDITS_POSTGRES: dict[str, st.SearchStrategy[Any]] = {
    "position": st.integers(min_value=-(2**63), max_value=2**63 - 1),
    "version": st.integers(min_value=-(2**31), max_value=2**31 - 1),
    "schema_version": st.integers(min_value=-(2**31), max_value=2**31 - 1),
    "event_id": st.uuids(),
    "occurred_at": AWARE,
    "recorded_at": AWARE,
}


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_postgres_verification_agrees_with_the_reference(data: Any) -> None:
    """On PostgreSQL every value has its column's type: edits keep to those."""
    rows = _chain_rows(3, 4, data.draw(st.integers(0, 10**6)))
    _tamper(rows, data, None)
    check_positions = data.draw(st.booleans())
    expected = reference_check_rows(rows, "postgresql", check_positions=check_positions)
    text_rows = [_as_postgres_text(r) for r in rows]
    result = verify_module.check_rows(text_rows, "postgresql", check_positions=check_positions)
    assert result == expected


def _tamper(rows: list[dict[str, Any]], data: Any, edits: st.SearchStrategy[Any] | None) -> None:
    """Edit, forge, delete, duplicate or swap rows (or nothing), in place."""
    how = data.draw(st.sampled_from(["none", "edit", "edit", "forge", "delete", "dup", "swap"]))
    index = data.draw(st.integers(0, len(rows) - 1))
    if how == "edit":
        column = data.draw(st.sampled_from(COLUMN_NAMES))
        if edits is None:
            edits = _EDITS_POSTGRES.get(column, TEXT | HEX64)
        elif column == "position":  # SQLite's rowid: always an integer
            edits = _EDITS_POSTGRES["position"]
        rows[index][column] = data.draw(edits)
    elif how == "forge":
        # Someone with the hashing code re-hashes a row after editing its prev_hash.
        row = rows[index]
        row["prev_hash"] = data.draw(st.one_of(HEX64, TEXT))
        sqlite = isinstance(row["event_id"], str)
        decoded, _ = _reference_decode(
            {**row, "prev_hash": GENESIS_HASH}, "sqlite" if sqlite else "postgresql"
        )
        row["hash"] = reference_row_hash(dataclasses.replace(decoded, prev_hash=row["prev_hash"]))
    elif how == "delete":
        del rows[index]
    elif how == "dup":
        rows.insert(index, dict(rows[index]))
    elif how == "swap" and index + 1 < len(rows):
        rows[index], rows[index + 1] = rows[index + 1], rows[index]


@pytest.mark.parametrize(
    ("column", "value"),
    [("hash", None), ("hash", 7), ("prev_hash", None), ("event_id", None), ("data", b"{}")],
)
def test_values_that_are_not_text_are_malformed(column: str, value: Any) -> None:
    """(A row the fast path cannot hash is not one whose stored hash is None.)"""
    rows = [_as_sqlite(r) for r in _chain_rows(2, 2, 3)]
    rows[1][column] = value
    tuples = [tuple(r[name] for name in COLUMN_NAMES) for r in rows]
    result = verify_module.check_rows(tuples, "sqlite", check_positions=True)
    assert result.first_problem is not None
    assert result.first_problem.kind is ProblemKind.MALFORMED_ROW
    assert result == reference_check_rows(rows, "sqlite", check_positions=True)


def test_a_forged_prev_hash_that_is_not_hex_is_malformed_though_its_hash_matches() -> None:
    rows = [_as_sqlite(r) for r in _chain_rows(2, 2, 5)]
    row = rows[2]
    decoded, _ = _reference_decode(row, "sqlite")
    row["prev_hash"] = '"not hex"'
    row["hash"] = reference_row_hash(dataclasses.replace(decoded, prev_hash='"not hex"'))
    tuples = [tuple(r[name] for name in COLUMN_NAMES) for r in rows]
    result = verify_module.check_rows(tuples, "sqlite", check_positions=True)
    assert result.first_problem is not None
    assert result.first_problem.kind is ProblemKind.MALFORMED_ROW
    assert "prev_hash" in result.first_problem.detail
    assert result == reference_check_rows(rows, "sqlite", check_positions=True)


def test_sqlite_timestamps_with_other_scripts_digits_are_malformed(tmp_path: Any) -> None:
    """'٢٠٢٤' reads as 2024 to strptime, so the hash (over the canonical form) still
    matched: an edit of the stored bytes that verification did not see. No longer."""
    store = _sqlite_store(tmp_path)
    store.append("s", 0, [new_event()])
    stored = raw_rows(store)[0]["occurred_at"]
    arabic = stored.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))
    execute(store, "UPDATE events SET occurred_at = :v", {"v": arabic})
    result = store.verify_all()
    assert result.first_problem is not None
    assert result.first_problem.kind is ProblemKind.MALFORMED_ROW
    assert "occurred_at" in result.first_problem.detail
    store.close()


# ------------------------------------------------------------- against a database


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    batch=st.lists(
        st.tuples(
            AWARE,
            st.dictionaries(TEXT, JSON_VALUES, max_size=4),
            # An event type: printable, not blank at either end (built, not filtered: a
            # filter rejected too many draws for Hypothesis' health check).
            st.text(
                alphabet=st.characters(categories=["L", "N", "P", "S"]), min_size=1, max_size=30
            ),
        ),
        min_size=1,
        max_size=4,
    )
)
def test_stored_rows_hash_as_the_reference_says_and_read_back_as_written(
    store: EventStore, batch: list[tuple[datetime, dict[str, Any], str]]
) -> None:
    """Every row the store writes, as SQLAlchemy's column types read it back, hashes to
    its stored hash by the reference definition; the store's own reads give the same."""
    stream = f"s-{uuid.uuid4().hex[:8]}"
    events = [new_event(occurred_at=when, data=data, event_type=kind) for when, data, kind in batch]
    records = store.append(stream, 0, events)
    with store.engine.connect() as conn:
        typed = conn.execute(
            sa.select(events_table)
            .where(events_table.c.stream_id == stream)
            .order_by(events_table.c.position)
        ).all()
    assert len(typed) == len(records)
    for row, record in zip(typed, records, strict=True):
        assert row.hash == reference_row_hash(
            HashInput(
                position=row.position,
                event_id=row.event_id,
                stream_id=row.stream_id,
                version=row.version,
                event_type=row.event_type,
                schema_version=row.schema_version,
                occurred_at=row.occurred_at,
                recorded_at=row.recorded_at,
                actor_id=row.actor_id,
                actor_role=row.actor_role,
                data_text=row.data,
                metadata_text=row.metadata,
                prev_hash=row.prev_hash,
            )
        )
        assert (row.occurred_at, row.recorded_at, row.event_id) == (
            record.occurred_at,
            record.recorded_at,
            record.event_id,
        )
        assert json.loads(row.data) == record.data
    assert store.read_stream(stream) == records
    assert store.verify_stream(stream).ok


@pytest.mark.parametrize(
    "instant",
    [
        datetime(1, 1, 1, 12, tzinfo=UTC),
        datetime(999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
        datetime(2024, 2, 29, 0, 0, 0, 1, tzinfo=timezone(timedelta(hours=-11))),
        datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    ],
)
def test_edge_instants_are_stored_read_and_verified(store: EventStore, instant: datetime) -> None:
    (record,) = store.append("s", 0, [new_event(occurred_at=instant)])
    assert record.occurred_at == instant and store.read_all() == [record]
    result = store.verify_all()
    assert result.ok, result


def test_rows_written_through_sqlalchemy_types_read_verify_and_retry(store: EventStore) -> None:
    """Rows as the store wrote them before it used the DBAPI directly (SQLAlchemy Core,
    typed columns) are the rows it writes now: read, verified and retried alike."""
    prev_hash = GENESIS_HASH
    events = [
        new_event(data={"n": n, "t": "Ü\n"}, occurred_at=T0 + timedelta(hours=n)) for n in range(3)
    ]
    expected = []
    with store.engine.begin() as conn:
        for n, event in enumerate(events, start=1):
            row = HashInput(
                position=n,
                event_id=event.event_id,
                stream_id="old",
                version=n,
                event_type=event.event_type,
                schema_version=event.schema_version,
                occurred_at=event.occurred_at,
                recorded_at=T0,
                actor_id=event.actor_id,
                actor_role=event.actor_role,
                data_text=canonicalise(event.data)[0],
                metadata_text=canonicalise(event.metadata)[0],
                prev_hash=prev_hash,
            )
            digest = reference_row_hash(row)
            conn.execute(
                events_table.insert(),
                {
                    **{f: getattr(row, f) for f in ("position", "event_id", "stream_id", "version",
                       "event_type", "schema_version", "occurred_at", "recorded_at", "actor_id",
                       "actor_role", "prev_hash")},
                    "data": row.data_text,
                    "metadata": row.metadata_text,
                    "hash": digest,
                },
            )  # fmt: skip
            expected.append((n, event.event_id, digest))
            prev_hash = digest
    read = store.read_stream("old")
    assert [(r.version, r.event_id, r.hash) for r in read] == expected
    assert [r.data for r in read] == [e.data for e in events]
    assert store.verify_all().ok
    assert store.append("old", 0, events) == read  # a retry: the stored records
    (fourth,) = store.append("old", 3, [new_event()])
    assert fourth.prev_hash == expected[-1][2] and store.verify_all().ok


@pytest.mark.postgres
def test_postgres_renders_uuids_and_instants_as_python_does(
    pg_migrated_database: Any,
) -> None:
    """The verifier lets PostgreSQL give the event id and the timestamps as text."""
    instants = [
        datetime(1, 1, 1, tzinfo=UTC),
        datetime(1, 1, 1, 23, 59, 59, 999999, tzinfo=timezone(timedelta(hours=-1))),
        datetime(999, 1, 2, 3, 4, 5, 6, tzinfo=UTC),
        datetime(2024, 10, 27, 1, 30, tzinfo=timezone(timedelta(hours=1))),
        datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
        *(
            datetime(2000, 1, 1, tzinfo=UTC)
            + timedelta(microseconds=random.Random(n).randrange(10**15))
            for n in range(50)
        ),
    ]
    engine = sa.create_engine(pg_migrated_database)
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SET TIME ZONE 'America/St_Johns'")  # not that of the data
            for instant in instants:
                identifier = uuid.uuid4()
                text_id, text_at = conn.exec_driver_sql(
                    f"SELECT %(id)s::uuid::text, {utc_text('%(at)s::timestamptz')}",
                    {"id": str(identifier), "at": instant},
                ).one()
                assert text_id == str(identifier)
                assert text_at == canonical_datetime(instant) + "AD", instant
    finally:
        engine.dispose()


def test_reads_leave_pooled_postgres_connections_in_transaction_mode(store: EventStore) -> None:
    store.append("s", 0, [new_event()])
    assert len(store.read_all()) == 1 and store.stream_version("s") == 1
    db = backend_for(store.engine).db
    sqlite = store.engine.dialect.name == "sqlite"
    with pytest.raises(sa.exc.ProgrammingError if not sqlite else sa.exc.OperationalError):
        db.read("SELECT no_such_column FROM events")
    fairies = [store.engine.raw_connection() for _ in range(3)]
    try:
        for fairy in fairies:
            if not sqlite:
                assert fairy.driver_connection.autocommit is False  # type: ignore[union-attr]
    finally:
        for fairy in fairies:
            fairy.close()
    assert store.read_all()[0].version == 1


def test_a_locked_sqlite_database_raises_sqlalchemys_error_and_the_pool_recovers(
    tmp_path: Any,
) -> None:
    url = f"sqlite:///{tmp_path / 'locked.db'}"
    migrate(url)
    store = EventStore.from_url(url, sqlite_busy_timeout_ms=20)
    other = EventStore.from_url(url)
    try:
        with write_engine(other.engine).begin():  # holds the write lock
            with pytest.raises(sa.exc.OperationalError, match="database is locked") as caught:
                store.append("s", 0, [new_event()])
            assert "BEGIN IMMEDIATE" in str(caught.value)
        assert store.append("s", 0, [new_event()])[0].position == 1
    finally:
        store.close()
        other.close()


def _sqlite_store(tmp_path: Any) -> EventStore:
    url = f"sqlite:///{tmp_path / 'fast.db'}"
    migrate(url)
    return EventStore.from_url(url)
