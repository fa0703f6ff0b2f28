"""The runtime stage checked: what it copies, its ENV, WORKDIR and USER; then the install run
as that user (`ratify --help`, the process commands, `db upgrade` twice, the imports, the
package data, no dev dependency)."""

from __future__ import annotations

import json
import os
import re
import tempfile
import tomllib
from pathlib import Path

from .dockerfile import Stage, parse_env, stage
from .smoke import smoke
from .steps import REPO, CheckFailed, Rootfs, base_environment, done, run, step

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
