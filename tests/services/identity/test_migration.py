"""The identity migration: its own Alembic branch, matching the models, reversible."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import URL

from eventstore import create_engine_for
from eventstore.engine import write_engine
from ratify.infra.db import VERSION_TABLE, alembic_config, metadata, migrate_app
from ratify.services.identity import oidc_subjects, tables

IDENTITY_TABLES = {
    t.name
    for t in (
        tables.users,
        tables.user_roles,
        tables.role_grants,
        tables.delegations,
        tables.api_tokens,
        tables.sessions,
        tables.sign_in_failures,
        oidc_subjects.oidc_subjects,
    )
}


def only_identity(obj: Any, name: str | None, type_: str, reflected: bool, other: Any) -> bool:
    table = name if type_ == "table" else getattr(getattr(obj, "table", None), "name", None)
    return table in IDENTITY_TABLES


def test_identity_is_its_own_branch() -> None:
    script = ScriptDirectory.from_config(alembic_config())
    head = script.get_revision("identity@head")
    assert head is not None and head.revision == "i0004"
    # The branch starts at i0001 and every later identity revision stays on it.
    chain = [r.revision for r in script.iterate_revisions(head.revision, "base")]
    assert chain == ["i0004", "i0003", "i0002", "i0001"]
    base = script.get_revision("i0001")
    assert base is not None and base.down_revision is None
    assert "identity" in base.branch_labels


def test_migrated_schema_matches_the_models(app_url: URL) -> None:
    engine = create_engine_for(app_url)
    try:
        assert set(sa.inspect(engine).get_table_names()) >= IDENTITY_TABLES
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn,
                opts={
                    "version_table": VERSION_TABLE,
                    "compare_type": True,
                    "include_object": only_identity,
                },
            )
            assert compare_metadata(context, metadata) == []
    finally:
        engine.dispose()


def test_downgrade_and_upgrade_again(app_url: URL) -> None:
    engine = create_engine_for(app_url)
    try:
        with write_engine(engine).begin() as conn:
            config = alembic_config()
            config.attributes["connection"] = conn
            command.downgrade(config, "identity@base")
        names = set(sa.inspect(engine).get_table_names())
        assert not IDENTITY_TABLES & names and "events" in names
        migrate_app(engine)
        assert set(sa.inspect(engine).get_table_names()) >= IDENTITY_TABLES
    finally:
        engine.dispose()


def test_roles_held_before_the_history_of_roles_are_backfilled_as_held_since_ever(
    app_url: URL,
) -> None:
    engine = create_engine_for(app_url)
    try:
        with write_engine(engine).begin() as conn:
            config = alembic_config()
            config.attributes["connection"] = conn
            command.downgrade(config, "i0003")
            conn.execute(
                sa.text(
                    "INSERT INTO users (id, name, active, created_at) "
                    "VALUES ('sl.dmpc', 'Sophie Linden', :yes, :at)"
                ),
                {"yes": True, "at": "2019-01-01 00:00:00+00:00"},
            )
            conn.execute(sa.text("INSERT INTO user_roles VALUES ('sl.dmpc', 'dmpc')"))
            command.upgrade(config, "identity@head")
            rows = conn.execute(
                sa.select(tables.role_grants.c.user_id, tables.role_grants.c.role)
                .where(tables.role_grants.c.held_from.is_(None))
                .where(tables.role_grants.c.held_until.is_(None))
            ).all()
        assert [tuple(r) for r in rows] == [("sl.dmpc", "dmpc")]
    finally:
        engine.dispose()
