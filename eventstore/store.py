"""The event store: atomic, idempotent, hash-chained appends and ordered reads.

Ordering guarantee. Writers are serialised for the whole append transaction:
on PostgreSQL by a transaction-scoped advisory lock (:data:`PG_APPEND_LOCK_KEY`),
taken in its own statement before anything is read; on SQLite by
``BEGIN IMMEDIATE`` (see :mod:`eventstore.engine`). Inside the lock the next
positions are allocated as ``max(position) + 1``, so positions are 1, 2, 3, ...
with no gaps, and the lock is released only when the transaction has committed
and become visible. Hence commits happen in position order: a reader that has
seen position *n* will never later find a newly committed event at a position
below *n*, and can tail the log with ``read_all(after=last_seen)``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Self
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.engine import URL, Connection, Engine, RowMapping

from eventstore import verify
from eventstore.engine import create_engine_for, is_configured_sqlite_engine, write_engine
from eventstore.errors import (
    ConcurrencyConflict,
    EngineNotConfigured,
    EventIdConflict,
    InvalidEvent,
    PartialBatchConflict,
)
from eventstore.hashing import GENESIS_HASH, HashInput, canonicalise, row_hash
from eventstore.records import (
    MAX_STREAM_ID_LENGTH,
    NewEvent,
    StoredEvent,
    check_aware,
    check_identifier,
    check_stream_id,
)
from eventstore.schema import events as _events
from eventstore.schema import sequence_allocations as _sequences

PG_APPEND_LOCK_KEY = 0x5261_7469_6679_4553
"""``pg_advisory_xact_lock`` key serialising appends ("RatifyES" in ASCII)."""

_MAX_BATCH = 10_000


def _stream_tail(column: sa.ColumnElement[Any]) -> sa.ScalarSelect[Any]:
    return (
        sa.select(column)
        .where(_events.c.stream_id == sa.bindparam("stream_id"))
        .order_by(_events.c.version.desc())
        .limit(1)
        .scalar_subquery()
    )


_APPEND_STATE = sa.select(
    sa.select(sa.func.count())
    .select_from(_events)
    .where(_events.c.event_id.in_(sa.bindparam("event_ids", expanding=True)))
    .scalar_subquery()
    .label("already_stored"),
    _stream_tail(_events.c.version).label("version"),
    _stream_tail(_events.c.hash).label("hash"),
    sa.select(sa.func.max(_events.c.position)).scalar_subquery().label("max_position"),
)
"""Everything an append needs to know, in one round trip (run while holding the lock)."""

_STORED_BY_ID = sa.select(_events).where(
    _events.c.event_id.in_(sa.bindparam("event_ids", expanding=True))
)
_INSERT = _events.insert()
_PG_LOCK = sa.text("SELECT pg_advisory_xact_lock(:key)").bindparams(key=PG_APPEND_LOCK_KEY)
#: Serialises sequence allocations (a different key: they need not wait for appends).
PG_SEQUENCE_LOCK_KEY = 0x5261_7469_6679_5351
_PG_SEQUENCE_LOCK = sa.text("SELECT pg_advisory_xact_lock(:key)").bindparams(
    key=PG_SEQUENCE_LOCK_KEY
)


class EventStore:
    """Append-only store of event streams on PostgreSQL or SQLite.

    Create with :meth:`from_url` (the store then owns, and :meth:`close` disposes,
    the engine) or with an engine from :func:`eventstore.create_engine_for`. The
    database must already be migrated (:func:`eventstore.migrate`); the store
    never creates tables. Instances are thread-safe.
    """

    def __init__(self, engine: Engine, *, owns_engine: bool = False) -> None:
        backend = engine.dialect.name
        if backend == "sqlite" and not is_configured_sqlite_engine(engine):
            raise EngineNotConfigured(
                "this SQLite engine was not made by eventstore.create_engine_for(): it lacks "
                "WAL mode and BEGIN IMMEDIATE write transactions"
            )
        if backend not in ("sqlite", "postgresql"):
            raise ValueError(f"unsupported database {backend!r}: use sqlite or postgresql")
        self._engine = engine
        self._writer = write_engine(engine)
        self._postgres = backend == "postgresql"
        self._owns_engine = owns_engine

    @classmethod
    def from_url(cls, url: str | URL, **engine_kwargs: Any) -> EventStore:
        """A store on a new engine from :func:`eventstore.create_engine_for`."""
        return cls(create_engine_for(url, **engine_kwargs), owns_engine=True)

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine the store uses."""
        return self._engine

    def close(self) -> None:
        """Dispose of the engine's connections if the store created the engine."""
        if self._owns_engine:
            self._engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # ------------------------------------------------------------------ append

    def append(
        self, stream_id: str, expected_version: int, events: Sequence[NewEvent]
    ) -> list[StoredEvent]:
        """Append ``events`` to a stream atomically and return the stored records.

        ``expected_version`` is the stream's current version as the caller saw it
        (0 for a new stream); if it is not the actual version,
        :class:`ConcurrencyConflict` is raised and nothing is written.

        Idempotent: if every event id of the batch is already stored with the
        same content (a retry), the stored records are returned and nothing is
        written, even though ``expected_version`` is then stale. If an id is
        stored with different content, :class:`EventIdConflict` is raised; if
        only some of the ids are stored, :class:`PartialBatchConflict`.
        """
        stream_id = check_stream_id(stream_id)
        if (
            not isinstance(expected_version, int)
            or isinstance(expected_version, bool)
            or expected_version < 0
        ):
            raise InvalidEvent(f"expected_version must be an int >= 0, not {expected_version!r}")
        if isinstance(events, NewEvent) or not isinstance(events, Sequence):
            raise InvalidEvent("events must be a sequence (list) of NewEvent")
        batch = list(events)
        if not batch:
            raise InvalidEvent(f"empty batch: nothing to append to stream {stream_id!r}")
        if len(batch) > _MAX_BATCH:
            raise InvalidEvent(f"batch of {len(batch)} events; at most {_MAX_BATCH} at a time")
        seen: set[UUID] = set()
        for item in batch:
            if not isinstance(item, NewEvent):
                raise InvalidEvent(f"events must be NewEvent instances, not {type(item).__name__}")
            if item.event_id in seen:
                raise InvalidEvent(f"event id {item.event_id} appears twice in the batch")
            seen.add(item.event_id)
        prepared = [_Prepared(item) for item in batch]

        with self._writer.connect() as conn, conn.begin():
            if self._postgres:
                # Own statement, so the queries below take their snapshot after the
                # previous holder's commit became visible.
                conn.execute(_PG_LOCK)
            ids = [p.event.event_id for p in prepared]
            state = conn.execute(_APPEND_STATE, {"event_ids": ids, "stream_id": stream_id}).one()
            if state.already_stored:
                stored = conn.execute(_STORED_BY_ID, {"event_ids": ids}).mappings()
                return _resolve_retry(stream_id, prepared, {row["event_id"]: row for row in stored})

            actual_version = state.version or 0
            prev_hash = state.hash or GENESIS_HASH
            if actual_version != expected_version:
                raise ConcurrencyConflict(stream_id, expected_version, actual_version)
            position = state.max_position or 0

            recorded_at = datetime.now(UTC)
            records: list[StoredEvent] = []
            for offset, prep in enumerate(prepared, start=1):
                new = prep.event
                hash_input = HashInput(
                    position=position + offset,
                    event_id=new.event_id,
                    stream_id=stream_id,
                    version=actual_version + offset,
                    event_type=new.event_type,
                    schema_version=new.schema_version,
                    occurred_at=prep.occurred_at,
                    recorded_at=recorded_at,
                    actor_id=new.actor_id,
                    actor_role=new.actor_role,
                    data_text=prep.data_text,
                    metadata_text=prep.metadata_text,
                    prev_hash=prev_hash,
                )
                prev_hash = row_hash(hash_input)
                records.append(_record(hash_input, prev_hash, prep))
            conn.execute(
                _INSERT,
                [_row_values(r, p) for r, p in zip(records, prepared, strict=True)],
            )
        return records

    # ------------------------------------------------------------------ reads

    def read_stream(
        self,
        stream_id: str,
        *,
        to_version: int | None = None,
        as_of: datetime | None = None,
    ) -> list[StoredEvent]:
        """The stream's events in version order (empty if the stream does not exist).

        ``to_version`` keeps versions up to and including it; ``as_of`` keeps the
        events whose ``occurred_at`` is at or before that (timezone-aware) instant.
        An id no stream can have (see :meth:`append`) reads as an empty stream.
        """
        query = sa.select(_events).where(_events.c.stream_id == stream_id)
        if to_version is not None:
            _check_count(to_version, "to_version")
            query = query.where(_events.c.version <= to_version)
        if as_of is not None:
            check_aware(as_of, "as_of")
            query = query.where(_events.c.occurred_at <= as_of)
        if not _may_exist(stream_id):
            return []
        return self._read(query.order_by(_events.c.version))

    def read_all(self, *, after: int = 0, limit: int | None = None) -> list[StoredEvent]:
        """Events with a position greater than ``after``, in position order.

        At most ``limit`` events if given. Safe for tailing: see the module docstring.
        """
        _check_count(after, "after")
        query = sa.select(_events).where(_events.c.position > after).order_by(_events.c.position)
        if limit is not None:
            _check_count(limit, "limit", minimum=1)
            query = query.limit(limit)
        return self._read(query)

    def stream_version(self, stream_id: str) -> int:
        """The stream's current version: the number of events in it (0 if none)."""
        if not _may_exist(stream_id):
            return 0
        with self._engine.connect() as conn, conn.begin():
            version = conn.execute(
                sa.select(sa.func.max(_events.c.version)).where(_events.c.stream_id == stream_id)
            ).scalar_one()
        return int(version or 0)

    def last_position(self) -> int:
        """The highest stored position (0 if the store is empty)."""
        with self._engine.connect() as conn, conn.begin():
            return _max_position(conn)

    def _read(self, query: sa.Select[Any]) -> list[StoredEvent]:
        with self._engine.connect() as conn, conn.begin():
            rows = conn.execute(query).mappings().all()
        return [_from_row(row) for row in rows]

    # ------------------------------------------------------------------ verify

    def verify_stream(self, stream_id: str) -> verify.VerificationResult:
        """Check one stream's hash chain; see :mod:`eventstore.verify`.

        Returns a result rather than raising. Removal of the stream's newest
        events cannot be seen from the stream alone: that needs an external
        digest (a later issue); :meth:`verify_all` sees it through the gap in
        global positions unless the removed events were the newest of all.
        """
        return verify.verify_stream(self._engine, check_stream_id(stream_id))

    def verify_all(self) -> verify.VerificationResult:
        """Check every stream's hash chain and that positions have no gaps.

        See :mod:`eventstore.verify`. Removal of the newest events of the whole
        log needs an external digest to detect (a later issue).
        """
        return verify.verify_all(self._engine)

    # ------------------------------------------------------------------ sequences

    def allocate(self, sequence: str, owner: str, *, first: int = 1) -> int:
        """The number of ``owner`` in a gap-free ``sequence`` (e.g. PCD references).

        The first call for an owner takes the next number (``first`` if the sequence is
        empty) and records it; every later call for the same owner returns the same
        number, so a retried allocation never takes a second one. Numbers are never
        reused. Writers are serialised as for appends.
        """
        sequence = check_identifier(sequence, "sequence", 50)
        owner = check_identifier(owner, "owner", MAX_STREAM_ID_LENGTH)
        _check_count(first, "first", minimum=1)
        table = _sequences
        with self._writer.connect() as conn, conn.begin():
            if self._postgres:
                conn.execute(_PG_SEQUENCE_LOCK)
            mine = conn.execute(
                sa.select(table.c.number).where(
                    table.c.sequence == sequence, table.c.owner == owner
                )
            ).scalar_one_or_none()
            if mine is not None:
                return int(mine)
            last = conn.execute(
                sa.select(sa.func.max(table.c.number)).where(table.c.sequence == sequence)
            ).scalar_one()
            number = max(int(last or 0) + 1, first)
            conn.execute(
                table.insert().values(
                    sequence=sequence, number=number, owner=owner, allocated_at=datetime.now(UTC)
                )
            )
        return number

    def allocations(self, sequence: str) -> dict[str, int]:
        """Every owner of a sequence with its number."""
        table = _sequences
        with self._engine.connect() as conn, conn.begin():
            rows = conn.execute(
                sa.select(table.c.owner, table.c.number)
                .where(table.c.sequence == sequence)
                .order_by(table.c.number)
            )
            return {row.owner: int(row.number) for row in rows}


