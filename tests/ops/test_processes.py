"""The production process commands as real processes: start, serve, drain on SIGTERM, and
refuse bad configuration with one clear line.

`ratify worker`, `ratify api` and `ratify projector` run against Temporal's dev server
(started once for the module, on a free port) and a SQLite file under `tmp_path`, with
only the settings each test gives (none inherited from the shell). The drain test holds
an activity in flight (an e-mail to a slow SMTP server) when SIGTERM arrives: the worker
must let it finish, then exit 0.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import stat
import subprocess
import threading
import time
import urllib.request
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from aiosmtpd.controller import Controller
from temporalio.testing import WorkflowEnvironment

from eventstore import EventStore
from ratify.infra.db import migrate_all
from ratify.infra.devserver import bin_path
from ratify.infra.observability.metrics import free_loopback_port
from ratify.infra.payloads import data_converter
from ratify.infra.settings import Settings
from ratify.infra.signing import KEY_FILE
from tests import factories as f
from tests.keys import TEMPORAL_SECRETS, TEST_PAYLOAD_KEYS, signer
from tests.ops.test_dashboard import metric_names
from workflows import messages as m
from workflows.decision import DecisionWorkflow

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
RATIFY = bin_path("ratify")

#: Bounds on every wait, so that a broken build fails instead of hanging.
START_TIMEOUT = 30.0
EXIT_TIMEOUT = 20.0


@dataclass
class Proc:
    popen: subprocess.Popen[bytes]
    stdout: Path
    stderr: Path

    def out(self) -> str:
        return self.stdout.read_text("utf-8", errors="replace")

    def err(self) -> str:
        return self.stderr.read_text("utf-8", errors="replace")

    def output(self) -> str:
        return f"--- stdout ---\n{self.out()}\n--- stderr ---\n{self.err()}"

    async def wait_for_line(self, text: str, timeout: float = START_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.out():
                return
            if self.popen.poll() is not None:
                raise AssertionError(f"exited {self.popen.returncode}\n{self.output()}")
            await asyncio.sleep(0.05)
        raise AssertionError(f"no {text!r} in {timeout:.0f} s\n{self.output()}")

    async def exit_code(self, timeout: float = EXIT_TIMEOUT) -> int:
        deadline = time.monotonic() + timeout
        while self.popen.poll() is None:
            if time.monotonic() > deadline:
                raise AssertionError(f"still running after {timeout:.0f} s\n{self.output()}")
            await asyncio.sleep(0.05)
        return self.popen.returncode


def settings_env(**settings: str) -> dict[str, str]:
    """The environment of a process: this one's, less every Ratify, Temporal and OTel
    setting, plus `settings`."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("RATIFY_", "TEMPORAL_", "OTEL_"))
    }
    return {**env, "PYTHONUNBUFFERED": "1", **settings}


@pytest.fixture
def spawn(tmp_path: Path) -> Iterator[Any]:
    started: list[Proc] = []

    def start(args: list[str], **settings: str) -> Proc:
        n = len(started)
        stdout, stderr = tmp_path / f"proc-{n}.out", tmp_path / f"proc-{n}.err"
        with stdout.open("wb") as out, stderr.open("wb") as err:
            popen = subprocess.Popen(
                [RATIFY, *args],
                cwd=tmp_path,
                env=settings_env(**settings),
                stdout=out,
                stderr=err,
                stdin=subprocess.DEVNULL,
            )
        proc = Proc(popen, stdout, stderr)
        started.append(proc)
        return proc

    yield start
    for proc in started:
        if proc.popen.poll() is None:
            proc.popen.kill()
            proc.popen.wait(timeout=10)


