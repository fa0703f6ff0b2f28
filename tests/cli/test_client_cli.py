"""The people's CLI (`ratify case|tasks|act|history|register`) against the real API stack.

The CLI runs in a worker thread (`asyncio.to_thread`) through `typer.testing.CliRunner`; its
`RatifyClient` gets, through the typer context (`obj=CliContext(api_transport=...)`), a sync
transport that hands each request to the API fixture's ASGI client on the test's event loop,
where the app, the Temporal test server's client and the worker live. So every command goes
through the same HTTP API and rules as the web.
"""

from __future__ import annotations

import asyncio
import json
import shlex
import socket
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
import structlog
from typer.testing import CliRunner, Result

from ratify.cli.client import ApiRefusal, RatifyClient
from ratify.cli.common import CliContext
from ratify.cli.main import app
from tests.api.conftest import Api, api  # noqa: F401  (the fixture)
from tests.services.projections.stories import Story, required_by

METTRACE_PATH = Path(__file__).resolve().parents[2] / "examples" / "mettrace.yaml"
METTRACE = METTRACE_PATH.read_text()
PART2_TEXT = "held separately"  # a phrase of the MetTrace example's Part 2 placeholder
BASE_URL = "http://ratify.test"

Run = Callable[..., Awaitable[Result]]


class LoopBridge(httpx.BaseTransport):
    """A sync transport for a client in another thread: each request is sent by the API
    fixture's async ASGI client on the event loop that owns the app and the worker."""

    def __init__(self, stack: Api, loop: asyncio.AbstractEventLoop) -> None:
        self.stack, self.loop = stack, loop

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            self.stack.projector.catch_up()  # `ratify serve` runs the projector in a loop
        content = request.read()
        headers = {k: v for k, v in request.headers.items() if k.lower() != "content-length"}

        async def send() -> httpx.Response:
            return await self.stack.http.request(
                request.method, str(request.url), headers=headers, content=content
            )

        answer = asyncio.run_coroutine_threadsafe(send(), self.loop).result(timeout=60)
        return httpx.Response(answer.status_code, headers=answer.headers, content=answer.content)


@pytest_asyncio.fixture(loop_scope="session")
async def run(api: Api) -> AsyncIterator[Run]:  # noqa: F811
    """`await run(user, *args)`: the CLI as `user` (None: no token), output captured.

    The stack's structlog output goes to stderr meanwhile: CliRunner swaps `sys.stdout`
    for the whole process, and the server's log lines must not land in the CLI's JSON.
    """
    saved = structlog.get_config()
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(file=sys.__stderr__))
    bridge = CliContext(api_transport=LoopBridge(api, asyncio.get_running_loop()))
    runner = CliRunner()

    async def invoke(user: str | None, *args: str, env: dict[str, str | None] | None = None):
        environ: dict[str, str | None] = {
            "RATIFY_API_URL": BASE_URL,
            "RATIFY_TOKEN": api.tokens[user] if user else None,
            **(env or {}),
        }
        result = await asyncio.to_thread(runner.invoke, app, list(args), env=environ, obj=bridge)
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        return result

    try:
        yield invoke
    finally:
        structlog.configure(**saved)


async def _through_board(api: Api, case_id: str, meeting: str = "IAB-1") -> None:  # noqa: F811
    """The board stage through the API: a meeting, the case on its agenda, supported."""
    today = (await api.env.get_current_time()).date().isoformat()
    r = await api.post(
        "sam.sec", "/meetings", {"meeting_id": meeting, "board": "IAB", "meeting_date": today}
    )
    assert r.status_code == 201, r.text
    r = await api.post("sam.sec", f"/meetings/{meeting}/cases", {"case_id": case_id})
    assert r.status_code == 200, r.text
    r = await api.post(
        "sam.sec", f"/meetings/{meeting}/advice", {"case_id": case_id, "advice": "supported"}
    )
    assert r.status_code == 200, r.text


def _json(result: Result) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


# -- case submit, show, list -------------------------------------------------------------------


