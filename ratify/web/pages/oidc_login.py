"""The pages' "Sign in with your organisation": the two steps of the OIDC code flow.

`GET /ui/sign-in/oidc?next=/ui/...` sends the browser to the organisation's identity
provider (with the flow's state, nonce and PKCE challenge; its secrets kept in a short-lived
signed cookie), and `GET /ui/sign-in/oidc/callback?code=...&state=...` is where the provider
sends it back: the code is exchanged, the ID token checked, the person found among Ratify's
users, and the same `ratify_session` cookie as the password sign-in is set
(`Authenticator.issue_session`). The protocol is `ratify.http.oidc_login.OidcSignIn`.

A refusal (the person declined at the provider, a state or nonce that is not this
browser's, an account linked to nobody, a deactivated user) shows the sign-in page again
with a message naming the rule, and sets no session. The callback's query string holds the
one-time code and the state: it is never logged.
"""

from __future__ import annotations

import structlog
from fastapi import Request, Response
from fastapi.responses import RedirectResponse

from ratify.http.errors import status_of
from ratify.http.oidc_login import (
    FLOW_COOKIE,
    MAX_CODE,
    MAX_ERROR,
    MAX_STATE,
    START_PATH,
    OidcSignIn,
    OidcSignInError,
    check_next,
)
from ratify.web.pages.common import router, services_of
from ratify.web.pages.signin import safe_next, sign_in_page

log = structlog.get_logger("ratify.web")

# The routes are the pages' own (`ratify.web.pages.common.router`: under /ui, refusals as
# pages).


def _configured(request: Request) -> OidcSignIn | None:
    return services_of(request).oidc_sign_in


def _refused(
    request: Request, exc: OidcSignInError, next_path: str = "/ui/", *, clear: bool = True
) -> Response:
    client = request.client.host if request.client else None
    log.info("sign_in_refused", via="oidc", code=exc.code, status=status_of(exc), client=client)
    response = sign_in_page(request, safe_next(next_path), error=exc.message, status=status_of(exc))
    if clear:
        response.delete_cookie(FLOW_COOKIE, path=START_PATH)
    response.headers["Referrer-Policy"] = "no-referrer"  # the callback URL holds the code
    return response


def _set_flow_cookie(response: Response, value: str, secure: bool) -> None:
    response.set_cookie(
        FLOW_COOKIE,
        value,
        max_age=600,
        path=START_PATH,
        secure=secure,
        httponly=True,
        # Lax, not Strict: the provider sends the browser back with a top-level GET from
        # its own site, and the cookie must come with it.
        samesite="lax",
    )


@router.get("/sign-in/oidc")
async def oidc_start(request: Request) -> Response:
    """Send the browser to the organisation's identity provider to sign in."""
    request.state.visitor = None
    sign_in = _configured(request)
    if sign_in is None:
        error = OidcSignInError(
            "not_found",
            "Sign-in with your organisation is not set up here (RATIFY_OIDC_CLIENT_ID is "
            "unset): sign in with your user id and password.",
        )
        return _refused(request, error, clear=False)
    try:
        next_path = check_next(request.query_params.get("next"))
        url, cookie = await sign_in.start(next_path, sign_in.redirect_uri(str(request.base_url)))
    except OidcSignInError as exc:
        return _refused(request, exc, clear=False)
    response = RedirectResponse(url, status_code=303)
    response.headers["Cache-Control"] = "no-store"
    _set_flow_cookie(response, cookie, sign_in.secure_cookies)
    return response


def _param(request: Request, name: str, limit: int) -> str:
    values = request.query_params.getlist(name)
    if len(values) > 1:
        raise OidcSignInError("invalid", f"{name}: given more than once")
    value = values[0] if values else ""
    if len(value) > limit:
        raise OidcSignInError("invalid", f"{name}: must be at most {limit} characters")
    return value


@router.get("/sign-in/oidc/callback")
async def oidc_callback(request: Request) -> Response:
    """Where the provider sends the browser back: finish the sign-in, set the session."""
    request.state.visitor = None
    services = services_of(request)
    sign_in = services.oidc_sign_in
    if sign_in is None:
        return _refused(
            request,
            OidcSignInError("not_found", "Sign-in with your organisation is not set up here."),
        )
    next_path = "/ui/"
    try:
        flow = sign_in.read_flow(request.cookies.get(FLOW_COOKIE))
        next_path = flow.next_path
        error = _param(request, "error", MAX_ERROR)
        if error:
            shown = "".join(ch for ch in error if ch.isalnum() or ch in "_-")[:60]
            raise OidcSignInError(
                "oidc_declined",
                f"Your organisation did not sign you in ({shown or 'error'}): try again, or "
                "sign in with your user id and password.",
            )
        code = _param(request, "code", MAX_CODE)
        state = _param(request, "state", MAX_STATE)
        missing = [name for name, value in (("code", code), ("state", state)) if not value]
        if missing:
            raise OidcSignInError(
                "invalid", f"{' and '.join(missing)}: required (the provider's answer)"
            )
        found = await sign_in.finish(flow, state=state, code=code, directory=services.directory)
    except OidcSignInError as exc:
        return _refused(request, exc, next_path)
    except Exception as exc:  # never let a traceback carry the code or state into a log
        log.error("oidc_sign_in_failed", error=type(exc).__name__)
        return _refused(
            request,
            OidcSignInError(
                "internal",
                "Ratify could not finish the sign-in with your organisation because of an "
                "internal error; it has been logged. Try again.",
            ),
            next_path,
        )
    value, _session = await services.auth.start_session(request, found.user_id, services.directory)
    response = RedirectResponse(next_path, status_code=303)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"  # the callback URL holds the code
    services.auth.set_session_cookie(response, value)
    response.delete_cookie(FLOW_COOKIE, path=START_PATH)
    log.info("signed_in", user_id=found.user_id, via="oidc", linked_now=found.linked_now)
    return response