def run(args: list[str], cwd: Path, **settings: str) -> subprocess.CompletedProcess[str]:
    """A process to its end (no metrics endpoint: the default port may be taken)."""
    return subprocess.run(
        [RATIFY, *args],
        cwd=cwd,
        env=settings_env(**{"RATIFY_METRICS_PORT": "0", **settings}),
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def dev_server() -> AsyncIterator[WorkflowEnvironment]:
    # The processes get TEMPORAL_SECRETS: this client encrypts and signs as they do.
    env = await WorkflowEnvironment.start_local(
        data_converter=data_converter(TEST_PAYLOAD_KEYS),
        interceptors=[signer()],
        dev_server_existing_path=bin_path("temporal"),
        dev_server_startup_timeout=timedelta(seconds=60),
        ui=False,
        dev_server_log_level="warn",
    )
    try:
        yield env
    finally:
        await env.shutdown()


def address(env: WorkflowEnvironment) -> str:
    return env.client.service_client.config.target_host


def scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text: str = response.read().decode()
        return text


class SlowSmtp:
    """An SMTP server that takes `delay` seconds to accept each message."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.receiving = threading.Event()
        self.received: list[str] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.receiving.set()
        await asyncio.sleep(self.delay)
        self.received.append(envelope.content.decode("utf-8", errors="replace"))
        return "250 OK"


# -- graceful: SIGTERM drains -----------------------------------------------------------------


async def test_sigterm_drains_the_worker_letting_the_running_activity_finish(
    tmp_path: Path, spawn: Any, dev_server: WorkflowEnvironment
):
    smtp = SlowSmtp(delay=2.0)
    mail = Controller(smtp, hostname="127.0.0.1", port=free_loopback_port())
    mail.start()
    try:
        url = f"sqlite:///{tmp_path / 'ratify.db'}"
        task_queue = f"ops-{uuid.uuid4().hex[:8]}"
        metrics_port = free_loopback_port()
        worker = spawn(
            ["worker"],
            TEMPORAL_ADDRESS=address(dev_server),
            **TEMPORAL_SECRETS,
            RATIFY_DATABASE_URL=url,  # migrated at start (RATIFY_MIGRATE_ON_START unset)
            RATIFY_TASK_QUEUE=task_queue,
            RATIFY_METRICS_PORT=str(metrics_port),
            RATIFY_SMTP_HOST="127.0.0.1",
            RATIFY_SMTP_PORT=str(mail.port),
            RATIFY_ROLE_MAILBOXES=json.dumps({"originating_officer": "officers@example.org"}),
            RATIFY_GRACEFUL_SHUTDOWN_SECONDS="15",
        )
        await worker.wait_for_line("Ratify worker running")

        case_id = f"case-{uuid.uuid4().hex[:10]}"
        await dev_server.client.start_workflow(
            DecisionWorkflow.run,
            m.DecisionInput(
                case_id=case_id, officer=f.OFFICER, case=f.make_case(), settings=m.Settings()
            ),
            id=case_id,
            task_queue=task_queue,
        )
        # The draft opens the officer's task: the notify activity is e-mailing them.
        assert await asyncio.to_thread(smtp.receiving.wait, START_TIMEOUT), worker.output()

        # One page with both the worker's Temporal SDK metrics and Ratify's own.
        page = await asyncio.to_thread(scrape, metrics_port)
        assert "temporal_worker_task_slots_available{" in page
        assert "temporal_workflow_task_execution_latency_seconds_bucket{" in page
        assert 'ratify_events_recorded_total{type="case.drafted"} 1.0' in page
        assert 'ratify_event_store_append_seconds_count{activity="record_events"}' in page
        # Every SDK metric the Grafana dashboard reads (a failure counter shows only once
        # an activity has failed).
        shown = metric_names("temporal_") - {"temporal_activity_execution_failed_total"}
        assert {name for name in shown if f"\n{name}{{" not in page} == set()
        assert 'service="ratify"' in page

        signalled = time.monotonic()
        worker.popen.send_signal(signal.SIGTERM)
        code = await worker.exit_code()
        took = time.monotonic() - signalled
        assert code == 0, worker.output()
        assert "Ratify worker draining" in worker.out()
        # The e-mail in flight was finished, not cut off, and then recorded.
        assert len(smtp.received) == 1 and "Submit the case" in smtp.received[0]
        with EventStore.from_url(url) as store:
            assert len(store.read_stream(f"notifications-{case_id}")) == 1
        assert 1.0 < took < EXIT_TIMEOUT, took
        # Structured logs: JSON lines on stderr (not the embedded defaults), no traceback.
        events = [json.loads(line)["event"] for line in worker.err().splitlines() if line]
        assert "worker draining: no new tasks; running activities may finish" in events
        assert "worker stopped" in events and "Traceback" not in worker.err()
    finally:
        mail.stop()


async def test_the_api_serves_then_stops_on_sigterm(
    tmp_path: Path, spawn: Any, dev_server: WorkflowEnvironment
):
    url = f"sqlite:///{tmp_path / 'ratify.db'}"
    migrate_all(url)  # `ratify api` runs no migrations
    port = free_loopback_port()
    api = spawn(
        ["api", "--host", "127.0.0.1", "--port", str(port)],
        TEMPORAL_ADDRESS=address(dev_server),
        **TEMPORAL_SECRETS,
        RATIFY_DATABASE_URL=url,
    )
    await api.wait_for_line("Ratify API on")

    def get(path: str) -> tuple[int, str, str]:
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}{path}", headers={"X-Request-ID": "probe-1"}
        )
        with urllib.request.urlopen(request, timeout=10) as r:
            return r.status, r.headers["X-Request-ID"], r.read().decode()

    for _ in range(100):  # uvicorn prints nothing of its own when it is listening
        try:
            status, request_id, body = await asyncio.to_thread(get, "/readyz")
            break
        except OSError:
            await asyncio.sleep(0.05)
    assert (status, request_id) == (200, "probe-1"), body
    assert json.loads(body) == {"database": "ok", "temporal": "ok"}
    _, _, page = await asyncio.to_thread(get, "/metrics")
    assert "temporal_request_total{" in page  # the SDK's client metrics
    assert 'ratify_http_requests_total{method="GET",route="/readyz",status="200"} 1.0' in page

    api.popen.send_signal(signal.SIGTERM)
    assert await api.exit_code() == 0, api.output()
    assert "Traceback" not in api.err()
    # No worker and no migrations in this process.
    assert "Ratify worker" not in api.out()


async def test_the_projector_serves_its_metrics_then_stops_on_sigterm(tmp_path: Path, spawn: Any):
    url = f"sqlite:///{tmp_path / 'ratify.db'}"
    migrate_all(url)
    metrics_port = free_loopback_port()
    projector = spawn(["projector"], RATIFY_DATABASE_URL=url, RATIFY_METRICS_PORT=str(metrics_port))
    await projector.wait_for_line("Ratify projector running")
    page = ""
    for _ in range(100):
        try:
            page = await asyncio.to_thread(scrape, metrics_port)
            if "ratify_projection_lag_events{" in page:
                break
        except OSError:
            pass
        await asyncio.sleep(0.05)
    assert 'ratify_projection_lag_events{projection="case_views"} 0.0' in page
    projector.popen.send_signal(signal.SIGTERM)
    assert await projector.exit_code() == 0, projector.output()


# -- clear start-up errors --------------------------------------------------------------------


def _one_line(result: subprocess.CompletedProcess[str], code: int, *parts: str) -> str:
    """The process failed with `code` and one line saying why, last on stderr; before it
    only log lines (e.g. the migrations it ran), no traceback."""
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    errors = [line for line in lines if line.startswith("ratify ")]
    assert errors == lines[-1:], result.stderr
    assert all(json.loads(line) for line in lines[:-1]), result.stderr
    for part in parts:
        assert part in errors[0], (part, errors[0])
    return errors[0]


def test_an_unreachable_temporal_is_one_line_and_exit_1(tmp_path: Path):
    target = f"127.0.0.1:{free_loopback_port()}"
    result = run(
        ["worker"],
        tmp_path,
        TEMPORAL_ADDRESS=target,
        **TEMPORAL_SECRETS,
        RATIFY_DATABASE_URL=f"sqlite:///{tmp_path / 'ratify.db'}",
    )
    _one_line(result, 1, f"ratify worker: cannot reach Temporal at {target} (TEMPORAL_ADDRESS)")


def test_the_api_needs_temporal_address(tmp_path: Path):
    result = run(["api"], tmp_path, RATIFY_DATABASE_URL=f"sqlite:///{tmp_path / 'ratify.db'}")
    _one_line(result, 2, "ratify api: TEMPORAL_ADDRESS is not set")
    assert not (tmp_path / "ratify.db").exists()  # it touched no database


@pytest.mark.parametrize("command", ["worker", "api", "serve"])
@pytest.mark.parametrize(
    "missing",
    [
        ["RATIFY_PAYLOAD_KEYS", "RATIFY_ACTION_SIGNING_KEY"],
        ["RATIFY_PAYLOAD_KEYS"],
        ["RATIFY_ACTION_SIGNING_KEY"],
    ],
)
def test_off_the_embedded_defaults_the_keys_are_required(
    tmp_path: Path, command: str, missing: list[str]
):
    """With TEMPORAL_ADDRESS, a process that talks to Temporal refuses to start without the
    payload keys (Part 2 in plain text) and the action-signing key (anyone could act)."""
    given = {k: v for k, v in TEMPORAL_SECRETS.items() if k not in missing}
    result = run(
        [command],
        tmp_path,
        TEMPORAL_ADDRESS=f"127.0.0.1:{free_loopback_port()}",
        RATIFY_DATABASE_URL=f"sqlite:///{tmp_path / 'ratify.db'}",
        **given,
    )
    line = _one_line(result, 2, f"ratify {command}: TEMPORAL_ADDRESS is set but", *missing)
    for name in set(TEMPORAL_SECRETS) - set(missing):
        assert name not in line
    assert not (tmp_path / "ratify.db").exists()  # refused before touching anything


def test_the_embedded_defaults_make_a_private_signing_key_once(tmp_path: Path):
    settings = Settings(data_dir=tmp_path / "data")
    first = settings.action_keys()
    key_file = tmp_path / "data" / KEY_FILE
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert settings.action_keys() == first  # kept, not made again
    key_file.chmod(0o644)
    assert Settings(data_dir=tmp_path / "data").action_keys() == first
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


@pytest.mark.parametrize("bad_url", ["mysql://ratify@db/ratify", "not a database url"])
def test_a_bad_database_url_is_one_line_and_exit_2(tmp_path: Path, bad_url: str):
    result = run(
        ["api"],
        tmp_path,
        TEMPORAL_ADDRESS=f"127.0.0.1:{free_loopback_port()}",
        **TEMPORAL_SECRETS,
        RATIFY_DATABASE_URL=bad_url,
    )
    _one_line(result, 2, "ratify api: RATIFY_DATABASE_URL is not a usable database URL")


def test_an_unreachable_database_is_one_line_without_its_password(tmp_path: Path):
    url = f"postgresql+psycopg://ratify:s3cret@127.0.0.1:{free_loopback_port()}/ratify"
    result = run(["worker"], tmp_path, RATIFY_DATABASE_URL=url)
    line = _one_line(result, 1, "ratify worker: cannot migrate the database", "ratify:***@")
    assert "s3cret" not in line


@pytest.mark.parametrize("command", ["worker", "serve"])
def test_no_migration_on_start_when_turned_off(tmp_path: Path, command: str):
    db = tmp_path / "ratify.db"
    result = run(
        [command],
        tmp_path,
        TEMPORAL_ADDRESS=f"127.0.0.1:{free_loopback_port()}",
        **TEMPORAL_SECRETS,
        RATIFY_DATABASE_URL=f"sqlite:///{db}",
        RATIFY_MIGRATE_ON_START="false",
    )
    _one_line(result, 1, f"ratify {command}: the database", "is not migrated", "ratify db upgrade")
    with sqlite3.connect(db) as conn:
        tables = conn.execute("SELECT name FROM sqlite_master WHERE type='table'").fetchall()
    assert tables == []


def test_bad_settings_are_named_one_per_line(tmp_path: Path):
    result = run(["projector"], tmp_path, RATIFY_METRICS_PORT="lots", RATIFY_LOG_FORMAT="xml")
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 2, result.stderr
    assert lines[0].startswith("ratify projector: bad setting RATIFY_")
    assert {line.split()[4].rstrip(":") for line in lines} == {
        "RATIFY_METRICS_PORT",
        "RATIFY_LOG_FORMAT",
    }
