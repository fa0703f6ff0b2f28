"""`make run PORT=...`: a second instance on one machine takes its own ports and data."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _run_command(*args: str) -> str:
    """What `make run` would run (make -n prints it without running it), on one line."""
    found = subprocess.run(
        ["make", "-s", "-n", "-C", str(ROOT), "run", *args],
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": "/usr/bin:/bin"},
    )
    [line] = [
        line for line in found.stdout.replace("\\\n", " ").splitlines() if "ratify serve" in line
    ]
    return " ".join(line.split())


@pytest.mark.skipif(shutil.which("make") is None, reason="no make on this machine")
def test_make_run_takes_a_port_and_moves_the_dev_server_and_data_with_it() -> None:
    assert _run_command().endswith(
        "RATIFY_DATA_DIR=data RATIFY_DEV_SERVER_PORT=7233 RATIFY_DEV_SERVER_UI_PORT=8233 "
        ".venv/bin/ratify serve --port 8000"
    )
    assert _run_command("PORT=8001").endswith(
        "RATIFY_DATA_DIR=data-8001 RATIFY_DEV_SERVER_PORT=7234 RATIFY_DEV_SERVER_UI_PORT=8234 "
        ".venv/bin/ratify serve --port 8001"
    )
    chosen = _run_command("PORT=9000", "TEMPORAL_PORT=7300", "TEMPORAL_UI_PORT=8300")
    assert "RATIFY_DEV_SERVER_PORT=7300 RATIFY_DEV_SERVER_UI_PORT=8300" in chosen
