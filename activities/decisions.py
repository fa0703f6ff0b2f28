"""Activities that act on decision workflows on behalf of other workflows.

A board meeting moves its cases on (placing them on its agenda, recording the board's
advice) by running the decision workflow's own update, so the same validator refuses a
wrong step. The update id comes from the calling workflow: a retried activity repeats the
same update, which Temporal answers with the first outcome instead of running it twice.
"""

from __future__ import annotations

from temporalio import activity
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from activities import refusal
from workflows import activity_names as names
from workflows.messages import ActionResult, CaseUpdateRequest


class DecisionActivities:
    def __init__(self, client: Client) -> None:
        self.client = client

    @activity.defn(name=names.UPDATE_DECISION)
    async def update_decision(self, request: CaseUpdateRequest) -> ActionResult:
        handle = self.client.get_workflow_handle(request.case_id)
        try:
            description = await handle.describe()
        except RPCError as exc:
            if exc.status is RPCStatusCode.NOT_FOUND:
                raise refusal(f"there is no open case {request.case_id}", "not_found") from exc
            raise
        if description.status is not WorkflowExecutionStatus.RUNNING:
            raise refusal(f"case {request.case_id} is closed", "wrong_stage")
        try:
            result: ActionResult = await handle.execute_update(
                request.update, request.action, id=request.update_id, result_type=ActionResult
            )
            return result
        except WorkflowUpdateFailedError as exc:
            cause = exc.cause
            if isinstance(cause, ApplicationError):
                raise refusal(cause.message, cause.type or "refused") from exc
            raise refusal(str(cause or exc), "refused") from exc
        # Any other error (the server lost track of a long-running update, a network error)
        # is retried: the same update id makes the retry return the first outcome.