async def test_an_officer_submits_mettrace_and_sees_it_in_show_and_list(api: Api, run: Run):  # noqa: F811
    r = await run("ollie.lane", "case", "submit", str(METTRACE_PATH), "--case-id", "mt-1")
    assert r.exit_code == 0, r.output
    assert "drafted mt-1 (version 1)" in r.stdout
    assert "submitted mt-1: version 2, stage board" in r.stdout
    assert [e.event_type for e in api.store.read_stream("mt-1")] == [
        "case.drafted",
        "case.submitted",
    ]

    shown = await run("ollie.lane", "case", "show", "mt-1")
    assert shown.exit_code == 0, shown.output
    out = shown.stdout
    assert "Met Trace" in out and "board (with the board)" in out
    assert "place_on_agenda" in out and "board_secretariat" in out  # the open task
    assert PART2_TEXT in out  # the officer drafted it: cleared for Part 2
    outsider = await run("no.body", "case", "show", "mt-1")
    assert outsider.exit_code == 0, outsider.output
    assert PART2_TEXT not in outsider.stdout
    assert "Part 2: exists; you are not cleared to see it" in outsider.stdout

    view = _json(await run("ollie.lane", "case", "show", "mt-1", "--version", "1", "--json"))
    assert (view["version"], view["stage"]) == (1, "draft")
    drafted_at = api.store.read_stream("mt-1")[0].occurred_at.isoformat()
    view = _json(await run("ollie.lane", "case", "show", "mt-1", "--as-of", drafted_at, "--json"))
    assert (view["version"], view["stage"]) == (1, "draft")

    listed = _json(await run("ollie.lane", "case", "list", "--json"))
    assert [(c["case_id"], c["title"], c["stage"]) for c in listed["items"]] == [
        ("mt-1", "Met Trace", "board")
    ]
    assert listed["next"] is None
    table = await run("ollie.lane", "case", "list", "--title", "met")
    assert "mt-1" in table.stdout and "£5,600,000.00" in table.stdout
    found = _json(await run("ollie.lane", "case", "list", "--stage", "approved", "--json"))
    assert found == {"items": [], "next": None}

    draft = await run("ollie.lane", "case", "submit", str(METTRACE_PATH), "--draft-only", "--json")
    made = _json(draft)
    assert made["submitted"] is None and made["draft"]["version"] == 1
    assert api.store.stream_version(made["case_id"]) == 1


async def test_bad_case_files_exit_2_naming_field_and_rule_and_store_nothing(
    api: Api,  # noqa: F811
    run: Run,
    tmp_path: Path,
):
    bad = {
        "unknown field": (
            METTRACE.replace("title: Met Trace", "titel: Met Trace"),
            "extra field 'titel' is not allowed",
        ),
        "negative amount": (
            METTRACE.replace("amount: 1120000", "amount: -1120000", 1),
            "money_lines.0.amount: an amount cannot be negative",
        ),
        "absurd amount": (
            METTRACE.replace("amount: 1120000", "amount: 99000000000", 1),
            "money_lines.0.amount: an amount cannot exceed",
        ),
        "dates in the wrong order": (
            METTRACE.replace(
                "\npart2:",
                "\ntime_sensitivity: {required_by: 2019-12-13, reason: Funding}\n"
                "part1_deferral: {until: 2019-12-01, reason: Tender open}\npart2:",
                1,
            ),
            "part1_deferral.until is before time_sensitivity.required_by",
        ),
        "malformed YAML": (METTRACE.replace("title: Met Trace", "title: [Met Trace"), "YAML"),
    }
    for name, (text, rule) in bad.items():
        assert text != METTRACE, f"the {name} edit did not apply"
        path = tmp_path / f"{name.replace(' ', '-')}.yaml"
        path.write_text(text)
        r = await run("ollie.lane", "case", "submit", str(path))
        assert r.exit_code == 2, (name, r.output)
        assert r.stderr.startswith("error: invalid_case_file: "), (name, r.stderr)
        assert rule in r.stderr, (name, r.stderr)
        assert "drafted" not in r.stdout
    # files the CLI refuses before sending anything
    (tmp_path / "case.txt").write_text(METTRACE)
    (tmp_path / "latin1.yaml").write_bytes("title: Caf\xe9".encode("latin-1"))
    for path, message in [
        (tmp_path / "missing.yaml", "FILE: no such file"),
        (tmp_path / "case.txt", "a case file ends in .yaml, .yml or .json"),
        (tmp_path / "latin1.yaml", "is not UTF-8 text"),
    ]:
        r = await run("ollie.lane", "case", "submit", str(path))
        assert r.exit_code == 2 and message in r.stderr, r.output
    # only an originating officer may create a case
    r = await run("fran.fin", "case", "submit", str(METTRACE_PATH))
    assert r.exit_code == 2 and "error: wrong_role:" in r.stderr and "HTTP 403" in r.stderr
    assert api.store.read_all() == []


