"""The process commands: `ratify serve` (all in one), `worker`, `api` and `projector`.

Like worker.py, these are entry points: each starts a process's main() from `ratify.processes`
(the only CLI module allowed to import it). They import it when run, so `ratify --help` and the
other commands do not pay for Temporal, uvicorn and the app.
"""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Annotated, Any, NoReturn

import typer

commands = typer.Typer()


def _run_process(process: str, run: Any) -> NoReturn:
    """Run a process command to its end and exit with its status (see `ratify.processes.serve`)."""
    # Start-up cost: each process loads Temporal, uvicorn and the app (~1 s) when it starts.
    from ratify.processes.serve import main as process_main

    code = asyncio.run(process_main(process, run))
    sys.stdout.flush()
    sys.stderr.flush()
    # Skip interpreter finalisation, which the Temporal SDK's runtime can abort
    # (temporalio/sdk-python#300) after a clean shutdown.
    os._exit(code)


@commands.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port of the HTTP API.")] = 8000,
) -> None:
    """Run the whole service in one process (see `ratify.processes.serve`)."""
    from ratify.processes.serve import serve as run  # start-up cost: see _run_process

    async def whole(settings: Any) -> None:
        await run(settings, host=host, port=port)

    _run_process("serve", whole)


@commands.command("worker")
def worker_process() -> None:
    """Run the worker: workflows and activities (production; see `worker.py`).

    Needs TEMPORAL_ADDRESS for a Temporal cluster (unset: the bundled dev server).
    Migrates the event store first unless RATIFY_MIGRATE_ON_START=false. SIGTERM drains it.
    """
    from ratify.processes.worker import run  # start-up cost: see _run_process

    _run_process("worker", run)


@commands.command("api")
def api_process(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "0.0.0.0",
    port: Annotated[int, typer.Option(help="Port of the HTTP API.")] = 8000,
) -> None:
    """Run the HTTP API and web pages only, against TEMPORAL_ADDRESS (production).

    No worker, no dev server, no migrations (run `ratify db upgrade`). SIGTERM lets open
    requests finish. Serves GET /metrics, /healthz and /readyz.
    """
    from ratify.processes.serve import run_api  # start-up cost: see _run_process

    async def api(settings: Any) -> int:
        return await run_api(settings, host=host, port=port)

    _run_process("api", api)


@commands.command("projector")
def projector_process() -> None:
    """Keep the read views (search, inboxes, register) up with the event log (production).

    Several may run at once. No migrations. Metrics on RATIFY_METRICS_PORT.
    """
    from ratify.processes.serve import run_projector  # start-up cost: see _run_process

    _run_process("projector", run_projector)
