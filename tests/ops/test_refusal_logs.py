"""A refusal is routine: one log line (the request's, with its code), never a traceback.

A board meeting moves its cases on through an activity; when the case refused, the activity
failed with a warning and a traceback (about a thousand lines in the console format, with
the locals of every frame) for what is a routine "the case is in draft".
"""

from __future__ import annotations

import asyncio
import io
import json
from typing import Any

import pytest

from tests.ops.conftest import Stack, logs_to

FORMATS = ["console", "json"]


def _server_lines(buffer: io.StringIO) -> list[str]:
    """The lines the service wrote (not the test's own HTTP client's)."""
    return [
        line
        for line in buffer.getvalue().splitlines()
        if "HTTP Request:" not in line and line.strip()
    ]


def _one_refusal_line(lines: list[str], fmt: str, request_id: str) -> dict[str, Any] | str:
    assert len(lines) == 1, "\n".join(lines[:40])
    [line] = lines
    assert "Traceback" not in line
    if fmt == "json":
        parsed: dict[str, Any] = json.loads(line)
        assert parsed["request_id"] == request_id
        return parsed
    assert f"request_id={request_id}" in line
    return line


async def _quiet(stack: Stack, case_id: str) -> None:
    """The case's first notification has gone: nothing of the set-up logs any more."""
    for _ in range(200):
        if stack.store.read_stream(f"notifications-{case_id}"):
            return
        await asyncio.sleep(0.01)


@pytest.mark.parametrize("fmt", FORMATS)
async def test_a_refused_action_writes_one_line(stack: Stack, fmt: str):
    case_id = await stack.new_case()
    await _quiet(stack, case_id)
    request_id = f"refused-{fmt}"
    with logs_to(fmt) as buffer:
        r = await stack.post(
            "fran.fin",
            f"/cases/{case_id}/actions/sign_off",
            {"area": "finance"},
            headers={"X-Request-ID": request_id},
        )
    assert r.status_code == 422 and r.json()["code"] == "wrong_stage"
    line = _one_refusal_line(_server_lines(buffer), fmt, request_id)
    if isinstance(line, dict):
        assert line["event"] == "request" and line["level"] == "info"
        assert line["status"] == 422 and line["refusal"] == "wrong_stage"
        assert line["route"] == "/cases/{case_id}/actions/{action}"
        assert line["detail"] == "finance sign-off cannot be given: the case is in draft"
    else:
        assert "status=422" in line and "refusal=wrong_stage" in line


@pytest.mark.parametrize("fmt", FORMATS)
async def test_a_case_the_board_cannot_take_is_refused_on_one_line(stack: Stack, fmt: str):
    case_id = await stack.new_case()  # a draft: not yet submitted
    await _quiet(stack, case_id)
    meeting_id = f"IAB-{fmt}"
    r = await stack.post(
        "sam.sec",
        "/meetings",
        {"meeting_id": meeting_id, "board": "IAB", "meeting_date": "2099-01-05"},
    )
    assert r.status_code == 201, r.text
    request_id = f"agenda-{fmt}"
    with logs_to(fmt) as buffer:
        r = await stack.post(
            "sam.sec",
            f"/meetings/{meeting_id}/cases",
            {"case_id": case_id},
            headers={"X-Request-ID": request_id},
        )
        await asyncio.sleep(0.2)  # anything the worker still had to say
    assert r.status_code == 422 and r.json()["code"] == "wrong_stage", r.text
    line = _one_refusal_line(_server_lines(buffer), fmt, request_id)
    if isinstance(line, dict):
        assert line["event"] == "request" and line["refusal"] == "wrong_stage"
        assert line["route"] == "/meetings/{meeting_id}/{action}"
        assert "the case is in draft" in line["detail"]
    else:
        assert "status=422" in line and "refusal=wrong_stage" in line
