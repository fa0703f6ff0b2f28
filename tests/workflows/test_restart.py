"""A decision survives SIGKILL of its worker and of the Temporal server, mid-lifecycle.

Real processes, as in production: the bundled Temporal dev server (SQLite file, WAL
pragmas, headless) on a free loopback port, and `worker.py` as a separate process with its
own SQLite event store, both under `tmp_path`. The test acts through updates as each role,
kills both processes with SIGKILL halfway through, restarts them on the same files, sends
one update while the worker is still down, and finishes the lifecycle. The stored stream
must then be exactly the expected events, each once, hash-chained, and the workflow's state
the fold of them.

On failure the output of every process started is printed (it shows under "Captured
stdout"); every process is SIGKILLed at teardown whatever happened.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import pytest
from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest
from temporalio.client import Client, WorkflowHandle
from temporalio.service import RPCError

from domain.clock import london_date
from eventstore import EventStore
from ratify.infra.devserver import DEV_SERVER_PRAGMAS, bin_path
from ratify.infra.payloads import data_converter
from ratify.services.journal import CaseJournal
from tests import factories as f
from tests.keys import TEMPORAL_SECRETS, TEST_PAYLOAD_KEYS, signer
from workflows import messages as m
from workflows.decision import DecisionWorkflow

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
READY_LINE = "Ratify worker running"

#: Bounds on every wait, so that a broken build fails instead of hanging.
SERVER_READY_TIMEOUT = 30.0
WORKER_READY_TIMEOUT = 60.0
ACTION_TIMEOUT = 30.0

EXPECTED_EVENTS = [
    "case.drafted",
    "case.submitted",
    "board.placed_on_agenda",
    "board.advice_recorded",
    "advice.signed_off",
    "advice.signed_off",
    "advice.signed_off",
    "ceo.consulted",
    "decision.interests_declared",
    "decision.approved",
    "publication.part1_published",
]

T = TypeVar("T")


def free_port() -> int:
    """A loopback TCP port that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Proc:
    """One started process, its output going to files (no pipe can fill up and block it)."""

    name: str
    popen: subprocess.Popen[bytes]
    stdout: Path
    stderr: Path

    def alive(self) -> bool:
        return self.popen.poll() is None

    def kill(self) -> None:
        """SIGKILL: no shutdown handler, no flush, no goodbye to the server."""
        if self.alive():
            self.popen.send_signal(signal.SIGKILL)
        self.popen.wait(timeout=10)

    def output(self, limit: int = 20_000) -> str:
        parts = []
        for label, path in (("stdout", self.stdout), ("stderr", self.stderr)):
            text = path.read_text("utf-8", errors="replace") if path.exists() else ""
            if len(text) > limit:
                text = f"[... {len(text) - limit} characters cut ...]\n" + text[-limit:]
            parts.append(f"----- {self.name} {label} ({path}) -----\n{text}")
        return "\n".join(parts)


