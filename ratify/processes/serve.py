"""The processes of Ratify: the whole service in one (`ratify serve`), or each on its own.

`ratify serve` (`serve`): the embedded defaults. Migrates the database (event store and
application tables) unless `RATIFY_MIGRATE_ON_START=false`, starts the bundled Temporal
dev server unless `TEMPORAL_ADDRESS` is set, and runs the worker, the projector that keeps
the read views up with the log, and the HTTP API (uvicorn) side by side. SIGINT/SIGTERM
stops the API (open requests finish), stops the projector and drains the worker. The data
directory is created private to the user (0700, its files 0600; see
`ratify.infra.settings.private_data_dir`), and a dev server left running by a SIGKILLed serve is
stopped at the next start (`ratify.infra.devserver`).

Production runs them as separate processes (see deploy/), each on the same settings:

* `ratify worker` (`worker.main`): the workflows and activities;
* `ratify api` (`run_api`): the HTTP API and the web pages, with a Temporal client of
  `TEMPORAL_ADDRESS` (required): no worker, no dev server, no migrations (`ratify db
  upgrade` runs them); as many as wanted behind a load balancer;
* `ratify projector` (`run_projector`): keeps the read views up with the log, polling every
  `RATIFY_PROJECTOR_POLL_SECONDS`; several may run (the position is taken by
  compare-and-set, so each batch is applied once).

Each checks its configuration first: a bad setting, an unreachable Temporal or database,
or a database not migrated ends it with one line on stderr and exit status 2 or 1 (see
`ratify.infra.observability.startup`). Logs, metrics and traces: see `ratify.infra.observability`.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Awaitable, Callable, Mapping
from contextlib import AsyncExitStack
from datetime import timedelta
from types import FrameType

import structlog
import uvicorn
from fastapi import FastAPI
from sqlalchemy.engine import Engine
from temporalio.client import Client

from eventstore import EventStore
from eventstore.schema import EVENTS_TABLE
from ratify.http.services import HttpServices
from ratify.infra.observability.metrics import serve_metrics, temporal_runtime
from ratify.infra.observability.startup import (
    BAD_CONFIGURATION,
    StartupError,
    load_settings,
    migrate_or_fail,
    open_database,
    report,
)
from ratify.infra.observability.tracing import configure_tracing, shutdown_tracing
from ratify.infra.settings import Settings
from ratify.infra.temporal import connect, private_data_dir, require_temporal_secrets
from ratify.processes.app import build_app
from ratify.processes.worker import build_worker, channels, configure_process_logging
from ratify.services.identity.directory import Directory
from ratify.services.identity.tables import users
from ratify.services.projections.projector import Projector
from ratify.services.projections.tables import projection_positions
from ratify.services.workflow_settings import workflow_settings

log = structlog.get_logger("ratify.serve")

#: The tables the API and the projector need: the store's and the application's.
APP_TABLES = (EVENTS_TABLE, users.name, projection_positions.name)


def uvicorn_config(
    app: FastAPI, settings: Settings, host: str, port: int, environ: Mapping[str, str] = os.environ
) -> uvicorn.Config:
    """The HTTP server's configuration; it logs through our logging (no access log: the
    middleware's).

    The client's address (the per-address sign-in limit, the logs) comes from
    `X-Forwarded-For` only when `FORWARDED_ALLOW_IPS` names the proxies to trust (uvicorn's
    own setting: addresses, networks, or `*`). Unset, the headers are ignored: uvicorn's
    default would trust them from 127.0.0.1, where every client of the embedded defaults
    connects from, so anyone could claim a fresh address with each request.
    """
    trusted = environ.get("FORWARDED_ALLOW_IPS", "").strip()
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=max(1, round(settings.graceful_shutdown_seconds)),
        proxy_headers=bool(trusted),
        forwarded_allow_ips=trusted or None,
    )


def _uvicorn(app: FastAPI, settings: Settings, host: str, port: int) -> uvicorn.Server:
    """The HTTP server (`uvicorn_config`), stopped by SIGINT/SIGTERM."""
    server = uvicorn.Server(uvicorn_config(app, settings, host, port))

    # Uvicorn takes SIGINT/SIGTERM while it serves and raises them again once it has
    # stopped, with the handlers it found: these, so that the process goes on to stop the
    # projector and drain the worker, and exits 0, instead of dying of the signal.
    def stop(signum: int, frame: FrameType | None) -> None:
        server.should_exit = True

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, stop)
    return server


async def _serve_http(server: uvicorn.Server, host: str, port: int) -> None:
    try:
        await server.serve()
    except SystemExit:  # uvicorn could not start (it has logged why, e.g. the port is taken)
        raise StartupError(f"the HTTP server could not listen on {host}:{port}") from None


async def serve(settings: Settings, *, host: str = "127.0.0.1", port: int = 8000) -> None:
    """The whole service in one process (see the module's docstring)."""
    require_temporal_secrets(settings)
    if settings.uses_data_dir:
        private_data_dir(settings)
    if settings.migrate_on_start:
        migrate_or_fail(settings.event_store_url, app_tables=True)
    engine = open_database(settings.event_store_url, tables=APP_TABLES)
    store = EventStore(engine)
    tracing = configure_tracing(settings, "serve")
    try:
        async with AsyncExitStack() as stack:
            client = await connect(
                settings,
                stack,
                runtime=temporal_runtime(),
                interceptors=[tracing] if tracing else [],
            )
            services = _services(settings, store, engine, client)
            projector = Projector(store, engine)
            services.after_write = projector.wake  # inboxes catch up at once after an action
            server = _uvicorn(build_app(services), settings, host, port)
            worker = build_worker(
                client,
                store,
                task_queue=settings.task_queue,
                notify_channels=channels(settings),
                graceful_shutdown=timedelta(seconds=settings.graceful_shutdown_seconds),
            )
            async with worker:
                projecting = asyncio.create_task(
                    projector.run_forever(poll_interval=settings.projector_poll_seconds)
                )
                print(f"Ratify API on http://{host}:{port} (OpenAPI at /docs)", flush=True)
                try:
                    await _serve_http(server, host, port)  # returns on SIGINT/SIGTERM
                finally:
                    projector.stop()
                    await projecting
                print("Ratify worker draining...", flush=True)
                log.info("stopping: API stopped, projector stopped, worker draining")
            print("Ratify stopped", flush=True)
    finally:
        shutdown_tracing()
        engine.dispose()


def _services(
    settings: Settings, store: EventStore, engine: Engine, client: Client
) -> HttpServices:
    return HttpServices(
        store=store,
        engine=engine,
        client=client,
        directory=Directory(engine, delegation_max_days=settings.delegation_max_days),
        workflow_settings=workflow_settings(settings),
        task_queue=settings.task_queue,
    )


async def run_api(settings: Settings, *, host: str = "0.0.0.0", port: int = 8000) -> int:
    """`ratify api`: the HTTP API and pages only, until SIGINT/SIGTERM (then exit 0)."""
    require_temporal_secrets(settings)
    if not settings.temporal_address:
        raise StartupError(
            "TEMPORAL_ADDRESS is not set: `ratify api` needs the Temporal frontend (host:port) "
            "and starts no dev server (`ratify serve` runs everything in one process)",
            BAD_CONFIGURATION,
        )
    engine = open_database(settings.event_store_url, tables=APP_TABLES)
    store = EventStore(engine)
    tracing = configure_tracing(settings, "api")
    try:
        async with AsyncExitStack() as stack:
            client = await connect(
                settings,
                stack,
                runtime=temporal_runtime(),
                interceptors=[tracing] if tracing else [],
            )
            server = _uvicorn(
                build_app(_services(settings, store, engine, client)), settings, host, port
            )
            print(f"Ratify API on http://{host}:{port} (OpenAPI at /docs)", flush=True)
            log.info("api running", host=host, port=port, temporal=settings.temporal_address)
            await _serve_http(server, host, port)
            log.info("api stopped")
    finally:
        shutdown_tracing()
        engine.dispose()
    return 0


async def run_projector(settings: Settings) -> int:
    """`ratify projector`: keep the read views up with the log until SIGINT/SIGTERM."""
    engine = open_database(settings.event_store_url, tables=APP_TABLES)
    store = EventStore(engine)
    projector = Projector(store, engine)
    metrics_server = serve_metrics(settings.metrics_interface, settings.metrics_port)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, projector.stop)
    try:
        print("Ratify projector running", flush=True)
        log.info("projector running", poll_seconds=settings.projector_poll_seconds)
        await projector.run_forever(poll_interval=settings.projector_poll_seconds)
        log.info("projector stopped", position=projector.position())
    finally:
        if metrics_server is not None:
            metrics_server.close()
        engine.dispose()
    return 0


async def main(process: str, run: Callable[[Settings], Awaitable[int | None]]) -> int:
    """Load the settings, set up logging, run `run`: the exit status (start-up errors
    reported on one line each)."""
    try:
        settings = load_settings()
        configure_process_logging(settings)
        code = await run(settings)
    except StartupError as exc:
        return report(process, exc)
    return code or 0
