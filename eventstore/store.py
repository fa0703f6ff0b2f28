"""The event store: atomic, idempotent, hash-chained appends and ordered reads.

Ordering guarantee. Writers are serialised for the whole append transaction:
on PostgreSQL by a transaction-scoped advisory lock
(:data:`eventstore.backends.postgres.APPEND_LOCK_KEY`), taken in its own statement
before anything is read; on SQLite by ``BEGIN IMMEDIATE`` (see :mod:`eventstore.engine`).
Inside the lock the next positions are allocated as ``max(position) + 1``, so positions
are 1, 2, 3, ... with no gaps, and the lock is released only when the transaction has
committed and become visible. Hence commits happen in position order: a reader that has
seen position *n* will never later find a newly committed event at a position
below *n*, and can tail the log with ``read_all(after=last_seen)``.

Cost. Appends, reads and verification run plain SQL on a DBAPI connection from
the engine's pool (:mod:`eventstore.rawdb`), each database's SQL and stored forms
being its backend's (:mod:`eventstore.backends`): an append is one query for the
stream's head and the last position (after the lock, on PostgreSQL), then one
INSERT for the whole batch (``executemany``; on PostgreSQL a COPY for a larger
batch), with everything an event needs (canonical JSON, stored forms, its hash)
computed in Python in between.
Idempotency costs nothing on the way: a batch whose ids are already stored fails
the unique constraint on ``event_id`` (or the expected version), and only then
are the stored events looked up and compared.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Self
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine

from eventstore import verify
from eventstore.backends import backend_for
from eventstore.backends.base import Backend
from eventstore.engine import create_engine_for, write_engine
from eventstore.errors import (
    ConcurrencyConflict,
    EventIdConflict,
    InvalidEvent,
    NumberTaken,
    PartialBatchConflict,
)
from eventstore.hashing import (
    GENESIS_HASH,
    canonicalise,
    chain_hash,
    recanonicalise,
)
from eventstore.rawdb import Transaction
from eventstore.records import (
    MAX_STREAM_ID_LENGTH,
    NewEvent,
    StoredEvent,
    check_aware,
    check_identifier,
    check_stream_id,
    stored_event,
    take_canonical,
)
from eventstore.schema import sequence_allocations as _sequences

_MAX_BATCH = 10_000


class _IdsTaken(Exception):
    """The INSERT of a batch hit a unique constraint: maybe a retry (see append)."""

    def __init__(self, error: sa.exc.IntegrityError) -> None:
        super().__init__(str(error))
        self.error = error


class EventStore:
    """Append-only store of event streams on PostgreSQL or SQLite.

    Create with :meth:`from_url` (the store then owns, and :meth:`close` disposes,
    the engine) or with an engine from :func:`eventstore.create_engine_for`. The
    database must already be migrated (:func:`eventstore.migrate`); the store
    never creates tables. Instances are thread-safe.
    """

    def __init__(self, engine: Engine, *, owns_engine: bool = False) -> None:
        backend: Backend = backend_for(engine)
        self._engine = engine
        self._writer = write_engine(engine)
        self._owns_engine = owns_engine
        self._backend = backend
        self._db = backend.db
        self._decode = backend.decode

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
        backend = self._backend
        prepared = [_Prepared(item, backend) for item in batch]
        try:
            return self._append(stream_id, expected_version, prepared)
        except _IdsTaken as taken:
            # Some id of the batch may be stored already: a retry, or a conflict. (The
            # failed transaction has been rolled back; stored events stay stored.)
            with self._db.transaction(write=True) as tx:
                backend.lock_appends(tx)
                stored = self._stored_by_id(tx, [p.event.event_id for p in prepared])
            if stored:
                return _resolve_retry(stream_id, prepared, stored)
            raise taken.error from None  # some other constraint: a damaged store

    def _append(
        self, stream_id: str, expected_version: int, prepared: list[_Prepared]
    ) -> list[StoredEvent]:
        backend = self._backend
        try:
            with self._db.transaction(write=True) as tx:
                backend.lock_appends(tx)
                version, head, last = tx.execute(backend.state, (stream_id, stream_id)).fetchone()
                if version is None:
                    version, head = 0, GENESIS_HASH
                if version != expected_version:
                    stored = self._stored_by_id(tx, [p.event.event_id for p in prepared])
                    if stored:
                        return _resolve_retry(stream_id, prepared, stored)
                    raise ConcurrencyConflict(stream_id, expected_version, version)
                records, rows = _chain(stream_id, version, head, last or 0, prepared, backend)
                backend.insert_rows(tx, rows)
        except sa.exc.IntegrityError as error:
            raise _IdsTaken(error) from None
        return records

    def _stored_by_id(self, tx: Transaction, ids: list[UUID]) -> dict[UUID, _StoredRow]:
        """The stored events with these ids (run while holding the append lock)."""
        decode = self._decode
        found: dict[UUID, _StoredRow] = {}
        for row in self._backend.rows_by_id(tx, ids):
            record = decode(row)
            found[record.event_id] = _StoredRow(record, row[10], row[11])
        return found

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
        sql = self._backend
        query = sql.read_stream
        params: list[Any] = [stream_id]
        if to_version is not None:
            _check_count(to_version, "to_version")
            query += sql.to_version
            params.append(to_version)
        if as_of is not None:
            check_aware(as_of, "as_of")
            query += sql.as_of
            utc = as_of.astimezone(UTC)
            params.append(sql.datetime_param(utc, utc.isoformat(timespec="microseconds")))
        if not _may_exist(stream_id):
            return []
        return self._read(query + sql.by_version, params)

    def read_all(self, *, after: int = 0, limit: int | None = None) -> list[StoredEvent]:
        """Events with a position greater than ``after``, in position order.

        At most ``limit`` events if given. Safe for tailing: see the module docstring.
        """
        _check_count(after, "after")
        if limit is None:
            return self._read(self._backend.read_all, (after,))
        _check_count(limit, "limit", minimum=1)
        return self._read(self._backend.read_all_limit, (after, limit))

    def stream_version(self, stream_id: str) -> int:
        """The stream's current version: the number of events in it (0 if none)."""
        if not _may_exist(stream_id):
            return 0
        ((version,),) = self._db.read(self._backend.stream_version, (stream_id,))
        return int(version or 0)

    def last_position(self) -> int:
        """The highest stored position (0 if the store is empty)."""
        ((position,),) = self._db.read(self._backend.last_position)
        return int(position or 0)

    def _read(self, query: str, params: Sequence[Any]) -> list[StoredEvent]:
        return list(map(self._decode, self._db.read(query, params)))

    # ------------------------------------------------------------------ verify

    def verify_stream(self, stream_id: str) -> verify.VerificationResult:
        """Check one stream's hash chain; see :mod:`eventstore.verify`.

        Returns a result rather than raising. Removal of the stream's newest
        events cannot be seen from the stream alone: that needs an external
        digest (a later issue); :meth:`verify_all` sees it through the gap in
        global positions unless the removed events were the newest of all.
        """
        return verify.verify_stream(self._backend, check_stream_id(stream_id))

    def verify_all(self) -> verify.VerificationResult:
        """Check every stream's hash chain and that positions have no gaps.

        See :mod:`eventstore.verify`. Removal of the newest events of the whole
        log needs an external digest to detect (a later issue).
        """
        return verify.verify_all(self._backend)

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
            self._backend.lock_sequences(conn)
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

    def claim(self, sequence: str, owner: str, number: int) -> int:
        """Record that ``owner`` holds ``number`` in ``sequence``: a number given outside
        the store (a reference kept from an earlier register). Claiming again what the owner
        already holds returns it; a number another owner holds, or a second number for an
        owner, raises :class:`NumberTaken` and writes nothing. Later :meth:`allocate` calls
        continue after the highest number held (numbers skipped below it stay unused)."""
        sequence = check_identifier(sequence, "sequence", 50)
        owner = check_identifier(owner, "owner", MAX_STREAM_ID_LENGTH)
        _check_count(number, "number", minimum=1)
        table = _sequences
        with self._writer.connect() as conn, conn.begin():
            self._backend.lock_sequences(conn)
            holder = conn.execute(
                sa.select(table.c.owner).where(
                    table.c.sequence == sequence, table.c.number == number
                )
            ).scalar_one_or_none()
            if holder is not None:
                if holder != owner:
                    raise NumberTaken(sequence, number, owner, holder=str(holder), held=number)
                return number
            mine = conn.execute(
                sa.select(table.c.number).where(
                    table.c.sequence == sequence, table.c.owner == owner
                )
            ).scalar_one_or_none()
            if mine is not None:
                raise NumberTaken(sequence, number, owner, holder=owner, held=int(mine))
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
    """A validated NewEvent with its stored and hashed forms computed once."""

    __slots__ = (
        "data",
        "data_text",
        "event",
        "event_id",
        "event_id_param",
        "metadata",
        "metadata_text",
        "occurred_at",
        "occurred_at_param",
        "occurred_at_text",
    )

    def __init__(self, event: NewEvent, backend: Backend) -> None:
        occurred_at = event.occurred_at
        if type(occurred_at) is not datetime or occurred_at.utcoffset() is None:
            check_aware(occurred_at, f"occurred_at of event {event.event_id}")
        # The data is checked again: a dict can change after the event was made.
        earlier = take_canonical(event)
        try:
            if earlier is None:
                self.data_text, self.data = canonicalise(event.data, "data")
                self.metadata_text, self.metadata = canonicalise(event.metadata, "metadata")
            else:
                self.data_text, self.data = recanonicalise(event.data, earlier[0], "data")
                self.metadata_text, self.metadata = recanonicalise(
                    event.metadata, earlier[1], "metadata"
                )
        except InvalidEvent as exc:
            raise InvalidEvent(f"event {event.event_id}: {exc}") from None
        self.event = event
        self.event_id = str(event.event_id)
        occurred_at = occurred_at.astimezone(UTC)
        self.occurred_at = occurred_at
        self.occurred_at_text = occurred_at.isoformat(timespec="microseconds")
        self.event_id_param: Any = backend.uuid_param(event.event_id)
        self.occurred_at_param: Any = backend.datetime_param(occurred_at, self.occurred_at_text)