@dataclass
class Processes:
    """The dev server and worker processes of one test, on files under one directory."""

    directory: Path
    port: int = field(default_factory=free_port)
    task_queue: str = field(default_factory=lambda: f"ratify-restart-{uuid.uuid4().hex[:8]}")
    started: list[Proc] = field(default_factory=list)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def event_store_url(self) -> str:
        return f"sqlite:///{self.directory / 'events.db'}"

    def _spawn(self, name: str, args: list[str], env: dict[str, str] | None = None) -> Proc:
        n = sum(1 for p in self.started if p.name.startswith(name)) + 1
        proc_name = f"{name}-{n}"
        stdout = self.directory / f"{proc_name}.out"
        stderr = self.directory / f"{proc_name}.err"
        with stdout.open("wb") as out, stderr.open("wb") as err:
            popen = subprocess.Popen(
                args, cwd=REPO, env=env, stdout=out, stderr=err, stdin=subprocess.DEVNULL
            )
        proc = Proc(proc_name, popen, stdout, stderr)
        self.started.append(proc)
        return proc

    def start_server(self) -> Proc:
        """The dev server on this test's port and SQLite file (reused on a restart)."""
        return self._spawn(
            "temporal",
            [
                bin_path("temporal"),
                "server",
                "start-dev",
                "--db-filename",
                str(self.directory / "temporal.db"),
                *DEV_SERVER_PRAGMAS,
                "--headless",
                "--ip",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--log-level",
                "warn",
            ],
        )

    async def connect(self, server: Proc, timeout: float = SERVER_READY_TIMEOUT) -> Client:
        """A client of the server, once it answers (polled until `timeout`)."""
        deadline = time.monotonic() + timeout
        last: BaseException | None = None
        while time.monotonic() < deadline:
            if not server.alive():
                raise AssertionError(f"{server.name} exited\n{self.output()}")
            try:
                client = await asyncio.wait_for(
                    # Encrypting and signing as the worker process expects (TEMPORAL_SECRETS).
                    Client.connect(
                        self.address,
                        data_converter=data_converter(TEST_PAYLOAD_KEYS),
                        interceptors=[signer()],
                    ),
                    5,
                )
                # Ready means serving the namespace, not merely answering.
                await asyncio.wait_for(
                    client.workflow_service.describe_namespace(
                        DescribeNamespaceRequest(namespace=client.namespace)
                    ),
                    5,
                )
                return client
            except Exception as exc:
                last = exc
                await asyncio.sleep(0.2)
        raise AssertionError(
            f"{server.name} not ready in {timeout:.0f} s: {last!r}\n{self.output()}"
        )

    def start_worker(self) -> Proc:
        # Only this test's settings: none inherited from the shell running the tests.
        inherited = {k: v for k, v in os.environ.items() if not k.startswith("RATIFY_")}
        env = {
            **inherited,
            "TEMPORAL_ADDRESS": self.address,
            **TEMPORAL_SECRETS,
            "RATIFY_DATABASE_URL": self.event_store_url,
            "RATIFY_TASK_QUEUE": self.task_queue,
            "RATIFY_DATA_DIR": str(self.directory),
            # Several workers on one machine: no metrics endpoint (one port, taken twice).
            "RATIFY_METRICS_PORT": "0",
            "PYTHONUNBUFFERED": "1",
        }
        return self._spawn("worker", [sys.executable, "worker.py"], env)

    async def worker_ready(self, worker: Proc, timeout: float = WORKER_READY_TIMEOUT) -> None:
        """Wait for the worker's "running" line on its stdout (polled until `timeout`)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if READY_LINE in worker.stdout.read_text("utf-8", errors="replace"):
                return
            if not worker.alive():
                raise AssertionError(
                    f"{worker.name} exited with {worker.popen.returncode}\n{self.output()}"
                )
            await asyncio.sleep(0.1)
        raise AssertionError(f"{worker.name} not ready in {timeout:.0f} s\n{self.output()}")

    def output(self) -> str:
        return "\n".join(p.output() for p in self.started)

    def close(self) -> None:
        for proc in self.started:
            with contextlib.suppress(Exception):
                proc.kill()

    @contextlib.contextmanager
    def diagnose(self) -> Iterator[None]:
        """On any failure, print every process's output before the error propagates."""
        try:
            yield
        except BaseException:
            print(self.output())
            raise


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[Processes]:
    procs = Processes(tmp_path)
    try:
        yield procs
    finally:
        procs.close()


async def bounded(what: str, awaitable: Awaitable[T], timeout: float = ACTION_TIMEOUT) -> T:
    try:
        return await asyncio.wait_for(awaitable, timeout)
    except TimeoutError:
        raise AssertionError(f"{what}: no answer in {timeout:.0f} s") from None


async def act(
    handle: WorkflowHandle[Any, Any],
    update: str,
    action: m.Action,
    update_id: str | None = None,
    timeout: float = ACTION_TIMEOUT,
) -> m.ActionResult:
    result: m.ActionResult = await bounded(
        f"{update} by {action.actor.describe()}",
        handle.execute_update(update, action, result_type=m.ActionResult, id=update_id),
        timeout,
    )
    return result


async def drafted(handle: WorkflowHandle[Any, Any], timeout: float = ACTION_TIMEOUT) -> None:
    """Wait until the workflow has folded its draft: an action before that is refused.

    The workflow's state, not the store, is what the validators see: the draft is in the
    store a moment before the workflow has the activity's answer.
    """
    deadline = time.monotonic() + timeout
    while True:
        # RPCError: queried before its first task. TimeoutError: a query needs a worker, and
        # the one holding the workflow may have just been killed: ask again until `timeout`.
        with contextlib.suppress(RPCError, TimeoutError):
            view = await asyncio.wait_for(
                handle.query("state_view", result_type=m.StateView),
                max(0.1, min(ACTION_TIMEOUT, deadline - time.monotonic())),
            )
            if view.state.version >= 1:
                return
        if time.monotonic() > deadline:
            raise AssertionError(f"{handle.id} not drafted in {timeout:.0f} s")
        await asyncio.sleep(0.02)


