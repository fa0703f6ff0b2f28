"""The projections' migration (branch `projections`) creates exactly the tables of the models."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Engine

from eventstore.engine import write_engine
from ratify.infra.db import VERSION_TABLE, alembic_config, metadata, migrate_app
from ratify.services.projections import tables

PROJECTION_TABLES = {t.name for t in (*tables.VIEW_TABLES, tables.projection_positions)}


def test_every_projection_table_is_on_the_shared_metadata():
    assert set(metadata.tables) >= PROJECTION_TABLES


def test_migrated_schema_matches_the_models(engine: Engine):
    mine = sa.MetaData()
    for name in sorted(PROJECTION_TABLES):
        table = metadata.tables[name].to_metadata(mine)
        if engine.dialect.name != "postgresql":
            for index in [i for i in table.indexes if i.name in tables.POSTGRESQL_ONLY_INDEXES]:
                table.indexes.discard(index)

    def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
        return type_ != "table" or name in PROJECTION_TABLES

    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn,
            opts={
                "version_table": VERSION_TABLE,
                "compare_type": True,
                "include_name": include_name,
            },
        )
        assert compare_metadata(context, mine) == []


def _downgrade(engine: Engine, revision: str) -> None:
    with write_engine(engine).begin() as connection:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def test_the_branch_downgrades_alone_and_upgrades_again(engine: Engine):
    def names() -> set[str]:
        return set(sa.inspect(engine).get_table_names())

    assert names() >= PROJECTION_TABLES
    _downgrade(engine, "projections@base")
    assert not PROJECTION_TABLES & names()
    assert "events" in names()  # the event store and the other branches are left alone
    migrate_app(engine)
    assert names() >= PROJECTION_TABLES
    migrate_app(engine)  # at head already: nothing to do
