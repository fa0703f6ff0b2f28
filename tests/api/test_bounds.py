"""Nothing anyone sends can jam a case or the service: every input is bounded at the edge.

Dates lie in a window (default 1990 to 2100), texts and lists have a length, identifiers
one rule, bodies a size per route (413 before they are read, signed in or not), malformed
bodies get 400 and absurd read parameters 422. Each refusal names the field and the rule,
and nothing is written on a refusal.
"""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any, NoReturn

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.types import Message, Receive, Scope, Send
from temporalio.service import RPCError, RPCStatusCode

from domain.bounds import MAX_CASE_FILE_BYTES
from domain.casefile import parse_case
from ratify.http.limits import MAX_JSON_BYTES
from ratify.services.dates import DateWindow
from tests.api.conftest import Api, api_stack

METTRACE = (Path(__file__).resolve().parents[2] / "examples" / "mettrace.yaml").read_text()
WINDOW = "1990-01-01 to 2100-12-31"
OFFICER = {"role": "originating_officer"}


async def _upload(api: Api, text: str = METTRACE, **params: str) -> tuple[int, dict]:
    r = await api.http.post(
        "/cases/upload",
        content=text,
        params={"filename": "mettrace.yaml", **params},
        headers={**api.auth("ollie.lane"), "Content-Type": "text/plain"},
    )
    return r.status_code, r.json()


def _with_required_by(day: str) -> str:
    text = METTRACE.replace(
        "\npart2:", f"\ntime_sensitivity: {{required_by: {day}, reason: Funding}}\npart2:", 1
    )
    assert text != METTRACE
    return text


async def test_a_date_outside_the_window_is_refused_naming_the_field_and_the_window(api: Api):
    status, body = await _upload(api, _with_required_by("9999-12-31"))
    assert status == 422 and body["code"] == "invalid_case_file", body
    assert body["detail"] == (
        "case file 'mettrace.yaml' is not valid (1 problem):\n"
        f"  time_sensitivity.required_by: 9999-12-31 is outside the dates Ratify accepts ({WINDOW})"
    )
    assert api.store.read_all() == []
    # A case sent as JSON: the same rule.
    case = parse_case(_with_required_by("2101-01-01"), "m.yaml").model_dump(mode="json")
    r = await api.post("ollie.lane", "/cases", {"case": case})
    assert r.status_code == 422, r.text
    assert r.json()["detail"].startswith("time_sensitivity.required_by: 2101-01-01 is outside")
    assert api.store.read_all() == []

    status, body = await _upload(api)
    assert status == 201, body
    case_id = body["case_id"]
    refused = [
        ("ollie.lane", f"/cases/{case_id}/actions/change_required_by",
         {"required_by": "9999-12-31", "reason": "x"}, "required_by: 9999-12-31 is outside"),
        ("ollie.lane", f"/cases/{case_id}/actions/change_required_by",
         {"required_by": "0001-01-03", "reason": "x"}, "required_by: 0001-01-03 is outside"),
        ("sam.sec", "/meetings",
         {"meeting_id": "IAB-far", "board": "IAB", "meeting_date": "9999-12-31"},
         "meeting_date: 9999-12-31 is outside"),
        ("lee.legal", "/delegations",
         {"deputy_id": "cat.com", "role": "legal_adviser", "reason": "Leave",
          "starts_on": "2026-01-01", "ends_on": "9999-12-31"},
         "ends_on: 9999-12-31 is outside"),
    ]  # fmt: skip
    for user, url, payload, message in refused:
        r = await api.post(user, url, payload)
        assert r.status_code == 422, (url, r.text)
        assert r.json()["detail"].startswith(message) and WINDOW in r.json()["detail"], r.text
    assert len(api.store.read_stream(case_id)) == 1
    assert (await api.get("lee.legal", "/delegations")).json() == []
    for url, params in [
        (f"/cases/{case_id}", {"as_of": "9999-12-31T23:00:00-23:00"}),
        (f"/cases/{case_id}", {"as_of": "0001-01-01T00:00:00+05:00"}),
        ("/cases", {"required_by_before": "9999-12-31"}),
        ("/register", {"signed_from": "0001-01-01"}),
        ("/meetings", {"from_date": "9999-12-31"}),
    ]:
        r = await api.get("aud.ann", url, params=params)
        assert r.status_code == 422, (url, params, r.text)
        assert WINDOW in r.json()["detail"], r.text

    # The window is configurable (RATIFY_EARLIEST_DATE, RATIFY_LATEST_DATE).
    services = api.app.state.services
    services.window = DateWindow(date(2000, 1, 1), date(2030, 12, 31))
    r = await api.post(
        "ollie.lane",
        f"/cases/{case_id}/actions/change_required_by",
        {"required_by": "2031-01-01", "reason": "x"},
    )
    assert r.status_code == 422 and "(2000-01-01 to 2030-12-31)" in r.json()["detail"], r.text


