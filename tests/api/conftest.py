"""The HTTP API against a real stack: time-skipping Temporal, a worker, SQLite, tokens."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest_asyncio
from fastapi import FastAPI
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from domain.roles import Role
from eventstore import EventStore, create_engine_for
from ratify.http.services import HttpServices
from ratify.infra.db import migrate_all
from ratify.infra.devserver import bin_path
from ratify.processes.app import build_app
from ratify.processes.worker import build_worker
from ratify.services.identity.directory import Directory
from ratify.services.projections.projector import Projector
from tests.keys import signer
from workflows import messages as m

PEOPLE: dict[str, tuple[str, list[Role]]] = {
    "ollie.lane": ("Ollie Lane", [Role.ORIGINATING_OFFICER]),
    "sam.sec": ("Sam Secretariat", [Role.BOARD_SECRETARIAT]),
    "fran.fin": ("Fran Finance", [Role.FINANCE_ADVISER]),
    "lee.legal": ("Lee Legal", [Role.LEGAL_ADVISER]),
    "eve.eq": ("Eve Equalities", [Role.EQUALITIES_ADVISER]),
    "cat.com": ("Cat Commercial", [Role.COMMERCIAL_ADVISER]),
    "ian.ia": ("Ian Assurance", [Role.INFORMATION_ASSURANCE_ADVISER]),
    "rl.ceo": ("R Laurence", [Role.CHIEF_EXECUTIVE]),
    "sl.dmpc": ("Sophie Linden", [Role.DMPC]),
    "pat.pub": ("Pat Publication", [Role.PUBLICATION_OFFICER]),
    "aud.ann": ("Ann Auditor", [Role.AUDITOR, Role.PART2_CLEARANCE]),
    "aud.bob": ("Bob Auditor (no Part 2 clearance)", [Role.AUDITOR]),
    "no.body": ("No Clearance", [Role.DRAFTING_OFFICER]),
}


@dataclass
class Api:
    http: httpx.AsyncClient
    tokens: dict[str, str]
    store: EventStore
    projector: Projector
    env: WorkflowEnvironment
    directory: Directory
    #: The ASGI app itself (schemathesis loads its schema from it).
    app: FastAPI

    def auth(self, user: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[user]}"}

    async def post(self, user: str | None, url: str, body: Any = None, **kw: Any) -> httpx.Response:
        headers = self.auth(user) if user else {}
        return await self.http.post(url, json=body, headers=headers, **kw)

    async def get(self, user: str | None, url: str, **kw: Any) -> httpx.Response:
        self.projector.catch_up()
        headers = self.auth(user) if user else {}
        return await self.http.get(url, headers=headers, **kw)


@contextlib.asynccontextmanager
async def api_stack(
    tmp_path: Path,
    people: dict[str, tuple[str, list[Role]]] = PEOPLE,
    *,
    raise_app_exceptions: bool = True,
) -> AsyncIterator[Api]:
    """The stack: a migrated SQLite store, the people with a token each, the time-skipping
    server, a worker, and the app behind an in-process HTTP client. With
    `raise_app_exceptions=False` an unhandled error comes back as the 500 a real server
    sends, instead of raising in the test."""
    url = f"sqlite:///{tmp_path / 'ratify.db'}"
    migrate_all(url)
    store = EventStore.from_url(url)
    engine = create_engine_for(url)
    directory = Directory(engine)
    tokens = {}
    for user_id, (name, roles) in people.items():
        directory.add_user(user_id, name, roles)
        tokens[user_id] = directory.create_token(user_id, "tests")[1]
    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=pydantic_data_converter,
        test_server_existing_path=bin_path("temporal-test-server"),
        test_server_startup_timeout=timedelta(seconds=60),
        interceptors=[signer()],
    )
    task_queue = f"api-{uuid.uuid4().hex[:8]}"
    services = HttpServices(
        store=store,
        engine=engine,
        client=env.client,
        directory=directory,
        workflow_settings=m.Settings(),
        task_queue=task_queue,
    )
    app = build_app(services)
    try:
        async with build_worker(env.client, store, task_queue=task_queue):
            transport = httpx.ASGITransport(app=app, raise_app_exceptions=raise_app_exceptions)
            async with httpx.AsyncClient(
                transport=transport, base_url="http://ratify", timeout=60
            ) as http:
                yield Api(
                    http=http,
                    tokens=tokens,
                    store=store,
                    projector=Projector(store, engine),
                    env=env,
                    directory=directory,
                    app=app,
                )
    finally:
        await env.shutdown()
        store.close()
        engine.dispose()


@pytest_asyncio.fixture(loop_scope="session")
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    async with api_stack(tmp_path) as stack:
        yield stack
