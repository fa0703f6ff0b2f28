"""One request is traceable in the logs: the API's line and the activity's carry one request id.

The logs go through `configure_logging("json")`, as in production, into a buffer.
"""

from __future__ import annotations

import asyncio
import re

from tests.ops.conftest import Stack, json_lines, logs_to


async def _notified(stack: Stack, case_id: str, count: int) -> None:
    """`count` notifications of the case have gone (they go after the API's answer)."""
    for _ in range(200):
        if len(stack.store.read_stream(f"notifications-{case_id}")) >= count:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"fewer than {count} notifications for {case_id}")


async def test_one_action_is_traceable_from_the_api_to_the_activity(stack: Stack):
    case_id = await stack.new_case()
    await _notified(stack, case_id, 1)  # the officer's task: the case's lines are done
    with logs_to("json") as buffer:
        r = await stack.post(
            "ollie.lane",
            f"/cases/{case_id}/actions/submit",
            {},
            headers={"X-Request-ID": "trace-me-0001"},
        )
        assert r.status_code == 200, r.text
        await _notified(stack, case_id, 2)  # the secretariat's task the submit opened
    assert r.headers["X-Request-ID"] == "trace-me-0001"
    lines = json_lines(buffer)
    traced = [line for line in lines if line.get("request_id") == "trace-me-0001"]

    [api_line] = [line for line in traced if line["event"] == "request"]
    assert api_line["logger"] == "ratify.http"
    assert api_line["route"] == "/cases/{case_id}/actions/{action}"
    assert api_line["status"] == 200 and api_line["case_id"] == case_id
    assert api_line["actor"] == "ollie.lane" and api_line["level"] == "info"

    # The update's record_events activity, in the worker: same request id, and the
    # workflow, run, case, activity and actor.
    [activity_line] = [line for line in traced if line["event"] == "events recorded"]
    assert activity_line["types"] == ["case.submitted"]
    assert activity_line["activity"] == "record_events"
    assert activity_line["workflow_id"] == case_id and activity_line["case_id"] == case_id
    assert re.fullmatch(r"[0-9a-f-]{36}", activity_line["run_id"])
    assert activity_line["actor"] == "ollie.lane"
    assert activity_line["actor_role"] == "originating_officer"
    assert activity_line["timestamp"].endswith("Z")
    # The notification of the task the submit opened carries it too; no line carries
    # another request's id.
    notified = [line for line in traced if line["event"] == "notification"]
    assert notified and all(line["activity"] == "notify" for line in notified)
    assert not [line for line in lines if line.get("request_id") not in (None, "trace-me-0001")]


async def test_a_request_id_is_made_when_missing_or_unsafe(stack: Stack):
    r = await stack.http.get("/healthz")
    made = r.headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", made)
    for unsafe in ("evil id; rm -rf", "x" * 129, '{"a": 1}'):
        r = await stack.http.get("/healthz", headers={"X-Request-ID": unsafe})
        assert re.fullmatch(r"[0-9a-f]{32}", r.headers["X-Request-ID"]), unsafe


async def test_a_case_started_through_the_api_carries_its_request_into_the_draft(stack: Stack):
    with logs_to("json") as buffer:
        case_id = await stack.new_case(headers={"X-Request-ID": "new-case-42"})
    drafted = [
        line
        for line in json_lines(buffer)
        if line["event"] == "events recorded" and line.get("case_id") == case_id
    ]
    assert drafted and drafted[0]["types"] == ["case.drafted"]
    assert drafted[0]["request_id"] == "new-case-42"
    assert drafted[0]["actor"] == "ollie.lane"


async def test_console_format_renders_the_same_fields(stack: Stack):
    case_id = await stack.new_case()
    with logs_to("console") as buffer:
        r = await stack.post(
            "ollie.lane",
            f"/cases/{case_id}/actions/withdraw",
            {"reason": "No longer needed."},
            headers={"X-Request-ID": "console-1"},
        )
    assert r.status_code == 200, r.text
    text = buffer.getvalue()
    assert "events recorded" in text and "request_id=console-1" in text
    assert f"case_id={case_id}" in text
