"""The store on PostgreSQL: its transactions, SQL, stored forms, row decoder and row hasher.

Columns are typed (``uuid``, ``timestamptz``), so values are bound as Python objects.
Appends are serialised by a transaction-scoped advisory lock (:data:`APPEND_LOCK_KEY`)
taken in its own statement before anything is read (see :mod:`eventstore.store`),
sequence allocations by another (:data:`SEQUENCE_LOCK_KEY`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from hashlib import sha256
from json.encoder import encode_basestring
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import PoolProxiedConnection

from eventstore.backends.base import FETCH_ROWS, Backend, Malformed
from eventstore.hashing import parse_json
from eventstore.rawdb import COLUMNS, EVENTS, Database, Transaction
from eventstore.records import StoredEvent, stored_event

APPEND_LOCK_KEY = 0x5261_7469_6679_4553
"""``pg_advisory_xact_lock`` key serialising appends ("RatifyES" in ASCII)."""

SEQUENCE_LOCK_KEY = 0x5261_7469_6679_5351
"""Serialises sequence allocations (a different key: they need not wait for appends)."""
_SEQUENCE_LOCK = sa.text("SELECT pg_advisory_xact_lock(:key)").bindparams(key=SEQUENCE_LOCK_KEY)

_COPY_FROM = 8
"""Batches of this many events or more go in with COPY, not an INSERT per event
(measured: a fifth less time per event at 100; its extra round trip costs more than it
saves below about 5)."""


def utc_text(column: str) -> str:
    """A timestamptz column as the text :func:`~eventstore.hashing.canonical_datetime`
    gives for it, followed by its era: ``2024-04-01T09:30:00.000000+00:00AD``."""
    return f"""to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"AD')"""


VERIFY_COLUMNS = ", ".join(
    [
        '"position"',
        "event_id::text",
        "stream_id",
        "version",
        "event_type",
        "schema_version",
        utc_text("occurred_at"),
        utc_text("recorded_at"),
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

_TYPES = (int, str, str, int, str, int, str, str, str, str, str, str, str, str)
_DATETIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}\+00:00AD")
"""A timestamp as :func:`utc_text` gives it, in the years 1 to 9999 (one Python has)."""
_UUID_TEXT = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
_FORMS = re.compile(_UUID_TEXT + 2 * _DATETIME.pattern)
_esc = encode_basestring


def decode_row(row: Sequence[Any]) -> StoredEvent:
    """A row (columns in table order) of a PostgreSQL store as a StoredEvent."""
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
        event_id,
        stream_id,
        version,
        event_type,
        schema_version,
        occurred_at.astimezone(UTC),
        recorded_at.astimezone(UTC),
        actor_id,
        actor_role,
        parse_json(data),
        parse_json(metadata),
        prev_hash,
        hash_,
    )


