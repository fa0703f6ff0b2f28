"""`ratify serve` starts again after it was SIGKILLed.

It runs the bundled Temporal dev server as a child; SIGKILLed, it could not stop it, and
the orphan kept the dev server's port, so the next `ratify serve` refused to start ("port
... is already in use"). Also: the data directory it made, and the files the dev server and
the store made in it, are private to the user.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import stat
import time
import urllib.request
from pathlib import Path
from typing import Any

import psutil
import pytest

from ratify.infra.devserver import PID_FILE
from ratify.infra.observability.metrics import free_loopback_port
from tests.ops.test_processes import spawn  # noqa: F401  (the fixture)

pytestmark = pytest.mark.slow

#: The dev server starts in a few seconds; slower on a loaded machine.
START_TIMEOUT = 90.0


def _children(pid: int) -> list[int]:
    try:
        return [c.pid for c in psutil.Process(pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


async def _healthy(port: int, timeout: float = 30.0) -> None:
    """The API answers /healthz (it prints its line just before it listens)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as r:
                assert r.status == 200
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


async def test_serve_starts_again_after_sigkill(tmp_path: Path, spawn: Any):  # noqa: F811
    ports = {
        "RATIFY_DEV_SERVER_PORT": str(free_loopback_port()),
        "RATIFY_DEV_SERVER_UI_PORT": str(free_loopback_port()),
        "RATIFY_METRICS_PORT": "0",
    }
    api_port = free_loopback_port()
    started: list[int] = []
    try:
        first = spawn(["serve", "--port", str(api_port)], **ports)
        await first.wait_for_line("Ratify API on", timeout=START_TIMEOUT)
        await _healthy(api_port)
        started = _children(first.popen.pid)
        assert started, "serve started no dev server"
        # A second serve on the same data directory while the first runs is refused, and
        # leaves the first one's dev server alone.
        again = spawn(["serve", "--port", str(free_loopback_port())], **ports)
        assert await again.exit_code(timeout=START_TIMEOUT) == 1
        assert "is already in use" in again.err()
        assert all(_alive(pid) for pid in started)

        os.kill(first.popen.pid, signal.SIGKILL)
        first.popen.wait(timeout=10)
        assert any(_alive(pid) for pid in started)  # its dev server lives on, for now

        second = spawn(["serve", "--port", str(api_port)], **ports)
        await second.wait_for_line("Ratify API on", timeout=START_TIMEOUT)
        await _healthy(api_port)
        assert not any(_alive(pid) for pid in started)  # the orphan was stopped
        started += _children(second.popen.pid)
        assert (tmp_path / "data" / PID_FILE).exists()

        # Stopped cleanly, it stops its dev server and forgets it.
        second.popen.send_signal(signal.SIGTERM)
        assert await second.exit_code() == 0, second.output()
        assert not any(_alive(pid) for pid in started)
        assert not (tmp_path / "data" / PID_FILE).exists()
    finally:
        for pid in started:  # never leave a dev server behind, even when the test fails
            with contextlib.suppress(psutil.NoSuchProcess):
                psutil.Process(pid).kill()

    data = tmp_path / "data"
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    names = sorted(p.name for p in data.iterdir())
    assert {"ratify.db", "temporal.db"} <= set(names)
    for name in names:  # the SQLite files and their -wal/-shm, the dev server's pid file
        assert stat.S_IMODE((data / name).stat().st_mode) & 0o077 == 0, name
