"""Alembic environment for the application's tables (not the event store's).

Run through `ratify.infra.db.migrate_app`, which passes an open connection. Only tables on
`ratify.infra.db.metadata` are considered, so the event store's tables are left alone.
"""

from typing import Any

from alembic import context

import ratify.services.identity.oidc_subjects
import ratify.services.identity.tables
import ratify.services.projections.tables  # noqa: F401
from ratify.infra.db import VERSION_TABLE, metadata

config = context.config
OWN_TABLES = set(metadata.tables)


def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
    if type_ == "table":
        return name in OWN_TABLES
    return True


connection = config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run these migrations through ratify.infra.db.migrate_app")
context.configure(
    connection=connection,
    target_metadata=metadata,
    version_table=VERSION_TABLE,
    include_name=include_name,
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
