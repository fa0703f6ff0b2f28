"""Schema migrations: run the package's Alembic scripts programmatically.

The Alembic configuration is built in code (no ``alembic.ini`` needed); the
scripts live in ``eventstore/migrations``. The package keeps its own version
table (``eventstore_alembic_version``) so that other packages can migrate the
same database with their own Alembic history.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import URL, Engine

from eventstore.engine import create_engine_for, write_engine
from eventstore.schema import VERSION_TABLE

_Action = Callable[[Config], None]

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config() -> Config:
    """An Alembic ``Config`` pointing at this package's migration scripts."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("version_table", VERSION_TABLE)
    return config


def migrate(url_or_engine: str | URL | Engine, revision: str = "head") -> None:
    """Upgrade the database to ``revision`` (default: the newest), from empty if need be."""
    _run(url_or_engine, lambda config: command.upgrade(config, revision))


def downgrade(url_or_engine: str | URL | Engine, revision: str = "base") -> None:
    """Downgrade the database to ``revision`` (default: ``base``, dropping every table)."""
    _run(url_or_engine, lambda config: command.downgrade(config, revision))


def current_revision(url_or_engine: str | URL | Engine) -> str | None:
    """The revision the database is at, or ``None`` if it was never migrated."""
    engine, owned = _engine(url_or_engine)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
            return context.get_current_revision()
    finally:
        if owned:
            engine.dispose()


def _engine(url_or_engine: str | URL | Engine) -> tuple[Engine, bool]:
    if isinstance(url_or_engine, Engine):
        return url_or_engine, False
    return create_engine_for(url_or_engine), True


def _run(url_or_engine: str | URL | Engine, action: _Action) -> None:
    engine, owned = _engine(url_or_engine)
    try:
        # One transaction for the whole run (a write transaction on SQLite).
        with write_engine(engine).begin() as connection:
            config = alembic_config()
            config.attributes["connection"] = connection
            action(config)
    finally:
        if owned:
            engine.dispose()
