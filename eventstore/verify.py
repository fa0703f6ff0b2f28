"""Integrity verification of stored events (hash chains and global positions).

Rows are read *raw* (no type conversion), because a tampered row may no longer
convert: a verifier must report such a row, not crash on it. Each raw value must
be exactly the stored form the store itself writes (for example SQLite datetimes
as ``YYYY-MM-DD HH:MM:SS.ffffff``, UUIDs as 32 lower-case hex digits), so even an
edit that keeps the meaning but changes the stored bytes is reported.

One pass in global position order looks for three kinds of problem:

1. *row problems*: a row whose own hash does not match its columns
   (:attr:`ProblemKind.HASH_MISMATCH`) or cannot be read at all
   (:attr:`ProblemKind.MALFORMED_ROW`). Every stored column is hashed, so an
   edit of any column of a row is reported against that row;
2. *link problems* within a stream: versions must run 1, 2, 3, ... in position
   order (:attr:`ProblemKind.VERSION_SEQUENCE`: deletion, insertion, reordering)
   and each ``prev_hash`` must equal the previous event's ``hash``
   (:attr:`ProblemKind.PREV_HASH_MISMATCH`: forged or spliced rows);
3. *position gaps* (only when verifying everything): positions must run
   1, 2, 3, ... (:attr:`ProblemKind.POSITION_SEQUENCE`), which also reveals the
   deletion of the last event of any stream except the last event overall.

The first row problem in position order is reported if there is one, otherwise
the first link problem, otherwise the first position problem: a tampered row
explains the broken links around it, not the other way round.

Not detected without an external digest (a later issue): removal of the newest
events of a stream when verifying that stream alone, removal of the newest
events of the whole log, and rows appended by someone who can write to the
database and recomputes the hashes (the chain proves order and integrity, not
authorship).
"""

from __future__ import annotations

import contextlib
import hashlib
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from json.encoder import encode_basestring
from typing import Any
from uuid import UUID

from sqlalchemy.engine import Engine

from eventstore.hashing import GENESIS_HASH, HashInput, row_hash
from eventstore.rawdb import COLUMNS, EVENTS, Database, Transaction
from eventstore.schema import COLUMN_NAMES

_SQLITE_DATETIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}")
"""The stored form of a SQLite timestamp, ASCII digits only (a ``\\d`` would also take
other scripts' digits, which ``strptime`` reads as the same instant: an edit the hash,
computed over the canonical form, would not show)."""
_HEX64 = re.compile(r"[0-9a-f]{64}")
_esc = encode_basestring
_sha256 = hashlib.sha256
_from_iso = datetime.fromisoformat
_FETCH = 5000
"""Rows fetched at a time (PostgreSQL: from a server-side cursor)."""


class ProblemKind(StrEnum):
    """What is wrong with the event named in a :class:`VerificationProblem`."""

    MALFORMED_ROW = "malformed_row"
    HASH_MISMATCH = "hash_mismatch"
    VERSION_SEQUENCE = "version_sequence"
    PREV_HASH_MISMATCH = "prev_hash_mismatch"
    POSITION_SEQUENCE = "position_sequence"


@dataclass(frozen=True)
class VerificationProblem:
    """The first broken link found, naming the stored row where it was seen.

    ``event_id``, ``stream_id`` and ``version`` are given as stored (``version``
    is ``None`` if the stored value is not an integer).
    """

    kind: ProblemKind
    position: int
    event_id: str
    stream_id: str
    version: int | None
    detail: str

    def __str__(self) -> str:
        return (
            f"event {self.event_id} (stream {self.stream_id!r}, version {self.version}, "
            f"position {self.position}): {self.kind.value}: {self.detail}"
        )


@dataclass(frozen=True)
class VerificationResult:
    """Outcome of a verification. ``events_checked`` counts the rows examined."""

    ok: bool
    events_checked: int
    first_problem: VerificationProblem | None

    def __str__(self) -> str:
        if self.ok:
            return f"ok: {self.events_checked} events verified"
        return f"BROKEN after {self.events_checked} events checked: {self.first_problem}"


@dataclass(frozen=True, slots=True)
class _Decoded:
    hash_input: HashInput
    stored_hash: str


class _Malformed(Exception):
    pass


def verify_stream(engine: Engine, stream_id: str) -> VerificationResult:
    """Verify one stream's rows: each row's hash, versions 1..n, the prev_hash chain."""
    db = Database(engine)
    query = f"SELECT {_columns(db)} FROM {EVENTS} WHERE stream_id = {db.param} "
    with db.transaction(write=False) as tx:
        rows = _fetch(tx, db, query + 'ORDER BY "position"', (stream_id,))
        return check_rows(rows, engine.dialect.name, check_positions=False)