# -- tasks and act -----------------------------------------------------------------------------


async def test_an_adviser_works_from_the_inbox_and_bad_actions_exit_2(api: Api, run: Run):  # noqa: F811
    assert (
        await run("ollie.lane", "case", "submit", str(METTRACE_PATH), "--case-id", "c1")
    ).exit_code == 0
    await _through_board(api, "c1")

    inbox = _json(await run("fran.fin", "tasks", "--json"))
    assert [(t["case_id"], t["kind"], t["area"]) for t in inbox["items"]] == [
        ("c1", "sign_off", "finance")
    ]
    assert (inbox["total"], inbox["more"], inbox["next"]) == (1, 0, None)
    table = (await run("fran.fin", "tasks")).stdout
    assert "c1" in table and "sign_off (finance)" in table and "finance_adviser" in table
    assert _json(await run("no.body", "tasks", "--json"))["items"] == []

    before = api.store.stream_version("c1")
    # the wrong role: a legal adviser cannot give finance advice
    r = await run("lee.legal", "act", "c1", "sign_off", "--field", "area=finance")
    assert r.exit_code == 2 and r.stderr.startswith("error: wrong_role: "), r.output
    assert "HTTP 403" in r.stderr
    # stale: the adviser looked at an older version
    r = await run(
        "fran.fin", "act", "c1", "sign_off", "-f", "area=finance",
        "--expected-version", str(before - 1),
    )  # fmt: skip
    assert r.exit_code == 2 and r.stderr.startswith("error: stale: "), r.output
    assert f"current: version {before}, stage advice" in r.stderr
    # malformed bodies never reach the API
    for args, message in [
        (["-f", "area"], "--field: 'area' must be key=value"),
        (["--json-body", "[1]"], "--json-body: must be a JSON object"),
        (["--json-body", "{nope"], "--json-body: not JSON"),
        (["-f", "area=finance", "-f", "area=legal"], "--field: area is given twice"),
    ]:
        r = await run("fran.fin", "act", "c1", "sign_off", *args)
        assert r.exit_code == 2 and message in r.stderr, r.output
    # an unknown action and a field of the wrong kind are the API's refusals
    r = await run("fran.fin", "act", "c1", "teleport")
    assert r.exit_code == 2 and "error: unknown_action: no action 'teleport'" in r.stderr
    r = await run("fran.fin", "act", "c1", "sign_off", "-f", "area=finance", "-f", "comment=[1]")
    assert r.exit_code == 2 and "error: invalid: comment" in r.stderr, r.output
    assert api.store.stream_version("c1") == before  # nothing written by any refusal

    done = await run(
        "fran.fin", "act", "c1", "sign_off", "--json-body", '{"area": "finance"}',
        "--expected-version", str(before), "--json",
    )  # fmt: skip
    result = _json(done)
    assert result["version"] == before + 1
    assert [e["event_type"] for e in result["events"]] == ["advice.signed_off"]
    again = await run("fran.fin", "act", "c1", "sign_off", "-f", "area=finance")
    assert again.exit_code == 2 and again.stderr.startswith("error: already_done: ")
    assert _json(await run("fran.fin", "tasks", "--json"))["items"] == []
    shown = (await run("fran.fin", "case", "show", "c1")).stdout
    assert "signed_off" in shown and "fran.fin (finance_adviser)" in shown


# -- history and the register ----------------------------------------------------------------


