"""Board meetings: finding and creating one, its agenda, and the secretariat's steps."""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import quote

from fastapi import Request, Response
from fastapi.responses import RedirectResponse

from domain.bounds import quote_id
from domain.case import BoardAdvice
from domain.roles import Role
from domain.state import Stage
from ratify.http.errors import status_of
from ratify.services import commands
from ratify.services import meetings as meeting_steps
from ratify.services.commands import Refusal
from ratify.services.projections import case_search
from ratify.web.pages.actions import MEETING_ACTION_FIELDS
from ratify.web.pages.cases import case_context
from ratify.web.pages.common import Visitor, Who, page_context, read_form, router, services_of
from ratify.web.render import page


@router.get("/meetings")
async def meetings(request: Request, who: Who, meeting_id: str = "") -> Response:
    """Find a meeting by its id, or create one."""
    if meeting_id.strip():
        return RedirectResponse(f"/ui/meetings/{quote(meeting_id.strip())}", status_code=303)
    return page("meetings.html", page_context(request, "Board meetings"))


def _meeting_form_page(
    request: Request, values: dict[str, str], error: str | None = None, status: int = 200
) -> Response:
    context = page_context(request, "New board meeting", values=values, error=error)
    return page("meeting_new.html", context, status)


@router.get("/meetings/new")
async def new_meeting_form(request: Request, who: Who) -> Response:
    """Create a board meeting (IAB or IAM) on a date."""
    values = {"meeting_id": "", "board": "IAB", "meeting_date": commands.today().isoformat()}
    return _meeting_form_page(request, values)


@router.post("/meetings/new")
async def new_meeting(request: Request, who: Who) -> Response:
    form = await read_form(request)
    values = {k: str(form.get(k) or "").strip() for k in ("meeting_id", "board", "meeting_date")}
    try:
        if not values["meeting_id"]:
            raise Refusal("invalid", "meeting_id: give the meeting an id, e.g. IAB-2019-07")
        try:
            meeting_date = date.fromisoformat(values["meeting_date"])
        except ValueError:
            raise Refusal("invalid", "meeting_date: a date, e.g. 2019-07-18") from None
        await meeting_steps.create_meeting(
            services_of(request), who.principal, values["meeting_id"], values["board"], meeting_date
        )
    except Refusal as exc:
        return _meeting_form_page(request, values, exc.message, status_of(exc))
    target = f"/ui/meetings/{quote(values['meeting_id'])}?done=meeting"
    return RedirectResponse(target, status_code=303)


async def _meeting_context(
    request: Request, who: Visitor, meeting_id: str, error: str | None = None
) -> dict[str, Any]:
    services = services_of(request)
    view = await meeting_steps.meeting_view(services, meeting_id)
    on_agenda = {item.case_id for item in view.agenda}
    titles = {i.case_id: case_search.case_summary(services.engine, i.case_id) for i in view.agenda}
    candidates = [
        c
        for c in case_search.list_cases(services.engine, stage=Stage.BOARD, limit=200)
        if c.case_id not in on_agenda
    ]
    return page_context(
        request,
        f"Meeting {view.meeting_id}",
        error=error,
        meeting=view,
        summaries=titles,
        candidates=candidates,
        board_advice=[a.value for a in BoardAdvice],
        secretariat=who.holds(Role.BOARD_SECRETARIAT),
        waiting=[i.case_id for i in view.agenda if i.advice is None],
    )


@router.get("/meetings/{meeting_id}")
async def meeting_page(request: Request, who: Who, meeting_id: str) -> Response:
    """A meeting: its board, date and agenda, and the secretariat's forms."""
    return page("meeting.html", await _meeting_context(request, who, meeting_id))


@router.post("/meetings/{meeting_id}/{action}")
async def meeting_step(request: Request, who: Who, meeting_id: str, action: str) -> Response:
    """Add a case to the agenda, record the board's advice, or close the meeting."""
    form = await read_form(request)
    if action not in MEETING_ACTION_FIELDS:
        raise Refusal("unknown_action", f"no meeting action '{quote_id(action)}'")
    fields: dict[str, Any] = {}
    for name in MEETING_ACTION_FIELDS[action]:
        value = form.get(name)
        if isinstance(value, str) and value.strip():
            fields[name] = value.strip()
    back_to_case = form.get("return_to") == "case" and "case_id" in fields
    try:
        await meeting_steps.meeting_action(
            services_of(request), who.principal, meeting_id, action, fields
        )
    except Refusal as exc:
        if back_to_case:
            context = case_context(request, who, fields["case_id"], error=exc.message)
            return page("case.html", context, status_of(exc))
        try:
            context = await _meeting_context(request, who, meeting_id, error=exc.message)
        except Refusal:
            raise exc from None
        return page("meeting.html", context, status_of(exc))
    if back_to_case:
        target = f"/ui/cases/{quote(fields['case_id'])}?done={action}"
    else:
        target = f"/ui/meetings/{quote(meeting_id)}?done={action}"
    return RedirectResponse(target, status_code=303)
