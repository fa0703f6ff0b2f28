"""Alembic environment for the event store's tables.

Normally run through :func:`eventstore.migrate`, which passes an open connection
in ``config.attributes["connection"]``. Without one, a URL is taken from the
``sqlalchemy.url`` option and an engine made with :func:`eventstore.create_engine_for`.
Only the event store's own tables are considered, so the database may be shared.
"""

from typing import Any

from alembic import context

from eventstore.engine import create_engine_for, write_engine
from eventstore.schema import VERSION_TABLE, metadata

config = context.config
target_metadata = metadata
OWN_TABLES = set(metadata.tables)


def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
    if type_ == "table":
        return name in OWN_TABLES
    return True


def _configure(**kwargs: Any) -> None:
    context.configure(
        target_metadata=target_metadata,
        version_table=VERSION_TABLE,
        include_name=include_name,
        compare_type=True,
        **kwargs,
    )


def run_migrations_offline() -> None:
    _configure(url=config.get_main_option("sqlalchemy.url"), literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection=connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no connection given and no sqlalchemy.url configured")
    engine = create_engine_for(url)
    try:
        with write_engine(engine).connect() as connection:
            _configure(connection=connection)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