async def test_history_is_for_auditors_and_the_register_shows_the_approval(api: Api, run: Run):  # noqa: F811
    assert (
        await run("ollie.lane", "case", "submit", str(METTRACE_PATH), "--case-id", "h1")
    ).exit_code == 0
    await _through_board(api, "h1")
    for user, area in [
        ("fran.fin", "finance"),
        ("lee.legal", "legal"),
        ("cat.com", "commercial"),
        ("eve.eq", "equalities"),
        ("ian.ia", "information_assurance"),
    ]:
        r = await run(user, "act", "h1", "sign_off", "--field", f"area={area}")
        assert r.exit_code == 0, r.output
    assert (await run("rl.ceo", "act", "h1", "consult_chief_executive")).exit_code == 0
    r = await run("sl.dmpc", "act", "h1", "decide", "--field", "approve=true")
    assert r.exit_code == 2 and "error: interests_not_declared" in r.stderr
    r = await run("sl.dmpc", "act", "h1", "declare_interests", "-f", "has_interest=false")
    assert r.exit_code == 0, r.output
    r = await run("sl.dmpc", "act", "h1", "decide", "--field", "approve=true")
    assert r.exit_code == 0 and "stage approved" in r.stdout, r.output
    assert "approved as PCD " in r.stdout
    await api.env.sleep(timedelta(seconds=5))  # Part 1 is published by the workflow

    events = _json(await run("aud.ann", "history", "h1", "--json"))
    types = [e["type"] for e in events]
    assert types[:2] == ["case.drafted", "case.submitted"] and "decision.approved" in types
    assert [e["version"] for e in events] == list(range(1, len(events) + 1))
    table = (await run("aud.ann", "history", "h1")).stdout
    assert "case.drafted" in table and "ollie.lane" in table and "sl.dmpc" in table
    first = events[0]["occurred_at"]
    early = _json(await run("aud.ann", "history", "h1", "--as-of", first, "--json"))
    assert [e["type"] for e in early] == ["case.drafted"]
    r = await run("aud.ann", "history", "h1", "--as-of", "2019-12-13")
    assert r.exit_code == 2 and "--as-of: give a timezone" in r.stderr
    # others are told the rule, not shown the events
    r = await run("fran.fin", "history", "h1")
    assert r.exit_code == 2 and r.stdout == ""
    assert "error: wrong_role: only auditors may read a case's events" in r.stderr
    assert "HTTP 403" in r.stderr

    register = _json(await run(None, "register", "--json"))["items"]  # public: no token
    assert [e["title"] for e in register] == ["Met Trace"]
    reference = register[0]["reference"]
    assert reference.startswith("PCD ") and PART2_TEXT not in json.dumps(register)
    entry = await run(None, "register", reference)
    assert entry.exit_code == 0 and "MetTrace is the MPS flagship" in entry.stdout
    assert reference in (await run(None, "register")).stdout
    r = await run(None, "register", "PCD 99999")
    assert r.exit_code == 2 and "error: not_found: no published decision PCD 99999" in r.stderr
    shown = _json(await run("aud.ann", "case", "show", "h1", "--json"))
    assert (shown["stage"], shown["reference"]) == ("approved", reference)


# -- sign-in and the connection ----------------------------------------------------------------


async def test_tokens_and_bad_query_values_get_clear_errors(run: Run):
    r = await run(None, "tasks")
    assert r.exit_code == 2
    assert "error: no API token: pass --token or set RATIFY_TOKEN" in r.stderr
    r = await run(None, "tasks", "--token", "rat_nope_nope")
    assert r.exit_code == 2 and "error: unauthenticated: " in r.stderr
    assert "unknown, revoked or expired" in r.stderr
    r = await run("ollie.lane", "case", "show", "c", "--as-of", "2019-13-45Z")
    assert r.exit_code == 2 and "--as-of: '2019-13-45Z' is not an ISO date and time" in r.stderr
    # FastAPI's own validation list (here: the body's role) becomes `field: message`
    r = await run("ollie.lane", "act", "c", "submit", "--role", "wizard")
    assert r.exit_code == 2, r.output
    assert r.stderr.startswith("error: invalid: role: Input should be 'originating_officer'")
    r = await run("ollie.lane", "case", "list", "--stage", "limbo")
    assert r.exit_code == 2 and "error: invalid: unknown stage 'limbo'" in r.stderr
    r = await run("ollie.lane", "case", "show", "case-nope")
    assert r.exit_code == 2 and "error: not_found: there is no case case-nope" in r.stderr
    r = await run("ollie.lane", "case", "list", "--api-url", "ratify.example")
    assert r.exit_code == 2 and "--api-url: 'ratify.example' is not a URL" in r.stderr


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_an_unreachable_server_exits_1_naming_the_url():
    url = f"http://127.0.0.1:{_closed_port()}"
    r = CliRunner().invoke(app, ["tasks", "--api-url", url, "--token", "rat_x_y"])
    assert r.exit_code == 1
    assert r.stderr.startswith(f"error: cannot reach Ratify at {url}: ")
    r = CliRunner().invoke(app, ["register", "--api-url", url])
    assert r.exit_code == 1 and "cannot reach Ratify" in r.stderr