async def test_every_text_and_list_of_a_step_is_bounded_before_it_reaches_temporal(api: Api):
    _, body = await _upload(api)
    case_id = body["case_id"]
    url = f"/cases/{case_id}/actions"
    refused = [
        ("ollie.lane", "record_irregularity", {**OFFICER, "description": "x" * 20_001},
         "description: String should have at most 20000"),
        ("ollie.lane", "withdraw", {"reason": "x" * 20_001}, "reason: String should have"),
        ("fran.fin", "request_changes", {"area": "finance", "reasons": ["x"] * 101},
         "reasons: List should have at most 100"),
        ("fran.fin", "request_changes", {"area": "finance", "reasons": ["x" * 20_001]},
         "reasons.0: String should have"),
        ("fran.fin", "sign_off", {"area": "finance", "comment": "x" * 20_001}, "comment: String"),
    ]  # fmt: skip
    for user, action, payload, message in refused:
        r = await api.post(user, f"{url}/{action}", payload)
        assert r.status_code == 422, (action, r.text)
        assert r.json()["detail"].startswith(message), (action, r.json()["detail"])
    # A 3 MB description is over the actions' body cap: refused before it is even read.
    r = await api.post(
        "ollie.lane", f"{url}/record_irregularity", {**OFFICER, "description": "x" * 3_000_000}
    )
    assert r.status_code == 413 and r.json()["code"] == "too_large", r.text
    assert len(api.store.read_stream(case_id)) == 1
    # The case still takes steps at once.
    r = await api.post(
        "ollie.lane", f"{url}/record_irregularity", {**OFFICER, "description": "Paid early."}
    )
    assert r.status_code == 200, r.text


async def test_identifiers_people_choose_follow_one_rule(api: Api):
    for bad in ["a/b", "team/../x", "x" * 81, "-leading", "with space", "nul\x00"]:
        status, body = await _upload(api, case_id=bad)
        assert status == 422, (bad, body)
        assert body["detail"].startswith("case_id:") and "letters, digits" in body["detail"]
        r = await api.post(
            "sam.sec",
            "/meetings",
            {"meeting_id": bad, "board": "IAB", "meeting_date": "2030-01-01"},
        )
        assert r.status_code == 422, (bad, r.text)
        assert "meeting_id" in r.json()["detail"], r.text
    r = await api.post(
        "sam.sec",
        "/meetings",
        {"meeting_id": "M" * 5000, "board": "IAB", "meeting_date": "2030-01-01"},
    )
    assert r.status_code == 422 and "meeting_id" in r.json()["detail"], r.text
    # The reserved prefixes stay reserved, and a good id is taken.
    status, body = await _upload(api, case_id="access-x")
    assert status == 422 and "begins with 'access-'" in body["detail"]
    assert api.store.read_all() == []
    status, body = await _upload(api, case_id="pcd-679.v2_draft")
    assert status == 201, body


