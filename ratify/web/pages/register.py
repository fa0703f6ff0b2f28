"""The public register: published decisions (Part 1), searchable, one page per decision
laid out like the published papers. No sign-in.
"""

from __future__ import annotations

from datetime import date
from urllib.parse import urlencode

from fastapi import Request, Response
from starlette.concurrency import run_in_threadpool

from domain.bounds import quote_id
from ratify.services.commands import Refusal
from ratify.services.dates import DateWindow
from ratify.services.projections import paging, public_register
from ratify.web.pages.common import MaybeWho, page_context, router, services_of
from ratify.web.render import page


def _day_field(name: str, value: str, window: DateWindow) -> date | None:
    if not value.strip():
        return None
    try:
        day = date.fromisoformat(value.strip())
    except ValueError:
        raise paging.QueryError(name, f"{value!r} is not a date, e.g. 2019-12-13") from None
    for problem in window.problems(day):
        raise paging.QueryError(name, problem.removeprefix("date: "))
    return day


@router.get("/register")
async def register(
    request: Request,
    who: MaybeWho,
    reference: str = "",
    title: str = "",
    signed_from: str = "",
    signed_to: str = "",
    cursor: str = "",
) -> Response:
    """Published decisions (Part 1), newest first, a page at a time, with a search by
    reference, title and date signed. Public: no sign-in."""
    search = {
        "reference": reference,
        "title": title,
        "signed_from": signed_from,
        "signed_to": signed_to,
    }
    error = None
    found = public_register.RegisterPage(items=[], next=None)
    window = services_of(request).window
    try:
        found = await run_in_threadpool(
            public_register.register,
            services_of(request).engine,
            cursor=cursor or None,
            reference=reference,
            title_contains=title,
            signed_from=_day_field("signed_from", signed_from, window),
            signed_to=_day_field("signed_to", signed_to, window),
        )
    except paging.QueryError as exc:
        error = str(exc)
    kept = {k: v for k, v in search.items() if v.strip()}
    next_url = None
    if found.next:
        next_url = f"/ui/register?{urlencode({**kept, 'cursor': found.next})}"
    context = page_context(
        request,
        "Decisions register",
        rows=found.items,
        search=search,
        searched=bool(kept),
        paged=bool(cursor),
        first_url=f"/ui/register?{urlencode(kept)}" if kept else "/ui/register",
        next_url=next_url,
        error=error,
    )
    return page("register.html", context, 422 if error else 200)


@router.get("/register/{reference}")
async def register_entry(request: Request, who: MaybeWho, reference: str) -> Response:
    """One published decision, laid out like the published decision form."""
    try:
        row = public_register.register_entry(services_of(request).engine, reference)
    except paging.QueryError:  # a NUL: no reference has one
        row = None
    if row is None:
        raise Refusal("not_found", f"no published decision {quote_id(reference)}")
    title = f"{row.reference or row.case_id}: {row.title}"
    return page("register_entry.html", page_context(request, title, entry=row))