def verify_all(engine: Engine) -> VerificationResult:
    """Verify every stream, and that global positions run 1, 2, 3, ... without gaps."""
    db = Database(engine)
    query = f'SELECT {_columns(db)} FROM {EVENTS} ORDER BY "position"'
    with db.transaction(write=False) as tx:
        rows = _fetch(tx, db, query, ())
        return check_rows(rows, engine.dialect.name, check_positions=True)


def _utc_text(column: str) -> str:
    """A PostgreSQL timestamptz column as the text :func:`canonical_datetime` gives for it,
    followed by its era: ``2024-04-01T09:30:00.000000+00:00AD``."""
    return f"""to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"AD')"""


_POSTGRES_COLUMNS = ", ".join(
    [
        '"position"',
        "event_id::text",
        "stream_id",
        "version",
        "event_type",
        "schema_version",
        _utc_text("occurred_at"),
        _utc_text("recorded_at"),
        "actor_id",
        "actor_role",
        "data",
        "metadata",
        "prev_hash",
        "hash",
    ]
)
"""PostgreSQL's columns are typed, so every value is a valid one of its type: the server
gives the event id and the timestamps as text, in the forms that are hashed (a UUID's
text is its canonical form; ``to_char`` at UTC with microseconds is ``canonical_datetime``
for the years 1 to 9999), sparing the client building objects only to format them."""


def _columns(db: Database) -> str:
    return COLUMNS if db.sqlite else _POSTGRES_COLUMNS


def _fetch(
    tx: Transaction, db: Database, query: str, params: Sequence[Any]
) -> Iterator[Sequence[Any]]:
    """The rows of ``query``, exactly as the driver returns them, a batch at a time."""
    if db.sqlite:
        cursor = tx.execute(query, params)
    else:
        cursor = tx.connection.cursor(name="eventstore_verify")
        tx.statement, tx.params = query, params
        cursor.execute(query, params)
    try:
        while batch := cursor.fetchmany(_FETCH):
            yield from batch
    finally:
        cursor.close()


def check_rows(
    rows: Iterable[Sequence[Any]], dialect_name: str, *, check_positions: bool
) -> VerificationResult:
    """Check raw rows (columns in table order) given in position order.

    See the module docstring. A row whose values all have exactly the stored form is
    hashed straight from them (:func:`_sqlite_row_hash`, :func:`_postgres_row_hash`);
    if that matches its stored hash the row is intact (and its stored hash, equal to
    a SHA-256 hex digest, well formed). Any other row goes through :func:`_decode`
    and :func:`~eventstore.hashing.row_hash`, which say what is wrong with it.
    """
    fast_hash = _sqlite_row_hash if dialect_name == "sqlite" else _postgres_row_hash
    link_problem: VerificationProblem | None = None
    position_problem: VerificationProblem | None = None
    streams: dict[str, tuple[int, str]] = {}
    expected_position = 1
    checked = 0
    genesis = (0, GENESIS_HASH)

    for raw in rows:
        checked += 1
        stored_hash = raw[13]
        recomputed = fast_hash(raw)
        if recomputed is not None and recomputed == stored_hash:
            position, stream_id, version, prev_hash = raw[0], raw[2], raw[3], raw[12]
            last_version, last_hash = streams.get(stream_id, genesis)
            # The fast path hashes prev_hash as any text: it must still be 64 hex digits,
            # which it is if it equals the (well-formed) hash it links to.
            if prev_hash != last_hash and not _HEX64.fullmatch(prev_hash):
                return _malformed(raw, dialect_name, checked)
        else:
            try:
                decoded = _decode(raw, dialect_name)
            except _Malformed as exc:
                return VerificationResult(
                    False, checked, _problem(ProblemKind.MALFORMED_ROW, raw, str(exc))
                )
            row = decoded.hash_input
            position, stream_id, version = row.position, row.stream_id, row.version
            prev_hash, stored_hash = row.prev_hash, decoded.stored_hash
            recomputed = row_hash(row)
            if recomputed != stored_hash:
                return VerificationResult(
                    False,
                    checked,
                    _problem(
                        ProblemKind.HASH_MISMATCH,
                        raw,
                        f"stored hash {stored_hash} but the row's columns hash to "
                        f"{recomputed}: the row was modified",
                    ),
                )
            last_version, last_hash = streams.get(stream_id, genesis)

        if link_problem is None:
            if version != last_version + 1:
                if last_version == 0:
                    what = "the stream's first stored event"
                else:
                    what = f"it follows version {last_version}"
                link_problem = _problem(
                    ProblemKind.VERSION_SEQUENCE,
                    raw,
                    f"expected version {last_version + 1} but found {version} ({what}): "
                    "events were deleted, inserted or reordered",
                )
            elif prev_hash != last_hash:
                link_problem = _problem(
                    ProblemKind.PREV_HASH_MISMATCH,
                    raw,
                    f"prev_hash {prev_hash} does not match the hash {last_hash} of "
                    + (
                        f"version {last_version}"
                        if last_version
                        else "the genesis (version 1 must follow 64 zeros)"
                    )
                    + ": the chain was spliced",
                )
        streams[stream_id] = (version, stored_hash)

        if check_positions and position_problem is None and position != expected_position:
            if position > expected_position:
                detail = (
                    f"expected position {expected_position} but found {position}: "
                    f"positions {expected_position}..{position - 1} are missing "
                    "(events were deleted)"
                )
            else:
                detail = f"expected position {expected_position} but found {position}"
            position_problem = _problem(ProblemKind.POSITION_SEQUENCE, raw, detail)
        expected_position = position + 1

    first = link_problem or position_problem
    return VerificationResult(first is None, checked, first)


