"""Workflow tests on Temporal's time-skipping test server (a 5-year timer ends at once).

Each test gets its own test server (it starts in a tenth of a second), SQLite event store,
task queue and worker. A shared server would carry its clock over, and a workflow left
with a pending task when one test's worker stops would hold back time skipping for every
later test. (Seen here with SDK 1.35 and test server 1.40: once a Part 2 review workflow
completes in the task of its last update, the server no longer skips time, so no test
sleeps after that.) Tests still build their dates from `env.get_current_time()` and never assert
absolute dates.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
import pytest_asyncio
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from eventstore import EventStore, migrate
from ratify.infra.devserver import bin_path
from ratify.processes.worker import build_worker
from tests.keys import signer
from tests.workflows.lifecycle import Harness


@pytest_asyncio.fixture(loop_scope="session")
async def env() -> AsyncIterator[WorkflowEnvironment]:
    environment = await WorkflowEnvironment.start_time_skipping(
        data_converter=pydantic_data_converter,
        test_server_existing_path=bin_path("temporal-test-server"),
        test_server_startup_timeout=timedelta(seconds=60),
        interceptors=[signer()],
    )
    try:
        yield environment
    finally:
        await environment.shutdown()


@pytest.fixture
def wf_store(tmp_path: Path) -> EventStore:
    url = f"sqlite:///{tmp_path / 'events.db'}"
    migrate(url)
    return EventStore.from_url(url)


@pytest_asyncio.fixture(loop_scope="session")
async def harness(env: WorkflowEnvironment, wf_store: EventStore) -> AsyncIterator[Harness]:
    task_queue = f"ratify-test-{uuid.uuid4().hex[:8]}"
    worker = build_worker(env.client, wf_store, task_queue=task_queue)
    async with worker:
        harness = Harness(env=env, store=wf_store, task_queue=task_queue)
        yield harness
        await harness.check_every_case()
    wf_store.close()
