"""Fuzzing the API: every operation of its OpenAPI schema with schemathesis, and case files
mutated from MetTrace with Hypothesis. Never a 5xx, and nothing left corrupt.

The requests go in-process to the FastAPI app through httpx's ASGI transport, on the test's
own event loop, where the Temporal client and worker live. (schemathesis' own ASGI transport
runs the app on an event loop of its own in another thread, which the Temporal client and
the worker cannot be shared with.) So Hypothesis runs in a worker thread, generating cases
with schemathesis' strategies, and each request is handed to the loop. The schema is the
app's own `/openapi.json`, loaded with `schemathesis.openapi.from_dict`.

Bounded: `EXAMPLES` (20) examples per operation (positive and negative data; 60 for the case
actions, 30 for the meeting steps, 3 for the replay of every workflow), no deadline, no
example database, no shrinking, derandomised so CI runs the same requests every time. The
fuzzing user holds every role a person can hold, and half the generated requests are pointed
at real cases, actions, meetings and references, so that the fuzz reaches the workflows'
rules rather than stopping at "no such case".

How it fails: an unhandled exception in a route is a 500 here (the client does not re-raise
it), which `not_a_server_error` reports with the request that caused it (as a curl command);
an answer that is not what the schema says it is (a route's response model, or the refusal's
`Problem` for a 422) fails `response_schema_conformance`; a step that got half-written (an
event appended without the fold agreeing, a broken chain) fails `check_store` afterwards.
What it found, before the fixes: `GET /cases/{id}` (and its events, timeline, access log,
bundle) with an id no stream can have (a control character, a NUL) and
`GET /cases/{id}?version=-1` answered 500. Two faults found by reading rather than by chance
have their own tests below: U+0000 in a case's text, and a case id that takes over another
case's streams. Meeting ids have a property test of their own: any text is taken exactly
when it follows the identifier rule (`domain.bounds`); before, an empty id, a NUL, 5,000
characters and `/` were all taken. (The API's other bounds, dates, texts, bodies and
read parameters, are `tests/api/test_bounds.py`.)
"""

from __future__ import annotations

import asyncio
import copy
import json
import re
from collections.abc import Callable, Coroutine
from datetime import date
from typing import Any

import httpx
import hypothesis.strategies as st
import schemathesis
import yaml
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Err, Ok
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import response_schema_conformance

from domain.bounds import IDENTIFIER
from domain.case import Case
from ratify.services.commands import ACTIONS
from tests.faults.conftest import Stack
from tests.faults.helpers import (
    METTRACE,
    SIGNOFFS,
    act,
    check_store,
    ok,
    settle,
    through_board,
    upload,
)

EXAMPLES = 20
FUZZER = "fuzz.all"
#: Examples for the operations that are not `EXAMPLES`: the actions, which reach the
#: workflows' rules, get more; the replay of every workflow's history is slow, so fewer.
PER_PATH = {"/cases/{case_id}/actions/{action}": 60, "/meetings/{meeting_id}/{action}": 30}
FEW = {"/audit/replay": 3}
#: Lists the workflows through Temporal's visibility API, which the time-skipping test server
#: does not implement (it answers UNIMPLEMENTED): `tests/workflows/test_reconcile.py` covers
#: it on the dev server.
LEFT_OUT = {"GET /audit/reconcile"}


def _run(loop: asyncio.AbstractEventLoop) -> Callable[[Coroutine[Any, Any, Any]], Any]:
    def run(coro: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, loop).result(timeout=120)

    return run


async def _send(stack: Stack, kwargs: dict[str, Any]) -> httpx.Response:
    """A request serialised by schemathesis (`requests` keyword arguments), sent with httpx."""
    request: dict[str, Any] = {
        "method": kwargs["method"],
        "url": kwargs["url"],
        "headers": kwargs.get("headers") or {},
        "params": kwargs.get("params") or None,
    }
    if "json" in kwargs:
        request["json"] = kwargs["json"]
    elif kwargs.get("data") is not None:
        data = kwargs["data"]
        if isinstance(data, dict):
            request["data"] = data
        else:
            request["content"] = data.encode() if isinstance(data, str) else data
    return await stack.http.request(**request)


