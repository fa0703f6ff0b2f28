"""Engine creation: SQLite pragmas and transaction control, PostgreSQL driver choice.

SQLite engines made here run every connection in WAL mode with
``synchronous=NORMAL`` and a ``busy_timeout``, and take transaction control away
from Python's ``sqlite3`` driver using SQLAlchemy's documented recipe for
Python < 3.12 ("Using SQLAlchemy to emit BEGIN in lieu of SQLite's transaction
control"): the driver's ``isolation_level`` is set to ``None`` and a ``begin``
event listener emits ``BEGIN`` itself. Connections carrying the execution option
``eventstore_write=True`` (see :data:`WRITE_OPTION`) get ``BEGIN IMMEDIATE``, so a
writer takes SQLite's write lock before it reads the values it will build on
(it never has to upgrade a read lock, which would fail with "database is locked"
instead of waiting); readers get a plain deferred ``BEGIN`` and, in WAL mode, a
consistent snapshot that never blocks writers.

``postgresql://`` URLs without a driver are given the psycopg 3 driver.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.pool import StaticPool

WRITE_OPTION = "eventstore_write"
"""Execution option that makes a SQLite transaction start with ``BEGIN IMMEDIATE``."""

DEFAULT_BUSY_TIMEOUT_MS = 10_000


def create_engine_for(
    url: str | URL,
    *,
    sqlite_busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS,
    **engine_kwargs: Any,
) -> Engine:
    """Create an engine suitable for :class:`eventstore.EventStore`.

    ``url`` is a SQLAlchemy URL: ``sqlite:///path/to/file.db`` or
    ``postgresql+psycopg://user@host/db`` (plain ``postgresql://`` means psycopg 3).
    Extra keyword arguments go to :func:`sqlalchemy.create_engine`.

    An in-memory SQLite URL gives an engine with a single shared connection
    (no WAL, no concurrency): only for quick experiments.
    """
    parsed = make_url(url)
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if parsed.database in (None, "", ":memory:"):
            engine_kwargs.setdefault("poolclass", StaticPool)
            engine_kwargs.setdefault("connect_args", {"check_same_thread": False})
        engine = sa.create_engine(parsed, **engine_kwargs)
        configure_sqlite_engine(engine, busy_timeout_ms=sqlite_busy_timeout_ms)
        return engine
    if backend == "postgresql":
        engine_kwargs.setdefault("pool_pre_ping", True)
        return sa.create_engine(parsed, **engine_kwargs)
    raise ValueError(f"unsupported database {backend!r}: use sqlite or postgresql")


def configure_sqlite_engine(engine: Engine, *, busy_timeout_ms: int) -> None:
    """Install the pragmas and the BEGIN / BEGIN IMMEDIATE listeners on a new engine.

    Must be called before the engine opens its first connection.
    """
    if not isinstance(busy_timeout_ms, int) or busy_timeout_ms < 0:
        raise ValueError(f"busy_timeout_ms must be an int >= 0, not {busy_timeout_ms!r}")

    def on_connect(dbapi_connection: Any, connection_record: Any) -> None:
        # Stop the sqlite3 driver from emitting BEGIN (and its implicit COMMITs);
        # _on_begin emits BEGIN instead. COMMIT/ROLLBACK still go through the driver.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {busy_timeout_ms:d}")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.execute("PRAGMA foreign_keys = ON")
        finally:
            cursor.close()

    event.listen(engine, "connect", on_connect)
    event.listen(engine, "begin", _on_begin)


def _on_begin(conn: Connection) -> None:
    if conn.get_execution_options().get(WRITE_OPTION):
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        conn.exec_driver_sql("BEGIN")


def is_configured_sqlite_engine(engine: Engine) -> bool:
    """True if ``engine`` has the transaction control installed by this module."""
    return event.contains(engine, "begin", _on_begin)


def write_engine(engine: Engine) -> Engine:
    """A view of ``engine`` (same pool) whose transactions are write transactions."""
    return engine.execution_options(**{WRITE_OPTION: True})
