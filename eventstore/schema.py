"""The SQLAlchemy table definitions of the event store.

These are the models Alembic's migrations must match (a test compares them).
The store never creates tables itself: run :func:`eventstore.migrate` first.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

from eventstore.errors import InvalidEvent

EVENTS_TABLE = "events"
VERSION_TABLE = "eventstore_alembic_version"
"""Alembic's version table for this package, so other packages can keep their own."""


class UTCDateTime(sa.TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend.

    PostgreSQL stores ``timestamptz``. SQLite has no time zones, so the value is
    converted to UTC and stored without an offset, then marked UTC again when read.
    Naive datetimes are refused on the way in.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise InvalidEvent(f"naive datetime {value!r}; a timezone-aware one is required")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


metadata = sa.MetaData()

events = sa.Table(
    EVENTS_TABLE,
    metadata,
    sa.Column(
        "position",
        sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
        primary_key=True,
        autoincrement=False,
        comment="global order, 1, 2, 3, ... allocated as max+1 while writers are serialised",
    ),
    sa.Column("event_id", sa.Uuid(), nullable=False),
    sa.Column("stream_id", sa.String(200), nullable=False),
    sa.Column("version", sa.Integer(), nullable=False),
    sa.Column("event_type", sa.String(200), nullable=False),
    sa.Column("schema_version", sa.Integer(), nullable=False),
    sa.Column("occurred_at", UTCDateTime(), nullable=False),
    sa.Column("recorded_at", UTCDateTime(), nullable=False),
    sa.Column("actor_id", sa.String(200), nullable=False),
    sa.Column("actor_role", sa.String(100), nullable=False),
    sa.Column("data", sa.Text(), nullable=False, comment="canonical JSON"),
    sa.Column("metadata", sa.Text(), nullable=False, comment="canonical JSON"),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
    sa.UniqueConstraint("event_id", name="uq_events_event_id"),
    sa.UniqueConstraint("stream_id", "version", name="uq_events_stream_id_version"),
    sa.CheckConstraint("position > 0", name="ck_events_position_positive"),
    sa.CheckConstraint("version > 0", name="ck_events_version_positive"),
    sa.CheckConstraint("schema_version > 0", name="ck_events_schema_version_positive"),
)

COLUMN_NAMES: tuple[str, ...] = tuple(c.name for c in events.columns)
"""Every stored column, in table order."""

SEQUENCES_TABLE = "sequence_allocations"

sequence_allocations = sa.Table(
    SEQUENCES_TABLE,
    metadata,
    sa.Column("sequence", sa.String(50), primary_key=True),
    sa.Column(
        "number",
        sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
        primary_key=True,
        autoincrement=False,
    ),
    sa.Column("owner", sa.String(200), nullable=False),
    sa.Column("allocated_at", UTCDateTime(), nullable=False),
    sa.UniqueConstraint("sequence", "owner", name="uq_sequence_allocations_owner"),
    sa.CheckConstraint("number > 0", name="ck_sequence_allocations_number_positive"),
    comment="gap-free numbers (e.g. PCD references), one per owner, never reused",
)
