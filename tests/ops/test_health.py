"""The health endpoints tell the truth: /readyz names what is down, /healthz stays 200."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest_asyncio
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from eventstore import EventStore, create_engine_for
from ratify.api.app import create_app
from ratify.http.services import HttpServices
from ratify.infra.db import migrate_all
from ratify.infra.devserver import bin_path
from ratify.infra.observability.metrics import free_loopback_port
from ratify.services.identity.directory import Directory
from workflows import messages as m


def _app(url: str, client: Client) -> httpx.AsyncClient:
    engine = create_engine_for(url)
    services = HttpServices(
        store=EventStore(engine),
        engine=engine,
        client=client,
        directory=Directory(engine),
        workflow_settings=m.Settings(),
    )
    transport = httpx.ASGITransport(app=create_app(services))
    return httpx.AsyncClient(transport=transport, base_url="http://ratify")


@pytest_asyncio.fixture(loop_scope="session")
async def temporal() -> AsyncIterator[Client]:
    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=pydantic_data_converter,
        test_server_existing_path=bin_path("temporal-test-server"),
        test_server_startup_timeout=timedelta(seconds=60),
    )
    try:
        yield env.client
    finally:
        await env.shutdown()


async def _unreachable_temporal() -> Client:
    """A client of a port where nothing listens (lazy: it would fail to connect)."""
    return await Client.connect(f"127.0.0.1:{free_loopback_port()}", lazy=True)


async def test_ready_when_the_database_and_temporal_answer(tmp_path: Path, temporal: Client):
    url = f"sqlite:///{tmp_path / 'ratify.db'}"
    migrate_all(url)
    async with _app(url, temporal) as http:
        r = await http.get("/readyz")
        assert r.status_code == 200 and r.json() == {"database": "ok", "temporal": "ok"}


async def test_not_ready_naming_the_database_when_it_cannot_be_reached(temporal: Client):
    # PostgreSQL on a loopback port where nothing listens: refused at once.
    url = f"postgresql+psycopg://ratify@127.0.0.1:{free_loopback_port()}/ratify"
    async with _app(url, temporal) as http:
        r = await http.get("/readyz")
        assert r.status_code == 503
        body = r.json()
        assert body["temporal"] == "ok"
        assert body["database"].startswith("down: ") and "OperationalError" in body["database"]
        # Alive all the same: the orchestrator must not restart it for someone else's outage.
        assert (await http.get("/healthz")).status_code == 200


async def test_not_ready_naming_temporal_when_it_cannot_be_reached(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'ratify.db'}"
    migrate_all(url)
    async with _app(url, await _unreachable_temporal()) as http:
        r = await http.get("/readyz")
        assert r.status_code == 503
        body = r.json()
        assert body["database"] == "ok"
        assert body["temporal"].startswith("down: ")
        assert (await http.get("/healthz")).json() == {"status": "ok"}


async def test_not_ready_when_temporal_stops_after_the_start(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'ratify.db'}"
    migrate_all(url)
    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=pydantic_data_converter,
        test_server_existing_path=bin_path("temporal-test-server"),
        test_server_startup_timeout=timedelta(seconds=60),
    )
    async with _app(url, env.client) as http:
        assert (await http.get("/readyz")).status_code == 200
        await env.shutdown()
        r = await http.get("/readyz")
        assert r.status_code == 503 and r.json()["temporal"].startswith("down: ")
        assert (await http.get("/healthz")).status_code == 200