def test_the_client_reads_fastapis_validation_list_and_the_refusal_json():
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/tasks":
            problems = [
                {"loc": ["query", "as_of"], "msg": "Input should be a valid datetime"},
                {"loc": ["body", "case", "title"], "msg": "Field required"},
            ]
            return httpx.Response(422, json={"detail": problems})
        state = {"case_id": "c", "version": 7, "stage": "advice"}
        return httpx.Response(409, json={"code": "stale", "detail": "moved on", "state": state})

    with RatifyClient("http://x", "t", transport=httpx.MockTransport(answer)) as client:
        with pytest.raises(ApiRefusal) as caught:
            client.tasks()
        assert (caught.value.status, caught.value.code) == (422, "invalid")
        assert caught.value.detail == (
            "as_of: Input should be a valid datetime; case.title: Field required"
        )
        with pytest.raises(ApiRefusal) as caught:
            client.act("c", "sign_off", {"area": "finance"})
        assert (caught.value.code, caught.value.state) == ("stale", state_of(caught.value))


def state_of(refusal: ApiRefusal) -> dict[str, Any]:
    assert refusal.state is not None and refusal.state["version"] == 7
    return refusal.state


# -- pages -------------------------------------------------------------------------------------


def _decision(api: Api, n: int, title: str) -> None:  # noqa: F811
    start = datetime(2020, 1, 6, 9, tzinfo=UTC) + timedelta(days=n)
    story = Story(api.store, f"dec-{n:02}", start=start, title=title)
    story.to_advice().sign_all().approve(f"PCD {800 + n}").publish_part1()


def _following(stdout: str, lead: str) -> list[str]:
    """The command a page prints for the next page, as arguments (without `ratify`)."""
    line = next(x for x in stdout.splitlines() if x.startswith(lead))
    words = shlex.split(line[len(lead) :])
    assert words[0] == "ratify"
    return words[1:]


async def test_the_inbox_and_the_register_come_a_page_at_a_time(api: Api, run: Run):  # noqa: F811
    for n, due in enumerate(["2020-03-01", "2019-12-13", "2020-01-31"]):
        Story(api.store, f"adv-{n}", time_sensitivity=required_by(due)).to_advice()
    first = await run("fran.fin", "tasks", "--limit", "2")
    assert first.exit_code == 0, first.output
    out = first.stdout
    assert out.index("adv-1") < out.index("adv-2") and "adv-0" not in out  # soonest first
    assert "tasks 1 to 2 of 3" in out
    following = _following(out, "1 more: ")
    assert following[:3] == ["tasks", "--limit", "2"] and following[3] == "--cursor"
    rest = await run("fran.fin", *following)
    assert rest.exit_code == 0 and "adv-0" in rest.stdout and "tasks 3 to 3 of 3" in rest.stdout
    assert "more:" not in rest.stdout
    page = _json(await run("fran.fin", "tasks", "--limit", "1", "--json"))
    assert (len(page["items"]), page["total"], page["more"]) == (1, 3, 2) and page["next"]

    for n in range(1, 4):
        _decision(api, n, f"Body Worn Video {n}" if n != 2 else "Data Environment")
    found = await run(None, "register", "--title", "video", "--limit", "1")
    assert found.exit_code == 0, found.output
    assert "PCD 803" in found.stdout and "PCD 801" not in found.stdout
    following = _following(found.stdout, "older decisions: ")
    assert following[:5] == ["register", "--title", "video", "--limit", "1"]
    older = await run(None, *following)
    assert "PCD 801" in older.stdout and "older decisions" not in older.stdout
    everything = _json(await run(None, "register", "--json"))
    assert [e["reference"] for e in everything["items"]] == ["PCD 803", "PCD 802", "PCD 801"]
    signed = everything["items"][1]["date_signed"]
    one = _json(
        await run(None, "register", "--signed-from", signed, "--signed-to", signed, "--json")
    )
    assert [e["reference"] for e in one["items"]] == ["PCD 802"]

    for args, message in [
        (["tasks", "--cursor", "bogus"], "error: invalid: cursor: not a cursor of this list"),
        (["register", "--cursor", "bogus"], "error: invalid: cursor: not a cursor of this list"),
        (["register", "--signed-from", "13/12/2019"], "--signed-from: '13/12/2019' is not a date"),
        (["register", "PCD 801", "--title", "x"], "REFERENCE shows one decision"),
        (["tasks", "--limit", "0"], "Invalid value for '--limit'"),
    ]:
        r = await run("fran.fin", *args)
        assert r.exit_code == 2 and message in r.stderr, (args, r.output)


