"""The application's own tables (identity, projections) and their migrations.

They live in the same database as the event store but have their own Alembic history
(`ratify/infra/migrations`, version table `ratify_alembic_version`), with one branch per concern,
so `migrate_all(url)` upgrades the event store and then every branch here to its head.
Modules that define tables put them on `metadata` and import it from here.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import URL, Engine

from eventstore import create_engine_for, migrate
from eventstore.engine import write_engine

VERSION_TABLE = "ratify_alembic_version"
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

metadata = sa.MetaData()


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("version_table", VERSION_TABLE)
    return config


def migrate_app(url_or_engine: str | URL | Engine) -> None:
    """Upgrade the application's tables (every branch) to their heads."""
    if isinstance(url_or_engine, Engine):
        engine, owned = url_or_engine, False
    else:
        engine, owned = create_engine_for(url_or_engine), True
    try:
        with write_engine(engine).begin() as connection:
            config = alembic_config()
            config.attributes["connection"] = connection
            command.upgrade(config, "heads")
    finally:
        if owned:
            engine.dispose()


def migrate_all(url: str | URL) -> None:
    """The event store, then the application's tables: a database ready for Ratify."""
    migrate(url)
    migrate_app(url)
