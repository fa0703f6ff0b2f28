"""The web pages: server-rendered HTML under `/ui`, plain forms that work without JavaScript.

Pages: sign-in, changing one's own password, my inbox, case search, a case (documents,
timeline, the forms for the open tasks the signed-in person holds), a new case from a case
file, board meetings and their agendas, an auditor's history of a case as of a version or
an instant, and the public register with one page per published decision laid out like the
published papers.

Signing in uses the API's session (`ratify.http.auth`): the same `ratify_session` cookie as
`POST /session`, so a person signed in on the pages is signed in on the API and the other
way round. The pages read only the cookie (never an `Authorization` header), and every
form POST must carry the session's CSRF token in its `csrf_token` field (or the
`X-CSRF-Token` header); the sign-in form carries its own token, double-submitted in a
short-lived cookie, so no one can sign a browser in as someone else. Sessions are kept in
the database: signing out, or changing the password (which ends every session of the
person and starts a new one here), ends them at once. Password checks are throttled like
the API's (`Authenticator.check_sign_in`).

Every step goes through `ratify.web.ops`, which takes the API's own path (actor from the
principal, workflow message, update, refusal code and status). A refusal is shown on the
page it came from, as a message naming the rule, with the API's status (401, 403, 404, 409,
422); an unexpected error is logged and shown as a short message, never a stack trace.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Annotated, Any
from urllib.parse import quote, urlencode

import structlog
from fastapi import APIRouter, Depends, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, RedirectResponse
from fastapi.routing import APIRoute
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException

from domain.bounds import MAX_CASE_FILE_BYTES, quote_id
from domain.case import BoardAdvice, Case
from domain.casefile import CaseFileError, parse_case
from domain.clock import LONDON
from domain.roles import Role
from domain.state import Stage, Task, open_tasks
from domain.timeline import timeline, without_part2
from eventstore.digest import Digest
from ratify.http.auth import CSRF_FIELD, CSRF_HEADER, SESSION_COOKIE, AuthRefusal
from ratify.http.errors import status_of
from ratify.http.services import HttpServices
from ratify.infra.observability.interceptors import record_refusal
from ratify.services import auditing as audit_steps
from ratify.services.accesslog import AccessLog
from ratify.services.commands import Refusal
from ratify.services.dates import DateWindow
from ratify.services.identity.service import (
    MAX_PASSWORD_LENGTH,
    MIN_PASSWORD_LENGTH,
    IdentityError,
    Principal,
)
from ratify.services.journal import CaseHistory
from ratify.services.projections import queries
from ratify.services.reconcile import reconcile
from ratify.services.replay import replay_workflows, workflow_ids
from ratify.services.views import chain_view
from ratify.web import ops
from ratify.web.render import STATIC_DIR, page

log = structlog.get_logger("ratify.web")

#: The sign-in form's own CSRF token, double-submitted: this cookie and the form field.
SIGN_IN_COOKIE = "ratify_sign_in"
SIGN_IN_PATH = "/ui/sign-in"
#: The largest case file the upload form takes.
MAX_CASE_FILE = MAX_CASE_FILE_BYTES

#: Actions the case page offers, and the form fields each takes (`*`: one item a line).
ACTION_FIELDS: dict[str, tuple[str, ...]] = {
    "submit": (),
    "withdraw": ("reason",),
    "revise": ("note",),
    "agree_extremis": ("reason",),
    "sign_off": ("area", "comment"),
    "advice_not_required": ("area", "reason"),
    "request_changes": ("area", "reasons*", "sections*"),
    "consult_chief_executive": ("comment",),
    "chief_executive_send_back": ("reasons*",),
    "declare_interests": ("has_interest", "details"),
    "decide": ("approve", "comment"),
    "review_part2": ("outcome", "reason", "new_review_date"),
    "change_required_by": ("required_by", "reason"),
    "record_irregularity": ("description",),
}

#: What the page says after an accepted step (`?done=...`).
DONE = {
    "created": "The draft case was created.",
    "submit": "The case was submitted.",
    "withdraw": "The case was withdrawn.",
    "revise": "The case was revised.",
    "agree_extremis": "The extremis submission was agreed.",
    "sign_off": "Your sign-off was recorded.",
    "advice_not_required": "Recorded: advice not required.",
    "request_changes": "The case was sent back to the officer with your reasons.",
    "consult_chief_executive": "Your confirmation was recorded.",
    "chief_executive_send_back": "The case was sent back to the officer.",
    "declare_interests": "Your declaration of interests was recorded.",
    "decide": "Your decision was recorded.",
    "review_part2": "The Part 2 review outcome was recorded.",
    "change_required_by": "The required-by date was changed.",
    "record_irregularity": "The irregularity was recorded.",
    "meeting": "The meeting was created.",
    "cases": "The case was added to the agenda.",
    "advice": "The board's advice was recorded.",
    "close": "The meeting was closed.",
}


# -- who is asking -------------------------------------------------------------------------


@dataclass(frozen=True)
class Visitor:
    """A person signed in with the session cookie, and what they hold today."""

    principal: Principal
    csrf_token: str
    #: Role -> on whose behalf it is held: None for their own, else each principal's id.
    holdings: dict[Role, list[str | None]] = field(default_factory=dict)
    #: The stored session's id (sign-out ends it).
    session_id: str = ""

    @property
    def user_id(self) -> str:
        return self.principal.user_id

    @property
    def name(self) -> str:
        return self.principal.name

    @property
    def roles(self) -> frozenset[Role]:
        return frozenset(self.holdings)

    def holds(self, role: Role) -> bool:
        return role in self.holdings


class SignInRequired(Exception):
    """No valid session: a page sends the person to sign in; a form POST is refused."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _services(request: Request) -> HttpServices:
    services: HttpServices = request.app.state.services
    return services


