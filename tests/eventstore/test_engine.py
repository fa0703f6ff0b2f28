"""Engine set-up: SQLite pragmas and BEGIN IMMEDIATE, PostgreSQL driver choice."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import sqlalchemy as sa

from eventstore import (
    ConcurrencyConflict,
    EngineNotConfigured,
    EventStore,
    create_engine_for,
    migrate,
)
from eventstore.engine import write_engine

from .helpers import new_event


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'engine.db'}"
    migrate(url)
    return url


def test_sqlite_connections_use_wal_normal_sync_and_busy_timeout(sqlite_url: str) -> None:
    engine = create_engine_for(sqlite_url, sqlite_busy_timeout_ms=1234)
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 1234
    finally:
        engine.dispose()


def test_appends_run_in_begin_immediate_and_reads_in_deferred_begin(sqlite_url: str) -> None:
    """What SQLite itself is asked to run (its trace callback: the store's hot paths use
    the DBAPI connection directly, so SQLAlchemy's cursor events would not see them)."""
    store = EventStore.from_url(sqlite_url)
    statements: list[str] = []

    def trace(statement: str) -> None:
        if statement.startswith(("BEGIN", "COMMIT", "ROLLBACK")):
            statements.append(statement)

    def on_checkout(dbapi_connection, connection_record, connection_proxy) -> None:
        dbapi_connection.set_trace_callback(trace)

    sa.event.listen(store.engine, "checkout", on_checkout)
    try:
        store.append("s", 0, [new_event()])
        assert statements == ["BEGIN IMMEDIATE", "COMMIT"]
        store.read_all()
        assert statements == ["BEGIN IMMEDIATE", "COMMIT", "BEGIN", "COMMIT"]
        with pytest.raises(ConcurrencyConflict):
            store.append("s", 0, [new_event()])
        assert statements[4:] == ["BEGIN IMMEDIATE", "ROLLBACK"]
    finally:
        sa.event.remove(store.engine, "checkout", on_checkout)
        store.close()


def test_write_transaction_holds_the_write_lock_from_begin(sqlite_url: str) -> None:
    """A second writer waits at BEGIN IMMEDIATE even before the first has written."""
    first = create_engine_for(sqlite_url)
    second = create_engine_for(sqlite_url, sqlite_busy_timeout_ms=50)
    try:
        with write_engine(first).begin():
            # Readers are not blocked (WAL) ...
            with second.connect() as conn:
                assert conn.execute(sa.text("SELECT count(*) FROM events")).scalar() == 0
            # ... but another write transaction cannot even begin.
            with (
                pytest.raises(sa.exc.OperationalError, match="database is locked"),
                write_engine(second).begin(),
            ):
                pass
        with write_engine(second).begin():
            pass  # free again after the first committed
    finally:
        first.dispose()
        second.dispose()


def test_a_reader_sees_one_snapshot_within_its_transaction(sqlite_url: str) -> None:
    store = EventStore.from_url(sqlite_url)
    try:
        with store.engine.connect() as conn, conn.begin():
            count = sa.text("SELECT count(*) FROM events")
            assert conn.execute(count).scalar() == 0
            writer = threading.Thread(target=store.append, args=("s", 0, [new_event()]))
            writer.start()
            writer.join()
            assert conn.execute(count).scalar() == 0  # repeatable read inside the transaction
        assert len(store.read_all()) == 1
    finally:
        store.close()


def test_plain_sqlite_engines_are_refused(sqlite_url: str) -> None:
    engine = sa.create_engine(sqlite_url)
    try:
        with pytest.raises(EngineNotConfigured, match="create_engine_for"):
            EventStore(engine)
    finally:
        engine.dispose()


def test_postgresql_urls_get_the_psycopg_driver() -> None:
    engine = create_engine_for("postgresql://someone@db.invalid/ratify")
    assert engine.dialect.driver == "psycopg"
    engine.dispose()


def test_unsupported_databases_are_refused() -> None:
    with pytest.raises(ValueError, match="unsupported database 'mysql'"):
        create_engine_for("mysql://someone@db.invalid/ratify")