async def _seed(stack: Stack) -> dict[str, list[str]]:
    """Real things for the fuzz to hit: cases in draft, in advice, decided with a Part 2
    review due; a meeting; a published reference."""
    draft = await upload(stack, case_id="fuzz-draft")
    advice = await upload(stack, case_id="fuzz-advice")
    decided = await upload(stack, case_id="fuzz-decided")
    await through_board(stack, [advice, decided], "IAB-FUZZ")
    for user, area in SIGNOFFS:
        ok(await act(stack, user, decided, "sign_off", {"area": area}))
    ok(await act(stack, "rl.ceo", decided, "consult_chief_executive"))
    ok(await act(stack, "sl.dmpc", decided, "declare_interests", {"has_interest": False}))
    ok(await act(stack, "sl.dmpc", decided, "decide", {"approve": True}))
    for _ in range(200):
        if stack.store.read_stream(decided)[-1].event_type == "part2.review_due":
            break
        await asyncio.sleep(0.025)
    reference = (await stack.get(FUZZER, f"/cases/{decided}")).json()["reference"]
    return {
        "case_id": [draft, advice, decided],
        "ref": [decided, reference],
        "reference": [reference],
        "meeting_id": ["IAB-FUZZ"],
        "action": sorted(ACTIONS),
    }


def _pointed(strategy: st.SearchStrategy[Any], real: dict[str, list[str]]) -> Any:
    """Cases from `strategy`, half of them with their path parameters replaced by real ones."""

    @st.composite
    def cases(draw: st.DrawFn) -> Any:
        case = draw(strategy)
        params = case.path_parameters or {}
        for name in list(params):
            if name in real and draw(st.booleans()):
                params[name] = draw(st.sampled_from(real[name]))
        return case

    return cases()


async def test_every_operation_fuzzed_gives_no_server_error_and_leaves_the_store_whole(
    stack: Stack,
):
    real = await _seed(stack)
    raw = (await stack.http.get("/openapi.json")).json()
    schema = schemathesis.openapi.from_dict(raw)
    results = list(schema.get_all_operations())
    assert all(isinstance(r, Ok) for r in results), [r.err() for r in results if isinstance(r, Err)]
    operations = [r.ok() for r in results if isinstance(r, Ok)]
    operations = [op for op in operations if op.label not in LEFT_OUT]
    assert len(operations) >= 25, [op.label for op in operations]
    headers = stack.auth(FUZZER)
    run = _run(asyncio.get_running_loop())
    sent: dict[str, int] = {}
    statuses: dict[int, int] = {}

    def fuzz(operation: Any) -> None:
        strategy = _pointed(
            st.one_of(
                operation.as_strategy(GenerationMode.POSITIVE),
                operation.as_strategy(GenerationMode.NEGATIVE),
            ),
            real,
        )
        examples = {**PER_PATH, **FEW}.get(operation.path, EXAMPLES)

        @settings(
            max_examples=examples,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
            phases=[Phase.explicit, Phase.generate],
        )
        @given(case=strategy)
        def one(case: Any) -> None:
            kwargs = case.as_transport_kwargs(base_url="http://ratify", headers=headers)
            response = run(_send(stack, kwargs))
            sent[operation.label] = sent.get(operation.label, 0) + 1
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
            where = f"{case.as_curl_command()}\n-> {response.status_code} {response.text[:500]}"
            assert response.status_code < 500, where
            case.validate_response(
                response, checks=[not_a_server_error, response_schema_conformance]
            )

        one()

    for operation in operations:
        await asyncio.to_thread(fuzz, operation)
    assert set(sent) == {op.label for op in operations}
    assert sum(sent.values()) >= 5 * len(operations)
    assert statuses.get(200, 0) + statuses.get(201, 0) > 0  # some got through to the rules

    await settle(stack.store)
    stack.projector.catch_up()  # the read views take every stored event
    states = check_store(stack.store)
    assert set(real["case_id"]) <= set(states)


# -- case files ----------------------------------------------------------------------------

BASE: dict[str, Any] = yaml.safe_load(METTRACE)


def _paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*path, index))
    return found


PATHS = [p for p in _paths(BASE) if p]