async def _form(request: Request) -> FormData:
    # Starlette keeps the parsed form, so later calls return the same one.
    return await request.form(max_part_size=MAX_CASE_FILE)


async def _read_visitor(request: Request) -> Visitor | None:
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    services = _services(request)
    found = await run_in_threadpool(services.auth.identify, services.directory, None, cookie)
    if found.session is None:
        return None
    holdings: dict[Role, list[str | None]] = {}
    for role, giver in sorted(
        found.principal.roles_today(ops.today()), key=lambda p: (p[0].value, p[1] or "")
    ):
        holdings.setdefault(role, []).append(giver)
    return Visitor(found.principal, found.session.csrf_token, holdings, found.session.session_id)


async def optional_visitor(request: Request) -> Visitor | None:
    """The signed-in person, or None (public pages show a sign-in link instead)."""
    try:
        visitor = await _read_visitor(request)
    except AuthRefusal:
        visitor = None
    request.state.visitor = visitor
    return visitor


async def signed_in(request: Request) -> Visitor:
    """The signed-in person; on a POST, only with the session's CSRF token."""
    try:
        visitor = await _read_visitor(request)
    except AuthRefusal as exc:
        raise SignInRequired(exc.message) from None
    if visitor is None:
        raise SignInRequired("Sign in to continue.")
    request.state.visitor = visitor
    if request.method.upper() != "GET":
        sent = request.headers.get(CSRF_HEADER)
        if sent is None:
            value = (await _form(request)).get(CSRF_FIELD)
            sent = value if isinstance(value, str) else None
        if not sent or not hmac.compare_digest(sent.encode(), visitor.csrf_token.encode()):
            raise Refusal(
                "csrf",
                "csrf: this form did not carry your session's CSRF token (it may come from an "
                "old page or another site): reload the page and try again",
            )
    return visitor


Who = Annotated[Visitor, Depends(signed_in)]
MaybeWho = Annotated[Visitor | None, Depends(optional_visitor)]


# -- pages and errors ----------------------------------------------------------------------


def _context(request: Request, title: str, **values: Any) -> dict[str, Any]:
    visitor: Visitor | None = getattr(request.state, "visitor", None)
    return {
        "title": title,
        "who": visitor,
        "csrf": visitor.csrf_token if visitor is not None else "",
        "path": request.url.path,
        "error": None,
        "notice": DONE.get(request.query_params.get("done", "")),
        **values,
    }


def _error_page(request: Request, status: int, message: str, code: str = "") -> Response:
    headings = {
        401: "Sign in needed",
        403: "Not allowed",
        404: "Not found",
        409: "Conflict",
        422: "Not accepted",
    }
    context = _context(
        request, headings.get(status, "Something went wrong"), error=message, code=code
    )
    context["status"] = status
    return page("error.html", context, status)


def _sign_in_url(request: Request) -> str:
    target = request.url.path
    if request.url.query:
        target += f"?{request.url.query}"
    return f"{SIGN_IN_PATH}?{urlencode({'next': target})}"