def _malformed(raw: Sequence[Any], dialect_name: str, checked: int) -> VerificationResult:
    """The result for a row :func:`_decode` refuses."""
    try:
        _decode(raw, dialect_name)
    except _Malformed as exc:
        return VerificationResult(
            False, checked, _problem(ProblemKind.MALFORMED_ROW, raw, str(exc))
        )
    raise AssertionError(f"row {raw!r} is not malformed")  # pragma: no cover


def _problem(kind: ProblemKind, row: Sequence[Any], detail: str) -> VerificationProblem:
    raw = _mapping(row)
    event_id = raw["event_id"]
    if isinstance(event_id, str):
        with contextlib.suppress(ValueError):
            event_id = UUID(event_id)
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


def _mapping(row: Sequence[Any]) -> Mapping[str, Any]:
    return dict(zip(COLUMN_NAMES, row, strict=True))


_SQLITE_TYPES = (int, str, str, int, str, int, str, str, str, str, str, str, str, str)
_POSTGRES_TYPES = (int, str, str, int, str, int, str, str, str, str, str, str, str, str)
_POSTGRES_DATETIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}\+00:00AD"
)
"""A timestamp as :func:`_utc_text` gives it, in the years 1 to 9999 (one Python has)."""
_UUID_TEXT = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
_POSTGRES_FORMS = re.compile(_UUID_TEXT + 2 * _POSTGRES_DATETIME.pattern)
_SQLITE_FORMS = re.compile(r"[0-9a-f]{32}" + 2 * _SQLITE_DATETIME.pattern)
"""A stored event id and two stored timestamps, one after the other (one match for all)."""


def _sqlite_row_hash(raw: Sequence[Any]) -> str | None:
    """The hash of a SQLite row if its values have exactly the stored forms, else None.

    The same hash :func:`_decode` and :func:`~eventstore.hashing.row_hash` give (the
    tests compare them), without building datetimes and UUIDs only to format them
    again: a stored timestamp ``YYYY-MM-DD HH:MM:SS.ffffff`` (a valid date and time)
    becomes ``YYYY-MM-DDTHH:MM:SS.ffffff+00:00``, 32 hex digits the hyphenated UUID.
    ``prev_hash`` is hashed as any text, escaped: :func:`check_rows` checks its form.
    """
    if tuple(map(type, raw)) != _SQLITE_TYPES:
        return None
    (
        position,
        event_id,
        stream_id,
        version,
        event_type,
        schema_version,
        occurred_at,
        recorded_at,
        actor_id,
        actor_role,
        data,
        metadata,
        prev_hash,
        _,
    ) = raw
    if not (
        len(event_id) == 32
        and len(occurred_at) == 26
        and len(recorded_at) == 26
        and _SQLITE_FORMS.fullmatch(event_id + occurred_at + recorded_at)
    ):
        return None
    try:
        _from_iso(occurred_at)
        _from_iso(recorded_at)
    except ValueError:  # e.g. 2024-02-30
        return None
    return _sha256(
        (
            f'{{"actor_id":{_esc(actor_id)},"actor_role":{_esc(actor_role)},'
            f'"data":{_esc(data)},"event_id":"{event_id[:8]}-{event_id[8:12]}-'
            f'{event_id[12:16]}-{event_id[16:20]}-{event_id[20:]}",'
            f'"event_type":{_esc(event_type)},"metadata":{_esc(metadata)},'
            f'"occurred_at":"{occurred_at[:10]}T{occurred_at[11:]}+00:00",'
            f'"position":{position},"prev_hash":{_esc(prev_hash)},'
            f'"recorded_at":"{recorded_at[:10]}T{recorded_at[11:]}+00:00",'
            f'"schema_version":{schema_version},"stream_id":{_esc(stream_id)},'
            f'"version":{version}}}'
        ).encode()
    ).hexdigest()


