"""My inbox (my open tasks, those I hold as a deputy too) and the case search."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from fastapi import Request, Response
from starlette.concurrency import run_in_threadpool

from domain.state import Stage
from ratify.services.commands import Refusal
from ratify.services.projections import case_search, paging, task_list
from ratify.web.pages.common import Who, page_context, router, services_of
from ratify.web.render import page


async def _read_views(read: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """A read of the views in a worker thread; a parameter it cannot use is a 422 naming it."""
    try:
        return await run_in_threadpool(read, *args, **kwargs)
    except paging.QueryError as exc:
        raise Refusal("invalid", str(exc)) from None


@router.get("/")
async def inbox(request: Request, who: Who, cursor: str = "") -> Response:
    """My open tasks, including those I hold as a deputy, soonest due first, a page at a
    time: how many there are, and a link to the next page."""
    found: task_list.InboxPage = await _read_views(
        task_list.inbox,
        services_of(request).engine,
        who.roles,
        cursor=cursor or None,
        user_id=who.user_id,
        deputy_for=[(r, p) for r, held in who.holdings.items() for p in held if p is not None],
    )
    shown_to = found.total - found.more
    context = page_context(
        request,
        "My tasks",
        tasks=found.items,
        total=found.total,
        more=found.more,
        first=shown_to - len(found.items) + 1,
        last=shown_to,
        next_url=f"/ui/?{urlencode({'cursor': found.next})}" if found.next else None,
        paged=bool(cursor),
    )
    return page("inbox.html", context)


@router.get("/cases")
async def cases(
    request: Request,
    who: Who,
    title: str = "",
    stage: str = "",
    reference: str = "",
) -> Response:
    """Search the cases (from the read views; no Part 2)."""
    error = None
    rows: list[case_search.CaseSummary] = []
    try:
        rows = case_search.list_cases(
            services_of(request).engine,
            title_contains=title.strip() or None,
            stage=stage or None,
            reference=reference.strip() or None,
            limit=200,
        )
    except ValueError as exc:
        error = str(exc)
    context = page_context(
        request,
        "Cases",
        rows=rows,
        stages=list(Stage),
        query={"title": title, "stage": stage, "reference": reference},
        error=error,
    )
    return page("cases.html", context, 422 if error else 200)
