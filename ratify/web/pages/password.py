"""Changing one's own password: it ends every session of the person and starts a new one
in this browser.
"""

from __future__ import annotations

from fastapi import Request, Response
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool

from ratify.http.errors import status_of
from ratify.http.refusal import AuthRefusal
from ratify.services.identity.rules import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH
from ratify.web.pages.common import Who, log, page_context, read_form, router, services_of
from ratify.web.render import page

PASSWORD_PATH = "/ui/password"


def _password_page(
    request: Request, errors: dict[str, str] | None = None, status: int = 200
) -> Response:
    errors = errors or {}
    context = page_context(
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
    form = await read_form(request)
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
    services = services_of(request)
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
