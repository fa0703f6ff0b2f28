"""Fixtures for the projection tests: one database (both backends) holding the event store
and the application's tables, an EventStore on it, and a projector."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.engine import URL, Engine

from eventstore import EventStore, create_engine_for
from ratify.infra.db import migrate_app
from ratify.services.projections.projector import Projector


@pytest.fixture
def engine(database_url: URL) -> Iterator[Engine]:
    """The test database, with the event store and the application's tables migrated."""
    engine = create_engine_for(database_url)
    migrate_app(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def store(engine: Engine) -> EventStore:
    """The event store on the same engine as the projections."""
    return EventStore(engine)


@pytest.fixture
def projector(store: EventStore, engine: Engine) -> Projector:
    return Projector(store, engine)
