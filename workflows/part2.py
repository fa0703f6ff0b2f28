"""The Part 2 review workflow: sleeps until the review date, then asks for a decision.

Started by the decision workflow when an approved case has a Part 2 (id
`part2-review-<case>`). It sleeps until 09:00 London time on the review date (which may be
ten years away), records that the review is due, and tells the publication officer. The
`review` update takes the outcome: publish Part 2 in full, publish it redacted (the
passages and reasons recorded), or extend the exemption to a new date, after which the
workflow continues as new and sleeps again.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, time
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from domain import events as ev
    from domain.clock import LONDON
    from domain.register import redact
    from domain.roles import SYSTEM_ACTOR, Role
    from domain.state import CaseState, Part2Status, Task
    from workflows import activity_names as names
    from workflows import messages as m
    from workflows.common import (
        ACTIVITY_TIMEOUT,
        RETRY,
        apply_or_refuse,
        invalid,
        notify,
        record,
        stale,
    )

#: The review task is created at this London time on the review date.
REVIEW_AT = time(9, 0)


@workflow.defn
class Part2ReviewWorkflow:
    @workflow.init
    def __init__(self, params: m.Part2ReviewInput) -> None:
        self.params = params
        self.state: CaseState | None = None
        self.lock = asyncio.Lock()
        self.outcome: m.Part2Outcome | None = None

    @workflow.run
    async def run(self, params: m.Part2ReviewInput) -> m.Part2ReviewResult:
        wake = datetime.combine(params.review_date, REVIEW_AT, tzinfo=LONDON)
        if wake > workflow.now():
            await workflow.sleep(wake - workflow.now())
        state = await workflow.execute_activity(
            names.LOAD_CASE,
            params.case_id,
            result_type=CaseState,
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=RETRY,
        )
        if state.part2 is Part2Status.EXEMPT:
            due = ev.Part2ReviewDue(
                event_id=workflow.uuid4(),
                case_id=params.case_id,
                occurred_at=workflow.now(),
                actor=SYSTEM_ACTOR,
                review_date=params.review_date,
            )
            state = apply_or_refuse(state, [due])
            await record(params.case_id, [due])
            # Open for the review from the moment the event is stored, before the notice.
            self.state = state
            task = Task(
                kind="review_part2",
                role=Role.PUBLICATION_OFFICER,
                due=params.review_date,
                description="Review the Part 2 exemption: publish, redact or extend",
            )
            await notify(
                params.case_id,
                "part2_review_due",
                task,
                f"[Ratify] {state.title}: Part 2 review due",
                f"The Part 2 exemption of case {params.case_id} ({state.reference}) is due for "
                f"review on {params.review_date.isoformat()}: publish, redact or extend it.",
            )
        self.state = state
        await workflow.wait_condition(lambda: self.outcome is not None)
        await workflow.wait_condition(workflow.all_handlers_finished)
        assert self.outcome is not None
        if self.outcome.outcome == "extend":
            assert self.outcome.new_review_date is not None
            workflow.continue_as_new(
                m.Part2ReviewInput(
                    case_id=params.case_id,
                    review_date=self.outcome.new_review_date,
                    extensions=params.extensions + 1,
                )
            )
        return m.Part2ReviewResult(
            case_id=params.case_id, outcome=self.outcome.outcome, extensions=params.extensions
        )

    def _events(self, action: m.Part2Outcome, event_id: Any) -> list[ev.Event]:
        if self.state is None or self.state.part2 is not Part2Status.REVIEW_DUE:
            raise ApplicationError(
                "no Part 2 review is due yet", type="wrong_stage", non_retryable=True
            )
        assert self.state.case is not None and self.state.case.part2 is not None
        envelope: dict[str, Any] = {
            "event_id": event_id,
            "case_id": self.params.case_id,
            "occurred_at": workflow.now(),
            "actor": action.actor,
        }
        text = self.state.case.part2.content
        with invalid():
            if action.outcome == "publish":
                return [ev.Part2Published(reason=action.reason, content=text, **envelope)]
            if action.outcome == "redact":
                passages = [r.passage for r in action.redactions]
                try:
                    content = redact(text, passages)
                except ValueError as exc:
                    raise ApplicationError(str(exc), type="invalid", non_retryable=True) from None
                return [
                    ev.Part2PublishedRedacted(
                        redactions=action.redactions,
                        reason=action.reason,
                        content=content,
                        **envelope,
                    )
                ]
            if action.new_review_date is None:
                raise ApplicationError(
                    "new_review_date: an extension needs the new review date",
                    type="invalid",
                    non_retryable=True,
                )
            return [
                ev.Part2ExemptionExtended(
                    new_review_date=action.new_review_date, reasons=[action.reason], **envelope
                )
            ]

    @workflow.update
    async def review(self, action: m.Part2Outcome) -> m.ActionResult:
        async with self.lock:
            self._decided(action)
            events = self._events(action, workflow.uuid4())
            assert self.state is not None
            new_state = apply_or_refuse(self.state, events)
            stored = await record(self.params.case_id, events)
            self.state = new_state
            self.outcome = action
        return m.ActionResult(
            case_id=self.params.case_id,
            version=new_state.version,
            stage=new_state.stage.value,
            events=stored,
        )

    def _decided(self, action: m.Part2Outcome) -> None:
        if self.outcome is not None:
            raise ApplicationError(
                f"the review was already decided: {self.outcome.outcome}",
                type="already_done",
                non_retryable=True,
            )

    @review.validator
    def _v_review(self, action: m.Part2Outcome) -> None:
        self._decided(action)
        stale(action, self.state)
        events = self._events(action, m.PLACEHOLDER_ID)
        assert self.state is not None
        apply_or_refuse(self.state, events)

    @workflow.query
    def status(self) -> m.Part2ReviewResult:
        return m.Part2ReviewResult(
            case_id=self.params.case_id,
            outcome=self.outcome.outcome
            if self.outcome
            else ("due" if self.state is not None else "waiting"),
            extensions=self.params.extensions,
        )