class WebRoute(APIRoute):
    """A route whose refusals and errors become HTML pages, never JSON or a stack trace."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            try:
                return await handler(request)
            except SignInRequired as exc:
                if request.method.upper() == "GET":
                    return RedirectResponse(_sign_in_url(request), status_code=303)
                return _error_page(request, 401, exc.message, "unauthenticated")
            except Refusal as exc:
                if request.method.upper() != "GET":
                    # On the request's one log line (and counted) by the middleware.
                    record_refusal(exc.code, exc.message)
                return _error_page(request, status_of(exc), exc.message, exc.code)
            except AuthRefusal as exc:
                return _error_page(request, status_of(exc), exc.message, exc.code)
            except IdentityError as exc:
                return _error_page(request, exc.status_code, str(exc), "invalid")
            except RequestValidationError as exc:
                problems = "; ".join(
                    f"{'.'.join(str(p) for p in e['loc'][1:]) or 'request'}: {e['msg']}"
                    for e in exc.errors()
                )
                return _error_page(request, 422, problems, "invalid")
            except HTTPException as exc:
                return _error_page(request, exc.status_code, str(exc.detail))
            except Exception:
                log.exception("web page failed", path=request.url.path)
                return _error_page(
                    request,
                    500,
                    "Ratify could not show this page because of an internal error; it has "
                    "been logged. Try again, and tell the service desk if it goes on.",
                    "internal",
                )

        return guarded


router = APIRouter(prefix="/ui", route_class=WebRoute, include_in_schema=False)


@router.get("/static/ratify.css")
async def stylesheet() -> FileResponse:
    """The pages' one stylesheet."""
    response = FileResponse(STATIC_DIR / "ratify.css", media_type="text/css")
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response


# -- signing in ----------------------------------------------------------------------------


def _safe_next(target: str | None) -> str:
    """Only a path of these pages: never another site (`//evil`, `/\\evil`, `https:`)."""
    if not target or not target.startswith("/ui") or "//" in target or "\\" in target:
        return "/ui/"
    return target


def _sign_in_page(
    request: Request, next_path: str, user_id: str = "", error: str | None = None, status: int = 200
) -> Response:
    token = secrets.token_urlsafe(32)
    services = _services(request)
    context = _context(
        request,
        "Sign in",
        next=next_path,
        user_id=user_id,
        error=error,
        sign_in_token=token,
        oidc_sign_in=services.oidc_sign_in is not None,
    )
    if error is None and request.query_params.get("next"):
        context["notice"] = "Sign in to continue."
    response = page("sign_in.html", context, status)
    response.set_cookie(
        SIGN_IN_COOKIE,
        token,
        max_age=3600,
        path=SIGN_IN_PATH,
        secure=services.auth.secure_cookies,
        httponly=True,
        samesite="strict",
    )
    return response


@router.get("/sign-in")
async def sign_in_form(request: Request, who: MaybeWho, next: str | None = None) -> Response:
    """The sign-in form (user id and password)."""
    return _sign_in_page(request, _safe_next(next))


@router.post("/sign-in")
async def sign_in(request: Request) -> Response:
    """Check the user id and password, set the API's session cookie, go on to `next`."""
    request.state.visitor = None
    form = await _form(request)
    user_id = str(form.get("user_id") or "").strip()
    password = str(form.get("password") or "")
    next_path = _safe_next(str(form.get("next") or ""))
    sent = str(form.get(CSRF_FIELD) or "")
    expected = request.cookies.get(SIGN_IN_COOKIE) or ""
    if not sent or not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
        return _sign_in_page(
            request,
            next_path,
            user_id,
            "The sign-in form had expired (or came from another site): please sign in again.",
            403,
        )
    if not user_id or not password:
        given = (("user id", user_id), ("password", password))
        missing = " and ".join(name for name, value in given if not value)
        return _sign_in_page(request, next_path, user_id, f"Enter your {missing}.", 422)
    services = _services(request)
    client = request.client.host if request.client else None
    try:
        principal = await services.auth.check_sign_in(services.directory, user_id, password, client)
    except AuthRefusal as exc:
        log.info("sign_in_refused", user_id=user_id, client=client, reason=exc.message, via="web")
        refused = _sign_in_page(request, next_path, user_id, exc.message, status_of(exc))
        refused.headers.update(exc.headers or {})
        return refused
    value, _session = await services.auth.start_session(
        request, principal.user_id, services.directory
    )
    response = RedirectResponse(next_path, status_code=303)
    services.auth.set_session_cookie(response, value)
    response.delete_cookie(SIGN_IN_COOKIE, path=SIGN_IN_PATH)
    log.info("signed_in", user_id=principal.user_id, via="web")
    return response


