"""The build stage replayed: its ENV, WORKDIR, COPY and RUN steps under the temporary root,
with this machine's Python standing for the base image's."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import sys
from pathlib import Path

from .context import context_files
from .dockerfile import Stage, parse_dockerfile, parse_env, stage
from .steps import REPO, CheckFailed, Rootfs, base_environment, done, run, step

#: Build-stage ENV left out here: the image disables pip's cache; this script keeps it.
SKIPPED_BUILD_ENV = frozenset({"PIP_NO_CACHE_DIR"})


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
