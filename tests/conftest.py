"""Shared fixtures: a fresh, migrated event store per test, on SQLite and on PostgreSQL.

SQLite: a file in ``tmp_path``. PostgreSQL (URL from ``RATIFY_TEST_PG_URL``): the
schema is migrated once per session into a template database, and each test gets
``CREATE DATABASE ... TEMPLATE`` of it, dropped afterwards. An unreachable server
fails the PostgreSQL tests, unless ``RATIFY_SKIP_POSTGRES=1`` skips them.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import NullPool

from eventstore import EventStore, migrate

DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def _admin_engine(url: URL) -> sa.Engine:
    return sa.create_engine(
        url,
        poolclass=NullPool,
        isolation_level="AUTOCOMMIT",
        connect_args={"connect_timeout": 5},
    )


@pytest.fixture(scope="session")
def pg_admin_url() -> URL:
    """URL of the PostgreSQL database used to create and drop the test databases."""
    raw = os.environ.get("RATIFY_TEST_PG_URL", DEFAULT_PG_URL)
    url = make_url(raw)
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    engine = _admin_engine(url)
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except Exception as exc:
        message = (
            f"PostgreSQL is not reachable at {url.render_as_string(hide_password=True)} "
            f"(set RATIFY_TEST_PG_URL, or RATIFY_SKIP_POSTGRES=1 to skip these tests): {exc}"
        )
        if os.environ.get("RATIFY_SKIP_POSTGRES") == "1":
            pytest.skip(message)
        pytest.fail(message, pytrace=False)
    finally:
        engine.dispose()
    return url


def _create_database(admin_url: URL, name: str, template: str | None = None) -> URL:
    engine = _admin_engine(admin_url)
    try:
        with engine.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            suffix = f' TEMPLATE "{template}"' if template else ""
            conn.execute(sa.text(f'CREATE DATABASE "{name}"{suffix}'))
    finally:
        engine.dispose()
    return admin_url.set(database=name)


def _drop_database(admin_url: URL, name: str) -> None:
    engine = _admin_engine(admin_url)
    try:
        with engine.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def pg_template(pg_admin_url: URL) -> Iterator[str]:
    """Name of a database migrated to head, to copy for each test."""
    name = f"ratify_tpl_{os.getpid()}"
    url = _create_database(pg_admin_url, name)
    migrate(url)
    yield name
    _drop_database(pg_admin_url, name)


@pytest.fixture
def pg_migrated_database(pg_admin_url: URL, pg_template: str) -> Iterator[URL]:
    """A fresh PostgreSQL database for one test, copied from the migrated template."""
    yield from _temporary_database(pg_admin_url, template=pg_template)


@pytest.fixture
def pg_empty_database(pg_admin_url: URL) -> Iterator[URL]:
    """A fresh, empty PostgreSQL database for one test."""
    yield from _temporary_database(pg_admin_url, template=None)


def _temporary_database(admin_url: URL, template: str | None) -> Iterator[URL]:
    name = f"ratify_t_{uuid.uuid4().hex[:16]}"
    url = _create_database(admin_url, name, template=template)
    try:
        yield url
    finally:
        _drop_database(admin_url, name)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The backend under test: every contract test runs once per backend."""
    return str(request.param)


@pytest.fixture
def database_url(request: pytest.FixtureRequest, backend: str, tmp_path: Path) -> URL:
    """URL of a fresh database of the current backend, migrated to head."""
    if backend == "sqlite":
        sqlite_url = make_url(f"sqlite:///{tmp_path / 'events.db'}")
        migrate(sqlite_url)
        return sqlite_url
    url: URL = request.getfixturevalue("pg_migrated_database")
    return url


@pytest.fixture
def empty_database_url(request: pytest.FixtureRequest, backend: str, tmp_path: Path) -> URL:
    """URL of a fresh, empty (never migrated) database of the current backend."""
    if backend == "sqlite":
        return make_url(f"sqlite:///{tmp_path / 'empty.db'}")
    url: URL = request.getfixturevalue("pg_empty_database")
    return url


@pytest.fixture
def store(database_url: URL) -> Iterator[EventStore]:
    """An EventStore on a fresh, migrated database of the current backend."""
    event_store = EventStore.from_url(database_url)
    yield event_store
    event_store.close()