class _StoredRow:
    """A stored event, with its stored data and metadata texts (to compare with a retry)."""

    __slots__ = ("data_text", "metadata_text", "record")

    def __init__(self, record: StoredEvent, data_text: str, metadata_text: str) -> None:
        self.record = record
        self.data_text = data_text
        self.metadata_text = metadata_text


def _chain(
    stream_id: str,
    version: int,
    prev_hash: str,
    position: int,
    prepared: list[_Prepared],
    backend: Backend,
) -> tuple[list[StoredEvent], list[tuple[Any, ...]]]:
    """The records of a batch appended after (version, prev_hash, position), and its rows."""
    recorded_at = datetime.now(UTC)
    recorded_text = recorded_at.isoformat(timespec="microseconds")
    recorded_param = backend.datetime_param(recorded_at, recorded_text)
    records: list[StoredEvent] = []
    rows: list[tuple[Any, ...]] = []
    for prep in prepared:
        new = prep.event
        position += 1
        version += 1
        digest = chain_hash(
            position,
            prep.event_id,
            stream_id,
            version,
            new.event_type,
            new.schema_version,
            prep.occurred_at_text,
            recorded_text,
            new.actor_id,
            new.actor_role,
            prep.data_text,
            prep.metadata_text,
            prev_hash,
        )
        rows.append(
            (
                position,
                prep.event_id_param,
                stream_id,
                version,
                new.event_type,
                new.schema_version,
                prep.occurred_at_param,
                recorded_param,
                new.actor_id,
                new.actor_role,
                prep.data_text,
                prep.metadata_text,
                prev_hash,
                digest,
            )
        )
        records.append(
            stored_event(
                position,
                new.event_id,
                stream_id,
                version,
                new.event_type,
                new.schema_version,
                prep.occurred_at,
                recorded_at,
                new.actor_id,
                new.actor_role,
                prep.data,
                prep.metadata,
                prev_hash,
                digest,
            )
        )
        prev_hash = digest
    return records, rows


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


