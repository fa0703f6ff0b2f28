"""Faults while many decisions run: workers SIGKILLed and restarted, the server restarted.

Real processes, as in production: the bundled Temporal dev server on a free loopback port,
two `worker.py` processes on one task queue, and the event store on PostgreSQL (a fresh
database per test). Decisions run their whole lifecycle through updates, several at once,
while a chaos task kills a random worker at random moments and starts it again (or, in the
second test, kills the Temporal server and restarts it on the same file). Afterwards:

* every case completed (approved, Part 1 published);
* every case's stream is exactly the expected events, each stored once;
* every hash chain in the store verifies;
* PCD references are gap-free: 1..N, one per case.

The random moments come from a seeded generator (the seed is printed), so a failure can be
replayed with the same schedule, give or take the machine's timing.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import URL
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowUpdateFailedError

from domain.clock import london_date
from eventstore import EventStore
from tests import factories as f
from tests.workflows.test_restart import (
    EXPECTED_EVENTS,
    Proc,
    Processes,
    act,
    bounded,
    drafted,
)
from workflows import messages as m
from workflows.decision import DecisionWorkflow

pytestmark = pytest.mark.slow

#: How long the whole run may take before the test fails instead of hanging.
RUN_TIMEOUT = 240.0
#: How long one attempt of an update waits before it is sent again with the same id.
ATTEMPT_TIMEOUT = 20.0


@dataclass
class Cluster(Processes):
    """The dev server, two workers, and the event store on PostgreSQL."""

    database_url: str = ""
    workers: list[Proc] = field(default_factory=list)
    kills: int = 0
    server_restarts: int = 0
    cases: list[str] = field(default_factory=list)

    @property
    def event_store_url(self) -> str:
        return self.database_url


@pytest.fixture
def cluster(tmp_path: Path, pg_migrated_database: URL) -> Iterator[Cluster]:
    procs = Cluster(tmp_path, database_url=pg_migrated_database.render_as_string(False))
    try:
        yield procs
    finally:
        procs.close()


async def lifecycle(client: Client, cluster: Cluster, n: int) -> str:
    """One decision from draft to approval, every step an update; returns its case id."""
    task_queue = cluster.task_queue
    case_id = f"case-chaos-{n:02d}-{uuid.uuid4().hex[:6]}"
    cluster.cases.append(case_id)
    handle = await client.start_workflow(
        DecisionWorkflow.run,
        m.DecisionInput(case_id=case_id, officer=f.OFFICER, case=f.make_case()),
        id=case_id,
        task_queue=task_queue,
    )
    await drafted(handle, timeout=RUN_TIMEOUT)
    today = london_date(datetime.now(UTC))
    meeting = f"IAM-C{n}"
    steps: list[tuple[str, m.Action]] = [
        ("submit", m.Submit(actor=f.OFFICER)),
        (
            "place_on_agenda",
            m.PlaceOnAgenda(
                actor=f.SECRETARIAT, meeting_id=meeting, meeting_date=today, board="IAM"
            ),
        ),
        (
            "record_board_advice",
            m.RecordBoardAdvice(actor=f.SECRETARIAT, meeting_id=meeting, advice="supported"),
        ),
        ("sign_off", m.SignOff(actor=f.FINANCE, area="finance")),
        ("sign_off", m.SignOff(actor=f.LEGAL, area="legal")),
        ("sign_off", m.SignOff(actor=f.EQUALITIES, area="equalities")),
        ("consult_chief_executive", m.ConsultChiefExecutive(actor=f.CEO)),
        ("declare_interests", m.DeclareInterests(actor=f.DMPC, has_interest=False)),
        ("decide", m.Decide(actor=f.DMPC, approve=True, comment="Approved.")),
    ]
    for update, action in steps:
        await act_through_faults(handle, update, action)
    outcome = await bounded("the workflow's result", handle.result(), RUN_TIMEOUT)
    assert outcome.stage == "approved", (case_id, outcome)
    return case_id


async def act_through_faults(handle: Any, update: str, action: m.Action) -> None:
    """An update, sent again with the same update id while its answer does not come (the
    server went away, or the worker running it was killed): as a client does with an
    Idempotency-Key. Temporal runs an update id once, so a step that went through is
    answered with its result, never applied twice nor refused as out of stage. A refusal
    is a real one and fails the test."""
    update_id = f"{update}-{uuid.uuid4().hex}"
    deadline = time.monotonic() + RUN_TIMEOUT
    while True:
        try:
            result = await act(handle, update, action, update_id, timeout=ATTEMPT_TIMEOUT)
            assert result.case_id == handle.id
            return
        except WorkflowUpdateFailedError:
            raise
        except Exception as exc:  # a timeout, a lost connection, a server restarting
            if time.monotonic() > deadline:
                raise
            print(f"{handle.id} {update} sent again after {type(exc).__name__}: {exc}")
            await asyncio.sleep(0.5)


async def chaos_workers(cluster: Cluster, rng: random.Random, stop: asyncio.Event) -> None:
    """SIGKILL a random worker at random moments; start it again a moment later."""
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), rng.uniform(0.8, 2.5))
        if stop.is_set():
            return
        i = rng.randrange(len(cluster.workers))
        cluster.workers[i].kill()
        cluster.kills += 1
        await asyncio.sleep(rng.uniform(0.0, 1.0))
        cluster.workers[i] = cluster.start_worker()


async def explain_unfinished(client: Client, cluster: Cluster) -> str:
    """What each unfinished decision is waiting for: pending activities and workflow task,
    and the tail of its history, so that a stuck case can be diagnosed from the CI log."""
    lines: list[str] = []
    for case_id in cluster.cases:
        handle = client.get_workflow_handle(case_id)
        try:
            described = await asyncio.wait_for(handle.describe(), 10)
            if described.status is not None and described.status.name == "COMPLETED":
                continue
            raw = described.raw_description
            lines.append(f"--- {case_id}: {described.status}")
            for pending in raw.pending_activities:
                lines.append(f"  pending activity: {pending}")
            if raw.HasField("pending_workflow_task"):
                lines.append(f"  pending workflow task: {raw.pending_workflow_task}")
            events = [e async for e in handle.fetch_history_events()]
            for event in events[-60:]:
                kind = EventType.Name(event.event_type).removeprefix("EVENT_TYPE_")
                attributes = event.WhichOneof("attributes")
                detail = str(getattr(event, attributes)) if attributes else ""
                detail = " ".join(detail.split())[:300]
                lines.append(
                    f"  {event.event_id:>4} {event.event_time.ToDatetime():%H:%M:%S.%f} "
                    f"{kind} {detail}"
                )
        except Exception as exc:  # diagnosis must not hide the failure it explains
            lines.append(f"--- {case_id}: could not describe: {exc!r}")
    return "\n".join(lines)


def check_store(store: EventStore, case_ids: list[str]) -> int:
    """The checks every fault test ends with; returns how many events were checked."""
    for case_id in case_ids:
        records = store.read_stream(case_id)
        types = [r.event_type for r in records]
        assert types == EXPECTED_EVENTS, (case_id, types)
        assert len({r.event_id for r in records}) == len(records)
        assert [r.version for r in records] == list(range(1, len(records) + 1))
    verification = store.verify_all()
    assert verification.ok, str(verification)
    references = store.allocations("PCD")
    assert set(references) == set(case_ids)
    assert sorted(references.values()) == list(range(1, len(case_ids) + 1))
    return verification.events_checked


async def run_all(cluster: Cluster, client: Client, count: int, parallel: int) -> list[str]:
    gate = asyncio.Semaphore(parallel)

    async def one(n: int) -> str:
        async with gate:
            return await lifecycle(client, cluster, n)

    # A task group, not gather: when one lifecycle fails, the others are cancelled rather
    # than left running against a server the test is about to stop.
    async with asyncio.TaskGroup() as group:
        tasks = [group.create_task(one(n)) for n in range(count)]
    return [t.result() for t in tasks]


async def test_thirty_decisions_complete_while_workers_are_killed_at_random(cluster: Cluster):
    seed = int(os.environ.get("RATIFY_CHAOS_SEED") or random.randrange(1_000_000))
    print(f"chaos seed {seed} (RATIFY_CHAOS_SEED={seed} repeats this schedule)")
    rng = random.Random(seed)
    with cluster.diagnose():
        server = cluster.start_server()
        cluster.workers = [cluster.start_worker(), cluster.start_worker()]
        client = await cluster.connect(server)
        for worker in cluster.workers:
            await cluster.worker_ready(worker)
        stop = asyncio.Event()
        chaos = asyncio.create_task(chaos_workers(cluster, rng, stop))
        try:
            case_ids = await bounded("30 lifecycles", run_all(cluster, client, 30, 10), RUN_TIMEOUT)
        except BaseException:
            print(await explain_unfinished(client, cluster))
            raise
        finally:
            stop.set()
            await chaos
        assert cluster.kills >= 3, f"only {cluster.kills} kills: the run was too short to test"
        with EventStore.from_url(cluster.database_url) as store:
            checked = check_store(store, case_ids)
        print(f"{len(case_ids)} decisions, {cluster.kills} worker kills, {checked} events checked")


async def test_decisions_complete_across_a_server_restart_mid_flow(cluster: Cluster):
    with cluster.diagnose():
        server = cluster.start_server()
        cluster.workers = [cluster.start_worker(), cluster.start_worker()]
        client = await cluster.connect(server)
        for worker in cluster.workers:
            await cluster.worker_ready(worker)

        async def restart_server() -> None:
            # Mid-flow: once a few cases are decided, while the others are part way through.
            nonlocal server
            with EventStore.from_url(cluster.database_url) as store:
                while len(store.allocations("PCD")) < 3:
                    await asyncio.sleep(0.05)
                server.kill()
                decided_before = len(store.allocations("PCD"))
            assert decided_before < 20, "every case was decided before the restart"
            cluster.server_restarts += 1
            await asyncio.sleep(1.0)
            server = cluster.start_server()
            await cluster.connect(server)  # the lifecycles' client reconnects by itself

        restarting = asyncio.create_task(restart_server())
        case_ids = await bounded("20 lifecycles", run_all(cluster, client, 20, 5), RUN_TIMEOUT)
        await restarting
        assert cluster.server_restarts == 1
        with EventStore.from_url(cluster.database_url) as store:
            checked = check_store(store, case_ids)
        print(f"{len(case_ids)} decisions across a server restart, {checked} events checked")