ODD_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.sampled_from([10**30, -(10**30), 2**63, -1, 0, 10_000_000_001]),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([1e308, -1e-308, 0.001, 87000.505]),
    st.text(max_size=40),
    st.sampled_from(["", " ", "£", "£-5", "1,2,3", "12.345", "NaN", "Infinity", "‮evil", "😀" * 50]),
    st.dates(min_value=date(1, 1, 1)),
    st.sampled_from(["2019-02-30", "13/12/2019", "2019-13-01", "20191213", "9999-12-31T25:00"]),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)


@st.composite
def mutated(draw: st.DrawFn) -> tuple[str, str, list[str]]:
    """MetTrace with 1-3 mutations (a field removed, replaced by an odd value, a text replaced
    by any text, or an extra field added), written as YAML or JSON: (text, filename, what was
    done)."""
    doc = copy.deepcopy(BASE)
    done: list[str] = []
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(PATHS))
        parent: Any = doc
        try:
            for step in path[:-1]:
                parent = parent[step]
            _ = parent[path[-1]]  # still there after the earlier mutations?
        except (KeyError, IndexError, TypeError):
            continue
        kind = draw(st.sampled_from(["remove", "replace", "extra", "text"]))
        where = ".".join(str(p) for p in path)
        if kind == "text" and isinstance(parent[path[-1]], str):
            # any text where text goes: unicode, control characters, huge
            parent[path[-1]] = draw(st.text(min_size=1, max_size=60) | st.just("x" * 20_001))
        elif kind == "remove" and isinstance(parent, dict):
            del parent[path[-1]]
        elif kind == "extra" and isinstance(parent, dict):
            parent[draw(st.text(min_size=1, max_size=12))] = draw(ODD_VALUES)
        else:
            parent[path[-1]] = draw(ODD_VALUES)
        done.append(f"{kind} {where}")
    if draw(st.booleans()):
        return yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), "case.yaml", done
    return json.dumps(doc, default=str, ensure_ascii=draw(st.booleans())), "case.json", done


#: A problem line of a refused case file: "<field path>: <rule>".
PROBLEM = re.compile(r"^  (?P<path>[^:]+): .+$", re.MULTILINE)


def names_a_field(detail: str) -> bool:
    """Whether every problem of the refusal names a field of the case (or the file as a
    whole, for an extra top-level field), and there is at least one."""
    paths = [m.group("path") for m in PROBLEM.finditer(detail)]
    return bool(paths) and all(
        p == "(top level)" or p.split(".")[0] in Case.model_fields for p in paths
    )


async def test_mutated_case_files_are_created_or_refused_naming_a_field(stack: Stack):
    run = _run(asyncio.get_running_loop())
    headers = {**stack.auth("ollie.lane"), "Content-Type": "text/plain"}
    outcomes: dict[int, int] = {}

    async def post(text: str, filename: str) -> tuple[httpx.Response, list[str]]:
        before = stack.store.last_position()
        r = await stack.http.post(
            "/cases/upload", content=text, params={"filename": filename}, headers=headers
        )
        # (the notifications of an earlier case may land meanwhile: only drafts count)
        drafted = [
            e.stream_id
            for e in stack.store.read_all(after=before)
            if e.event_type == "case.drafted"
        ]
        return r, drafted

    @settings(
        max_examples=150,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate],
    )
    @given(mutated())
    def one(file: tuple[str, str, list[str]]) -> None:
        text, filename, done = file
        r, drafted = run(post(text, filename))
        outcomes[r.status_code] = outcomes.get(r.status_code, 0) + 1
        where = (done, r.status_code, r.text[:600])
        assert r.status_code in (201, 422), where
        if r.status_code == 422:
            body = r.json()
            assert body["code"] == "invalid_case_file", where
            assert names_a_field(body["detail"]), where
            assert drafted == [], where  # nothing stored
        else:
            assert drafted == [r.json()["case_id"]] and r.json()["version"] == 1, where

    await asyncio.to_thread(one)
    # the mutations mostly break a rule; some make a case that is different but valid
    assert outcomes.get(422, 0) > 60 and outcomes.get(201, 0) > 0, outcomes
    await settle(stack.store)
    check_store(stack.store)