def _resolve_retry(
    stream_id: str, prepared: list[_Prepared], stored_by_id: dict[UUID, _StoredRow]
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
        stored = row.record
        pairs: dict[str, tuple[object, object]] = {
            "stream_id": (stored.stream_id, stream_id),
            "event_type": (stored.event_type, new.event_type),
            "schema_version": (stored.schema_version, new.schema_version),
            "occurred_at": (stored.occurred_at, item.occurred_at),
            "actor_id": (stored.actor_id, new.actor_id),
            "actor_role": (stored.actor_role, new.actor_role),
            "data": (row.data_text, item.data_text),
            "metadata": (row.metadata_text, item.metadata_text),
        }
        differing = [name for name, (old, value) in pairs.items() if old != value]
        if differing:
            details = []
            for name in differing:
                if name in ("data", "metadata"):
                    details.append(f"{name} differs")
                else:
                    old, value = pairs[name]
                    details.append(f"{name} stored {old!r}, new {value!r}")
            raise EventIdConflict(
                new.event_id,
                "the new event has different content (" + "; ".join(details) + ")",
            )
        records.append(stored)
    versions = [r.version for r in records]
    if versions != list(range(versions[0], versions[0] + len(versions))):
        raise EventIdConflict(
            records[0].event_id,
            "the batch's events are stored, but not as one batch in this order "
            f"(stored versions {versions})",
        )
    return records