class LosesFirstAnswer(LoopBridge):
    """The network drops the answer to the first action: the API did the step, the client
    heard nothing (a read timeout)."""

    def __init__(self, stack: Api, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(stack, loop)
        self.keys: list[str | None] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        answer = super().handle_request(request)
        if "/actions/" in request.url.path:
            self.keys.append(request.headers.get("Idempotency-Key"))
            if len(self.keys) == 1:
                raise httpx.ReadTimeout("the answer was lost", request=request)
        return answer


async def test_an_action_whose_answer_is_lost_is_sent_again_and_stored_once(api: Api, run: Run):  # noqa: F811
    assert (
        await run("ollie.lane", "case", "submit", str(METTRACE_PATH), "--case-id", "c-lost")
    ).exit_code == 0
    await _through_board(api, "c-lost")
    before = api.store.stream_version("c-lost")
    lossy = LosesFirstAnswer(api, asyncio.get_running_loop())

    def sign_off() -> dict[str, Any]:
        with RatifyClient(BASE_URL, api.tokens["fran.fin"], transport=lossy) as client:
            return client.act("c-lost", "sign_off", {"area": "finance"})

    monkey = pytest.MonkeyPatch()
    monkey.setattr("ratify.cli.client.RETRY_PAUSE", 0.0)
    try:
        result = await asyncio.to_thread(sign_off)
    finally:
        monkey.undo()
    # sent twice with one key; answered with the step's result, not "already done"
    assert len(lossy.keys) == 2 and lossy.keys[0] == lossy.keys[1] and lossy.keys[0]
    assert result["version"] == before + 1
    assert [e["event_type"] for e in result["events"]] == ["advice.signed_off"]
    stored = api.store.read_stream("c-lost")
    assert [r.event_type for r in stored[before:]] == ["advice.signed_off"]


# -- an 80-column terminal ---------------------------------------------------------------------


async def test_the_inbox_and_the_case_list_print_whole_case_ids_in_80_columns(api: Api, run: Run):  # noqa: F811
    long_id = "mettrace-2026-0001-extension"  # 28 characters: wider than an even share of 80
    r = await run("ollie.lane", "case", "submit", str(METTRACE_PATH), "--case-id", long_id)
    assert r.exit_code == 0, r.output
    await _through_board(api, long_id, meeting="IAB-80")
    narrow = {"COLUMNS": "80"}
    for user, args in (("fran.fin", ["tasks"]), ("ollie.lane", ["case", "list"])):
        result = await run(user, *args, env=narrow)
        assert result.exit_code == 0, result.output
        lines = result.stdout.splitlines()
        assert all(len(line) <= 80 for line in lines), args
        # The id whole on one line (to copy), nothing cut short with an ellipsis.
        assert any(long_id in line for line in lines), result.stdout
        assert "…" not in result.stdout, result.stdout
