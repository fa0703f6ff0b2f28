"""What the fault tests share: the MetTrace case file with a marked Part 2, driving cases
through the API, waiting for the workers to settle, and checking the store afterwards."""

from __future__ import annotations

import asyncio
import time
from collections import Counter, defaultdict
from datetime import date
from pathlib import Path
from typing import Any

import httpx

from domain.clock import london_date
from domain.state import CaseState
from eventstore import EventStore, StoredEvent
from ratify.services.journal import replay
from tests.api.conftest import Api

METTRACE = (Path(__file__).resolve().parents[2] / "examples" / "mettrace.yaml").read_text()
_PART2_CONTENT = (
    "  content: The Part 2 business case is held separately and is not reproduced in the "
    "public papers."
)
_PART2_UNTIL = "ceases_to_be_exempt_on: 2024-04-01"

#: The five sign-offs MetTrace needs, and who gives each.
SIGNOFFS: list[tuple[str, str]] = [
    ("fran.fin", "finance"),
    ("lee.legal", "legal"),
    ("cat.com", "commercial"),
    ("eve.eq", "equalities"),
    ("ian.ia", "information_assurance"),
]


def mettrace(marker: str | None = None, *, part2_until: date | None = None) -> str:
    """MetTrace's case file, with `marker` appended to its Part 2 content, and its Part 2
    ceasing to be exempt on `part2_until` instead of 01/04/2024 (a date that has passed, so
    the review falls due as soon as the decision is published)."""
    text = METTRACE
    if marker is not None:
        assert _PART2_CONTENT in text
        text = text.replace(_PART2_CONTENT, f"{_PART2_CONTENT} {marker}")
    if part2_until is not None:
        assert _PART2_UNTIL in text
        text = text.replace(_PART2_UNTIL, f"ceases_to_be_exempt_on: {part2_until.isoformat()}")
    return text


async def upload(
    api: Api, text: str = METTRACE, *, case_id: str | None = None, user: str = "ollie.lane"
) -> str:
    params = {"filename": "mettrace.yaml"}
    if case_id is not None:
        params["case_id"] = case_id
    r = await api.http.post(
        "/cases/upload",
        content=text,
        params=params,
        headers={**api.auth(user), "Content-Type": "text/plain"},
    )
    assert r.status_code == 201, r.text
    return str(r.json()["case_id"])


async def act(
    api: Api, user: str, case_id: str, action: str, body: dict[str, Any] | None = None
) -> httpx.Response:
    return await api.post(user, f"/cases/{case_id}/actions/{action}", body or {})


def ok(r: httpx.Response) -> dict[str, Any]:
    assert r.status_code == 200, (r.status_code, r.text)
    body: dict[str, Any] = r.json()
    return body


async def through_board(
    api: Api, case_ids: list[str], meeting_id: str, *, submit: bool = True
) -> None:
    """Submit each case (unless submitted), place them all on one IAB meeting today, and
    record the board's support."""
    if submit:
        for r in await asyncio.gather(*(act(api, "ollie.lane", c, "submit") for c in case_ids)):
            ok(r)
    today = await london_today(api)
    r = await api.post(
        "sam.sec", "/meetings", {"meeting_id": meeting_id, "board": "IAB", "meeting_date": today}
    )
    assert r.status_code == 201, r.text
    for case_id in case_ids:
        ok(await api.post("sam.sec", f"/meetings/{meeting_id}/cases", {"case_id": case_id}))
    for case_id in case_ids:
        ok(
            await api.post(
                "sam.sec",
                f"/meetings/{meeting_id}/advice",
                {"case_id": case_id, "advice": "supported"},
            )
        )


async def london_today(api: Api) -> str:
    """Today in London by the test server's clock: the day a meeting must be held on."""
    return london_date(await api.env.get_current_time()).isoformat()


async def settle(store: EventStore, *, quiet: float = 0.3, timeout: float = 15.0) -> int:
    """Wait until nothing has been appended for `quiet` seconds (notifications and other
    background steps land after the step that caused them); the last position."""
    deadline = time.monotonic() + timeout
    last = store.last_position()
    since = time.monotonic()
    while time.monotonic() < deadline:
        await asyncio.sleep(0.05)
        now = store.last_position()
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return last
    raise AssertionError(f"the store kept changing for {timeout}s")


def check_store(store: EventStore) -> dict[str, CaseState]:
    """The invariants no fault may break: every chain verifies, positions and versions have no
    gaps, every event id is stored once, and every case stream folds. The case states."""
    result = store.verify_all()
    assert result.ok, str(result)
    records = store.read_all()
    assert [r.position for r in records] == list(range(1, len(records) + 1))
    ids = Counter(r.event_id for r in records)
    assert not [i for i, n in ids.items() if n > 1], "an event id is stored twice"
    streams: dict[str, list[StoredEvent]] = defaultdict(list)
    for r in records:
        streams[r.stream_id].append(r)
    states: dict[str, CaseState] = {}
    for stream_id, stream in streams.items():
        assert [r.version for r in stream] == list(range(1, len(stream) + 1)), stream_id
        if stream[0].event_type == "case.drafted":
            states[stream_id], _ = replay(stream_id, stream)  # raises if the fold refuses
    return states
