"""Sign in, who am I, sign out (`/session`)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from ratify.api.deps import Me, SignedInFirst, Svc
from ratify.api.schemas import REFUSED, WhoAmI
from ratify.http.auth import Authenticated, whoami
from ratify.http.passwords import SIGN_IN_OPENAPI
from ratify.http.refusal import AuthRefusal
from ratify.services.commands import Refusal

router = APIRouter(tags=["session"], route_class=SignedInFirst)


@router.post("/session", openapi_extra=SIGN_IN_OPENAPI, response_model=WhoAmI, responses=REFUSED)
async def sign_in(request: Request, services: Svc) -> Response:
    """Sign in with user id and password (JSON or a form): sets the session cookie and
    returns the user, their roles and the session's CSRF token."""
    try:
        return await services.auth.sign_in(request, services.directory)
    except AuthRefusal as exc:
        raise Refusal(exc.code, exc.message, headers=exc.headers) from None


@router.get("/session", response_model=WhoAmI, responses=REFUSED)
async def who_am_i(me: Me, request: Request, response: Response) -> dict[str, object]:
    """Who I am, the roles I hold today, and (signed in by cookie) the CSRF token."""
    found: Authenticated = request.state.auth
    response.headers["Cache-Control"] = "no-store"
    return whoami(found)


@router.delete("/session", status_code=204)
async def sign_out(request: Request, services: Svc) -> Response:
    """Sign out: ends the session at once and clears the cookie (a live session must
    send its CSRF token)."""
    try:
        return await services.auth.sign_out(request, services.directory)
    except AuthRefusal as exc:
        raise Refusal(exc.code, exc.message) from None
