"""Signing in with a user id and password, and signing out.

The sign-in form carries its own CSRF token, double-submitted in a short-lived cookie, so
no one can sign a browser in as someone else. Password checks are throttled like the
API's (`Authenticator.check_sign_in`).
"""

from __future__ import annotations

import hmac
import secrets

from fastapi import Request, Response
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool

from ratify.http.errors import status_of
from ratify.http.refusal import AuthRefusal
from ratify.http.sessions import CSRF_FIELD
from ratify.web.pages.common import (
    SIGN_IN_PATH,
    MaybeWho,
    SignInRequired,
    log,
    page_context,
    read_form,
    router,
    services_of,
    signed_in,
)
from ratify.web.render import page

#: The sign-in form's own CSRF token, double-submitted: this cookie and the form field.
SIGN_IN_COOKIE = "ratify_sign_in"


def safe_next(target: str | None) -> str:
    """Only a path of these pages: never another site (`//evil`, `/\\evil`, `https:`)."""
    if not target or not target.startswith("/ui") or "//" in target or "\\" in target:
        return "/ui/"
    return target


def sign_in_page(
    request: Request, next_path: str, user_id: str = "", error: str | None = None, status: int = 200
) -> Response:
    """The sign-in form, with a fresh token of its own in the form and a cookie."""
    token = secrets.token_urlsafe(32)
    services = services_of(request)
    context = page_context(
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
    return sign_in_page(request, safe_next(next))


@router.post("/sign-in")
async def sign_in(request: Request) -> Response:
    """Check the user id and password, set the API's session cookie, go on to `next`."""
    request.state.visitor = None
    form = await read_form(request)
    user_id = str(form.get("user_id") or "").strip()
    password = str(form.get("password") or "")
    next_path = safe_next(str(form.get("next") or ""))
    sent = str(form.get(CSRF_FIELD) or "")
    expected = request.cookies.get(SIGN_IN_COOKIE) or ""
    if not sent or not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
        return sign_in_page(
            request,
            next_path,
            user_id,
            "The sign-in form had expired (or came from another site): please sign in again.",
            403,
        )
    if not user_id or not password:
        given = (("user id", user_id), ("password", password))
        missing = " and ".join(name for name, value in given if not value)
        return sign_in_page(request, next_path, user_id, f"Enter your {missing}.", 422)
    services = services_of(request)
    client = request.client.host if request.client else None
    try:
        principal = await services.auth.check_sign_in(services.directory, user_id, password, client)
    except AuthRefusal as exc:
        log.info("sign_in_refused", user_id=user_id, client=client, reason=exc.message, via="web")
        refused = sign_in_page(request, next_path, user_id, exc.message, status_of(exc))
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
    services = services_of(request)
    services.auth.clear_session_cookie(response)
    if visitor is not None:
        await run_in_threadpool(services.directory.end_session, visitor.session_id, "signed_out")
        log.info("signed_out", user_id=visitor.user_id, via="web")
    return response
