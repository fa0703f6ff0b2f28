"""What every backend gives the store: the contract :mod:`eventstore.backends.sqlite` and
:mod:`eventstore.backends.postgres` each fulfil for their database.

In the manner of pyeventsourcing's recorders (one per database behind one abstract
interface, one contract test suite run against each: ``tests/eventstore/test_contract.py``),
the :class:`~eventstore.store.EventStore` facade and :mod:`eventstore.verify` hold the
rules (validation, the hash chain, idempotent retries, what verification reports) and a
:class:`Backend` everything that depends on the database: its SQL, the forms values are
bound and stored in, how an append is serialised, how a stored row is decoded into a
:class:`~eventstore.records.StoredEvent` and how a raw row is hashed for verification.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any, ClassVar
from uuid import UUID

from sqlalchemy.engine import Connection, Engine

from eventstore.rawdb import COLUMNS, EVENTS, Database, Transaction
from eventstore.records import StoredEvent


class Malformed(Exception):
    """A raw row's value is not in the form the backend stores (see :mod:`eventstore.verify`)."""


class Backend(ABC):
    """The store's SQL and stored forms on one database (see the module docstring).

    Make one with :func:`eventstore.backends.backend_for`, which checks the engine.
    ``db`` is the engine used through DBAPI connections (:mod:`eventstore.rawdb`); the
    attributes named like statements hold the statements of the hot paths, in the
    driver's placeholder style.
    """

    database: ClassVar[type[Database]]
    """The :class:`~eventstore.rawdb.Database` subclass for the database's driver."""
    dialect_name: ClassVar[str]
    """SQLAlchemy's name for the database (``engine.dialect.name``)."""
    verify_columns: ClassVar[str]
    """The events table's columns, in table order, as :mod:`eventstore.verify` selects them."""

    def __init__(self, engine: Engine) -> None:
        self.db = db = self.database(engine)
        p = db.param
        tail = f"FROM {EVENTS} WHERE stream_id = {p} ORDER BY version DESC LIMIT 1"
        self.state = (
            f"SELECT (SELECT version {tail}), (SELECT hash {tail}), "
            f'(SELECT max("position") FROM {EVENTS})'
        )
        """The stream's version and head hash and the last position: all an append needs."""
        self.insert = f"INSERT INTO {EVENTS} ({COLUMNS}) VALUES ({db.placeholders(14)})"
        self.read_all = f'SELECT {COLUMNS} FROM {EVENTS} WHERE "position" > {p} ORDER BY "position"'
        self.read_all_limit = f"{self.read_all} LIMIT {p}"
        self.read_stream = f"SELECT {COLUMNS} FROM {EVENTS} WHERE stream_id = {p}"
        self.to_version = f" AND version <= {p}"
        self.as_of = f" AND occurred_at <= {p}"
        self.by_version = " ORDER BY version"
        self.stream_version = f"SELECT max(version) FROM {EVENTS} WHERE stream_id = {p}"
        self.last_position = f'SELECT max("position") FROM {EVENTS}'

    # ------------------------------------------------------------------ append

    @abstractmethod
    def lock_appends(self, tx: Transaction) -> None:
        """Serialise this append transaction with every other (see :mod:`eventstore.store`);
        called first in it, before anything is read."""

    @abstractmethod
    def insert_rows(self, tx: Transaction, rows: list[tuple[Any, ...]]) -> None:
        """Insert a batch's rows (columns in table order, values as bound parameters)."""

    @abstractmethod
    def rows_by_id(self, tx: Transaction, ids: list[UUID]) -> list[Sequence[Any]]:
        """The stored rows (columns in table order) of the events with these ids."""

    @abstractmethod
    def lock_sequences(self, conn: Connection) -> None:
        """Serialise this sequence allocation (a write transaction on ``conn``) with others."""

    # ------------------------------------------------------------------ stored forms

    @staticmethod
    @abstractmethod
    def uuid_param(value: UUID) -> Any:
        """An event id as the backend binds and stores it."""

    @staticmethod
    @abstractmethod
    def datetime_param(value: datetime, text: str) -> Any:
        """A UTC datetime as the backend binds and stores it; ``text`` is its
        ``isoformat(timespec="microseconds")``."""

    @staticmethod
    @abstractmethod
    def decode(row: Sequence[Any]) -> StoredEvent:
        """A stored row (columns in table order, as the driver gives them) as a StoredEvent."""

    # ------------------------------------------------------------------ verification

    @abstractmethod
    def fetch(self, tx: Transaction, query: str, params: Sequence[Any]) -> Iterator[Sequence[Any]]:
        """The rows of ``query``, exactly as the driver returns them, a batch at a time."""

    @staticmethod
    @abstractmethod
    def row_hash(raw: Sequence[Any]) -> str | None:
        """The hash of a raw row (as :attr:`verify_columns` selects it) if its values
        have exactly the stored forms, else None (the row is then decoded value by value
        with :meth:`timestamp` and :meth:`event_id`)."""

    @staticmethod
    @abstractmethod
    def timestamp(name: str, value: object) -> datetime:
        """A raw timestamp column as an aware UTC datetime, or raise :class:`Malformed`."""

    @staticmethod
    @abstractmethod
    def event_id(value: object) -> UUID:
        """A raw event id as a UUID, or raise :class:`Malformed`."""


FETCH_ROWS = 5000
"""Rows fetched at a time by :meth:`Backend.fetch` (PostgreSQL: from a server-side cursor)."""