@router.post("/sign-out")
async def sign_out(request: Request) -> Response:
    """Sign out: end the session at once and clear its cookie (a live session must send
    its CSRF token)."""
    try:
        visitor = await signed_in(request)
    except SignInRequired:
        visitor = None  # no live session: clearing the cookie is all there is to do
    response = RedirectResponse(SIGN_IN_PATH, status_code=303)
    services = _services(request)
    services.auth.clear_session_cookie(response)
    if visitor is not None:
        await run_in_threadpool(services.directory.end_session, visitor.session_id, "signed_out")
        log.info("signed_out", user_id=visitor.user_id, via="web")
    return response


# -- changing one's password ---------------------------------------------------------------

PASSWORD_PATH = "/ui/password"


def _password_page(
    request: Request, errors: dict[str, str] | None = None, status: int = 200
) -> Response:
    errors = errors or {}
    context = _context(
        request,
        "Change your password",
        errors=errors,
        min_length=MIN_PASSWORD_LENGTH,
        error="Your password was not changed: see the fields below." if errors else None,
    )
    if request.query_params.get("done") == "password":
        context["notice"] = (
            "Your password was changed, and every other session of yours was signed out."
        )
    return page("password.html", context, status)


@router.get("/password")
async def password_form(request: Request, who: Who) -> Response:
    """Change your own password: the current one, and the new one twice."""
    return _password_page(request)


@router.post("/password")
async def change_password(request: Request, who: Who) -> Response:
    """Check the current password (throttled like a sign-in), set the new one, end every
    session of the person (a copied cookie stops working) and start a new one here."""
    form = await _form(request)
    current = str(form.get("current_password") or "")
    new = str(form.get("new_password") or "")
    again = str(form.get("new_password_again") or "")
    errors: dict[str, str] = {}
    if not current:
        errors["current_password"] = "Enter your current password."
    if len(new) < MIN_PASSWORD_LENGTH:
        errors["new_password"] = f"Use at least {MIN_PASSWORD_LENGTH} characters."
    elif len(new) > MAX_PASSWORD_LENGTH:
        errors["new_password"] = f"Use at most {MAX_PASSWORD_LENGTH} characters."
    elif new == current:
        errors["new_password"] = "Choose a password other than your current one."
    elif again != new:
        errors["new_password_again"] = "This is not the same as the new password."
    if errors:
        return _password_page(request, errors, 422)
    services = _services(request)
    client = request.client.host if request.client else None
    try:
        await services.auth.check_sign_in(services.directory, who.user_id, current, client)
    except AuthRefusal as exc:
        log.info("password_change_refused", user_id=who.user_id, client=client, code=exc.code)
        if status_of(exc) == 401:
            errors["current_password"] = "This is not your current password."
            return _password_page(request, errors, 422)
        refused = _password_page(request, {"current_password": exc.message}, status_of(exc))
        refused.headers.update(exc.headers or {})
        return refused
    async with services.auth.password_hash_slot():
        await run_in_threadpool(services.directory.set_password, who.user_id, new)
    # The change ended every session of this person, this browser's too: start a new one.
    value, _session = await services.auth.start_session(request, who.user_id, services.directory)
    response = RedirectResponse(f"{PASSWORD_PATH}?done=password", status_code=303)
    services.auth.set_session_cookie(response, value)
    log.info("password_changed", user_id=who.user_id, via="web")
    return response


# -- inbox and search ----------------------------------------------------------------------


