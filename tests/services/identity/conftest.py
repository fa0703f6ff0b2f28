"""Fixtures for the identity tests, on SQLite and on PostgreSQL.

Most tests share one migrated database per backend for the session and start from empty
identity tables (deleting four tables' rows costs milliseconds; a fresh PostgreSQL
database costs half a second). The migration tests use a fresh database each
(`database_url` + `migrate_app`). Passwords are hashed with cheap argon2 parameters here
(the production defaults cost tens of milliseconds each); one test checks that hashes made
so are upgraded on sign-in.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher
from sqlalchemy.engine import URL, make_url

from eventstore import create_engine_for, migrate
from eventstore.engine import write_engine
from ratify.infra.db import migrate_app
from ratify.services.identity.directory import Directory
from ratify.services.identity.oidc_subjects import oidc_subjects
from ratify.services.identity.tables import (
    api_tokens,
    delegations,
    role_grants,
    sessions,
    sign_in_failures,
    user_roles,
    users,
)
from tests.conftest import BACKENDS, _temporary_database

FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@pytest.fixture(scope="session", params=BACKENDS)
def shared_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[URL]:
    """One database per backend for the session, with every table migrated."""
    if request.param == "sqlite":
        path: Path = tmp_path_factory.mktemp("identity") / "ratify.db"
        url = make_url(f"sqlite:///{path}")
        migrate(url)
        migrate_app(url)
        yield url
        return
    admin_url: URL = request.getfixturevalue("pg_admin_url")
    for url in _temporary_database(admin_url, request.getfixturevalue("pg_template")):
        migrate_app(url)
        yield url  # the database is dropped when the loop resumes


@pytest.fixture(scope="session")
def shared_engine(shared_url: URL) -> Iterator[sa.Engine]:
    engine = create_engine_for(shared_url)
    yield engine
    engine.dispose()


@pytest.fixture
def identity_url(shared_url: URL, shared_engine: sa.Engine) -> URL:
    """The shared database of the current backend, its identity tables emptied."""
    with write_engine(shared_engine).begin() as conn:
        for table in (
            oidc_subjects,
            sessions,
            sign_in_failures,
            api_tokens,
            delegations,
            role_grants,
            user_roles,
            users,
        ):
            conn.execute(table.delete())
    return shared_url


@pytest.fixture
def engine(identity_url: URL, shared_engine: sa.Engine) -> sa.Engine:
    return shared_engine


@pytest.fixture
def directory(engine: sa.Engine) -> Directory:
    return Directory(engine, hasher=FAST_HASHER)


@pytest.fixture
def app_url(database_url: URL) -> URL:
    """A fresh database with the event store and the application's tables."""
    migrate_app(database_url)
    return database_url
