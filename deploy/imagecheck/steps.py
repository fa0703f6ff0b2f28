"""Running and reporting the steps: the temporary root filesystem, a step's title and time,
a command that must succeed, and `CheckFailed`, which names the step that did not."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path

#: The repository: the build context and the Dockerfile.
REPO = Path(__file__).resolve().parents[2]


class CheckFailed(Exception):
    """A step failed; the message names it."""


class Rootfs:
    """A temporary directory standing for the image's root filesystem."""

    def __init__(self, top: Path) -> None:
        self.top = top
        self.root = top / "rootfs"
        self.root.mkdir(parents=True)

    def path(self, container_path: str) -> Path:
        return self.root / container_path.lstrip("/")

    def map_value(self, value: str, host_path: str) -> str:
        """An ENV value with its absolute paths moved under the root, $PATH expanded."""
        parts = []
        for part in value.split(":"):
            if part in ("$PATH", "${PATH}"):
                parts.append(host_path)
            elif part.startswith("/"):
                parts.append(str(self.path(part)))
            else:
                parts.append(part)
        return ":".join(parts)


def base_environment() -> dict[str, str]:
    """This process's environment without what would leak a virtualenv into the steps."""
    env = dict(os.environ)
    for name in ("VIRTUAL_ENV", "PYTHONHOME", "PYTHONPATH", "PIP_REQUIRE_VIRTUALENV"):
        env.pop(name, None)
    for name in [n for n in env if n.startswith("RATIFY_") or n == "TEMPORAL_ADDRESS"]:
        env.pop(name)
    return env


def step(title: str) -> float:
    print(f"==> {title}", flush=True)
    return time.monotonic()


def done(started: float) -> None:
    print(f"    ok ({time.monotonic() - started:.1f} s)", flush=True)


def run(
    argv: list[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    what: str,
    user: tuple[int, int] | None = None,
    timeout: float = 300,
) -> str:
    proc = subprocess.run(
        argv,
        cwd=cwd,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        user=None if user is None else user[0],
        group=None if user is None else user[1],
        extra_groups=None if user is None else [],
    )
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-25:])
        raise CheckFailed(f"{what}: exit status {proc.returncode}\n{tail}")
    return proc.stdout
