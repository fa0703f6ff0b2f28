"""The store's backends, one module per database: :mod:`eventstore.backends.sqlite` and
:mod:`eventstore.backends.postgres`, each a :class:`~eventstore.backends.base.Backend`
(its SQL, its row decoder, its row hasher) with a :class:`~eventstore.rawdb.Database`
subclass (its transactions).
"""

from __future__ import annotations

from sqlalchemy.engine import Engine

from eventstore.backends.base import Backend
from eventstore.backends.postgres import PostgresBackend
from eventstore.backends.sqlite import SqliteBackend
from eventstore.engine import is_configured_sqlite_engine
from eventstore.errors import EngineNotConfigured

BACKENDS: dict[str, type[Backend]] = {
    SqliteBackend.dialect_name: SqliteBackend,
    PostgresBackend.dialect_name: PostgresBackend,
}
"""Each backend by SQLAlchemy's name for its database (``engine.dialect.name``)."""


def backend_for(engine: Engine) -> Backend:
    """The backend for the engine's database.

    Raises :class:`~eventstore.errors.EngineNotConfigured` for a SQLite engine not made by
    :func:`eventstore.create_engine_for`, ``ValueError`` for any other database.
    """
    name = engine.dialect.name
    if name == SqliteBackend.dialect_name:
        if not is_configured_sqlite_engine(engine):
            raise EngineNotConfigured(
                "this SQLite engine was not made by eventstore.create_engine_for(): it lacks "
                "WAL mode and BEGIN IMMEDIATE write transactions"
            )
        return SqliteBackend(engine)
    if name == PostgresBackend.dialect_name:
        return PostgresBackend(engine)
    raise ValueError(f"unsupported database {name!r}: use sqlite or postgresql")


__all__ = ["BACKENDS", "Backend", "backend_for"]
