"""Fault tests against the real stack of `tests/api`: time-skipping Temporal, a worker, SQLite,
the FastAPI app in-process (loopback only: httpx's ASGI transport, no socket).

The people are those of `tests/api/conftest.py` plus one user for each role PEOPLE lacks (so
the RBAC matrix has a holder for every role a person can hold), a deputy who holds no approver
role of their own, and a fuzzing user holding every role a person can hold.

The HTTP client does not re-raise the app's exceptions: an unhandled error comes back as the
500 a real server would send, so the tests assert on status codes (never a 5xx) instead of
stopping at the first traceback.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest_asyncio
from fastapi import FastAPI
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from domain.roles import Role
from eventstore import EventStore, create_engine_for
from ratify.api.app import create_app
from ratify.api.steps import Services
from ratify.db import migrate_all
from ratify.identity.service import PERSON_ROLES, Directory
from ratify.projections.projector import Projector
from tests.api.conftest import PEOPLE, Api
from worker import bin_path, build_worker
from workflows import messages as m

#: The alternate decision maker the workflows are configured with (`m.Settings` default).
ALTERNATE = m.Settings().alternate_decision_maker

MORE_PEOPLE: dict[str, tuple[str, list[Role]]] = {
    "bo.chair": ("Board Chair", [Role.BOARD_CHAIR]),
    ALTERNATE: ("Alternate Decision Maker", [Role.ALTERNATE_DECISION_MAKER]),
    "mps.dm": ("MPS Decision Maker", [Role.MPS_DECISION_MAKER]),
    "ad.min": ("Admin", [Role.ADMIN]),
    # The clearance role alone is not clearance: it is held *with* the auditor role.
    "clear.only": ("Cleared, not an auditor", [Role.PART2_CLEARANCE]),
    # Acts in approvers' roles only under delegations made by the tests.
    "deputy.dan": ("Dan Deputy", [Role.DRAFTING_OFFICER]),
    # The API fuzzer: every role a person can hold.
    "fuzz.all": ("Fuzz All Roles", list(PERSON_ROLES)),
}

ALL_PEOPLE = {**PEOPLE, **MORE_PEOPLE}


@dataclass
class Stack(Api):
    #: The ASGI app itself (schemathesis loads its schema from it).
    app: FastAPI | None = None


@pytest_asyncio.fixture(loop_scope="session")
async def stack(tmp_path: Path) -> AsyncIterator[Stack]:
    url = f"sqlite:///{tmp_path / 'ratify.db'}"
    migrate_all(url)
    store = EventStore.from_url(url)
    engine = create_engine_for(url)
    directory = Directory(engine)
    tokens = {}
    for user_id, (name, roles) in ALL_PEOPLE.items():
        directory.add_user(user_id, name, roles)
        tokens[user_id] = directory.create_token(user_id, "faults")[1]
    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=pydantic_data_converter,
        test_server_existing_path=bin_path("temporal-test-server"),
    )
    task_queue = f"faults-{uuid.uuid4().hex[:8]}"
    services = Services(
        store=store,
        engine=engine,
        client=env.client,
        directory=directory,
        workflow_settings=m.Settings(),
        task_queue=task_queue,
    )
    app = create_app(services)
    try:
        async with build_worker(env.client, store, task_queue=task_queue):
            transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
            async with httpx.AsyncClient(
                transport=transport, base_url="http://ratify", timeout=60
            ) as http:
                yield Stack(
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
