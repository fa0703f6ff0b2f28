"""Tasks: act on a case (submit, sign off, decide, ...), and my inbox of open tasks."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query
from starlette.concurrency import run_in_threadpool

from domain.visibility import may_see_part2
from ratify.api.deps import Cursor, Me, SignedInFirst, Svc, read_view
from ratify.api.schemas import REFUSED, ActionBody, StepTaken
from ratify.http.services import HttpServices
from ratify.services import commands
from ratify.services.identity.values import Principal
from ratify.services.projections import paging, task_list
from ratify.services.views import HASH_WITHHELD

router = APIRouter(tags=["tasks"], route_class=SignedInFirst, responses=REFUSED)


def _cleared(services: HttpServices, me: Principal, case_id: str) -> bool:
    """Whether `me` may see the case's Part 2 (reads the case's history)."""
    history = services.journal.history(case_id)
    return may_see_part2(commands.viewer(me), history.state, history.events)


@router.post("/cases/{case_id}/actions/{action}", response_model=StepTaken)
async def act(
    me: Me,
    services: Svc,
    case_id: str,
    action: str,
    body: ActionBody,
    idempotency_key: Annotated[
        str | None,
        Header(
            description="Any unique string (a UUID) naming this attempt: sending the "
            "step again with the same key returns the first attempt's outcome, and the "
            "step is never applied twice. Use it to retry after a timeout or a dropped "
            "connection."
        ),
    ] = None,
) -> dict[str, Any]:
    """Act on a case: submit, sign off, request changes, confirm, decide, ..."""
    fields = body.model_dump(exclude={"role", "on_behalf_of"})
    result = await commands.act(
        services,
        me,
        case_id,
        action,
        fields,
        role=body.role,
        on_behalf_of=body.on_behalf_of,
        idempotency_key=idempotency_key,
    )
    shown = result.model_dump(mode="json")
    # Anyone may record an irregularity: an actor not cleared for the case's Part 2 is
    # not given the new events' hashes, which cover it (see `views.chain_view`).
    if not await run_in_threadpool(_cleared, services, me, case_id):
        for event in shown["events"]:
            event.update(hash=None, hash_withheld=HASH_WITHHELD)
    return shown


@router.get("/tasks")
async def my_tasks(
    me: Me,
    services: Svc,
    limit: Annotated[int, Query(ge=1, le=paging.MAX_PAGE)] = paging.DEFAULT_PAGE,
    cursor: Cursor = None,
) -> task_list.InboxPage:
    """My open tasks, including those I hold as a deputy: soonest due first (undated
    last), `limit` at a time (at most 200), with `total` (all of them), `more` (how
    many come after this page) and `next` (the cursor of the next page, or null). An
    officer's tasks (submit, revise) are listed only for the case's own officers."""
    who = commands.viewer(me)
    return await read_view(
        task_list.inbox,
        services.engine,
        who.roles,
        limit=limit,
        cursor=cursor,
        user_id=who.user_id,
        deputy_for=who.deputy_for,
    )
