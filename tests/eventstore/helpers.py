"""Helpers shared by the event store tests: event factories and raw SQL access."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from eventstore import EventStore, NewEvent
from eventstore.schema import COLUMN_NAMES

T0 = datetime(2024, 4, 1, 9, 30, 15, 123456, tzinfo=UTC)

RAW_COLUMNS = ", ".join(f'"{name}"' for name in COLUMN_NAMES)


def new_event(**overrides: Any) -> NewEvent:
    fields: dict[str, Any] = {
        "event_id": uuid.uuid4(),
        "event_type": "DecisionDrafted",
        "schema_version": 1,
        "occurred_at": T0,
        "actor_id": "user-17",
        "actor_role": "drafting_officer",
        "data": {"title": "Budget 2024/25", "amount": "1250000.00"},
        "metadata": {"correlation_id": "c-1"},
    }
    fields.update(overrides)
    return NewEvent(**fields)


def populate(store: EventStore, streams: int = 3, per_stream: int = 4) -> None:
    """Append ``per_stream`` events to each of ``streams`` streams, interleaved."""
    for version in range(per_stream):
        for s in range(streams):
            store.append(
                f"stream-{s}",
                version,
                [
                    new_event(
                        occurred_at=T0 + timedelta(minutes=version),
                        data={"n": version, "s": s, "text": "Überprüfung ✓"},
                    )
                ],
            )


def raw_rows(
    store: EventStore, where: str = "", params: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """Rows exactly as stored (no type conversion), in position order."""
    sql = f"SELECT {RAW_COLUMNS} FROM events {where} ORDER BY position"
    with store.engine.connect() as conn:
        return [dict(r) for r in conn.execute(sa.text(sql), params or {}).mappings()]


def execute(store: EventStore, sql: str, params: dict[str, Any] | None = None) -> None:
    """Run raw SQL in its own transaction (as a tamperer with database access would)."""
    with store.engine.begin() as conn:
        conn.execute(sa.text(sql), params or {})


def stored_uuid(store: EventStore, value: uuid.UUID) -> Any:
    """``value`` in the form the backend stores a UUID column."""
    return value.hex if store.engine.dialect.name == "sqlite" else value


def stored_datetime(store: EventStore, value: datetime) -> Any:
    """``value`` in the form the backend stores a timestamp column."""
    if store.engine.dialect.name == "sqlite":
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    return value


def as_uuid(raw: Any) -> uuid.UUID:
    return raw if isinstance(raw, uuid.UUID) else uuid.UUID(raw)
