"""The API's FastAPI dependencies: the services, the signed-in person, the paging cursor,
and the route class that signs a person in before their body is parsed.

The services are the app's (`request.app.state.services`, set by `create_app`), so the
routers (`ratify.api.routes`) hold no state of their own.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any, ParamSpec, TypeVar

from fastapi import Depends, Header, Query, Request, Response
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool

from ratify.http.auth import Authenticated
from ratify.http.refusal import AuthRefusal
from ratify.http.services import HttpServices
from ratify.services.commands import Refusal
from ratify.services.identity.values import Principal
from ratify.services.projections import paging


async def services(request: Request) -> HttpServices:
    """The application's services (async: nothing to wait for, no worker thread)."""
    found: HttpServices = request.app.state.services
    return found


Svc = Annotated[HttpServices, Depends(services)]


async def principal(
    request: Request, authorization: Annotated[str | None, Header()] = None
) -> Principal:
    """The signed-in user: an API token or OIDC token (`Authorization: Bearer <token>`), or
    the web session cookie, with its CSRF token on state-changing requests (see `auth`).
    Once per request: a route with a body has signed the person in already
    (`SignedInFirst`)."""
    signed_in: Authenticated | None = getattr(request.state, "auth", None)
    if signed_in is not None:
        return signed_in.principal
    found_services: HttpServices = request.app.state.services
    try:
        found = await found_services.auth.authenticate(
            request, found_services.directory, authorization
        )
    except AuthRefusal as exc:
        raise Refusal(exc.code, exc.message, headers=exc.headers) from None
    request.state.auth = found
    return found.principal


Me = Annotated[Principal, Depends(principal)]


def _needs_principal(dependant: Dependant) -> bool:
    return any(dep.call is principal or _needs_principal(dep) for dep in dependant.dependencies)


class SignedInFirst(APIRoute):
    """A route that takes a body and a signed-in person signs the person in before FastAPI
    parses the body: parsing a JSON body of megabytes takes a CPU's tenths of a second,
    which no one who has not signed in may make the service spend (FastAPI reads the body
    before it solves the dependencies). Before sign-in the body has only passed the checks
    that cost little (`ratify.http.limits.BodyLimitMiddleware`)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        if self.body_field is None or not _needs_principal(self.dependant):
            return handler

        async def signed_in_first(request: Request) -> Response:
            await principal(request, request.headers.get("authorization"))
            return await handler(request)

        return signed_in_first


#: Where a page starts: the `next` of the page before.
Cursor = Annotated[
    str | None,
    Query(
        max_length=paging.MAX_CURSOR,
        description="The `next` of the page before, unchanged; none for the first page.",
    ),
]


P = ParamSpec("P")
T = TypeVar("T")


async def read_view(read: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """A read of the views, in a worker thread (a page is quick, but a search may read
    every title); a parameter it cannot use is a 422 naming it."""
    try:
        return await run_in_threadpool(read, *args, **kwargs)
    except ValueError as exc:  # QueryError names the parameter; an unknown stage says so
        raise Refusal("invalid", str(exc)) from None