async def test_bodies_over_their_cap_are_refused_before_reading_and_before_sign_in(api: Api):
    # Declared too large: refused on the Content-Length, signed in or not.
    for headers in ({}, api.auth("ollie.lane")):
        r = await api.http.post(
            "/cases/upload",
            content=b"x" * (MAX_CASE_FILE_BYTES + 100 * 1024),
            params={"filename": "big.yaml"},
            headers={**headers, "Content-Type": "text/plain"},
        )
        assert r.status_code == 413, r.text
        assert r.json()["detail"].startswith(f"body: at most {MAX_CASE_FILE_BYTES + 64 * 1024}")
    r = await api.http.post(
        "/session",
        content=b"{" + b" " * 20_000 + b"}",
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code == 413, r.text

    # Streamed with no length: counted as it comes, refused once past the cap.
    sent = 0

    async def chunks() -> AsyncIterator[bytes]:
        nonlocal sent
        for _ in range(64):
            sent += 1
            yield b" " * (64 * 1024)

    r = await api.http.post(
        "/cases/c/actions/submit",
        content=chunks(),
        headers={**api.auth("ollie.lane"), "Content-Type": "application/json"},
    )
    assert r.status_code == 413, r.text
    assert sent * 64 * 1024 <= MAX_JSON_BYTES + 64 * 1024 * 2
    assert api.store.read_all() == []


async def test_malformed_bodies_get_400_everywhere_fast(api: Api):
    deep = b"[" * 100_000 + b"]" * 100_000
    cases = [
        (None, "/session", b'{"user_id": "x", "password": ', "application/json", "not valid JSON"),
        (None, "/session", b"[" * 5000, "application/json", "nested deeper than"),
        (None, "/session", b'{"a":' * 1000 + b"1" + b"}" * 1000, "application/json", "nested"),
        ("ollie.lane", "/cases", b"{'case': 1}", "application/json", "not valid JSON"),
        ("ollie.lane", "/cases/c/actions/submit", b"{}", "text/plain", "Content-Type: send JSON"),
        ("ollie.lane", "/cases/c/actions/submit", deep, "application/json", "nested deeper"),
        ("sam.sec", "/meetings", b"\xff\xfe", "application/json", "JSON must be UTF-8"),
    ]
    for user, url, content, media, message in cases:
        headers = {**(api.auth(user) if user else {}), "Content-Type": media}
        r = await api.http.post(url, content=content, headers=headers)
        assert r.status_code == 400, (url, content[:40], r.status_code, r.text)
        assert r.json()["code"] == "malformed" and message in r.json()["detail"], r.text
    assert api.store.read_all() == []


async def test_absurd_read_parameters_get_422_not_500(api: Api):
    _, body = await _upload(api)
    case_id = body["case_id"]
    for params in [
        {"version": "99999999999999999999"},
        {"version": str(2**31)},
        {"version": "-99999999999999999999"},
        {"as_of": "2019-12-13T17:00:00+99:00"},
        {"as_of": "99999-12-13T17:00:00Z"},
    ]:
        r = await api.get("aud.ann", f"/cases/{case_id}", params=params)
        assert r.status_code == 422, (params, r.text)
    r = await api.get("aud.ann", f"/cases/{case_id}", params={"version": "1"})
    assert r.status_code == 200, r.text
    for params in [
        {"min_amount": "1e999999"},
        {"max_amount": "-1"},
        {"stage": "x" * 51},
        {"reference": "PCD " + "9" * 60},
    ]:
        r = await api.get("aud.ann", "/cases", params=params)
        assert r.status_code == 422 and next(iter(params)) in r.json()["detail"], (params, r.text)
    r = await api.post(
        "ollie.lane",
        f"/cases/{case_id}/actions/submit",
        {"expected_version": 99999999999999999999},
    )
    assert r.status_code == 422 and "expected_version" in r.json()["detail"], r.text


async def test_a_case_too_large_for_temporal_is_refused_before_it_is_started(api: Api):
    # A case file under the 2 MiB cap whose case, written as JSON, is over 1 MiB: Temporal
    # carries the case in the workflow's input, the drafted event and the state (its limit
    # is 2 MB a payload), so it is refused at the door, not stalled in a workflow.
    papers = "".join(f"  - {'Paper ' * 80}{i}\n" for i in range(2500))
    text = METTRACE.replace("background_papers: []\n", "background_papers:\n" + papers, 1)
    assert text != METTRACE and len(text.encode()) < MAX_CASE_FILE_BYTES
    status, body = await _upload(api, text)
    assert status == 422, body
    assert body["detail"].startswith("case: ") and "a case takes at most 1048576" in body["detail"]
    assert api.store.read_all() == []
    # Revising a case through the API takes the same size (the body cap is the case file's).
    _, created = await _upload(api)
    case = parse_case(text, "big.yaml").model_dump(mode="json")
    r = await api.post("ollie.lane", f"/cases/{created['case_id']}/actions/revise", {"case": case})
    assert r.status_code == 422 and r.json()["detail"].startswith("case: "), r.text
    assert len(api.store.read_stream(created["case_id"])) == 1


def test_the_window_of_dates_comes_from_the_settings(monkeypatch: pytest.MonkeyPatch):
    from ratify.infra.settings import Settings
    from ratify.services.dates import default_window

    assert default_window() == DateWindow(date(1990, 1, 1), date(2100, 12, 31))
    monkeypatch.setenv("RATIFY_EARLIEST_DATE", "2000-01-01")
    monkeypatch.setenv("RATIFY_LATEST_DATE", "2050-12-31")
    assert default_window() == DateWindow(date(2000, 1, 1), date(2050, 12, 31))
    monkeypatch.setenv("RATIFY_LATEST_DATE", "1999-12-31")
    with pytest.raises(ValueError, match="RATIFY_LATEST_DATE must be after"):
        Settings()
    monkeypatch.setenv("RATIFY_LATEST_DATE", "9999-12-31")
    with pytest.raises(ValueError, match="between 1900 and 2999"):
        Settings()


def test_json_depth_is_counted_without_parsing():
    from ratify.http.limits import json_depth_exceeds, json_problem

    assert not json_depth_exceeds(b'{"a": [1, {"b": "[[[[[[[[[["}]}', 3)
    assert json_depth_exceeds(b'{"a": [1, {"b": [[]]}]}', 4)
    assert json_problem(b'{"a": "\\"[[[[["}') is None
    assert json_problem(b"[" * 1_000_000) == "body: JSON nested deeper than 32 levels"


async def test_a_body_cut_short_by_a_disconnect_is_never_used():
    from ratify.http.limits import BodyLimitMiddleware

    called: list[bytes] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        called.append((await receive())["body"])

    messages: Iterator[Message] = iter(
        [
            {"type": "http.request", "body": b"title: half a ca", "more_body": True},
            {"type": "http.disconnect"},
        ]
    )

    async def receive() -> Message:
        return next(messages)

    async def send(message: Message) -> None:
        raise AssertionError(f"nothing is sent to a client that has gone: {message}")

    scope: Scope = {
        "type": "http",
        "method": "POST",
        "path": "/cases/upload",
        "headers": [(b"content-type", b"text/plain")],
    }
    await BodyLimitMiddleware(app)(scope, receive, send)
    assert called == []


async def test_a_body_that_stalls_is_refused_and_never_used(monkeypatch: pytest.MonkeyPatch):
    """A client that declares a large body and sends part of it, then nothing, held its
    memory and a connection for as long as it liked, before sign-in (20 such held ~26 MB
    for minutes). The body must arrive within BODY_READ_SECONDS (30 s): then 408."""
    import asyncio

    from ratify.http import limits

    monkeypatch.setattr(limits, "BODY_READ_SECONDS", 0.05)
    called: list[bytes] = []
    sent: list[Message] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        called.append((await receive())["body"])

    first = True

    async def receive() -> Message:
        nonlocal first
        if first:
            first = False
            return {"type": "http.request", "body": b"x" * 1000, "more_body": True}
        await asyncio.Event().wait()  # the rest never comes
        raise AssertionError("unreachable")

    async def send(message: Message) -> None:
        sent.append(message)

    scope: Scope = {
        "type": "http",
        "method": "POST",
        "path": "/cases/upload",
        "headers": [(b"content-type", b"text/plain"), (b"content-length", b"2000000")],
    }
    await limits.BodyLimitMiddleware(app)(scope, receive, send)
    assert called == []
    assert sent[0]["status"] == 408
    assert json.loads(sent[1]["body"]) == {
        "code": "timeout",
        "detail": "body: not received within 0.05 s",
    }


def test_the_steps_bounds_hold_at_the_edge_and_never_on_replay():
    """A workflow decodes its steps without the edge's context: a step it accepted before
    the bounds existed (150 reasons, say) still loads when its history is replayed."""
    from domain.bounds import EDGE
    from tests import factories as f
    from workflows import messages as m

    data = {"actor": f.FINANCE, "area": "finance", "reasons": ["Too costly."] * 150}
    assert len(m.RequestChanges.model_validate(data).reasons) == 150
    with pytest.raises(ValueError, match="List should have at most 100 items"):
        m.RequestChanges.model_validate(data, context=EDGE)
    long = {"actor": f.OFFICER, "case_id": "c" * 300}
    assert m.AddToAgenda.model_validate(long).case_id == "c" * 300
    with pytest.raises(ValueError, match="at most 200 characters"):
        m.AddToAgenda.model_validate(long, context=EDGE)


# -- no one who has not signed in can make the service spend its time (F2) ---------------------

#: What an attacker sent, anonymous, to freeze the API: 720,000 empty arrays in one (2.16 MB,
#: under the case routes' 2 MiB + 64 KiB cap). Parsed, it takes a CPU's tenths of a second.
ARRAYS_BODY = b"[" + b"[]," * 720_000 + b"[]]"


async def test_a_big_body_without_sign_in_is_never_parsed(
    api: Api, monkeypatch: pytest.MonkeyPatch
):
    """Before sign-in a body gets only checks that cost little on any shape; it is parsed
    (JSON) only for a signed-in person. Before: an anonymous 2 MB body of many small arrays
    was walked byte by byte in Python and parsed, twice, before the 401 (1.7 s a request,
    the whole API frozen by two senders)."""
    assert len(ARRAYS_BODY) < MAX_CASE_FILE_BYTES + 64 * 1024
    parsed: list[int] = []
    real_loads = json.loads

    def counting_loads(text: Any, *args: Any, **kwargs: Any) -> Any:
        if len(text) > 100_000:
            parsed.append(len(text))
        return real_loads(text, *args, **kwargs)

    monkeypatch.setattr(json, "loads", counting_loads)
    for url in ("/cases", "/cases/c/actions/revise"):
        r = await api.http.post(
            url, content=ARRAYS_BODY, headers={"Content-Type": "application/json"}
        )
        assert r.status_code == 401, (url, r.text[:200])
    assert parsed == [], "a body was parsed before sign-in"
    # Signed in, the same body is parsed and refused for what it is.
    r = await api.http.post(
        "/cases",
        content=ARRAYS_BODY,
        headers={**api.auth("ollie.lane"), "Content-Type": "application/json"},
    )
    assert r.status_code == 422 and r.json()["code"] == "invalid", r.text[:300]
    assert parsed == [len(ARRAYS_BODY)]
    r = await api.http.post(
        "/cases",
        content=b'{"case": ',
        headers={**api.auth("ollie.lane"), "Content-Type": "application/json"},
    )
    assert r.status_code == 400 and r.json()["code"] == "malformed", r.text
    assert r.json()["detail"].startswith("body: not valid JSON ("), r.text
    assert api.store.read_all() == []


#: Bodies within the caps shaped to make a depth count slow: a Python loop over the bytes, a
#: regular expression that backtracks over escaped quotes, or one pass per level.
HARD_BODIES = {
    "arrays": ARRAYS_BODY,
    "open brackets": b"[" * 2_000_000,
    "32 deep, over and over": (b"[" * 32 + b"]" * 32) * 31_000,
    "strings of brackets": b'["[",' * 400_000,
    "escaped quotes, unterminated": b'["' + b'\\"[' * 700_000,
    "quotes and brackets": b'"[' * 1_000_000,
    "backslashes": b"[" + b"\\" * 2_000_000,
}


def _python_lines(run: Callable[[], object]) -> int:
    """How many lines of Python `run` executes (C code runs none): a count, not a time."""
    lines = 0

    def trace(frame: Any, event: str, arg: Any) -> Any:
        nonlocal lines
        if event == "line":
            lines += 1
        return trace

    sys.settrace(trace)
    try:
        run()
    finally:
        sys.settrace(None)
    return lines


@pytest.mark.parametrize("shape", list(HARD_BODIES))
def test_the_depth_count_runs_no_python_per_byte_on_any_shape(shape: str):
    """The depth of a body is counted before sign-in, so it must cost about the same on
    any body within the caps: the Python it runs does not grow with the body (the work per
    byte is done in C). The old count ran several lines of Python per byte."""
    from ratify.http.limits import MAX_JSON_DEPTH, json_depth_exceeds

    body = HARD_BODIES[shape]
    quarter = body[: len(body) // 4]
    small = _python_lines(lambda: json_depth_exceeds(quarter, MAX_JSON_DEPTH))
    large = _python_lines(lambda: json_depth_exceeds(body, MAX_JSON_DEPTH))
    assert large <= small + 20, (shape, small, large)
    assert large < 1_000, (shape, large)


def _depth(value: object) -> int:
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    return 0


_TRICKY_TEXT = st.text(alphabet=st.sampled_from('[]{}"\\/ab \t\n\u00e9\u202e\x00'), max_size=8)
_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | _TRICKY_TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_TRICKY_TEXT, inner, max_size=4),
    max_leaves=60,
)


