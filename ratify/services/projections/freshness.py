"""How fresh the read views are: the projector's position, and how far the log is ahead.

The views are as fresh as the projector's position; `lag` says how many stored events they
do not show yet.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from eventstore import EventStore
from ratify.services.projections.tables import CASE_VIEWS, projection_positions


def projection_position(engine: Engine, name: str = CASE_VIEWS) -> int:
    """The position of the last event a projection has applied (0 before any)."""
    query = sa.select(projection_positions.c.position).where(projection_positions.c.name == name)
    with engine.connect() as conn, conn.begin():
        position = conn.execute(query).scalar_one_or_none()
    return int(position or 0)


def lag(engine: Engine, store: EventStore, name: str = CASE_VIEWS) -> int:
    """How many stored events the views do not show yet (0 when they are up to date)."""
    return max(store.last_position() - projection_position(engine, name), 0)