class _Prepared:
    """A validated NewEvent with its stored forms computed once."""

    __slots__ = ("data", "data_text", "event", "metadata", "metadata_text", "occurred_at")

    def __init__(self, event: NewEvent) -> None:
        check_aware(event.occurred_at, f"occurred_at of event {event.event_id}")
        try:
            self.data_text, self.data = canonicalise(event.data, "data")
            self.metadata_text, self.metadata = canonicalise(event.metadata, "metadata")
        except InvalidEvent as exc:
            raise InvalidEvent(f"event {event.event_id}: {exc}") from None
        self.event = event
        self.occurred_at = event.occurred_at.astimezone(UTC)


def _may_exist(stream_id: str) -> bool:
    """Whether a stream could have this id. Reads of one that could not (a user's typo, a
    fuzzer's bytes) find nothing, rather than raising, or, on PostgreSQL, sending a NUL that
    the server refuses; a stream id that is not text at all is still a caller's mistake."""
    try:
        check_stream_id(stream_id)
    except InvalidEvent:
        if not isinstance(stream_id, str):
            raise
        return False
    return True


def _check_count(value: object, what: str, *, minimum: int = 0) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise InvalidEvent(f"{what} must be an int >= {minimum}, not {value!r}")


def _max_position(conn: Connection) -> int:
    return int(conn.execute(sa.select(sa.func.max(_events.c.position))).scalar_one() or 0)


