"""Approver action latency: HTTP request → workflow update → events committed, under load.

Run: .venv/bin/python bench/action_bench.py [--actions N] [--json PATH]

As in production, in separate processes: the Temporal dev server (SQLite file, WAL pragmas),
`ratify worker` and `ratify api` on the loopback, sharing an SQLite event store. The bench
prepares cases in the advice stage through the API (upload, submit, a board meeting and its
advice), each with five sign-off tasks, then measures one approver action, `POST
/cases/{id}/actions/sign_off` with an API token: the answer comes once the update has
folded the sign-off and the activity has committed its event. It runs N actions (default
100) at 1, 5 and 20 approvers at once, each approver taking the next open task.

Baseline, same run, same dev server: a bare update round trip from this process (a workflow
whose update returns at once: no HTTP, no activity, no store), at the same concurrency.

Reports p50 / p99 milliseconds and the ratio of ours to the baseline; the issue's target is
p99 ≤ 100 ms at 20 concurrent approvers.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from temporalio import workflow
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

if not workflow.unsafe.in_sandbox():
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

with workflow.unsafe.imports_passed_through():
    from domain.roles import Role
    from eventstore import create_engine_for
    from ratify.infra.db import migrate_all
    from ratify.infra.devserver import DEV_SERVER_PRAGMAS, bin_path
    from ratify.infra.payloads import new_key
    from ratify.services.identity.directory import Directory

REPO = Path(__file__).resolve().parent.parent
METTRACE = (REPO / "examples" / "mettrace.yaml").read_text("utf-8")
AREAS = ["finance", "legal", "commercial", "equalities", "information_assurance"]
PEOPLE = {
    "ollie.lane": Role.ORIGINATING_OFFICER,
    "sam.sec": Role.BOARD_SECRETARIAT,
    "fran.fin": Role.FINANCE_ADVISER,
    "lee.legal": Role.LEGAL_ADVISER,
    "cat.com": Role.COMMERCIAL_ADVISER,
    "eve.eq": Role.EQUALITIES_ADVISER,
    "ian.ia": Role.INFORMATION_ASSURANCE_ADVISER,
}
ADVISER_OF = {
    "finance": "fran.fin",
    "legal": "lee.legal",
    "commercial": "cat.com",
    "equalities": "eve.eq",
    "information_assurance": "ian.ia",
}
LEVELS = (1, 5, 20)


@workflow.defn(name="BenchBareUpdate")
class BareUpdate:
    """An update that returns at once: the floor of an update round trip."""

    def __init__(self) -> None:
        self.count = 0

    @workflow.run
    async def run(self) -> int:
        await workflow.wait_condition(lambda: False)
        return self.count

    @workflow.update
    def echo(self, n: int) -> int:
        self.count += 1
        return n


def case_index(case_id: str) -> int:
    return int(case_id.rsplit("-", 1)[1])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, max(0, round(len(ordered) * 0.99) - 1))]
    return {"p50_ms": statistics.median(ordered) * 1000, "p99_ms": p99 * 1000, "n": len(samples)}


async def wait_http(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient() as http:
        while time.monotonic() < deadline:
            try:
                if (await http.get(url)).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
    raise TimeoutError(f"{url} not ready in {timeout} s")


async def prepare(http: httpx.AsyncClient, auth: dict[str, dict[str, str]], cases: int) -> None:
    """`cases` MetTrace cases in the advice stage, each with five sign-off tasks."""
    day = time.strftime("%Y-%m-%d")
    meeting = f"IAB-{uuid.uuid4().hex[:6]}"
    r = await http.post(
        "/meetings",
        json={"meeting_id": meeting, "board": "IAB", "meeting_date": day},
        headers=auth["sam.sec"],
    )
    r.raise_for_status()

    async def one(n: int) -> None:
        case_id = f"bench-{n:03d}"
        r = await http.post(
            "/cases/upload",
            params={"filename": "mettrace.yaml", "case_id": case_id},
            content=METTRACE,
            headers={**auth["ollie.lane"], "Content-Type": "text/plain"},
        )
        r.raise_for_status()
        for path, who, body in (
            (f"/cases/{case_id}/actions/submit", "ollie.lane", {}),
            (f"/meetings/{meeting}/cases", "sam.sec", {"case_id": case_id}),
            (f"/meetings/{meeting}/advice", "sam.sec", {"case_id": case_id, "advice": "supported"}),
        ):
            for _ in range(50):  # the draft may not be in the workflow yet
                r = await http.post(path, json=body, headers=auth[who])
                if r.status_code != 422 or "draft" not in r.text:
                    break
                await asyncio.sleep(0.05)
            r.raise_for_status()

    gate = asyncio.Semaphore(5)

    async def gated(n: int) -> None:
        async with gate:
            await one(n)

    await asyncio.gather(*(gated(n) for n in range(cases)))


async def measure(work: list[Any], concurrency: int, act: Any) -> list[float]:
    queue: asyncio.Queue[Any] = asyncio.Queue()
    for item in work:
        queue.put_nowait(item)
    samples: list[float] = []

    async def approver() -> None:
        while not queue.empty():
            item = queue.get_nowait()
            start = time.perf_counter()
            await act(item)
            samples.append(time.perf_counter() - start)

    await asyncio.gather(*(approver() for _ in range(concurrency)))
    return samples


async def run(actions: int) -> dict[str, Any]:
    per_level = max(1, actions)
    cases = (per_level * len(LEVELS) + len(AREAS) - 1) // len(AREAS) + 1
    with tempfile.TemporaryDirectory(prefix="ratify-action-bench-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'ratify.db'}"
        migrate_all(url)
        engine = create_engine_for(url)
        directory = Directory(engine)
        auth = {}
        for user, role in PEOPLE.items():
            directory.add_user(user, user, [role])
            auth[user] = {"Authorization": f"Bearer {directory.create_token(user, 'bench')[1]}"}
        engine.dispose()
        env = await WorkflowEnvironment.start_local(
            data_converter=pydantic_data_converter,
            dev_server_existing_path=bin_path("temporal"),
            dev_server_startup_timeout=timedelta(seconds=60),
            dev_server_database_filename=str(Path(tmp) / "temporal.db"),
            dev_server_extra_args=DEV_SERVER_PRAGMAS,
            ui=False,
        )
        port = free_port()
        address = env.client.service_client.config.target_host
        environ = {
            **{k: v for k, v in os.environ.items() if not k.startswith("RATIFY_")},
            "TEMPORAL_ADDRESS": address,
            "RATIFY_DATABASE_URL": url,
            "RATIFY_TASK_QUEUE": "bench-actions",
            "RATIFY_MIGRATE_ON_START": "false",
            "RATIFY_METRICS_PORT": "0",
            "RATIFY_LOG_LEVEL": "WARNING",
            # Required with TEMPORAL_ADDRESS (fresh for this run).
            "RATIFY_PAYLOAD_KEYS": f"bench:{new_key()}",
            "RATIFY_ACTION_SIGNING_KEY": f"bench:{new_key()}",
        }
        ratify = str(Path(sys.executable).parent / "ratify")
        procs = [
            subprocess.Popen([ratify, "worker"], env=environ, stdout=subprocess.DEVNULL),
            subprocess.Popen(
                [ratify, "api", "--host", "127.0.0.1", "--port", str(port)],
                env=environ,
                stdout=subprocess.DEVNULL,
            ),
        ]
        bare_queue = f"bench-bare-{uuid.uuid4().hex[:6]}"
        try:
            await wait_http(f"http://127.0.0.1:{port}/readyz")
            async with (
                httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as http,
                Worker(
                    env.client,
                    task_queue=bare_queue,
                    workflows=[BareUpdate],
                    # The floor: no sandbox either (the bare workflow needs none).
                    workflow_runner=UnsandboxedWorkflowRunner(),
                ),
            ):
                await prepare(http, auth, cases)
                tasks = [(f"bench-{n:03d}", area) for n in range(cases) for area in AREAS]

                async def sign_off(task: tuple[str, str]) -> None:
                    case_id, area = task
                    r = await http.post(
                        f"/cases/{case_id}/actions/sign_off",
                        json={"area": area},
                        headers=auth[ADVISER_OF[area]],
                    )
                    if r.status_code != 200:
                        raise RuntimeError(f"{case_id} {area}: {r.status_code} {r.text}")

                # As many bare workflows as cases, so that concurrent updates go to
                # different workflows, as approvers' actions go to different cases.
                bares = [
                    await env.client.start_workflow(
                        BareUpdate.run,
                        id=f"bench-bare-{uuid.uuid4().hex[:6]}",
                        task_queue=bare_queue,
                        execution_timeout=timedelta(minutes=30),
                    )
                    for _ in range(cases)
                ]

                async def echo(task: tuple[str, str]) -> None:
                    case_id, area = task  # the same case's bare twin, as ours
                    await bares[case_index(case_id)].execute_update(
                        BareUpdate.echo, AREAS.index(area)
                    )

                await echo(("bench-000", "finance"))  # warm up
                results: dict[str, Any] = {}
                for level in LEVELS:
                    work, tasks = tasks[:per_level], tasks[per_level:]
                    ours = await measure(work, level, sign_off)
                    baseline = await measure(work, level, echo)
                    results[str(level)] = {
                        "ours": percentiles(ours),
                        "baseline": percentiles(baseline),
                    }
                for bare in bares:
                    await bare.terminate()
        finally:
            for proc in procs:
                proc.terminate()
            for proc in procs:
                proc.wait(timeout=30)
            await env.shutdown()
    return results


def report(results: dict[str, Any]) -> None:
    print(f"  {'approvers':<10}{'ours p50':>10}{'p99':>9}{'bare p50':>10}{'p99':>9}"
          f"{'p99 ratio':>11}")  # fmt: skip
    for level, row in results.items():
        ours, base = row["ours"], row["baseline"]
        row["ratio_p99"] = ours["p99_ms"] / base["p99_ms"]
        print(
            f"  {level:<10}{ours['p50_ms']:>8.1f}ms{ours['p99_ms']:>7.1f}ms"
            f"{base['p50_ms']:>8.1f}ms{base['p99_ms']:>7.1f}ms{row['ratio_p99']:>11.1f}"
        )
    print("  target: p99 <= 100 ms at 20 approvers")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--actions", type=int, default=100, help="actions per level")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    print(f"approver action benchmark: {args.actions} sign-offs at each of {LEVELS} approvers")
    results = asyncio.run(run(args.actions))
    report(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
