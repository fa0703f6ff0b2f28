"""`ratify serve`: the whole service in one process on its embedded defaults.

Migrates the database (event store and application tables), starts the bundled Temporal
dev server unless `TEMPORAL_ADDRESS` is set, and runs the worker, the projector that keeps
the read views up with the log, and the HTTP API (uvicorn) side by side. SIGINT/SIGTERM
stops the API, drains the worker and stops the projector. Production runs these as
separate processes (see deploy/).
"""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack

import uvicorn

from eventstore import EventStore, create_engine_for
from ratify.api.app import create_app
from ratify.api.steps import Services
from ratify.db import migrate_all
from ratify.identity.service import Directory
from ratify.projections.projector import Projector
from ratify.settings import Settings
from worker import build_worker, channels, connect


async def serve(settings: Settings, *, host: str = "127.0.0.1", port: int = 8000) -> None:
    if settings.migrate_on_start:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        migrate_all(settings.event_store_url)
    store = EventStore.from_url(settings.event_store_url)
    engine = create_engine_for(settings.event_store_url)
    async with AsyncExitStack() as stack:
        client = await connect(settings, stack)
        services = Services(
            store=store,
            engine=engine,
            client=client,
            directory=Directory(engine),
            workflow_settings=settings.workflow_settings(),
            task_queue=settings.task_queue,
        )
        projector = Projector(store, engine)
        services.after_write = projector.wake  # inboxes catch up at once after an action
        server = uvicorn.Server(
            uvicorn.Config(create_app(services), host=host, port=port, log_level="info")
        )
        worker = build_worker(
            client, store, task_queue=settings.task_queue, notify_channels=channels(settings)
        )
        async with worker:
            projecting = asyncio.create_task(projector.run_forever(poll_interval=1.0))
            print(f"Ratify API on http://{host}:{port} (OpenAPI at /docs)", flush=True)
            try:
                await server.serve()  # returns on SIGINT/SIGTERM
            finally:
                projector.stop()
                await projecting
    store.close()
    engine.dispose()
