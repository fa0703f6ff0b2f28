"""A slow read of the store holds up no one else: the API's routes over synchronous code run
in worker threads, never on the event loop every request shares.

The store here blocks inside its read until the test lets it go (a `threading.Event`), so
what is asserted is an order of events, never a duration: while an auditor's whole-store
`audit verify` (or a read of a case's events) is still inside the store, another person's
request is answered.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
from temporalio.client import Client

from domain.roles import Role
from eventstore import EventStore, create_engine_for
from eventstore.verify import VerificationResult
from ratify.api.app import create_app
from ratify.http.services import HttpServices
from ratify.infra.db import migrate_all
from ratify.services.identity.directory import Directory
from workflows import messages as m

#: How long the held read waits at most: only a regression ever reaches it (the route
#: then held the event loop, and the test fails on the order instead of hanging).
NEVER = 60


class HeldStore(EventStore):
    """An event store whose reads wait, once started, until `release` is set."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.holding = False
        self.started = threading.Event()
        self.release = threading.Event()

    def _hold(self) -> None:
        if self.holding:
            self.started.set()
            self.release.wait(NEVER)

    def verify_all(self) -> VerificationResult:
        self._hold()
        return super().verify_all()

    def read_stream(self, *args: Any, **kwargs: Any) -> Any:
        self._hold()
        return super().read_stream(*args, **kwargs)


@pytest.mark.parametrize(
    ("method", "url", "body"),
    [("POST", "/audit/verify", {}), ("GET", "/cases/case-1/events", None)],
    ids=["audit-verify", "case-events"],
)
async def test_a_slow_store_read_holds_up_no_other_request(
    tmp_path: Path, method: str, url: str, body: Any
):
    db = f"sqlite:///{tmp_path / 'ratify.db'}"
    migrate_all(db)
    engine = create_engine_for(db)
    store = HeldStore(engine)
    directory = Directory(engine)
    directory.add_user("aud.ann", "Ann Auditor", [Role.AUDITOR, Role.PART2_CLEARANCE])
    token = directory.create_token("aud.ann", "tests")[1]
    services = HttpServices(
        store=store,
        engine=engine,
        client=cast(Client, None),  # no step is taken: no Temporal
        directory=directory,
        workflow_settings=m.Settings(),
    )
    transport = httpx.ASGITransport(app=create_app(services))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://ratify") as http:
            store.holding = True
            slow = asyncio.create_task(
                http.request(method, url, json=body, headers={"Authorization": f"Bearer {token}"})
            )
            assert await asyncio.to_thread(store.started.wait, NEVER), "the read never began"

            other = await http.get("/healthz")

            # Answered while the slow request was still inside the store.
            assert other.status_code == 200
            assert not slow.done()
            store.release.set()
            answered = await slow
            assert answered.status_code in (200, 404), answered.text
    finally:
        store.release.set()
        engine.dispose()
