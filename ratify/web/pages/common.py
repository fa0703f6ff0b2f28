"""What every page shares: who is asking (the session cookie, and the CSRF token a form
must carry), the page's context and its error page, and `router`, the pages' one
`APIRouter` whose routes turn refusals and errors into HTML pages.

The areas' modules (`ratify.web.pages.signin`, `.cases`, ...) add their routes to `router`.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Annotated, Any
from urllib.parse import urlencode

import structlog
from fastapi import APIRouter, Depends, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, RedirectResponse
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException

from domain.bounds import MAX_CASE_FILE_BYTES
from domain.roles import Role
from ratify.http.errors import status_of
from ratify.http.refusal import AuthRefusal
from ratify.http.services import HttpServices
from ratify.http.sessions import CSRF_FIELD, CSRF_HEADER, SESSION_COOKIE
from ratify.infra.observability.interceptors import record_refusal
from ratify.services import commands
from ratify.services.commands import Refusal
from ratify.services.identity.errors import IdentityError
from ratify.services.identity.values import Principal
from ratify.web.pages.actions import DONE
from ratify.web.render import STATIC_DIR, page

log = structlog.get_logger("ratify.web")

SIGN_IN_PATH = "/ui/sign-in"
#: The largest case file the upload form takes.
MAX_CASE_FILE = MAX_CASE_FILE_BYTES


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


def services_of(request: Request) -> HttpServices:
    """The application's services (set on `app.state` by the composition root)."""
    services: HttpServices = request.app.state.services
    return services


async def read_form(request: Request) -> FormData:
    """The request's form, a file part at most `MAX_CASE_FILE` bytes."""
    # Starlette keeps the parsed form, so later calls return the same one.
    return await request.form(max_part_size=MAX_CASE_FILE)


async def _read_visitor(request: Request) -> Visitor | None:
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    services = services_of(request)
    found = await run_in_threadpool(services.auth.identify, services.directory, None, cookie)
    if found.session is None:
        return None
    holdings: dict[Role, list[str | None]] = {}
    for role, giver in sorted(
        found.principal.roles_today(commands.today()), key=lambda p: (p[0].value, p[1] or "")
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
            value = (await read_form(request)).get(CSRF_FIELD)
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


def page_context(request: Request, title: str, **values: Any) -> dict[str, Any]:
    """What every page's template reads (the visitor, the CSRF token, the notice of a
    step just accepted), with the page's own `values`."""
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
    context = page_context(
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
                return _error_page(request, status_of(exc), str(exc), exc.code)
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