def _postgres_row_hash(raw: Sequence[Any]) -> str | None:
    """The hash of a PostgreSQL row (as :data:`_POSTGRES_COLUMNS` selects it) if its
    values have exactly the expected forms, else None.

    The same hash :func:`_decode` and :func:`~eventstore.hashing.row_hash` give (the
    tests compare them). ``prev_hash`` is hashed as any text: :func:`check_rows`
    checks its form.
    """
    if tuple(map(type, raw)) != _POSTGRES_TYPES:
        return None
    (
        position,
        event_id,
        stream_id,
        version,
        event_type,
        schema_version,
        occurred_at,
        recorded_at,
        actor_id,
        actor_role,
        data,
        metadata,
        prev_hash,
        _,
    ) = raw
    if not (
        len(event_id) == 36
        and len(occurred_at) == 34
        and len(recorded_at) == 34
        and _POSTGRES_FORMS.fullmatch(event_id + occurred_at + recorded_at)
    ):
        return None
    return _sha256(
        (
            f'{{"actor_id":{_esc(actor_id)},"actor_role":{_esc(actor_role)},'
            f'"data":{_esc(data)},"event_id":"{event_id}",'
            f'"event_type":{_esc(event_type)},"metadata":{_esc(metadata)},'
            f'"occurred_at":"{occurred_at[:32]}",'
            f'"position":{position},"prev_hash":{_esc(prev_hash)},'
            f'"recorded_at":"{recorded_at[:32]}",'
            f'"schema_version":{schema_version},"stream_id":{_esc(stream_id)},'
            f'"version":{version}}}'
        ).encode()
    ).hexdigest()


def _decode(row: Sequence[Any], dialect_name: str) -> _Decoded:
    """Turn a raw row into the values that are hashed, or raise :class:`_Malformed`."""
    sqlite = dialect_name == "sqlite"
    raw = _mapping(row)

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
            if not isinstance(value, str) or not _SQLITE_DATETIME.fullmatch(value):
                raise _Malformed(f"{name} is {value!r}, not a stored UTC timestamp")
            try:
                return datetime.strptime(value, "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=UTC)
            except ValueError:
                raise _Malformed(f"{name} is {value!r}, not a valid timestamp") from None
        if isinstance(value, str):  # as _utc_text gives it
            if not _POSTGRES_DATETIME.fullmatch(value):
                raise _Malformed(f"{name} is {value!r}, not a timestamp of the years 1 to 9999")
            try:
                return datetime.fromisoformat(value[:32])
            except ValueError:
                raise _Malformed(f"{name} is {value!r}, not a valid timestamp") from None
        if not isinstance(value, datetime) or value.tzinfo is None:
            raise _Malformed(f"{name} is {value!r}, not a timezone-aware timestamp")
        return value.astimezone(UTC)

    def event_id() -> UUID:
        value = raw["event_id"]
        if isinstance(value, UUID) and not sqlite:
            return value
        if not sqlite and isinstance(value, str):  # PostgreSQL's text for a uuid
            try:
                parsed = UUID(value)
            except ValueError:
                parsed = None
            if parsed is not None and str(parsed) == value:
                return parsed
        if sqlite and isinstance(value, str):
            try:
                parsed = UUID(hex=value)
            except ValueError:
                parsed = None
            if parsed is not None and parsed.hex == value:
                return parsed
        raise _Malformed(f"event_id is {value!r}, not a stored UUID")

    def digest(name: str) -> str:
        value = text(name)
        if not _HEX64.fullmatch(value):
            raise _Malformed(f"{name} is {value!r}, not 64 lower-case hex digits")
        return value

    hash_input = HashInput(
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
    return _Decoded(hash_input=hash_input, stored_hash=digest("hash"))