async def test_a_decision_survives_sigkill_of_worker_and_server(processes: Processes):
    with processes.diagnose():
        # -- first life: draft, submit, board, one sign-off -------------------------------
        server = processes.start_server()
        worker = processes.start_worker()
        client = await processes.connect(server)
        await processes.worker_ready(worker)
        store = EventStore.from_url(processes.event_store_url)  # migrated by the worker
        pending: asyncio.Task[m.ActionResult] | None = None
        try:
            case_id = f"case-{uuid.uuid4().hex[:12]}"
            handle = await client.start_workflow(
                DecisionWorkflow.run,
                m.DecisionInput(case_id=case_id, officer=f.OFFICER, case=f.make_case()),
                id=case_id,
                task_queue=processes.task_queue,
            )
            await drafted(handle)
            today = london_date(datetime.now(UTC))
            await act(handle, "submit", m.Submit(actor=f.OFFICER))
            await act(
                handle,
                "place_on_agenda",
                m.PlaceOnAgenda(
                    actor=f.SECRETARIAT, meeting_id="IAM-R", meeting_date=today, board="IAM"
                ),
            )
            await act(
                handle,
                "record_board_advice",
                m.RecordBoardAdvice(actor=f.SECRETARIAT, meeting_id="IAM-R", advice="supported"),
            )
            result = await act(handle, "sign_off", m.SignOff(actor=f.FINANCE, area="finance"))
            assert result.version == 5

            # -- both die, with no chance to clean up -------------------------------------
            worker.kill()
            server.kill()

            # -- the server comes back on the same file; the worker is still down --------
            server = processes.start_server()
            client = await processes.connect(server)
            handle = client.get_workflow_handle_for(DecisionWorkflow.run, case_id)
            pending = asyncio.create_task(
                act(handle, "sign_off", m.SignOff(actor=f.LEGAL, area="legal"))
            )
            await asyncio.sleep(2)
            if pending.done():
                pending.result()  # raises what went wrong, if anything did
                raise AssertionError("an update completed with no worker running")
            assert store.stream_version(case_id) == 5

            # -- the worker comes back: the waiting update completes, then the rest ------
            worker = processes.start_worker()
            await processes.worker_ready(worker)
            result = await pending
            assert [e.event_type for e in result.events] == ["advice.signed_off"]
            assert result.version == 6
            await act(handle, "sign_off", m.SignOff(actor=f.EQUALITIES, area="equalities"))
            await act(handle, "consult_chief_executive", m.ConsultChiefExecutive(actor=f.CEO))
            await act(
                handle, "declare_interests", m.DeclareInterests(actor=f.DMPC, has_interest=False)
            )
            await act(handle, "decide", m.Decide(actor=f.DMPC, approve=True, comment="Approved."))
            outcome = await bounded("the workflow's result", handle.result())

            # -- every step stored once, in order, chained, and folded by the workflow ----
            assert outcome.reference == "PCD 1"
            assert outcome.stage == "approved"
            records = store.read_stream(case_id)
            assert [r.event_type for r in records] == EXPECTED_EVENTS
            assert len({r.event_id for r in records}) == len(records)
            assert [r.version for r in records] == list(range(1, len(records) + 1))
            assert [r.position for r in records] == sorted({r.position for r in records})
            notifications = store.read_stream(f"notifications-{case_id}")
            assert notifications, "no new-task notification was recorded"
            assert len({n.event_id for n in notifications}) == len(notifications)
            sent = {(n.data["to_role"], n.data["subject"]) for n in notifications}
            assert len(sent) == len(notifications), "a notification was sent twice"
            assert store.allocations("PCD") == {case_id: 1}
            verification = store.verify_all()
            assert verification.ok, str(verification)
            view: m.StateView = await bounded(
                "query state_view", handle.query("state_view", result_type=m.StateView)
            )
            assert view.state == CaseJournal(store).load(case_id)
            assert view.tasks == []
        finally:
            if pending is not None and not pending.done():
                pending.cancel()  # the session's loop outlives this test
            store.close()
