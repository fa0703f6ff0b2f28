"""The board meeting workflow: one per IAB/IAM meeting (id `meeting-<meeting id>`).

The secretariat creates a meeting with its date, adds cases to its agenda, and on the day
records the board's advice for each case. Each step runs the decision workflow's own update
(through the `update_decision` activity), so a case that cannot go on an agenda, or advice
that cannot be recorded, is refused with the decision's reason and the meeting is unchanged.
The meeting closes when the secretariat closes it, once every case has its advice.
"""

from __future__ import annotations

import asyncio
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from domain.clock import london_date, long_date
    from domain.roles import Role
    from workflows import activity_names as names
    from workflows import messages as m
    from workflows.common import ACTIVITY_TIMEOUT, RETRY


def _refuse(message: str, code: str) -> ApplicationError:
    return ApplicationError(message, type=code, non_retryable=True)


@workflow.defn
class BoardMeetingWorkflow:
    @workflow.init
    def __init__(self, params: m.MeetingInput) -> None:
        self.params = params
        self.agenda: dict[str, m.AgendaItem] = {}
        self.closed = False
        self.lock = asyncio.Lock()

    @workflow.run
    async def run(self, params: m.MeetingInput) -> m.MeetingView:
        await workflow.wait_condition(lambda: self.closed)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.view()

    async def _update_case(self, case_id: str, update: str, action: m.Action) -> m.ActionResult:
        """Run the decision's own update; its refusal becomes this update's refusal."""
        try:
            return await self._call_update(case_id, update, action)
        except ActivityError as exc:
            cause = exc.cause
            if isinstance(cause, ApplicationError):
                raise _refuse(cause.message, cause.type or "refused") from None
            raise

    async def _call_update(self, case_id: str, update: str, action: m.Action) -> m.ActionResult:
        result: m.ActionResult = await workflow.execute_activity(
            names.UPDATE_DECISION,
            m.CaseUpdateRequest(
                case_id=case_id,
                update=update,
                # Unique to this meeting's run, and the same on every retry of the activity.
                update_id=f"{workflow.info().workflow_id}/{workflow.uuid4()}",
                action=action.model_dump(mode="json"),
            ),
            result_type=m.ActionResult,
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=RETRY,
        )
        return result

    def _secretariat(self, action: m.Action) -> None:
        if action.actor.role is not Role.BOARD_SECRETARIAT:
            raise _refuse(
                f"only the board secretariat may run a meeting, not {action.actor.describe()}",
                "wrong_role",
            )
        if self.closed:
            raise _refuse(f"meeting {self.params.meeting_id} is closed", "wrong_stage")

    # -- agenda ------------------------------------------------------------------------

    @workflow.update
    async def add_case(self, action: m.AddToAgenda) -> m.ActionResult:
        async with self.lock:
            self._v_add_case(action)
            result = await self._update_case(
                action.case_id,
                "place_on_agenda",
                m.PlaceOnAgenda(
                    actor=action.actor,
                    meeting_id=self.params.meeting_id,
                    meeting_date=self.params.meeting_date,
                    board=self.params.board,
                ),
            )
            self.agenda[action.case_id] = m.AgendaItem(case_id=action.case_id)
        return result

    @add_case.validator
    def _v_add_case(self, action: m.AddToAgenda) -> None:
        self._secretariat(action)
        if action.case_id in self.agenda:
            raise _refuse(f"case {action.case_id} is already on this agenda", "already_done")
        if london_date(workflow.now()) > self.params.meeting_date:
            raise _refuse(
                f"the meeting of {long_date(self.params.meeting_date)} has taken place",
                "wrong_stage",
            )

    # -- advice ------------------------------------------------------------------------

    @workflow.update
    async def record_advice(self, action: m.RecordCaseAdvice) -> m.ActionResult:
        async with self.lock:
            self._v_record_advice(action)
            fields: dict[str, Any] = action.model_dump(include={"advice", "conditions", "comment"})
            result = await self._update_case(
                action.case_id,
                "record_board_advice",
                m.RecordBoardAdvice(
                    actor=action.actor, meeting_id=self.params.meeting_id, **fields
                ),
            )
            self.agenda[action.case_id] = m.AgendaItem(
                case_id=action.case_id, advice=action.advice, conditions=action.conditions
            )
        return result

    @record_advice.validator
    def _v_record_advice(self, action: m.RecordCaseAdvice) -> None:
        self._secretariat(action)
        item = self.agenda.get(action.case_id)
        if item is None:
            raise _refuse(f"case {action.case_id} is not on this agenda", "wrong_stage")
        if item.advice is not None:
            raise _refuse(
                f"the board's advice on case {action.case_id} was already recorded: "
                f"{item.advice.value.replace('_', ' ')}",
                "already_done",
            )
        if london_date(workflow.now()) < self.params.meeting_date:
            raise _refuse(
                f"the board meets on {long_date(self.params.meeting_date)}: its advice cannot "
                "be recorded before then",
                "wrong_stage",
            )

    @workflow.update
    async def close(self, action: m.CloseMeeting) -> m.MeetingView:
        async with self.lock:  # not while a case is being added or advised on
            self._v_close(action)
            self.closed = True
        return self.view()

    @close.validator
    def _v_close(self, action: m.CloseMeeting) -> None:
        self._secretariat(action)
        waiting = [i.case_id for i in self.agenda.values() if i.advice is None]
        if waiting:
            raise _refuse(
                "the board's advice is still to be recorded for " + ", ".join(waiting),
                "wrong_stage",
            )

    @workflow.query
    def view(self) -> m.MeetingView:
        return m.MeetingView(
            meeting_id=self.params.meeting_id,
            board=self.params.board,
            meeting_date=self.params.meeting_date,
            agenda=list(self.agenda.values()),
            closed=self.closed,
        )