async def _read_views(read: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """A read of the views in a worker thread; a parameter it cannot use is a 422 naming it."""
    try:
        return await run_in_threadpool(read, *args, **kwargs)
    except queries.QueryError as exc:
        raise Refusal("invalid", str(exc)) from None


@router.get("/")
async def inbox(request: Request, who: Who, cursor: str = "") -> Response:
    """My open tasks, including those I hold as a deputy, soonest due first, a page at a
    time: how many there are, and a link to the next page."""
    found: queries.InboxPage = await _read_views(
        queries.inbox,
        _services(request).engine,
        who.roles,
        cursor=cursor or None,
        user_id=who.user_id,
        deputy_for=[(r, p) for r, held in who.holdings.items() for p in held if p is not None],
    )
    shown_to = found.total - found.more
    context = _context(
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
    rows: list[queries.CaseSummary] = []
    try:
        rows = queries.list_cases(
            _services(request).engine,
            title_contains=title.strip() or None,
            stage=stage or None,
            reference=reference.strip() or None,
            limit=200,
        )
    except ValueError as exc:
        error = str(exc)
    context = _context(
        request,
        "Cases",
        rows=rows,
        stages=list(Stage),
        query={"title": title, "stage": stage, "reference": reference},
        error=error,
    )
    return page("cases.html", context, 422 if error else 200)


# -- a new case ----------------------------------------------------------------------------


async def _case_file_text(form: FormData) -> tuple[str, str]:
    """(text, filename) of the uploaded case file, else the pasted one."""
    upload = form.get("case_file")
    if isinstance(upload, UploadFile) and upload.filename:
        data = await upload.read(MAX_CASE_FILE + 1)
        if len(data) > MAX_CASE_FILE:
            raise Refusal("invalid_case_file", "case_file: at most 2 MB")
        try:
            return data.decode("utf-8"), upload.filename
        except UnicodeDecodeError:
            raise Refusal("invalid_case_file", "case_file: must be UTF-8 text") from None
    pasted = form.get("case_text")
    if isinstance(pasted, str) and pasted.strip():
        return pasted, "case.yaml"
    raise Refusal("invalid_case_file", "choose a case file to upload, or paste one")


def _parse(text: str, filename: str) -> Case:
    """The case a file describes, or the API's refusal naming the field and the rule."""
    try:
        return parse_case(text, filename)
    except CaseFileError as exc:
        raise Refusal("invalid_case_file", str(exc)) from None
    except ValueError as exc:  # a file name that says neither YAML nor JSON
        raise Refusal("invalid_case_file", f"filename: {exc}") from None


@router.get("/cases/new")
async def new_case_form(request: Request, who: Who) -> Response:
    """Upload a case file (YAML or JSON, the format of `examples/`) to start a draft."""
    return page("case_new.html", _context(request, "New case", case_id=""))


@router.post("/cases/new")
async def new_case(request: Request, who: Who) -> Response:
    form = await _form(request)
    case_id = str(form.get("case_id") or "").strip() or None
    try:
        # In a worker thread: a large YAML file takes a while to parse.
        case = await run_in_threadpool(_parse, *await _case_file_text(form))
        try:
            _services(request).window.check_case_file(case, None)
        except CaseFileError as exc:
            raise Refusal("invalid_case_file", str(exc)) from None
        created = await ops.start_case(_services(request), who.principal, case, case_id)
    except Refusal as exc:
        context = _context(request, "New case", case_id=case_id or "", error=exc.message)
        return page("case_new.html", context, status_of(exc))
    return RedirectResponse(f"/ui/cases/{quote(created)}?done=created", status_code=303)


# -- a case --------------------------------------------------------------------------------


@dataclass(frozen=True)
class TaskForm:
    """An open task the visitor holds, with whom they may act for."""

    task: Task
    #: None for their own role; else the principals who delegated it to them.
    behalf: list[str | None]


def _behalf(who: Visitor, role: Role, people: tuple[str, ...]) -> list[str | None]:
    """On whose behalf the visitor may act in `role` on a task for `people` (empty: anyone
    in the role): None for themselves, else each principal; [] when they may not."""
    held = who.holdings.get(role, [])
    if not people or who.user_id in people:
        return list(held)
    return [b for b in held if (who.user_id if b is None else b) in people]


def _history(services: HttpServices, case_id: str) -> CaseHistory:
    history = services.journal.history(case_id)
    if history.state.version == 0:
        raise Refusal("not_found", f"there is no case {quote_id(case_id)}")
    return history


def _timeline(history: CaseHistory, part2_visible: bool) -> list[dict[str, Any]]:
    """Each stored event with its summary in words and, for a revision, what changed
    (Part 2's changes, and the hashes that would confirm a guess of Part 2, only for those
    cleared to see Part 2)."""
    entries = timeline(history.state.case_id, history.events)
    if not part2_visible:
        entries = without_part2(entries)
    links = chain_view(history.records, part2=part2_visible)
    return [
        {
            "version": r.version,
            "type": r.event_type,
            "summary": entry.summary,
            "changes": entry.changes,
            "occurred_at": r.occurred_at,
            "actor": r.actor_id,
            "role": r.actor_role,
            "on_behalf_of": r.metadata.get("on_behalf_of"),
            "hash": link["hash"],
            "hash_withheld": link["hash_withheld"],
        }
        for r, entry, link in zip(history.records, entries, links, strict=True)
    ]


def _case_context(
    request: Request, who: Visitor, case_id: str, error: str | None = None
) -> dict[str, Any]:
    services = _services(request)
    history = _history(services, case_id)
    state = history.state
    cleared = ops.shown_part2(services, who.principal, history, "page")
    tasks = open_tasks(state)
    mine = [TaskForm(t, behalf) for t in tasks if (behalf := _behalf(who, t.role, t.people))]
    # Withdrawing and moving the date are for the case's own officers (or their deputies).
    officer = _behalf(who, Role.ORIGINATING_OFFICER, state.case_officers)
    return _context(
        request,
        state.title or case_id,
        error=error,
        case_id=case_id,
        state=state,
        case=state.case,
        part2_visible=cleared,
        tasks=tasks,
        mine=mine,
        officer=officer,
        may_withdraw=bool(officer) and not state.stage.is_closed,
        my_roles=sorted({r.value for r in who.holdings}),
        timeline=_timeline(history, cleared),
        board_advice=[a.value for a in BoardAdvice],
        is_auditor=who.holds(Role.AUDITOR),
        board_cases=[],
    )


@router.get("/cases/{case_id}")
async def case_page(request: Request, who: Who, case_id: str) -> Response:
    """A case: stage, documents (Part 2 only if cleared), timeline, and my forms."""
    return page("case.html", _case_context(request, who, case_id))


def _action_fields(action: str, form: FormData) -> dict[str, Any]:
    """The action's fields from the form: blanks left out, `*` fields one item a line."""
    fields: dict[str, Any] = {}
    for name in ACTION_FIELDS[action]:
        many = name.endswith("*")
        name = name.rstrip("*")
        raw = form.get(name)
        value = raw.strip() if isinstance(raw, str) else ""
        if many:
            fields[name] = [line.strip() for line in value.splitlines() if line.strip()]
        elif value:
            fields[name] = value
    version = form.get("expected_version")
    if isinstance(version, str) and version.strip():
        try:
            fields["expected_version"] = int(version)
        except ValueError:
            raise Refusal("invalid", "expected_version: a whole number") from None
    return fields


def _role_field(form: FormData) -> tuple[Role | None, str | None]:
    raw_role = form.get("role")
    role = None
    if isinstance(raw_role, str) and raw_role:
        try:
            role = Role(raw_role)
        except ValueError:
            raise Refusal("invalid", f"role: no role {raw_role!r}") from None
    raw_behalf = form.get("on_behalf_of")
    behalf = raw_behalf.strip() if isinstance(raw_behalf, str) and raw_behalf.strip() else None
    return role, behalf


@router.post("/cases/{case_id}/actions/{action}")
async def case_action(request: Request, who: Who, case_id: str, action: str) -> Response:
    """Act on a case from its page; a refusal is shown on the case page."""
    if action not in ACTION_FIELDS:
        raise Refusal("unknown_action", f"no action '{quote_id(action)}' on these pages")
    form = await _form(request)
    services = _services(request)
    try:
        fields = _action_fields(action, form)
        if action == "revise":
            fields["case"] = _parse(*await _case_file_text(form))
        if action == "review_part2":
            # One passage to redact a line; each with the reason given for the review.
            raw = form.get("redactions")
            passages = [x.strip() for x in str(raw or "").splitlines() if x.strip()]
            fields["redactions"] = [
                {"passage": x, "reason": fields.get("reason", "")} for x in passages
            ]

        role, behalf = _role_field(form)
        key = form.get("idempotency_key")
        await ops.act(
            services,
            who.principal,
            case_id,
            action,
            fields,
            role=role,
            on_behalf_of=behalf,
            idempotency_key=key if isinstance(key, str) and key else None,
        )
    except Refusal as exc:
        record_refusal(exc.code, exc.message)
        context = _case_context(request, who, case_id, error=exc.message)
        context["code"] = exc.code
        return page("case.html", context, status_of(exc))
    return RedirectResponse(f"/ui/cases/{quote(case_id)}?done={action}", status_code=303)


@router.post("/cases/{case_id}/agenda")
async def place_on_agenda(request: Request, who: Who, case_id: str) -> Response:
    """The secretariat adds the case to a meeting's agenda, from the case page."""
    form = await _form(request)
    meeting_id = str(form.get("meeting_id") or "").strip()
    try:
        if not meeting_id:
            raise Refusal("invalid", "meeting_id: say which meeting")
        await ops.meeting_action(
            _services(request), who.principal, meeting_id, "cases", {"case_id": case_id}
        )
    except Refusal as exc:
        context = _case_context(request, who, case_id, error=exc.message)
        return page("case.html", context, status_of(exc))
    return RedirectResponse(f"/ui/meetings/{quote(meeting_id)}?done=cases", status_code=303)


# -- an auditor's history ------------------------------------------------------------------


def _as_of(services: HttpServices, value: str) -> datetime:
    try:
        instant = datetime.fromisoformat(value.strip())
    except ValueError:
        raise Refusal(
            "invalid", "as_of: a date and time, e.g. 2019-07-19T10:00 (London time)"
        ) from None
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=LONDON)
    ops.check_dates(services, instant, "as_of")
    return instant


@router.get("/cases/{case_id}/history")
async def case_history(
    request: Request,
    who: Who,
    case_id: str,
    version: str = "",
    as_of: str = "",
) -> Response:
    """The case as it stood at a version or an instant, with its events: auditors only."""
    if not who.holds(Role.AUDITOR):
        raise Refusal("wrong_role", "only auditors may read a case's history")
    services = _services(request)
    full = _history(services, case_id)
    at_version: int | None = None
    instant: datetime | None = None
    error = None
    if version.strip():
        try:
            at_version = int(version)
        except ValueError:
            error = "version: a whole number"
        else:
            if not 1 <= at_version <= full.state.version:
                error = f"version: between 1 and {full.state.version}"
    elif as_of.strip():
        try:
            instant = _as_of(services, as_of)
        except Refusal as exc:
            error = exc.message
    shown = full
    if error is None and (at_version is not None or instant is not None):
        shown = services.journal.history(case_id, to_version=at_version, as_of=instant)
        if shown.state.version == 0:
            error = f"case {quote_id(case_id)} had no events by then"
            shown = full
    cleared = ops.shown_part2(services, who.principal, full, "history", version=shown.state.version)
    context = _context(
        request,
        f"History of {full.state.title or case_id}",
        error=error,
        case_id=case_id,
        state=shown.state,
        case=shown.state.case,
        part2_visible=cleared,
        timeline=_timeline(full, cleared),
        access=AccessLog(services.store).records(case_id),
        shown_version=shown.state.version,
        latest=full.state.version,
        version=version,
        as_of=as_of,
    )
    return page("history.html", context, 422 if error else 200)


@router.get("/cases/{ref}/bundle")
async def case_bundle(request: Request, who: Who, ref: str) -> Response:
    """Download the case's evidence bundle (auditors); the export is recorded."""
    evidence, content = audit_steps.export(_services(request), who.principal, ref, "page")
    name = (evidence.reference or evidence.case_id).replace(" ", "-")
    return Response(
        content,
        media_type="text/html; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="evidence-{name}.html"',
            "Cache-Control": "no-store",
        },
    )


