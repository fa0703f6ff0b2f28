"""Board meetings: finding and creating one, its agenda, and the secretariat's steps."""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import quote

from fastapi import Request, Response
from fastapi.responses import RedirectResponse
from starlette.datastructures import FormData

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
from ratify.web.pages.cases import (
    case_context,
    kept_typing,
    meeting_fields,
    own_fields,
    with_open_meetings,
)
from ratify.web.pages.common import Visitor, Who, page_context, read_form, router, services_of
from ratify.web.pages.kept import NOTHING_TYPED, Typed
from ratify.web.render import page


@router.get("/meetings")
async def meetings(request: Request, who: Who, meeting_id: str = "") -> Response:
    """The open and upcoming meetings with their agendas; find one by its id, or create one."""
    if meeting_id.strip():
        return RedirectResponse(f"/ui/meetings/{quote(meeting_id.strip())}", status_code=303)
    services = services_of(request)
    listed = await meeting_steps.listed_meetings(services, commands.today())
    titles = {
        item.case_id: case_search.case_summary(services.engine, item.case_id)
        for view in listed
        for item in view.agenda
    }
    context = page_context(request, "Board meetings", listed=listed, summaries=titles)
    return page("meetings.html", context)


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
    request: Request,
    who: Visitor,
    meeting_id: str,
    error: str | None = None,
    typed: Typed = NOTHING_TYPED,
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
    other_board: dict[str, str] = {}
    for item in view.agenda:
        case = services.journal.history(item.case_id).state.case
        if case is not None and case.board is not None and case.board.board != view.board:
            other_board[item.case_id] = case.board.board.value
    return page_context(
        request,
        f"Meeting {view.meeting_id}",
        other_board=other_board,
        error=error,
        meeting=view,
        summaries=titles,
        candidates=candidates,
        board_advice=[a.value for a in BoardAdvice],
        secretariat=who.holds(Role.BOARD_SECRETARIAT),
        waiting=[i.case_id for i in view.agenda if i.advice is None],
        typed=typed,
        error_anchor=typed.anchor(),
    )


@router.get("/meetings/{meeting_id}")
async def meeting_page(request: Request, who: Who, meeting_id: str) -> Response:
    """A meeting: its board, date and agenda, and the secretariat's forms."""
    return page("meeting.html", await _meeting_context(request, who, meeting_id))


#: Fields of the meeting page's forms that the person does not type.
_HIDDEN = frozenset({"action", "form", "return_to"})


async def _meeting_answer(
    request: Request, who: Visitor, meeting_id: str, action: str, form: FormData
) -> Response:
    """Take a meeting step; a refusal shows the page again (the case's page, for a form
    sent from it) with everything typed and the refusal beside the field it names."""
    if action not in MEETING_ACTION_FIELDS:
        raise Refusal("unknown_action", f"no meeting action '{quote_id(action)}'")
    raw_case = form.get("case_id")
    case_id = raw_case.strip() if isinstance(raw_case, str) else ""
    back_to_case = form.get("return_to") == "case" and bool(case_id)
    try:
        fields = meeting_fields(action, form)
        await meeting_steps.meeting_action(
            services_of(request), who.principal, meeting_id, action, fields
        )
    except Refusal as exc:
        key = form.get("form")
        typed = await kept_typing(
            form, key if isinstance(key, str) else action, exc, _HIDDEN, own_fields(action)
        )
        if back_to_case:
            context = case_context(request, who, case_id, error=exc.message, typed=typed)
            context = await with_open_meetings(request, context)
            return page("case.html", context, status_of(exc))
        try:
            context = await _meeting_context(request, who, meeting_id, exc.message, typed)
        except Refusal:
            raise exc from None
        return page("meeting.html", context, status_of(exc))
    if back_to_case:
        target = f"/ui/cases/{quote(case_id)}?done={action}"
    else:
        target = f"/ui/meetings/{quote(meeting_id)}?done={action}"
    return RedirectResponse(target, status_code=303)


@router.post("/meetings/{meeting_id}")
async def meeting_form(request: Request, who: Who, meeting_id: str) -> Response:
    """The meeting page's forms post to the page itself (`action` says which step), so a
    refused form is answered from the page's own URL, filled in as it was sent."""
    form = await read_form(request)
    action = form.get("action")
    return await _meeting_answer(
        request, who, meeting_id, action if isinstance(action, str) else "", form
    )


@router.post("/meetings/{meeting_id}/{action}")
async def meeting_step(request: Request, who: Who, meeting_id: str, action: str) -> Response:
    """Add a case to the agenda, record the board's advice, or close the meeting (the
    forms' older addresses)."""
    return await _meeting_answer(request, who, meeting_id, action, await read_form(request))
