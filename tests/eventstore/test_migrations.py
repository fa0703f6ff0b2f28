"""Migrations from an empty database, on every backend, and the models they must match."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import URL

from eventstore import EventStore, create_engine_for, current_revision, downgrade, migrate
from eventstore.migrate import alembic_config
from eventstore.schema import COLUMN_NAMES, VERSION_TABLE, metadata

from .helpers import new_event


def table_names(url: URL) -> set[str]:
    engine = create_engine_for(url)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_upgrade_from_empty_then_downgrade_to_base(empty_database_url: URL) -> None:
    url = empty_database_url
    assert "events" not in table_names(url)
    assert current_revision(url) is None

    migrate(url)
    assert {"events", VERSION_TABLE} <= table_names(url)
    assert current_revision(url) == "0002"
    assert "sequence_allocations" in table_names(url)
    engine = create_engine_for(url)
    try:
        columns = [c["name"] for c in sa.inspect(engine).get_columns("events")]
        assert sorted(columns) == sorted(COLUMN_NAMES)
        store = EventStore(engine)
        store.append("s", 0, [new_event()])
        assert store.verify_all().ok
    finally:
        engine.dispose()

    migrate(url)  # already at head: nothing to do, data kept
    with EventStore.from_url(url) as store:
        assert len(store.read_all()) == 1

    downgrade(url)
    assert "events" not in table_names(url)
    assert "sequence_allocations" not in table_names(url)
    assert current_revision(url) is None


def test_migrated_schema_matches_the_models(database_url: URL) -> None:
    engine = create_engine_for(database_url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"version_table": VERSION_TABLE, "compare_type": True}
            )
            assert compare_metadata(context, metadata) == []
    finally:
        engine.dispose()


def test_store_does_not_create_tables(empty_database_url: URL) -> None:
    with EventStore.from_url(empty_database_url) as store, pytest.raises(sa.exc.DBAPIError):
        store.append("s", 0, [new_event()])
    assert "events" not in table_names(empty_database_url)


def test_env_py_can_also_connect_from_a_url(empty_database_url: URL) -> None:
    config = alembic_config()
    config.set_main_option(
        "sqlalchemy.url", empty_database_url.render_as_string(hide_password=False)
    )
    command.upgrade(config, "head")
    assert current_revision(empty_database_url) == "0002"
    assert "events" in table_names(empty_database_url)
