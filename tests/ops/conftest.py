"""Operating Ratify: an in-process stack like `ratify serve`'s, with the production wiring.

The API app, a worker and the projector on one SQLite file and Temporal's time-skipping
test server, the client instrumented as the process commands instrument theirs (request
context, action metrics; tracing when a test asks). `logs_to(buffer, fmt)` sends the
process's logs through `configure_logging` into a buffer and restores logging afterwards.
"""

from __future__ import annotations

import io
import json
import logging
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest_asyncio
import structlog
from prometheus_client import REGISTRY
from temporalio.client import Client, Interceptor
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from domain.roles import Role
from eventstore import EventStore, create_engine_for
from ratify.http.services import HttpServices
from ratify.infra.db import migrate_all
from ratify.infra.devserver import bin_path
from ratify.infra.observability.interceptors import client_interceptors
from ratify.infra.observability.logs import configure_logging
from ratify.processes.app import build_app
from ratify.processes.worker import build_worker
from ratify.services.identity.directory import Directory
from ratify.services.projections.projector import Projector
from tests import factories as f
from tests.keys import signer
from workflows import messages as m

PEOPLE: dict[str, tuple[str, list[Role]]] = {
    "ollie.lane": ("Ollie Lane", [Role.ORIGINATING_OFFICER]),
    "sam.sec": ("Sam Secretariat", [Role.BOARD_SECRETARIAT]),
    "fran.fin": ("Fran Finance", [Role.FINANCE_ADVISER]),
}


@dataclass
class Stack:
    http: httpx.AsyncClient
    tokens: dict[str, str]
    store: EventStore
    projector: Projector
    env: WorkflowEnvironment
    client: Client

    def auth(self, user: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[user]}"}

    async def post(
        self, user: str, url: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> httpx.Response:
        return await self.http.post(url, json=body, headers={**self.auth(user), **(headers or {})})

    async def new_case(self, headers: dict[str, str] | None = None, **case: Any) -> str:
        case_id = f"case-{uuid.uuid4().hex[:10]}"
        r = await self.post(
            "ollie.lane",
            "/cases",
            {"case": f.case_data(**case), "case_id": case_id},
            headers=headers,
        )
        assert r.status_code == 201, r.text
        return case_id


async def start_stack(
    tmp_path: Path, extra_interceptors: Sequence[Interceptor] = ()
) -> AsyncIterator[Stack]:
    url = f"sqlite:///{tmp_path / 'ratify.db'}"
    migrate_all(url)
    store = EventStore.from_url(url)
    engine = create_engine_for(url)
    directory = Directory(engine)
    tokens = {}
    for user_id, (name, roles) in PEOPLE.items():
        directory.add_user(user_id, name, roles)
        tokens[user_id] = directory.create_token(user_id, "tests")[1]
    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=pydantic_data_converter,
        test_server_existing_path=bin_path("temporal-test-server"),
        test_server_startup_timeout=timedelta(seconds=60),
        interceptors=[signer()],
    )
    # As `ratify.infra.temporal.connect` makes the processes' clients: Ratify's interceptors,
    # then tracing.
    config = env.client.config()
    config["interceptors"] = [
        *config["interceptors"],
        *client_interceptors(),
        *extra_interceptors,
    ]
    client = Client(**config)
    task_queue = f"ops-{uuid.uuid4().hex[:8]}"
    services = HttpServices(
        store=store,
        engine=engine,
        client=client,
        directory=directory,
        workflow_settings=m.Settings(),
        task_queue=task_queue,
    )
    try:
        async with build_worker(client, store, task_queue=task_queue):
            transport = httpx.ASGITransport(app=build_app(services))
            async with httpx.AsyncClient(transport=transport, base_url="http://ratify") as http:
                yield Stack(
                    http=http,
                    tokens=tokens,
                    store=store,
                    projector=Projector(store, engine),
                    env=env,
                    client=client,
                )
    finally:
        await env.shutdown()
        store.close()
        engine.dispose()


@pytest_asyncio.fixture(loop_scope="session")
async def stack(tmp_path: Path) -> AsyncIterator[Stack]:
    async for s in start_stack(tmp_path):
        yield s


@contextmanager
def logs_to(fmt: str = "json") -> Iterator[io.StringIO]:
    """The process's log lines (as `configure_logging` makes them) in a buffer."""
    saved_structlog = structlog.get_config()
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    buffer = io.StringIO()
    configure_logging("json" if fmt == "json" else "console", "INFO", stream=buffer)
    try:
        yield buffer
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in saved_handlers:
            root.addHandler(handler)
        root.setLevel(saved_level)
        structlog.configure(**saved_structlog)


def json_lines(buffer: io.StringIO) -> list[dict[str, Any]]:
    lines = []
    for line in buffer.getvalue().splitlines():
        if line.startswith("{"):
            lines.append(json.loads(line))
    return lines


def sample(name: str, **labels: str) -> float:
    """A metric's current value (0 when the series does not exist yet)."""
    return REGISTRY.get_sample_value(name, labels) or 0.0