def _record(row: HashInput, hash_: str, prepared: _Prepared) -> StoredEvent:
    return StoredEvent(
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
        data=prepared.data,
        metadata=prepared.metadata,
        prev_hash=row.prev_hash,
        hash=hash_,
    )


def _row_values(record: StoredEvent, prepared: _Prepared) -> dict[str, Any]:
    return {
        "position": record.position,
        "event_id": record.event_id,
        "stream_id": record.stream_id,
        "version": record.version,
        "event_type": record.event_type,
        "schema_version": record.schema_version,
        "occurred_at": record.occurred_at,
        "recorded_at": record.recorded_at,
        "actor_id": record.actor_id,
        "actor_role": record.actor_role,
        "data": prepared.data_text,
        "metadata": prepared.metadata_text,
        "prev_hash": record.prev_hash,
        "hash": record.hash,
    }


def _from_row(row: RowMapping) -> StoredEvent:
    return StoredEvent(
        position=row["position"],
        event_id=row["event_id"],
        stream_id=row["stream_id"],
        version=row["version"],
        event_type=row["event_type"],
        schema_version=row["schema_version"],
        occurred_at=row["occurred_at"],
        recorded_at=row["recorded_at"],
        actor_id=row["actor_id"],
        actor_role=row["actor_role"],
        data=json.loads(row["data"]),
        metadata=json.loads(row["metadata"]),
        prev_hash=row["prev_hash"],
        hash=row["hash"],
    )


