"""The API's exception handlers: every refusal becomes the JSON error that names its rule.

`{"code": ..., "detail": ...}` (and `state`, the case now, on a stale action), with the
refusal's status: 401 without a valid token, 403 for a role, own-case, four-eyes or
separation-of-duties refusal, 409 for a stale action, 422 for anything else the rules refuse
or the input breaks (400 for a body that is not JSON), 404 for an unknown case.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from ratify.http.errors import status_of
from ratify.services.commands import Refusal
from ratify.services.identity.errors import IdentityError


async def refused(request: Request, exc: Refusal) -> JSONResponse:
    """A refusal (`Refusal`) as its JSON error."""
    # Logged once, by the middleware's `request` line (status, route, refusal code):
    # a refusal is routine, and its message may quote what the person sent.
    body: dict[str, Any] = {"code": exc.code, "detail": exc.message}
    if exc.state is not None:
        body["state"] = exc.state
    return JSONResponse(status_code=status_of(exc), content=body, headers=exc.headers)


async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
    """A request FastAPI could not parse or validate: 400 for a body that is not JSON, else
    422 naming each field and its problem."""
    for err in exc.errors():
        if err.get("type") == "json_invalid":  # FastAPI's parse, after sign-in
            reason = (err.get("ctx") or {}).get("error") or "not valid JSON"
            detail = f"body: not valid JSON ({reason})"
            return await refused(request, Refusal("malformed", detail))
    problems = "; ".join(
        f"{'.'.join(str(p) for p in err['loc'] if p != 'body') or 'body'}: {err['msg']}"
        for err in exc.errors()
    )
    return await refused(request, Refusal("invalid", problems))


async def identity_refused(request: Request, exc: IdentityError) -> JSONResponse:
    """A refusal of the directory (a role not held, a delegation it will not make)."""
    return JSONResponse(status_code=status_of(exc), content={"code": exc.code, "detail": str(exc)})


def add_exception_handlers(app: FastAPI) -> None:
    """Register the handlers above on `app`."""
    app.exception_handler(RequestValidationError)(invalid)
    app.exception_handler(Refusal)(refused)
    app.exception_handler(IdentityError)(identity_refused)