# -- the whole store, for auditors ------------------------------------------------------------


def _audit_page(request: Request, who: Visitor, status: int = 200, **values: Any) -> Response:
    services = _services(request)
    kept = audit_steps.store_digest(services, who.principal)
    context = _context(
        request,
        "Audit",
        digest=kept,
        digest_json=kept.model_dump_json(),
        since_text=values.pop("since_text", ""),
        verified=values.pop("verified", None),
        reconciled=values.pop("reconciled", None),
        replayed=values.pop("replayed", None),
        error=values.pop("error", None),
    )
    return page("audit.html", context, status)


@router.get("/audit")
async def audit_home(request: Request, who: Who) -> Response:
    """The store's digest to keep, and the checks of the whole store (auditors)."""
    return _audit_page(request, who)


@router.post("/audit/verify")
async def audit_verify(request: Request, who: Who) -> Response:
    """Check every hash chain, and consistency with a digest kept earlier (pasted in)."""
    form = await _form(request)
    since_text = str(form.get("since") or "").strip()
    since: Digest | None = None
    if since_text:
        try:
            since = Digest.model_validate_json(since_text)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "digest"
            return _audit_page(
                request,
                who,
                422,
                since_text=since_text,
                error=f"since: not a digest ({where}: {first['msg']})",
            )
    verified = audit_steps.verify_store(_services(request), who.principal, since)
    return _audit_page(request, who, since_text=since_text, verified=verified)