@given(value=_JSON_VALUES, ensure_ascii=st.booleans(), indent=st.sampled_from([None, 0, 2]))
@settings(max_examples=300, deadline=None)
def test_the_depth_count_agrees_with_a_parser(
    value: object, ensure_ascii: bool, indent: int | None
):
    from ratify.http.limits import json_depth_exceeds

    body = json.dumps(value, ensure_ascii=ensure_ascii, indent=indent).encode()
    depth = _depth(json.loads(body))
    for limit in range(depth + 2):
        assert json_depth_exceeds(body, limit) == (depth > limit), (body, limit, depth)


# -- Temporal unavailable: a JSON 503 naming what to do, not a plain-text 500 (F8a) ----------


class _TemporalDown:
    """A Temporal client (and its workflow handles) whose every call finds the frontend
    unavailable, as when the dev server is stopped."""

    def __init__(self, status: RPCStatusCode) -> None:
        self.status = status

    def _fail(self) -> NoReturn:
        raise RPCError("connection refused", self.status, b"")

    def get_workflow_handle(self, workflow_id: str, **kw: object) -> _TemporalDown:
        return self

    async def start_workflow(self, *args: object, **kw: object) -> NoReturn:
        self._fail()

    async def execute_update_with_start_workflow(self, *args: object, **kw: object) -> NoReturn:
        self._fail()

    async def execute_update(self, *args: object, **kw: object) -> NoReturn:
        self._fail()

    async def query(self, *args: object, **kw: object) -> NoReturn:
        self._fail()