def hash_row(raw: Sequence[Any]) -> str | None:
    """The hash of a PostgreSQL row (as :data:`VERIFY_COLUMNS` selects it) if its
    values have exactly the expected forms, else None.

    The same hash :func:`eventstore.verify.decode` and :func:`~eventstore.hashing.row_hash`
    give (the tests compare them). ``prev_hash`` is hashed as any text:
    :func:`eventstore.verify.check_rows` checks its form.
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
        len(event_id) == 36
        and len(occurred_at) == 34
        and len(recorded_at) == 34
        and _FORMS.fullmatch(event_id + occurred_at + recorded_at)
    ):
        return None
    return sha256(
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


class PostgresDatabase(Database):
    """A PostgreSQL engine, through psycopg 3 (which opens a transaction with the first
    statement)."""

    param = "%s"

    def read(self, statement: str, params: Sequence[Any] = ()) -> list[Any]:
        """The rows of one SELECT, run in autocommit mode: one statement sees one
        snapshot either way, and BEGIN and COMMIT would each cost a round trip."""
        try:
            fairy = self.engine.raw_connection()
        except self.error as exc:
            raise self._wrap(exc, None, None, None) from exc
        try:
            connection = fairy.driver_connection
            assert connection is not None
            try:
                connection.autocommit = True
                try:
                    rows: list[Any] = connection.cursor().execute(statement, params).fetchall()
                finally:
                    _restore_autocommit(fairy)
            except self.error as exc:
                raise self._wrap(exc, statement, params, fairy) from exc
        finally:
            fairy.close()
        return rows


def _restore_autocommit(fairy: PoolProxiedConnection) -> None:
    """Back to transactions, as the pool's other users expect; a connection that cannot
    be (it is broken) is invalidated rather than pooled in autocommit mode."""
    if not fairy.is_valid:
        return
    try:
        fairy.driver_connection.autocommit = False  # type: ignore[union-attr]
    except Exception as exc:
        fairy.invalidate(exc)


class PostgresBackend(Backend):
    """The store's SQL and stored forms on PostgreSQL."""

    database = PostgresDatabase
    dialect_name = "postgresql"
    verify_columns = VERIFY_COLUMNS

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        self.lock = f"SELECT pg_advisory_xact_lock({APPEND_LOCK_KEY:d})"
        self.copy = f"COPY {EVENTS} ({COLUMNS}) FROM STDIN"
        self.stored_by_id = f"SELECT {COLUMNS} FROM {EVENTS} WHERE event_id = ANY(%s)"

    def lock_appends(self, tx: Transaction) -> None:
        """The advisory lock, in its own statement, so the query after it takes its
        snapshot once the previous holder's commit is visible."""
        tx.execute(self.lock)

    def insert_rows(self, tx: Transaction, rows: list[tuple[Any, ...]]) -> None:
        if len(rows) == 1:
            tx.execute(self.insert, rows[0])
        elif len(rows) >= _COPY_FROM:
            tx.copy(self.copy, rows)
        else:
            tx.executemany(self.insert, rows)

    def rows_by_id(self, tx: Transaction, ids: list[UUID]) -> list[Sequence[Any]]:
        rows: list[Sequence[Any]] = tx.execute(self.stored_by_id, (ids,)).fetchall()
        return rows

    def lock_sequences(self, conn: Connection) -> None:
        conn.execute(_SEQUENCE_LOCK)

    @staticmethod
    def uuid_param(value: UUID) -> Any:
        return value

    @staticmethod
    def datetime_param(value: datetime, text: str) -> Any:
        return value

    decode = staticmethod(decode_row)

    def fetch(self, tx: Transaction, query: str, params: Sequence[Any]) -> Iterator[Sequence[Any]]:
        """From a server-side cursor, so a large log is not held in memory at once."""
        cursor = tx.connection.cursor(name="eventstore_verify")
        tx.statement, tx.params = query, params
        cursor.execute(query, params)
        try:
            while batch := cursor.fetchmany(FETCH_ROWS):
                yield from batch
        finally:
            cursor.close()

    row_hash = staticmethod(hash_row)

    @staticmethod
    def timestamp(name: str, value: object) -> datetime:
        if isinstance(value, str):  # as utc_text gives it
            if not _DATETIME.fullmatch(value):
                raise Malformed(f"{name} is {value!r}, not a timestamp of the years 1 to 9999")
            try:
                return datetime.fromisoformat(value[:32])
            except ValueError:
                raise Malformed(f"{name} is {value!r}, not a valid timestamp") from None
        if not isinstance(value, datetime) or value.tzinfo is None:
            raise Malformed(f"{name} is {value!r}, not a timezone-aware timestamp")
        return value.astimezone(UTC)

    @staticmethod
    def event_id(value: object) -> UUID:
        if isinstance(value, UUID):
            return value
        if isinstance(value, str):  # PostgreSQL's text for a uuid
            try:
                parsed = UUID(value)
            except ValueError:
                parsed = None
            if parsed is not None and str(parsed) == value:
                return parsed
        raise Malformed(f"event_id is {value!r}, not a stored UUID")