@router.get("/audit/reconcile")
async def audit_reconcile(request: Request, who: Who) -> Response:
    """Every live case's workflow against its stored events, and orphans either way."""
    audit_steps.require_auditor(who.principal, "reconcile the workflows with the record")
    services = _services(request)
    return _audit_page(request, who, reconciled=await reconcile(services.client, services.store))


@router.get("/audit/replay")
async def audit_replay(request: Request, who: Who) -> Response:
    """Replay every workflow's history against the current code."""
    audit_steps.require_auditor(who.principal, "replay the workflows")
    services = _services(request)
    meetings = sorted({m.meeting_id for m in queries.meetings(services.engine)})
    replayed, failures = await replay_workflows(
        services.client, workflow_ids(services.store, meetings)
    )
    return _audit_page(request, who, replayed={"count": replayed, "failures": failures})


# -- meetings ------------------------------------------------------------------------------


@router.get("/meetings")
async def meetings(request: Request, who: Who, meeting_id: str = "") -> Response:
    """Find a meeting by its id, or create one."""
    if meeting_id.strip():
        return RedirectResponse(f"/ui/meetings/{quote(meeting_id.strip())}", status_code=303)
    return page("meetings.html", _context(request, "Board meetings"))


def _meeting_form_page(
    request: Request, values: dict[str, str], error: str | None = None, status: int = 200
) -> Response:
    context = _context(request, "New board meeting", values=values, error=error)
    return page("meeting_new.html", context, status)