@pytest.mark.parametrize(
    "status",
    [RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED],
    ids=["unavailable", "deadline_exceeded"],
)
async def test_temporal_unavailable_is_a_json_503_naming_what_to_do(
    tmp_path: Path, status: RPCStatusCode
):
    async with api_stack(tmp_path, raise_app_exceptions=False) as api:
        _, created = await _upload(api)
        case_id = created["case_id"]
        services = api.app.state.services
        services.client = _TemporalDown(status)
        case_events = len(api.store.read_stream(case_id))

        # A step: sent, its outcome unknown.
        for key in ({"Idempotency-Key": "k-1"}, {}):
            r = await api.http.post(
                f"/cases/{case_id}/actions/submit",
                json={},
                headers={**api.auth("ollie.lane"), **key},
            )
            assert r.status_code == 503 and r.json()["code"] == "outcome_unknown", r.text
            detail = r.json()["detail"]
            assert "Temporal" in detail and f"case {case_id}" in detail, detail
            hint = "same Idempotency-Key" if key else "look at it before sending the step again"
            assert hint in detail, detail
            assert int(r.headers["Retry-After"]) >= 1
        # A new case or meeting: may not have started; look, then send again.
        status_code, body = await _upload(api, case_id="case-while-down")
        assert status_code == 503 and body["code"] == "temporal_unavailable", body
        assert "GET /cases/case-while-down" in body["detail"], body
        r = await api.post(
            "sam.sec",
            "/meetings",
            {"meeting_id": "IAB-down", "board": "IAB", "meeting_date": "2030-01-01"},
        )
        assert r.status_code == 503 and r.json()["code"] == "temporal_unavailable", r.text
        assert "GET /meetings" in r.json()["detail"], r.text
        # A meeting's own steps and view.
        r = await api.post("sam.sec", "/meetings/IAB-down/close", {})
        assert r.status_code == 503 and r.json()["code"] == "outcome_unknown", r.text
        r = await api.get("sam.sec", "/meetings/IAB-down")
        assert r.status_code == 503 and r.json()["code"] == "temporal_unavailable", r.text
        assert len(api.store.read_stream(case_id)) == case_events
        assert api.store.read_stream("case-while-down") == []


