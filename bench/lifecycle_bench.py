"""Wall time of a decision's whole lifecycle on the Temporal dev server, against a bare baseline.

Run: .venv/bin/python bench/lifecycle_bench.py [--lifecycles N] [--concurrency K] [--json PATH]

It starts the bundled dev server (SQLite file in a temporary directory, WAL pragmas, as
`make run` does), and in this process a Ratify worker (`worker.build_worker`, SQLite event
store in the same directory) and a baseline worker. One lifecycle is, as a client sees it:
start the decision, wait until its draft is in the workflow's state, then nine updates
(submit, place on agenda, board advice, three sign-offs, chief executive, interests,
approve), then await the workflow's result (Part 1 published, PCD number allocated).

The baseline is a bare workflow defined here: started, then as many updates as ours, each
running one no-op activity, then its result. Its workflow also runs one no-op activity when
it starts and one before it ends, standing for our draft and publication commits. (Ours
also polls a query until the draft is in: the workflow refuses actions before that.) Both
workers use the same sandbox and a thread-pool activity executor, on the same server,
measured in the same run, alternating.

Figures:

* sequential: N lifecycles one after another (after one warm-up each), median and p90
  seconds per lifecycle, the ratio ours/baseline (above 1: ours is slower), and the median
  CPU time this process (client and workers, not the server) spends per lifecycle;
* concurrent: max(N, K) lifecycles with K in flight at once, decisions per minute, and the
  ratio ours/baseline (below 1: ours is slower).

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
from temporalio.client import Client, WorkflowHandle
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import RPCError
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
    from tests import factories as f
    from worker import DEV_SERVER_PRAGMAS, bin_path, build_worker, workflow_runner
    from workflows import messages as m
    from workflows.decision import DecisionWorkflow

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


async def drafted(handle: WorkflowHandle[Any, Any]) -> None:
    """Wait until the workflow holds its draft (an action before that is refused)."""
    deadline = time.monotonic() + WAIT.total_seconds()
    while time.monotonic() < deadline:
        try:
            view = await handle.query("state_view", result_type=m.StateView)
            if view.state.version >= 1:
                return
        except RPCError:
            pass  # queried before its first workflow task
        await asyncio.sleep(0.005)
    raise TimeoutError(f"{handle.id} was not drafted in {WAIT}")


async def our_lifecycle(client: Client, task_queue: str) -> float:
    """One decision from start to published; returns its wall time in seconds."""
    case_id = f"bench-{uuid.uuid4().hex[:12]}"
    steps = lifecycle_steps(london_date(datetime.now(UTC)))
    started = time.perf_counter()
    handle = await client.start_workflow(
        DecisionWorkflow.run,
        m.DecisionInput(case_id=case_id, officer=f.OFFICER, case=f.make_case()),
        id=case_id,
        task_queue=task_queue,
        execution_timeout=WAIT,
    )
    await drafted(handle)
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


@workflow.defn(name="BenchBareLifecycle")
class BareLifecycle:
    """As many updates as a decision, each running one no-op activity, and nothing else."""

    def __init__(self) -> None:
        self.done = 0

    @workflow.run
    async def run(self, updates: int) -> int:
        await self._step("start")
        await workflow.wait_condition(lambda: self.done >= updates)
        await self._step("finish")
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.done

    @workflow.update
    async def step(self, name: str) -> int:
        await self._step(name)
        self.done += 1
        return self.done

    async def _step(self, name: str) -> None:
        await workflow.execute_activity(noop, name, start_to_close_timeout=timedelta(seconds=30))


async def baseline_lifecycle(client: Client, task_queue: str) -> float:
    started = time.perf_counter()
    handle = await client.start_workflow(
        BareLifecycle.run,
        UPDATES,
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
            dev_server_existing_path=bin_path("temporal"),
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

            async def baseline() -> float:
                return await baseline_lifecycle(env.client, base_queue)

            async with ours_worker, base_worker:
                seq = await sequential(ours, baseline, lifecycles)
                total = max(lifecycles, k)
                conc = {
                    "ours": await concurrent(ours, total, k),
                    "baseline": await concurrent(baseline, total, k),
                }
            conc["ratio"] = (
                conc["ours"]["decisions_per_minute"] / conc["baseline"]["decisions_per_minute"]
            )
            check_store(store, expected_cases=1 + lifecycles + total)
        finally:
            await env.shutdown()
            store.close()
    return {"sequential": seq, "concurrent": conc}


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