def _resolve_retry(
    stream_id: str, prepared: list[_Prepared], stored_by_id: dict[UUID, RowMapping]
) -> list[StoredEvent]:
    """Return the stored records for an exact retry, or raise an EventIdConflict."""
    ids = [p.event.event_id for p in prepared]
    if len(stored_by_id) != len(ids):
        raise PartialBatchConflict(
            stored=[i for i in ids if i in stored_by_id],
            not_stored=[i for i in ids if i not in stored_by_id],
        )
    records: list[StoredEvent] = []
    for item in prepared:
        new = item.event
        row = stored_by_id[new.event_id]
        expected: dict[str, object] = {
            "stream_id": stream_id,
            "event_type": new.event_type,
            "schema_version": new.schema_version,
            "occurred_at": item.occurred_at,
            "actor_id": new.actor_id,
            "actor_role": new.actor_role,
            "data": item.data_text,
            "metadata": item.metadata_text,
        }
        differing = [name for name, value in expected.items() if row[name] != value]
        if differing:
            details = []
            for name in differing:
                if name in ("data", "metadata"):
                    details.append(f"{name} differs")
                else:
                    details.append(f"{name} stored {row[name]!r}, new {expected[name]!r}")
            raise EventIdConflict(
                new.event_id,
                "the new event has different content (" + "; ".join(details) + ")",
            )
        records.append(_from_row(row))
    versions = [r.version for r in records]
    if versions != list(range(versions[0], versions[0] + len(versions))):
        raise EventIdConflict(
            records[0].event_id,
            "the batch's events are stored, but not as one batch in this order "
            f"(stored versions {versions})",
        )
    return records