async def test_a_nul_character_is_refused_naming_the_field(stack: Stack):
    """PostgreSQL cannot hold U+0000 in a text column: a title or a reason carrying one was
    stored in the event (as a JSON escape) and then stopped the read views' projector for
    good, on every later catch-up (see `test_postgres_faults`). Refused at the door instead."""
    headers = {**stack.auth("ollie.lane"), "Content-Type": "text/plain"}
    for text, filename in [
        (METTRACE.replace("title: Met Trace", 'title: "Met\\0Trace"'), "nul.yaml"),
        (json.dumps({**json.loads(json.dumps(BASE, default=str)), "title": "Met\0"}), "nul.json"),
    ]:
        r = await stack.http.post(
            "/cases/upload", content=text, params={"filename": filename}, headers=headers
        )
        assert r.status_code == 422 and "title: " in r.json()["detail"], r.text
    case_id = await upload(stack)
    r = await act(stack, "ollie.lane", case_id, "withdraw", {"reason": "No\0 longer needed"})
    assert r.status_code == 422 and "reason" in r.json()["detail"], r.text
    drafted = [e.stream_id for e in stack.store.read_all() if e.event_type == "case.drafted"]
    assert drafted == [case_id]
    assert [e.event_type for e in stack.store.read_stream(case_id)] == ["case.drafted"]


async def test_a_case_cannot_take_a_name_ratify_gives_another_cases_streams(stack: Stack):
    """A case's access log is the stream `access-<case>`, its notifications
    `notifications-<case>`, its Part 2 review the workflow `part2-review-<case>`, a meeting
    the workflow `meeting-<id>`. A case created under one of those names took them over: the
    other case's access records were appended to the squatter's own stream (which then no
    longer folds), or its review could not start. Refused, and the fuzz found none of it by
    chance, hence this test."""
    victim = await upload(stack, case_id="victim")
    headers = {**stack.auth("ollie.lane"), "Content-Type": "text/plain"}
    for name in ("access-victim", "notifications-victim", "part2-review-victim", "meeting-IAB-1"):
        r = await stack.http.post(
            "/cases/upload",
            content=METTRACE,
            params={"filename": "m.yaml", "case_id": name},
            headers=headers,
        )
        assert r.status_code == 422 and r.json()["detail"].startswith("case_id: "), (name, r.text)
    assert (await stack.get("aud.ann", f"/cases/{victim}")).json()["part2_visible"]
    await settle(stack.store)
    states = check_store(stack.store)
    assert list(states) == [victim]
    r = await stack.http.post(
        "/cases",
        json={"case": {"title": "x"}, "case_id": "bad\u0085id"},
        headers=stack.auth("ollie.lane"),
    )
    assert r.status_code == 422


async def test_any_meeting_id_is_taken_exactly_when_it_follows_the_identifier_rule(stack: Stack):
    """Meeting ids took NUL (which then stopped the read views on PostgreSQL), 5,000
    characters (a 500) and `/` (a meeting no URL can reach). One rule now, the case ids'."""
    run = _run(asyncio.get_running_loop())
    headers = stack.auth("sam.sec")
    seen: set[str] = set()
    taken: list[str] = []

    @settings(
        max_examples=60,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate],
    )
    @given(
        st.text(max_size=90)
        | st.from_regex(IDENTIFIER, fullmatch=True)
        | st.sampled_from(["a/b", "a\x00b", "M" * 5000, "IAB-1 ", " IAB", "IAB\n1", "é"])
    )
    def one(meeting_id: str) -> None:
        body = {"meeting_id": meeting_id, "board": "IAB", "meeting_date": "2030-01-01"}
        r = run(stack.http.post("/meetings", json=body, headers=headers))
        where = (meeting_id[:100], r.status_code, r.text[:300])
        if IDENTIFIER.match(meeting_id) is None:
            assert r.status_code == 422 and r.json()["detail"].startswith("meeting_id"), where
        elif meeting_id in seen:
            assert r.status_code == 409, where
        else:
            assert r.status_code == 201, where
            taken.append(meeting_id)
        seen.add(meeting_id)

    await asyncio.to_thread(one)
    assert taken, "no valid id was generated"
    stack.projector.catch_up()
    for meeting_id in taken[:5]:
        r = await stack.get("sam.sec", f"/meetings/{meeting_id}")
        assert r.status_code == 200 and r.json()["meeting_id"] == meeting_id, r.text
