"""Records the histories of representative Ratify workflows as replay fixtures.

    .venv/bin/python -m tests.workflows.record_histories --replace       # re-record all
    .venv/bin/python -m tests.workflows.record_histories late part2      # only these
    .venv/bin/python -m tests.workflows.record_histories approved --suffix notify-officer

Starts Temporal's time-skipping test server and a worker from `ratify.processes.worker.build_worker`
against a throwaway SQLite event store, drives each scenario to completion through the same updates
the approvers use, and writes each workflow's history (`fetch_history().to_json()`, the
format of the Temporal CLI and Web UI) to `tests/workflows/histories/<name>.json`.
`tests/workflows/test_replay.py` replays every file there with the current workflow code,
so a change that would break a running workflow fails the build.

Existing files are only overwritten with `--replace`: a failing replay means running
workflows would break, and is fixed with a patch, never by re-recording. `--suffix` adds
recordings beside the old ones (`decision-approved.notify-officer.json`), as after a patch.
See docs/changing-workflows.md. Ids are fixed per scenario; run ids, event ids and times
differ between recordings.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowHandle,
    WorkflowHistory,
)
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from domain.case import Case
from domain.clock import LONDON, london_date
from domain.events import Evidence, EvidenceKind, Redaction
from domain.fold.checks import current_checks, open_checks
from domain.ids import meeting_workflow_id
from domain.roles import Actor, AdviceArea
from domain.state import CaseState
from eventstore import EventStore, migrate
from ratify.infra.devserver import bin_path
from ratify.processes.worker import build_worker
from tests import factories as f
from tests.keys import signer
from workflows import messages as m
from workflows.decision import DecisionWorkflow
from workflows.meeting import BoardMeetingWorkflow

HISTORIES = Path(__file__).resolve().parent / "histories"
TASK_QUEUE = "ratify-fixtures"

#: The alternate decision maker is a named person in configuration; the recusal scenario
#: has the factories' alternate decide, so it is that person.
SETTINGS = m.Settings(alternate_decision_maker=f.ALTERNATE.accountable_user)

ADVISERS: dict[AdviceArea, Actor] = {
    AdviceArea.FINANCE: f.FINANCE,
    AdviceArea.LEGAL: f.LEGAL,
    AdviceArea.COMMERCIAL: f.COMMERCIAL,
    AdviceArea.EQUALITIES: f.EQUALITIES,
    AdviceArea.INFORMATION_ASSURANCE: f.IA,
}

TASK_FAILED = EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED
CLOSED = {
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW,
}


async def eventually(check: Callable[[], Awaitable[bool]], what: str) -> None:
    """Wait (in real time, the server's clock standing still) until `check` holds."""
    for _ in range(400):
        if await check():
            return
        await asyncio.sleep(0.05)
    raise RuntimeError(f"timed out waiting for {what}")


@dataclass
class Recorder:
    env: WorkflowEnvironment
    store: EventStore
    out: Path
    suffix: str = ""
    written: list[Path] = field(default_factory=list)

    @property
    def client(self) -> Client:
        return self.env.client

    async def now(self) -> datetime:
        return await self.env.get_current_time()

    async def today(self) -> date:
        return london_date(await self.now())

    async def sleep_until(self, day: date, hour: int = 10) -> None:
        """Skip the server's clock to `hour` o'clock London time on `day`."""
        wake = datetime(day.year, day.month, day.day, hour, tzinfo=LONDON)
        await self.env.sleep(wake - await self.now())

    # -- decisions -------------------------------------------------------------------

    async def start_case(self, case_id: str, case: Case) -> WorkflowHandle[Any, Any]:
        """Start the case as the API does: one update-with-start, which the workflow answers
        (`drafted`) once the draft is stored."""
        start = WithStartWorkflowOperation(
            DecisionWorkflow.run,
            m.DecisionInput(case_id=case_id, officer=f.OFFICER, case=case, settings=SETTINGS),
            id=case_id,
            task_queue=TASK_QUEUE,
            id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
        )
        await self.client.execute_update_with_start_workflow(
            DecisionWorkflow.drafted, start_workflow_operation=start
        )
        return await start.workflow_handle()

    async def act(
        self, handle: WorkflowHandle[Any, Any], update: str, action: m.Action
    ) -> m.ActionResult:
        result: m.ActionResult = await handle.execute_update(
            update, action, result_type=m.ActionResult
        )
        return result

    async def state(self, handle: WorkflowHandle[Any, Any]) -> CaseState:
        view: m.StateView = await handle.query("state_view", result_type=m.StateView)
        return view.state

    async def to_advice(self, handle: WorkflowHandle[Any, Any], meeting_id: str) -> None:
        """Submit, then a meeting-free agenda and the board's support."""
        await self.act(handle, "submit", m.Submit(actor=f.OFFICER))
        await self.act(
            handle,
            "place_on_agenda",
            m.PlaceOnAgenda(
                actor=f.SECRETARIAT,
                meeting_id=meeting_id,
                meeting_date=await self.today(),
                board="IAM",
            ),
        )
        await self.act(
            handle,
            "record_board_advice",
            m.RecordBoardAdvice(actor=f.SECRETARIAT, meeting_id=meeting_id, advice="supported"),
        )

    async def sign_offs(self, handle: WorkflowHandle[Any, Any]) -> None:
        """Every outstanding sign-off, each by its adviser."""
        for area in (await self.state(handle)).outstanding_signoffs:
            await self.act(handle, "sign_off", m.SignOff(actor=ADVISERS[area], area=area))

    async def to_decision(self, handle: WorkflowHandle[Any, Any]) -> None:
        await self.act(handle, "consult_chief_executive", m.ConsultChiefExecutive(actor=f.CEO))
        await self.act(
            handle, "declare_interests", m.DeclareInterests(actor=f.DMPC, has_interest=False)
        )

    async def outcome(self, handle: WorkflowHandle[Any, Any]) -> m.DecisionOutcome:
        result: m.DecisionOutcome = await handle.result()
        return result

    # -- writing -----------------------------------------------------------------------

    async def save(self, name: str, workflow_id: str, run_id: str | None = None) -> WorkflowHistory:
        """Write one run's history; it must have completed or continued as new."""
        handle = self.client.get_workflow_handle(workflow_id, run_id=run_id)
        history = await handle.fetch_history()
        last = EventType.Name(history.events[-1].event_type)
        if history.events[-1].event_type not in CLOSED:
            raise RuntimeError(f"{name}: {workflow_id} has not finished (last event {last})")
        failed = [e.event_id for e in history.events if e.event_type == TASK_FAILED]
        if failed:
            # A workflow task failed while recording (a sandbox restriction, say): that is a
            # bug to fix first, not a history to keep.
            raise RuntimeError(f"{name}: workflow tasks failed at events {failed}")
        path = self.out / f"{name}{self.suffix}.json"
        path.write_text(history.to_json() + "\n", "utf-8")
        self.written.append(path)
        print(f"{path.name}: {workflow_id}, {len(history.events)} events, {last}", flush=True)
        return history

    async def save_chain(self, names: Sequence[str], workflow_id: str) -> None:
        """Write every run of a continue-as-new chain, oldest first."""
        run_ids: list[str] = []
        run_id: str | None = None
        while True:
            history = await self.client.get_workflow_handle(
                workflow_id, run_id=run_id
            ).fetch_history()
            run_ids.append(history.run_id)
            started = history.events[0].workflow_execution_started_event_attributes
            if not started.continued_execution_run_id:
                break
            run_id = started.continued_execution_run_id
        run_ids.reverse()
        if len(run_ids) != len(names):
            raise RuntimeError(f"{workflow_id} has {len(run_ids)} runs, not {len(names)}")
        for name, rid in zip(names, run_ids, strict=True):
            await self.save(name, workflow_id, rid)


# -- scenarios -----------------------------------------------------------------------


async def approved(rec: Recorder) -> None:
    """A DMPC decision end to end: advice, chief executive, interests, approval, Part 1."""
    case_id = "case-approved"
    handle = await rec.start_case(case_id, f.make_case())
    await rec.to_advice(handle, "IAM-A")
    await rec.sign_offs(handle)
    await rec.to_decision(handle)
    await rec.act(handle, "decide", m.Decide(actor=f.DMPC, approve=True, comment="Approved."))
    outcome = await rec.outcome(handle)
    assert outcome.stage == "approved" and outcome.reference, outcome
    await rec.save("decision-approved", case_id)


async def sent_back(rec: Recorder) -> None:
    """Legal asks for changes, the officer revises, legal signs the new round; the DMPC
    declares an interest, and the alternate declines the request."""
    case_id = "case-sent-back"
    case = f.make_case()
    handle = await rec.start_case(case_id, case)
    await rec.to_advice(handle, "IAM-B")
    await rec.act(handle, "sign_off", m.SignOff(actor=f.FINANCE, area="finance"))
    await rec.act(
        handle,
        "request_changes",
        m.RequestChanges(
            actor=f.LEGAL,
            area="legal",
            reasons=["Say which power the expenditure is made under."],
            sections=["legal_comments"],
        ),
    )
    revised = case.model_copy(update={"legal_comments": "Made under section 143 of the 2011 Act."})
    await rec.act(
        handle, "revise", m.Revise(actor=f.OFFICER, case=revised, note="Legal basis added.")
    )
    await rec.sign_offs(handle)
    await rec.act(handle, "consult_chief_executive", m.ConsultChiefExecutive(actor=f.CEO))
    await rec.act(
        handle,
        "declare_interests",
        m.DeclareInterests(
            actor=f.DMPC, has_interest=True, details="A relative works for the supplier."
        ),
    )
    await rec.act(
        handle, "declare_interests", m.DeclareInterests(actor=f.ALTERNATE, has_interest=False)
    )
    await rec.act(
        handle,
        "decide",
        m.Decide(actor=f.ALTERNATE, approve=False, comment="Not value for money."),
    )
    outcome = await rec.outcome(handle)
    assert outcome.stage == "declined", outcome
    await rec.save("decision-sent-back-recused-declined", case_id)


async def late(rec: Recorder) -> None:
    """A required-by date three weeks ahead, moved once (the timers follow it); reminders,
    escalation and deadline missed fire while the DMPC has not decided; a late approval."""
    case_id = "case-late"
    today = await rec.today()
    required_by = today + timedelta(days=14)
    case = f.make_case(
        time_sensitivity={"required_by": required_by.isoformat(), "reason": "Contract ends."}
    )
    handle = await rec.start_case(case_id, case)
    await rec.to_advice(handle, "IAM-C")
    await rec.sign_offs(handle)
    await rec.env.sleep(timedelta(days=1))
    required_by = today + timedelta(days=21)
    await rec.act(
        handle,
        "change_required_by",
        m.ChangeRequiredBy(
            actor=f.OFFICER, required_by=required_by, reason="The supplier agreed to wait."
        ),
    )
    await rec.to_decision(handle)
    await rec.sleep_until(required_by + timedelta(days=2))
    state = await rec.state(handle)
    assert state.reminders_sent == [5, 1] and state.escalated and state.deadline_missed, state
    await rec.act(handle, "decide", m.Decide(actor=f.DMPC, approve=True, comment="Late."))
    outcome = await rec.outcome(handle)
    assert outcome.stage == "approved" and outcome.late, outcome
    await rec.save("decision-late", case_id)


async def past_deadline(rec: Recorder) -> None:
    """A case drafted five days after its required-by date (`past-deadlines-recorded-missed`
    patch): no reminder, no escalation, one deadline missed effective at the date itself;
    a late approval."""
    case_id = "case-past-deadline"
    today = await rec.today()
    required_by = today - timedelta(days=5)
    case = f.make_case(
        time_sensitivity={"required_by": required_by.isoformat(), "reason": "Contract ended."}
    )
    handle = await rec.start_case(case_id, case)
    await rec.to_advice(handle, "IAM-P")
    await rec.sign_offs(handle)
    await rec.to_decision(handle)
    state = await rec.state(handle)
    assert state.deadline_missed and not state.escalated and not state.reminders_sent, state
    await rec.act(handle, "decide", m.Decide(actor=f.DMPC, approve=True, comment="Late."))
    outcome = await rec.outcome(handle)
    assert outcome.stage == "approved" and outcome.late, outcome
    await rec.save("decision-past-deadline", case_id)


async def meeting(rec: Recorder) -> None:
    """A board meeting: two cases on its agenda, one supported and one deferred on the day,
    then closed. The deferred case is then withdrawn (its history is kept too)."""
    meeting_date = await rec.today() + timedelta(days=7)
    cases = ["case-meeting-supported", "case-meeting-deferred"]
    handles = [await rec.start_case(case_id, f.make_case()) for case_id in cases]
    for handle in handles:
        await rec.act(handle, "submit", m.Submit(actor=f.OFFICER))
    workflow_id = meeting_workflow_id("IAM-D")
    board = await rec.client.start_workflow(
        BoardMeetingWorkflow.run,
        m.MeetingInput(
            meeting_id="IAM-D", board="IAM", meeting_date=meeting_date, created_by=f.SECRETARIAT
        ),
        id=workflow_id,
        task_queue=TASK_QUEUE,
    )
    for case_id in cases:
        await rec.act(board, "add_case", m.AddToAgenda(actor=f.SECRETARIAT, case_id=case_id))
    await rec.sleep_until(meeting_date)
    for case_id, advice in zip(cases, ["supported", "deferred"], strict=True):
        await rec.act(
            board,
            "record_advice",
            m.RecordCaseAdvice(actor=f.SECRETARIAT, case_id=case_id, advice=advice),
        )
    await board.execute_update("close", m.CloseMeeting(actor=f.SECRETARIAT))
    view: m.MeetingView = await board.result()
    assert view.closed and len(view.agenda) == 2, view
    await rec.save("meeting", workflow_id)
    for handle in handles:
        await rec.act(handle, "withdraw", m.Withdraw(actor=f.OFFICER, reason="Superseded."))
        assert (await rec.outcome(handle)).stage == "withdrawn"
    await rec.save("decision-deferred-withdrawn", cases[1])


async def part2(rec: Recorder) -> None:
    """A case with a Part 2: approval starts the review; on the review date it is extended
    (continue-as-new), and on the new date published redacted."""
    case_id = "case-part2"
    review_on = await rec.today() + timedelta(days=60)
    case = f.make_case(
        part2={
            "security_marking": "OFFICIAL-SENSITIVE [COMMERCIAL]",
            "foi_sections": ["s43 Commercial interests"],
            "review_on": review_on.isoformat(),
            "content": "The supplier's price was £590,000 against a budget of £600,000.",
        }
    )
    handle = await rec.start_case(case_id, case)
    await rec.to_advice(handle, "IAM-E")
    await rec.sign_offs(handle)
    await rec.to_decision(handle)
    await rec.act(handle, "decide", m.Decide(actor=f.DMPC, approve=True))
    assert (await rec.outcome(handle)).stage == "approved"
    await rec.save("decision-part2", case_id)

    review = rec.client.get_workflow_handle(
        f"part2-review-{case_id}", result_type=m.Part2ReviewResult
    )

    async def due() -> bool:
        status: m.Part2ReviewResult = await review.query("status", result_type=m.Part2ReviewResult)
        return status.outcome == "due"

    await rec.sleep_until(review_on + timedelta(days=1))
    await eventually(due, "the first Part 2 review")
    new_date = review_on + timedelta(days=90)
    await rec.act(
        review,
        "review",
        m.Part2Outcome(
            actor=f.PUBLISHER,
            outcome="extend",
            reason="The contract is still being let.",
            new_review_date=new_date,
        ),
    )
    await rec.sleep_until(new_date + timedelta(days=1))
    await eventually(due, "the second Part 2 review")
    await rec.act(
        review,
        "review",
        m.Part2Outcome(
            actor=f.PUBLISHER,
            outcome="redact",
            reason="The contract is let; the price stays commercially sensitive.",
            redactions=[Redaction(passage="£590,000", reason="s43 Commercial interests")],
        ),
    )
    result = await review.result()
    assert result.outcome == "redact" and result.extensions == 1, result
    await rec.save_chain(["part2-review-extended", "part2-review-redacted"], review.id)


async def checks(rec: Recorder) -> None:
    """A recommendation's amount is not the sum of the line it covers: the officer
    acknowledges the check with a reason, submits, and the case is approved."""
    case_id = "case-checks"
    data = f.case_data()
    data["money_lines"] = [{**data["money_lines"][0], "id": "M1"}]
    data["recommendations"] = [
        {"number": 1, "text": "Approve £650,000.", "covers": ["M1"], "amount": "650000"}
    ]
    handle = await rec.start_case(case_id, Case.model_validate(data))
    drafted = await rec.state(handle)
    [check] = open_checks(drafted, current_checks(drafted, await rec.today()))
    await rec.act(
        handle,
        "acknowledge_check",
        m.AcknowledgeCheck(
            actor=f.OFFICER, check=check.key, reason="The contingency is held in the reserve."
        ),
    )
    await rec.to_advice(handle, "IAM-C")
    await rec.sign_offs(handle)
    await rec.to_decision(handle)
    await rec.act(handle, "decide", m.Decide(actor=f.DMPC, approve=True, comment="Approved."))
    outcome = await rec.outcome(handle)
    assert outcome.stage == "approved" and outcome.reference, outcome
    await rec.save("decision-checks-acknowledged", case_id)


async def paper(rec: Recorder) -> None:
    """Steps taken on paper: a records officer records the legal sign-off for the legal
    adviser, who disputes it while the case runs, and the DMPC's signature; approval."""
    case_id = "case-on-paper"
    evidence = Evidence(kind=EvidenceKind.SIGNED_FORM, reference="DMPC form, scan 0042")

    async def on_paper() -> m.OnPaper:
        # Dated the moment it is recorded: a step on paper may not lie in the future.
        return m.OnPaper(effective_at=await rec.now(), recorded_by="rec.rory", evidence=evidence)

    handle = await rec.start_case(case_id, f.make_case())
    await rec.to_advice(handle, "IAM-P")
    signed = await rec.act(
        handle,
        "sign_off",
        m.SignOff(actor=ADVISERS[AdviceArea.LEGAL], area="legal", on_paper=await on_paper()),
    )
    await rec.act(
        handle,
        "dispute",
        m.Dispute(
            actor=ADVISERS[AdviceArea.LEGAL],
            version=signed.events[0].version,
            reason="I signed the form a day later.",
        ),
    )
    await rec.sign_offs(handle)
    await rec.to_decision(handle)
    await rec.act(
        handle,
        "decide",
        m.Decide(actor=f.DMPC, approve=True, comment="Approved.", on_paper=await on_paper()),
    )
    outcome = await rec.outcome(handle)
    assert outcome.stage == "approved" and outcome.reference, outcome
    await rec.save("decision-on-paper-disputed", case_id)


SCENARIOS: dict[str, Callable[[Recorder], Awaitable[None]]] = {
    "approved": approved,
    "sent-back": sent_back,
    "late": late,
    "past-deadline": past_deadline,
    "meeting": meeting,
    "part2": part2,
    "checks": checks,
    "paper": paper,
}

#: The files each scenario writes (before any suffix).
FILES: dict[str, tuple[str, ...]] = {
    "approved": ("decision-approved",),
    "sent-back": ("decision-sent-back-recused-declined",),
    "late": ("decision-late",),
    "past-deadline": ("decision-past-deadline",),
    "meeting": ("meeting", "decision-deferred-withdrawn"),
    "part2": ("decision-part2", "part2-review-extended", "part2-review-redacted"),
    "checks": ("decision-checks-acknowledged",),
    "paper": ("decision-on-paper-disputed",),
}


def targets(names: Sequence[str], out: Path, suffix: str) -> list[Path]:
    return [out / f"{stem}{suffix}.json" for name in names for stem in FILES[name]]


async def record(names: Sequence[str], out: Path, suffix: str = "") -> list[Path]:
    """Run the scenarios on a fresh test server and store; the files written."""
    out.mkdir(parents=True, exist_ok=True)
    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=pydantic_data_converter,
        test_server_existing_path=bin_path("temporal-test-server"),
        test_server_startup_timeout=timedelta(seconds=60),
        interceptors=[signer()],
    )
    try:
        with tempfile.TemporaryDirectory(prefix="ratify-fixtures-") as tmp:
            url = f"sqlite:///{Path(tmp) / 'events.db'}"
            migrate(url)
            store = EventStore.from_url(url)
            rec = Recorder(env=env, store=store, out=out, suffix=suffix)
            try:
                # Time moves only when a scenario says so (env.sleep): awaiting a result
                # does not skip it, so nothing fires that the scenario did not intend.
                async with build_worker(env.client, store, task_queue=TASK_QUEUE):
                    with env.auto_time_skipping_disabled():
                        for name in names:
                            print(f"-- {name}", flush=True)
                            await SCENARIOS[name](rec)
            finally:
                store.close()
    finally:
        await env.shutdown()
    if rec.written != targets(names, out, suffix):
        raise RuntimeError(f"FILES is out of date: wrote {[p.name for p in rec.written]}")
    return rec.written


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.workflows.record_histories", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "scenarios", nargs="*", metavar="scenario", help="of: " + ", ".join(SCENARIOS)
    )
    parser.add_argument("--out", type=Path, default=HISTORIES, help="default: %(default)s")
    parser.add_argument(
        "--replace", action="store_true", help="overwrite existing files (never to fix a replay)"
    )
    parser.add_argument(
        "--suffix", default="", help="write <name>.<suffix>.json beside the existing files"
    )
    args = parser.parse_args(argv)
    unknown = [n for n in args.scenarios if n not in SCENARIOS]
    if unknown:
        parser.error(f"unknown scenario {', '.join(unknown)}; choose from {', '.join(SCENARIOS)}")
    names = args.scenarios or list(SCENARIOS)
    suffix = f".{args.suffix}" if args.suffix else ""
    existing = [p for p in targets(names, args.out, suffix) if p.exists()]
    if existing and not args.replace:
        parser.error(
            f"already recorded: {', '.join(p.name for p in existing)}. A failing replay is "
            "fixed with a patch, not by re-recording (docs/changing-workflows.md). Use "
            "--suffix to add recordings beside them, or --replace to overwrite them on purpose."
        )
    written = asyncio.run(record(names, args.out, suffix))
    print(f"wrote {len(written)} histories to {args.out}")
    return 0


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    # Skip interpreter teardown: the SDK's Rust threads can abort it with "PyGILState_Release:
    # thread state must be current" (temporalio/sdk-python#300) after the work is done.
    os._exit(code)
