"""A test harness for decision workflows: start a case, act as each role, compare with the store."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from domain.case import Case
from domain.casefile import parse_case
from domain.clock import london_date
from domain.state import CaseState
from eventstore import EventStore
from ratify.services.journal import CaseJournal
from tests import factories as f
from workflows import messages as m
from workflows.decision import DecisionWorkflow

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def example(name: str) -> Case:
    path = EXAMPLES / name
    return parse_case(path.read_text("utf-8"), str(path))


def shift_dates(case: Case, days: int) -> Case:
    """The same case with every date moved by `days` (the test server's clock is 'now')."""
    delta = timedelta(days=days)
    update: dict[str, Any] = {}
    if case.time_sensitivity:
        update["time_sensitivity"] = case.time_sensitivity.model_copy(
            update={"required_by": case.time_sensitivity.required_by + delta}
        )
    if case.part1_deferral:
        update["part1_deferral"] = case.part1_deferral.model_copy(
            update={"until": case.part1_deferral.until + delta}
        )
    if case.part2:
        p2: dict[str, Any] = {}
        if case.part2.review_on:
            p2["review_on"] = case.part2.review_on + delta
        if case.part2.ceases_to_be_exempt_on:
            p2["ceases_to_be_exempt_on"] = case.part2.ceases_to_be_exempt_on + delta
        update["part2"] = case.part2.model_copy(update=p2)
    if case.board and case.board.intended_meeting:
        update["board"] = case.board.model_copy(
            update={"intended_meeting": case.board.intended_meeting + delta}
        )
    return case.model_copy(update=update)


@dataclass
class CaseRun:
    harness: Harness
    case_id: str
    handle: WorkflowHandle[Any, Any]

    async def act(self, update: str, action: m.Action) -> m.ActionResult:
        result: m.ActionResult = await self.handle.execute_update(
            update, action, result_type=m.ActionResult
        )
        return result

    async def refused(self, update: str, action: m.Action, code: str) -> str:
        """Expect the action to be refused with this code; returns the message."""
        before = self.harness.store.stream_version(self.case_id)
        try:
            await self.handle.execute_update(update, action, result_type=m.ActionResult)
        except WorkflowUpdateFailedError as exc:
            cause = exc.cause
            assert isinstance(cause, ApplicationError), repr(cause)
            assert cause.type == code, f"{cause.type}: {cause.message}"
            assert self.harness.store.stream_version(self.case_id) == before
            return cause.message
        raise AssertionError(f"{update} by {action.actor.describe()} was accepted")

    async def view(self) -> m.StateView:
        view: m.StateView = await self.handle.query("state_view", result_type=m.StateView)
        return view

    async def state(self) -> CaseState:
        return (await self.view()).state

    def stored(self) -> CaseState:
        return CaseJournal(self.harness.store).load(self.case_id)

    def event_types(self) -> list[str]:
        return [e.event_type for e in self.harness.store.read_stream(self.case_id)]

    async def assert_matches_store(self) -> CaseState:
        """The workflow's state is the fold of the stored events (up to its version: after
        approval the Part 2 review workflow carries the case on in the same stream)."""
        state = await self.state()
        history = CaseJournal(self.harness.store).history(self.case_id, to_version=state.version)
        assert state == history.state
        return state

    async def outcome(self) -> m.DecisionOutcome:
        result: m.DecisionOutcome = await self.handle.result()
        return result


@dataclass
class Harness:
    env: WorkflowEnvironment
    store: EventStore
    task_queue: str
    runs: list[CaseRun] = field(default_factory=list)

    async def check_every_case(self) -> None:
        """Every case the test ran: the workflow's state is the fold of its stored events."""
        for run in self.runs:
            await run.assert_matches_store()

    async def now(self) -> datetime:
        return await self.env.get_current_time()

    async def today(self) -> date:
        return london_date(await self.now())

    async def start(
        self,
        case: Case | None = None,
        *,
        officer: Any = f.OFFICER,
        settings: m.Settings | None = None,
    ) -> CaseRun:
        case_id = f"case-{uuid.uuid4().hex[:12]}"
        handle = await self.env.client.start_workflow(
            DecisionWorkflow.run,
            m.DecisionInput(
                case_id=case_id,
                officer=officer,
                case=case or f.make_case(),
                settings=settings or m.Settings(),
            ),
            id=case_id,
            task_queue=self.task_queue,
        )
        run = CaseRun(harness=self, case_id=case_id, handle=handle)
        self.runs.append(run)
        # The workflow commits the draft in its first task; wait for it, as a person would
        # see the new case before acting on it.
        for _ in range(500):
            if (await run.state()).version >= 1:
                break
            await asyncio.sleep(0.01)
        return run

    async def finished(self, handle: Any) -> Any:
        """A workflow's result, without letting the test server skip time while waiting
        (skipping would run other idle workflows into the server's default run timeout)."""
        with self.env.auto_time_skipping_disabled():
            return await handle.result()

    async def start_meeting(self, meeting_id: str, meeting_date: date, board: str = "IAM") -> Any:
        from domain.ids import meeting_workflow_id
        from workflows.meeting import BoardMeetingWorkflow

        return await self.env.client.start_workflow(
            BoardMeetingWorkflow.run,
            m.MeetingInput(
                meeting_id=meeting_id,
                board=board,
                meeting_date=meeting_date,
                created_by=f.SECRETARIAT,
            ),
            id=meeting_workflow_id(meeting_id),
            task_queue=self.task_queue,
        )

    def part2_review(self, case_id: str) -> Any:
        from workflows.part2 import Part2ReviewWorkflow

        return self.env.client.get_workflow_handle_for(
            Part2ReviewWorkflow.run, f"part2-review-{case_id}"
        )

    async def through_advice(self, run: CaseRun, areas: list[tuple[Any, str]]) -> None:
        """Submit, put it on today's agenda, record support, and sign off each area."""
        await run.act("submit", m.Submit(actor=f.OFFICER))
        await self.through_advice_after_submit(run, areas)

    async def through_advice_after_submit(self, run: CaseRun, areas: list[tuple[Any, str]]) -> None:
        today = await self.today()
        await run.act(
            "place_on_agenda",
            m.PlaceOnAgenda(
                actor=f.SECRETARIAT, meeting_id="IAM-T", meeting_date=today, board="IAM"
            ),
        )
        await run.act(
            "record_board_advice",
            m.RecordBoardAdvice(actor=f.SECRETARIAT, meeting_id="IAM-T", advice="supported"),
        )
        for actor, area in areas:
            await run.act("sign_off", m.SignOff(actor=actor, area=area))
