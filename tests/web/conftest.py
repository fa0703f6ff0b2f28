"""The web pages against a real stack: time-skipping Temporal, a worker, SQLite, passwords.

`stack` builds the app of `build_app` (the API and the pages), users with passwords, and a
session authenticator without the Secure flag (the tests speak plain http). `web` drives it
with httpx, one cookie jar per person, signing in through the sign-in form.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest_asyncio
from argon2 import PasswordHasher
from fastapi import FastAPI
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from eventstore import EventStore, create_engine_for
from ratify.http.auth import Authenticator
from ratify.http.services import HttpServices
from ratify.infra.db import migrate_all
from ratify.infra.devserver import bin_path
from ratify.processes.app import build_app
from ratify.processes.worker import build_worker
from ratify.services.identity.directory import Directory
from ratify.services.projections.projector import Projector
from tests.api.conftest import PEOPLE
from tests.keys import signer
from workflows import messages as m

PASSWORD = "correct horse battery staple"
METTRACE_PATH = Path(__file__).resolve().parents[2] / "examples" / "mettrace.yaml"
METTRACE = METTRACE_PATH.read_text()
#: A phrase of the MetTrace example's Part 2 text: it must never reach the uncleared.
PART2_TEXT = "held separately"

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    """The CSRF token a page's forms carry."""
    found = _CSRF.search(html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


@dataclass
class Stack:
    app: FastAPI
    services: HttpServices
    store: EventStore
    projector: Projector
    env: WorkflowEnvironment
    directory: Directory


@asynccontextmanager
async def stack(tmp_path: Path) -> AsyncIterator[Stack]:
    """The whole service on a fresh SQLite file and time-skipping Temporal, worker running.

    Must run in the event loop that will serve requests (the worker runs in it).
    """
    url = f"sqlite:///{tmp_path / 'ratify.db'}"
    migrate_all(url)
    store = EventStore.from_url(url)
    engine = create_engine_for(url)
    # Cheap hashes: a dozen people sign in per test.
    directory = Directory(
        engine, hasher=PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )
    for user_id, (name, roles) in PEOPLE.items():
        directory.add_user(user_id, name, roles, password=PASSWORD)
    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=pydantic_data_converter,
        test_server_existing_path=bin_path("temporal-test-server"),
        test_server_startup_timeout=timedelta(seconds=60),
        interceptors=[signer()],
    )
    task_queue = f"web-{uuid.uuid4().hex[:8]}"
    projector = Projector(store, engine)

    def catch_up() -> None:  # the read views follow each accepted step at once
        projector.catch_up()

    services = HttpServices(
        store=store,
        engine=engine,
        client=env.client,
        directory=directory,
        workflow_settings=m.Settings(),
        task_queue=task_queue,
        auth=Authenticator(session_secret="web-tests-" + "s" * 40, secure_cookies=False),
        after_write=catch_up,
    )
    app = build_app(services)
    try:
        async with build_worker(env.client, store, task_queue=task_queue):
            yield Stack(app, services, store, projector, env, directory)
    finally:
        await env.shutdown()
        store.close()
        engine.dispose()


@dataclass
class Browser:
    """One person's cookie jar, signed in (or not), and their session's CSRF token."""

    http: httpx.AsyncClient
    projector: Projector
    user: str | None = None
    csrf: str = ""

    async def get(self, url: str, **kw: Any) -> httpx.Response:
        self.projector.catch_up()  # what the workflows did on their own (publication)
        return await self.http.get(url, **kw)

    async def post(
        self, url: str, data: dict[str, Any] | None = None, *, csrf: bool = True, **kw: Any
    ) -> httpx.Response:
        form = dict(data or {})
        if csrf:
            form.setdefault("csrf_token", self.csrf)
        return await self.http.post(url, data=form, **kw)

    async def sign_in(self, user: str, password: str = PASSWORD) -> httpx.Response:
        form = await self.http.get("/ui/sign-in")
        response = await self.http.post(
            "/ui/sign-in",
            data={"user_id": user, "password": password, "csrf_token": csrf_of(form.text)},
        )
        if response.status_code == 303:
            self.user = user
            self.csrf = csrf_of((await self.get("/ui/")).text)
        return response


@dataclass
class Web:
    stack: Stack
    _clients: list[httpx.AsyncClient] = field(default_factory=list)

    @property
    def store(self) -> EventStore:
        return self.stack.store

    def anonymous(self) -> Browser:
        http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.stack.app), base_url="http://ratify.test"
        )
        self._clients.append(http)
        return Browser(http, self.stack.projector)

    async def as_user(self, user: str) -> Browser:
        browser = self.anonymous()
        response = await browser.sign_in(user)
        assert response.status_code == 303, response.text
        return browser

    async def close(self) -> None:
        for http in self._clients:
            await http.aclose()


@pytest_asyncio.fixture(loop_scope="session")
async def web(tmp_path: Path) -> AsyncIterator[Web]:
    async with stack(tmp_path) as s:
        helper = Web(s)
        try:
            yield helper
        finally:
            await helper.close()