@router.get("/meetings/new")
async def new_meeting_form(request: Request, who: Who) -> Response:
    """Create a board meeting (IAB or IAM) on a date."""
    values = {"meeting_id": "", "board": "IAB", "meeting_date": ops.today().isoformat()}
    return _meeting_form_page(request, values)


@router.post("/meetings/new")
async def new_meeting(request: Request, who: Who) -> Response:
    form = await _form(request)
    values = {k: str(form.get(k) or "").strip() for k in ("meeting_id", "board", "meeting_date")}
    try:
        if not values["meeting_id"]:
            raise Refusal("invalid", "meeting_id: give the meeting an id, e.g. IAB-2019-07")
        try:
            meeting_date = date.fromisoformat(values["meeting_date"])
        except ValueError:
            raise Refusal("invalid", "meeting_date: a date, e.g. 2019-07-18") from None
        await ops.create_meeting(
            _services(request), who.principal, values["meeting_id"], values["board"], meeting_date
        )
    except Refusal as exc:
        return _meeting_form_page(request, values, exc.message, status_of(exc))
    target = f"/ui/meetings/{quote(values['meeting_id'])}?done=meeting"
    return RedirectResponse(target, status_code=303)


async def _meeting_context(
    request: Request, who: Visitor, meeting_id: str, error: str | None = None
) -> dict[str, Any]:
    services = _services(request)
    view = await ops.meeting_view(services, meeting_id)
    on_agenda = {item.case_id for item in view.agenda}
    titles = {i.case_id: queries.case_summary(services.engine, i.case_id) for i in view.agenda}
    candidates = [
        c
        for c in queries.list_cases(services.engine, stage=Stage.BOARD, limit=200)
        if c.case_id not in on_agenda
    ]
    return _context(
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
    form = await _form(request)
    names = {
        "cases": ("case_id",),
        "advice": ("case_id", "advice", "conditions", "comment"),
        "close": (),
    }
    if action not in names:
        raise Refusal("unknown_action", f"no meeting action '{quote_id(action)}'")
    fields: dict[str, Any] = {}
    for name in names[action]:
        value = form.get(name)
        if isinstance(value, str) and value.strip():
            fields[name] = value.strip()
    back_to_case = form.get("return_to") == "case" and "case_id" in fields
    try:
        await ops.meeting_action(_services(request), who.principal, meeting_id, action, fields)
    except Refusal as exc:
        if back_to_case:
            context = _case_context(request, who, fields["case_id"], error=exc.message)
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


# -- the public register -------------------------------------------------------------------


def _day_field(name: str, value: str, window: DateWindow) -> date | None:
    if not value.strip():
        return None
    try:
        day = date.fromisoformat(value.strip())
    except ValueError:
        raise queries.QueryError(name, f"{value!r} is not a date, e.g. 2019-12-13") from None
    for problem in window.problems(day):
        raise queries.QueryError(name, problem.removeprefix("date: "))
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
    found = queries.RegisterPage(items=[], next=None)
    window = _services(request).window
    try:
        found = await run_in_threadpool(
            queries.register,
            _services(request).engine,
            cursor=cursor or None,
            reference=reference,
            title_contains=title,
            signed_from=_day_field("signed_from", signed_from, window),
            signed_to=_day_field("signed_to", signed_to, window),
        )
    except queries.QueryError as exc:
        error = str(exc)
    kept = {k: v for k, v in search.items() if v.strip()}
    next_url = None
    if found.next:
        next_url = f"/ui/register?{urlencode({**kept, 'cursor': found.next})}"
    context = _context(
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
        row = queries.register_entry(_services(request).engine, reference)
    except queries.QueryError:  # a NUL: no reference has one
        row = None
    if row is None:
        raise Refusal("not_found", f"no published decision {quote_id(reference)}")
    title = f"{row.reference or row.case_id}: {row.title}"
    return page("register_entry.html", _context(request, title, entry=row))
