"""Wall time of a decision's whole lifecycle on the Temporal dev server, against a bare baseline.

Run: .venv/bin/python bench/lifecycle_bench.py [--lifecycles N] [--concurrency K] [--json PATH]

It starts the bundled dev server (SQLite file in a temporary directory, WAL pragmas, as `make run`
does), and in this process a Ratify worker (`ratify.processes.worker.build_worker`, SQLite event
store in the same directory) and a baseline worker. One lifecycle is, as a client sees it:
start the decision, wait until its draft is in the workflow's state, then nine updates
(submit, place on agenda, board advice, three sign-offs, chief executive, interests,
approve), then await the workflow's result (Part 1 published, PCD number allocated).

The baseline is a bare workflow defined here: started, then as many updates as ours, then
its result, running as many no-op activities as ours at the same points (counted from the
history of one of our decisions, run first: the commit of each step, and a notification
for each task that opens; the first of each step awaited, the rest in the background, as
ours). Both
workers use the same sandbox and a thread-pool activity executor, on the same server,
measured in the same run, alternating.

Figures:

* sequential: N lifecycles one after another (after one warm-up each), median and p90
  seconds per lifecycle, the ratio ours/baseline (above 1: ours is slower), and the median
  CPU time this process (client and workers, not the server) spends per lifecycle;
* concurrent: max(N, K) lifecycles with K in flight at once, decisions per minute (the
  median of three rounds, alternating ours and the baseline), and the ratio ours/baseline
  (below 1: ours is slower).

What ours does beyond the baseline, per step: validate by folding a candidate event, fold
again under the lock, commit through the journal (read the stream, fold, hash-chain,
append), and record a notification for each task that opens.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from temporalio import activity, workflow
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

# The sandbox re-imports this module for each run of the baseline workflow: only its
# definitions may run there, and the project's modules are shared, not re-imported.
if not workflow.unsafe.in_sandbox():
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

with workflow.unsafe.imports_passed_through():
    import structlog

    from domain.clock import london_date
    from eventstore import EventStore, migrate
    from ratify.infra.devserver import DEV_SERVER_PRAGMAS, bin_path
    from ratify.infra.signing import ActionSigner, new_signing_keys
    from ratify.processes.worker import build_worker
    from tests import factories as f
    from workflows import messages as m
    from workflows.decision import DecisionWorkflow
    from workflows.registry import workflow_runner

#: Rounds of the concurrent measurement, alternating ours and the baseline.
ROUNDS = 3

WAIT = timedelta(seconds=60)
"""No single lifecycle may take longer than this (the bench fails rather than hangs)."""

# ----------------------------------------------------------------------------- ours


def lifecycle_steps(today: date) -> list[tuple[str, m.Action]]:
    """Every update of one decision from submission to approval, in order."""
    return [
        ("submit", m.Submit(actor=f.OFFICER)),
        (
            "place_on_agenda",
            m.PlaceOnAgenda(
                actor=f.SECRETARIAT, meeting_id="IAM-B", meeting_date=today, board="IAM"
            ),
        ),
        (
            "record_board_advice",
            m.RecordBoardAdvice(actor=f.SECRETARIAT, meeting_id="IAM-B", advice="supported"),
        ),
        ("sign_off", m.SignOff(actor=f.FINANCE, area="finance")),
        ("sign_off", m.SignOff(actor=f.LEGAL, area="legal")),
        ("sign_off", m.SignOff(actor=f.EQUALITIES, area="equalities")),
        ("consult_chief_executive", m.ConsultChiefExecutive(actor=f.CEO)),
        ("declare_interests", m.DeclareInterests(actor=f.DMPC, has_interest=False)),
        ("decide", m.Decide(actor=f.DMPC, approve=True, comment="Approved.")),
    ]


UPDATES = len(lifecycle_steps(date(2000, 1, 1)))
#: case.drafted, the nine steps, publication.part1_published.
EVENTS_PER_CASE = UPDATES + 2


async def our_lifecycle(client: Client, task_queue: str, case_id: str | None = None) -> float:
    """One decision from start to published; returns its wall time in seconds."""
    case_id = case_id or f"bench-{uuid.uuid4().hex[:12]}"
    steps = lifecycle_steps(london_date(datetime.now(UTC)))
    started = time.perf_counter()
    handle = await client.start_workflow(
        DecisionWorkflow.run,
        m.DecisionInput(case_id=case_id, officer=f.OFFICER, case=f.make_case()),
        id=case_id,
        task_queue=task_queue,
        execution_timeout=WAIT,
    )
    # No waiting for the draft: an action sent straight away waits in the workflow for it,
    # as the API's submit-on-upload does.
    for update, action in steps:
        await handle.execute_update(update, action, result_type=m.ActionResult)
    outcome = await handle.result()
    elapsed = time.perf_counter() - started
    if not (outcome.stage == "approved" and outcome.reference):
        raise RuntimeError(f"{case_id} ended {outcome.stage} with {outcome.reference}")
    return elapsed


# ------------------------------------------------------------------------- baseline


@activity.defn(name="bench_noop")
def noop(step: str) -> str:
    """Does nothing, in the activity thread pool like ours."""
    return step


async def activity_plan(client: Client, workflow_id: str) -> list[int]:
    """How many activities one of our decisions ran before its first update and after
    each update was accepted (until the next one): the baseline runs as many, where ours
    ran them. From the decision's own history, so it follows the workflow's code."""
    plan = [0]
    async for event in client.get_workflow_handle(workflow_id).fetch_history_events():
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
            plan.append(0)
        elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            plan[-1] += 1
    if len(plan) != UPDATES + 1:
        raise RuntimeError(f"{workflow_id}: {len(plan) - 1} updates accepted, not {UPDATES}")
    return plan


@workflow.defn(name="BenchBareLifecycle")
class BareLifecycle:
    """As many updates as a decision and as many no-op activities, at the same points, and
    nothing else. `plan[0]` activities run when it starts, `plan[i]` in update i: the first
    awaited (ours awaits the commit of the step's events), the others in the background
    (ours sends a notification for each task that opens without waiting for it)."""

    def __init__(self) -> None:
        self.done = 0
        self.plan: list[int] = []
        self.background: list[asyncio.Task[str]] = []

    @workflow.run
    async def run(self, plan: list[int]) -> int:
        self.plan = plan
        await self._steps("start", plan[0])
        await workflow.wait_condition(lambda: self.done >= len(plan) - 1)
        await workflow.wait_condition(workflow.all_handlers_finished)
        await asyncio.gather(*self.background)
        return self.done

    @workflow.update
    async def step(self, name: str) -> int:
        await workflow.wait_condition(lambda: bool(self.plan))
        await self._steps(name, self.plan[self.done + 1])
        self.done += 1
        return self.done

    async def _steps(self, name: str, count: int) -> None:
        calls = [
            workflow.execute_activity(
                noop, f"{name}-{i}", start_to_close_timeout=timedelta(seconds=30)
            )
            for i in range(count)
        ]
        self.background.extend(asyncio.create_task(c) for c in calls[1:])
        if calls:
            await calls[0]


async def baseline_lifecycle(client: Client, task_queue: str, plan: list[int]) -> float:
    started = time.perf_counter()
    handle = await client.start_workflow(
        BareLifecycle.run,
        plan,
        id=f"bench-bare-{uuid.uuid4().hex[:12]}",
        task_queue=task_queue,
        execution_timeout=WAIT,
    )
    for i in range(UPDATES):
        await handle.execute_update(BareLifecycle.step, f"step-{i}")
    done = await handle.result()
    elapsed = time.perf_counter() - started
    if done != UPDATES:
        raise RuntimeError(f"baseline ran {done} updates, not {UPDATES}")
    return elapsed


# ------------------------------------------------------------------------ measuring

Lifecycle = Callable[[], Awaitable[float]]


def summary(seconds: list[float], cpu: list[float]) -> dict[str, Any]:
    p90 = (
        statistics.quantiles(seconds, n=10, method="inclusive")[-1]
        if len(seconds) > 1
        else seconds[0]
    )
    return {
        "median_s": statistics.median(seconds),
        "p90_s": p90,
        "median_cpu_s": statistics.median(cpu),
        "runs_s": seconds,
    }


async def sequential(ours: Lifecycle, baseline: Lifecycle, n: int) -> dict[str, Any]:
    """n of each, alternating so that drift in the machine hits both alike.

    Also the CPU time this process (client and worker) spends per lifecycle: what bounds
    the throughput once lifecycles overlap.
    """
    await ours(), await baseline()  # warm-up: imports, sandbox, first connections
    lifecycles = {"ours": ours, "baseline": baseline}
    wall: dict[str, list[float]] = {name: [] for name in lifecycles}
    cpu: dict[str, list[float]] = {name: [] for name in lifecycles}
    for _ in range(n):
        for name, lifecycle in lifecycles.items():
            cpu_before = time.process_time()
            wall[name].append(await lifecycle())
            cpu[name].append(time.process_time() - cpu_before)
    result = {name: summary(wall[name], cpu[name]) for name in lifecycles}
    result["ratio_median"] = result["ours"]["median_s"] / result["baseline"]["median_s"]
    result["ratio_p90"] = result["ours"]["p90_s"] / result["baseline"]["p90_s"]
    return result


async def concurrent(lifecycle: Lifecycle, total: int, k: int) -> dict[str, Any]:
    """`total` lifecycles with at most `k` in flight; decisions per minute."""
    gate = asyncio.Semaphore(k)

    async def one() -> float:
        async with gate:
            return await lifecycle()

    started = time.perf_counter()
    times = await asyncio.gather(*(one() for _ in range(total)))
    wall = time.perf_counter() - started
    return {
        "lifecycles": total,
        "in_flight": k,
        "wall_s": wall,
        "decisions_per_minute": total * 60 / wall,
        "median_lifecycle_s": statistics.median(times),
    }


def check_store(store: EventStore, expected_cases: int) -> None:
    """Every decision committed exactly its events, and every chain verifies."""
    per_case: dict[str, int] = {}
    for record in store.read_all():
        if record.stream_id.startswith("bench-"):
            per_case[record.stream_id] = per_case.get(record.stream_id, 0) + 1
    wrong = {case: n for case, n in per_case.items() if n != EVENTS_PER_CASE}
    if len(per_case) != expected_cases or wrong:
        raise RuntimeError(f"expected {expected_cases} cases of {EVENTS_PER_CASE} events: {wrong}")
    verification = store.verify_all()
    if not verification.ok:
        raise RuntimeError(f"event store does not verify: {verification}")


def server_version() -> str:
    out = subprocess.run(
        [bin_path("temporal"), "--version"], capture_output=True, text=True, check=False
    )
    return out.stdout.strip() or "unknown"


async def run(lifecycles: int, k: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="ratify-bench-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'events.db'}"
        migrate(url)
        store = EventStore.from_url(url)
        env = await WorkflowEnvironment.start_local(
            data_converter=pydantic_data_converter,
            # Ratify's client signs its actions (the bare baseline's too: a fair floor).
            interceptors=[ActionSigner(new_signing_keys())],
            dev_server_existing_path=bin_path("temporal"),
            dev_server_startup_timeout=timedelta(seconds=60),
            dev_server_database_filename=str(Path(tmp) / "temporal.db"),
            dev_server_extra_args=DEV_SERVER_PRAGMAS,
            ui=False,
        )
        try:
            ours_queue = f"bench-ours-{uuid.uuid4().hex[:8]}"
            base_queue = f"bench-bare-{uuid.uuid4().hex[:8]}"
            ours_worker = build_worker(env.client, store, task_queue=ours_queue)
            base_worker = Worker(
                env.client,
                task_queue=base_queue,
                workflows=[BareLifecycle],
                activities=[noop],
                activity_executor=ThreadPoolExecutor(max_workers=16),
                workflow_runner=workflow_runner(),
            )

            async def ours() -> float:
                return await our_lifecycle(env.client, ours_queue)

            plan: list[int] = []

            async def baseline() -> float:
                return await baseline_lifecycle(env.client, base_queue, plan)

            async with ours_worker, base_worker:
                # One of ours first (also a warm-up): the baseline copies its activities.
                probe = f"bench-{uuid.uuid4().hex[:12]}"
                await our_lifecycle(env.client, ours_queue, probe)
                plan.extend(await activity_plan(env.client, probe))
                seq = await sequential(ours, baseline, lifecycles)
                total = max(lifecycles, k)
                # Rounds alternating ours and the baseline, the median round of each: one
                # round of 10 lasts a few seconds, short enough for the machine's noise.
                rounds: dict[str, list[dict[str, Any]]] = {"ours": [], "baseline": []}
                for _ in range(ROUNDS):
                    rounds["ours"].append(await concurrent(ours, total, k))
                    rounds["baseline"].append(await concurrent(baseline, total, k))
                conc: dict[str, Any] = {
                    name: sorted(runs, key=lambda r: r["decisions_per_minute"])[len(runs) // 2]
                    for name, runs in rounds.items()
                }
            conc["ratio"] = (
                conc["ours"]["decisions_per_minute"] / conc["baseline"]["decisions_per_minute"]
            )
            check_store(store, expected_cases=2 + lifecycles + ROUNDS * total)
        finally:
            await env.shutdown()
            store.close()
    return {"sequential": seq, "concurrent": conc, "activities_per_lifecycle": plan}


def report(figures: dict[str, Any]) -> None:
    seq, conc = figures["sequential"], figures["concurrent"]
    print(f"\nsequential: {figures['lifecycles']} lifecycles each, seconds per lifecycle")
    print(f"  {'':<10}{'median':>10}{'p90':>10}{'CPU here':>10}")
    for name in ("ours", "baseline"):
        row = seq[name]
        print(
            f"  {name:<10}{row['median_s']:>10.3f}{row['p90_s']:>10.3f}{row['median_cpu_s']:>10.3f}"
        )
    print(
        f"  ours/baseline: median {seq['ratio_median']:.2f}, p90 {seq['ratio_p90']:.2f}"
        " (above 1: ours is slower)"
    )
    total, k = conc["ours"]["lifecycles"], conc["ours"]["in_flight"]
    print(f"\nconcurrent: {total} lifecycles, {k} at once")
    print(f"  {'':<10}{'decisions/min':>15}{'wall s':>10}{'median s':>10}")
    for name in ("ours", "baseline"):
        row = conc[name]
        print(
            f"  {name:<10}{row['decisions_per_minute']:>15.1f}{row['wall_s']:>10.2f}"
            f"{row['median_lifecycle_s']:>10.3f}"
        )
    print(f"  ours/baseline: {conc['ratio']:.2f} (below 1: ours is slower)")
    plan = figures["activities_per_lifecycle"]
    print(f"\nactivities per lifecycle, both: {sum(plan)} (at start, then per update: {plan})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument(
        "--lifecycles", type=int, default=10, help="sequential lifecycles of each (default 10)"
    )
    parser.add_argument(
        "--concurrency", type=int, default=10, help="lifecycles in flight at once (default 10)"
    )
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    # The worker logs every notification at info level: hundreds of lines per run.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    if args.lifecycles < 1 or args.concurrency < 1:
        parser.error("--lifecycles and --concurrency must be 1 or more")

    print(
        f"lifecycle benchmark: {UPDATES} updates per decision; "
        f"{args.lifecycles} sequential, then {max(args.lifecycles, args.concurrency)} "
        f"with {args.concurrency} in flight"
    )
    server = server_version()
    print(f"server: {server}, SQLite with {' '.join(DEV_SERVER_PRAGMAS[1::2])}")
    started = time.perf_counter()
    figures: dict[str, Any] = {
        "lifecycles": args.lifecycles,
        "concurrency": args.concurrency,
        "updates_per_lifecycle": UPDATES,
        "server": server,
        **asyncio.run(run(args.lifecycles, args.concurrency)),
    }
    figures["bench_wall_s"] = time.perf_counter() - started
    report(figures)
    print(f"\nevent store verified; whole run {figures['bench_wall_s']:.1f} s")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
        print(f"figures written to {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
