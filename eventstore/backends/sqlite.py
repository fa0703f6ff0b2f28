"""The store on SQLite: its transactions, SQL, stored forms, row decoder and row hasher.

SQLite has no time zones and no UUID type: an event id is stored as 32 lower-case hex
digits (as ``sa.Uuid`` stores it) and a timestamp as the UTC text
``YYYY-MM-DD HH:MM:SS.ffffff`` (as :class:`eventstore.schema.UTCDateTime` does). Writers
are serialised by ``BEGIN IMMEDIATE`` (see :mod:`eventstore.engine`), so an append takes
no lock of its own.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from hashlib import sha256
from json.encoder import encode_basestring
from typing import Any
from uuid import UUID

from sqlalchemy.engine import Connection

from eventstore.backends.base import FETCH_ROWS, Backend, Malformed
from eventstore.hashing import parse_json
from eventstore.rawdb import COLUMNS, EVENTS, Database, Transaction
from eventstore.records import StoredEvent, stored_event

_ID_CHUNK = 500
"""Event ids per ``IN (...)`` list when looking stored events up (SQLite's limit on
bound parameters is far above it)."""

_DATETIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}")
"""The stored form of a SQLite timestamp, ASCII digits only (a ``\\d`` would also take
other scripts' digits, which ``strptime`` reads as the same instant: an edit the hash,
computed over the canonical form, would not show)."""
_TYPES = (int, str, str, int, str, int, str, str, str, str, str, str, str, str)
_FORMS = re.compile(r"[0-9a-f]{32}" + 2 * _DATETIME.pattern)
"""A stored event id and two stored timestamps, one after the other (one match for all)."""
_esc = encode_basestring
_from_iso = datetime.fromisoformat


def decode_row(row: Sequence[Any]) -> StoredEvent:
    """A row (columns in table order) of a SQLite store as a StoredEvent."""
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
        hash_,
    ) = row
    return stored_event(
        position,
        UUID(hex=event_id),
        stream_id,
        version,
        event_type,
        schema_version,
        datetime.fromisoformat(occurred_at + "+00:00"),
        datetime.fromisoformat(recorded_at + "+00:00"),
        actor_id,
        actor_role,
        parse_json(data),
        parse_json(metadata),
        prev_hash,
        hash_,
    )


def hash_row(raw: Sequence[Any]) -> str | None:
    """The hash of a SQLite row if its values have exactly the stored forms, else None.

    The same hash :func:`eventstore.verify.decode` and :func:`~eventstore.hashing.row_hash`
    give (the tests compare them), without building datetimes and UUIDs only to format
    them again: a stored timestamp ``YYYY-MM-DD HH:MM:SS.ffffff`` (a valid date and time)
    becomes ``YYYY-MM-DDTHH:MM:SS.ffffff+00:00``, 32 hex digits the hyphenated UUID.
    ``prev_hash`` is hashed as any text, escaped: :func:`eventstore.verify.check_rows`
    checks its form.
    """
    if tuple(map(type, raw)) != _TYPES:
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
        and _FORMS.fullmatch(event_id + occurred_at + recorded_at)
    ):
        return None
    try:
        _from_iso(occurred_at)
        _from_iso(recorded_at)
    except ValueError:  # e.g. 2024-02-30
        return None
    return sha256(
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


class SqliteDatabase(Database):
    """A SQLite engine made by :func:`eventstore.create_engine_for`, through sqlite3."""

    param = "?"

    def begin(self, tx: Transaction, write: bool) -> None:
        """``BEGIN IMMEDIATE`` for a writer, so it holds SQLite's write lock from its
        first read (see :mod:`eventstore.engine`); a plain ``BEGIN`` for a reader."""
        tx.execute("BEGIN IMMEDIATE" if write else "BEGIN")


class SqliteBackend(Backend):
    """The store's SQL and stored forms on SQLite."""

    database = SqliteDatabase
    dialect_name = "sqlite"
    verify_columns = COLUMNS

    def lock_appends(self, tx: Transaction) -> None:
        """Nothing to do: the transaction began with ``BEGIN IMMEDIATE``."""

    def insert_rows(self, tx: Transaction, rows: list[tuple[Any, ...]]) -> None:
        if len(rows) == 1:
            tx.execute(self.insert, rows[0])
        else:
            tx.executemany(self.insert, rows)

    def rows_by_id(self, tx: Transaction, ids: list[UUID]) -> list[Sequence[Any]]:
        found: list[Sequence[Any]] = []
        for start in range(0, len(ids), _ID_CHUNK):
            chunk = [i.hex for i in ids[start : start + _ID_CHUNK]]
            query = (
                f"SELECT {COLUMNS} FROM {EVENTS} "
                f"WHERE event_id IN ({self.db.placeholders(len(chunk))})"
            )
            found.extend(tx.execute(query, chunk).fetchall())
        return found

    def lock_sequences(self, conn: Connection) -> None:
        """Nothing to do: the write transaction began with ``BEGIN IMMEDIATE``."""

    @staticmethod
    def uuid_param(value: UUID) -> Any:
        """32 hex digits, as ``sa.Uuid`` stores a UUID on SQLite."""
        return value.hex

    @staticmethod
    def datetime_param(value: datetime, text: str) -> Any:
        """``YYYY-MM-DD HH:MM:SS.ffffff``, as ``sa.DateTime`` stores a datetime on SQLite."""
        return f"{text[:10]} {text[11:26]}"

    decode = staticmethod(decode_row)

    def fetch(self, tx: Transaction, query: str, params: Sequence[Any]) -> Iterator[Sequence[Any]]:
        cursor = tx.execute(query, params)
        try:
            while batch := cursor.fetchmany(FETCH_ROWS):
                yield from batch
        finally:
            cursor.close()

    row_hash = staticmethod(hash_row)

    @staticmethod
    def timestamp(name: str, value: object) -> datetime:
        if not isinstance(value, str) or not _DATETIME.fullmatch(value):
            raise Malformed(f"{name} is {value!r}, not a stored UTC timestamp")
        try:
            return datetime.strptime(value, "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=UTC)
        except ValueError:
            raise Malformed(f"{name} is {value!r}, not a valid timestamp") from None

    @staticmethod
    def event_id(value: object) -> UUID:
        if isinstance(value, str):
            try:
                parsed = UUID(hex=value)
            except ValueError:
                parsed = None
            if parsed is not None and parsed.hex == value:
                return parsed
        raise Malformed(f"event_id is {value!r}, not a stored UUID")
