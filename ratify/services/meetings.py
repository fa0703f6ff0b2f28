"""Board meetings: start a meeting's workflow, read its agenda, take its steps.

The API (`ratify.api.routes.meetings`) and the web pages (`ratify.web.pages.meetings`,
`ratify.web.pages.cases`) take every meeting step through these functions; the actor, the
refusals and the update are `ratify.services.commands`'s, as for a case's steps.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import ValidationError
from temporalio.client import WorkflowUpdateFailedError
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from domain.bounds import EDGE, check_identifier, quote_id
from domain.ids import meeting_workflow_id
from domain.roles import Role
from ratify.services.commands import (
    TEMPORAL_RETRY_AFTER,
    Refusal,
    Services,
    acting,
    check_dates,
    not_started,
    notify_written,
    outcome_unknown,
    problems,
    refusal_of,
    temporal_down,
)
from ratify.services.identity.values import Principal
from ratify.services.projections import agenda
from workflows import messages as m
from workflows.meeting import BoardMeetingWorkflow

#: The meeting steps of the API's `POST /meetings/{id}/{action}`: the update and message.
MEETING_ACTIONS: dict[str, tuple[str, type[m.Action]]] = {
    "cases": ("add_case", m.AddToAgenda),
    "advice": ("record_advice", m.RecordCaseAdvice),
    "close": ("close", m.CloseMeeting),
}


async def create_meeting(
    services: Services, me: Principal, meeting_id: str, board: str, meeting_date: date
) -> None:
    """`POST /meetings` of the API: start a board meeting's workflow."""
    actor = acting(me, Role.BOARD_SECRETARIAT, None)
    try:
        check_identifier(meeting_id, "meeting_id")
    except ValueError as exc:
        raise Refusal("invalid", str(exc)) from None
    check_dates(services, meeting_date, "meeting_date")
    try:
        params = m.MeetingInput(
            meeting_id=meeting_id, board=board, meeting_date=meeting_date, created_by=actor
        )
    except ValidationError as exc:
        raise Refusal("invalid", problems(exc)) from None
    try:
        await services.client.start_workflow(
            BoardMeetingWorkflow.run,
            params,
            id=meeting_workflow_id(meeting_id),
            task_queue=services.task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        )
    except WorkflowAlreadyStartedError:
        raise Refusal("exists", f"meeting {quote_id(meeting_id)} exists") from None
    except RPCError as exc:
        if exc.status is RPCStatusCode.ALREADY_EXISTS:
            raise Refusal("exists", f"meeting {quote_id(meeting_id)} exists") from None
        if temporal_down(exc):
            raise not_started(
                f"meeting {quote_id(meeting_id)}",
                "look for it (GET /meetings); sending it again is safe (a meeting that "
                "started answers 409)",
            ) from None
        raise


async def meeting_view(services: Services, meeting_id: str) -> m.MeetingView:
    """`GET /meetings/{id}` of the API: the meeting and its agenda."""
    handle = services.client.get_workflow_handle(meeting_workflow_id(meeting_id))
    try:
        view: m.MeetingView = await handle.query("view", result_type=m.MeetingView)
    except RPCError as exc:
        if temporal_down(exc):
            raise Refusal(
                "temporal_unavailable",
                "Temporal (the workflow service) did not answer: try again later",
                headers={"Retry-After": str(TEMPORAL_RETRY_AFTER)},
            ) from None
        raise Refusal("not_found", f"there is no meeting {quote_id(meeting_id)}") from None
    return view


async def meeting_action(
    services: Services, me: Principal, meeting_id: str, action: str, fields: dict[str, Any]
) -> Any:
    """`POST /meetings/{id}/{cases|advice|close}` of the API."""
    if action not in MEETING_ACTIONS:
        raise Refusal("unknown_action", f"no meeting action '{quote_id(action)}'")
    update, message_type = MEETING_ACTIONS[action]
    actor = acting(me, Role.BOARD_SECRETARIAT, None)
    try:
        message = message_type.model_validate({**fields, "actor": actor}, context=EDGE)
    except ValidationError as exc:
        raise Refusal("invalid", problems(exc)) from None
    check_dates(services, message)
    handle = services.client.get_workflow_handle(meeting_workflow_id(meeting_id))
    try:
        result = await handle.execute_update(update, message)
    except WorkflowUpdateFailedError as exc:
        refusal = refusal_of(exc)
        if refusal is None:
            raise
        raise refusal from None
    except RPCError as exc:
        if exc.status is RPCStatusCode.NOT_FOUND:
            raise Refusal(
                "not_found",
                f"there is no open meeting {quote_id(meeting_id)} (closed, or unknown)",
            ) from None
        if temporal_down(exc):
            raise outcome_unknown(update, f"meeting {quote_id(meeting_id)}", None) from None
        raise
    notify_written(services)
    return result


#: Temporal's visibility query for the meetings not yet closed.
OPEN_MEETINGS_QUERY = 'WorkflowType = "BoardMeetingWorkflow" AND ExecutionStatus = "Running"'

#: At most this many meetings are listed (each is one query to its workflow).
MEETINGS_LISTED = 50


async def _running_meeting_ids(services: Services, limit: int) -> list[str]:
    """The ids of the meetings whose workflows run, from Temporal's visibility (eventually
    consistent; the time-skipping test server has none, which lists nothing here)."""
    prefix = meeting_workflow_id("")
    ids: list[str] = []
    try:
        async for execution in services.client.list_workflows(OPEN_MEETINGS_QUERY, limit=limit):
            if execution.id.startswith(prefix):
                ids.append(execution.id[len(prefix) :])
    except RPCError:
        return ids
    return ids


async def listed_meetings(
    services: Services, today: date, limit: int = MEETINGS_LISTED
) -> list[m.MeetingView]:
    """The meetings still open and those from `today` on, with their agendas, by date: the
    running meetings from Temporal's visibility and the meetings of the read view's agendas,
    each read from its workflow (whether it is closed, and its agenda as it is now). None
    when this process has no Temporal client (a front door run without workflows)."""
    if services.client is None:
        return []
    ids = dict.fromkeys(await _running_meeting_ids(services, limit))
    for row in agenda.meetings(services.engine, from_date=today):
        ids.setdefault(row.meeting_id)
    views: list[m.MeetingView] = []
    for meeting_id in list(ids)[:limit]:
        try:
            view = await meeting_view(services, meeting_id)
        except Refusal as exc:
            if exc.code == "not_found":
                continue
            raise
        if not view.closed or view.meeting_date >= today:
            views.append(view)
    return sorted(views, key=lambda v: (v.meeting_date, v.meeting_id))