# -- ids quoted back: bounded and escaped (F8b) -----------------------------------------------


@pytest.mark.parametrize(
    "sent", ["x" * 5000, "evil\u202etxt.exe", "nul\x00id", "line\nbreak", "zw\u200bsp"]
)
async def test_an_id_is_quoted_back_bounded_and_escaped(api: Api, sent: str):
    from urllib.parse import quote

    from domain.bounds import MAX_QUOTED_ID, quote_id

    path = quote(sent, safe="")
    answers = [
        await api.get(None, f"/register/{path}"),
        await api.get("aud.ann", f"/cases/{path}"),
        await api.get("aud.ann", f"/cases/{path}/bundle"),
        await api.post("ollie.lane", f"/cases/{path}/actions/submit", {}),
        await api.post("ollie.lane", f"/cases/c/actions/{path}", {}),
        await api.post("sam.sec", f"/meetings/m/{path}", {}),
    ]
    for r in answers:
        assert r.status_code in (404, 422), (r.request.url, r.status_code, r.text[:200])
        detail = r.json()["detail"]
        assert len(detail) < MAX_QUOTED_ID + 400, (r.request.url, len(detail))
        assert detail.isprintable(), (r.request.url, detail)
        assert quote_id(sent) in detail or "-character id" in detail, (r.request.url, detail)
    # The public register's page too.
    r = await api.http.get(f"/ui/register/{path}")
    assert r.status_code == 404 and sent not in r.text and quote_id(sent) in r.text, r.text[:300]


def test_quote_id_keeps_a_good_id_and_escapes_the_rest():
    from domain.bounds import quote_id

    assert quote_id("PCD 679") == "PCD 679"
    assert quote_id("a\u202eb\x00c\n\U000e0001") == "a\\u202eb\\x00c\\x0a\\U000e0001"
    long = quote_id("\u202e" * 1000)
    assert long == "\\u202e" * 80 + "… (1000 characters)"
