"""The FastAPI application of the HTTP API: cases, tasks, actions, meetings, audit, register,
health.

`create_app(services)` builds the app around its dependencies (event store, database engine
for identity and projections, Temporal client), so tests and the processes wire them alike:
it adds the middleware, the exception handlers (`ratify.api.errors`: every refusal is an
HTTP error naming its rule) and the routers (`ratify.api.routes`); /docs and /redoc with their
assets served by the app (`fastapi_offline`), so they work offline. The web pages are not
part of it: `ratify.processes.app.build_app` adds them.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline

from ratify.api.errors import add_exception_handlers
from ratify.api.routes import ROUTERS
from ratify.http.caching import NoStoreMiddleware
from ratify.http.limits import BodyLimitMiddleware
from ratify.http.services import HttpServices
from ratify.infra.observability.http import RequestContextMiddleware


def create_app(services: HttpServices) -> FastAPI:
    """The API's app around `services` (kept as `app.state.services`)."""
    # /docs (Swagger UI) and /redoc load their scripts and styles from the app, under
    # /static-offline-docs, never from a CDN: they work on a network with no way out.
    app = FastAPIOffline(
        title="Ratify",
        version="0.1.0",
        description="Approval workflows for formal decisions of the DMPC (MOPAC).",
    )
    app.state.services = services
    # Body caps (413) and malformed JSON (400), per route, before routing and sign-in.
    app.add_middleware(BodyLimitMiddleware)
    # X-Request-ID, the request context carried into workflows, access log, HTTP metrics.
    app.add_middleware(RequestContextMiddleware)
    # No cache keeps an answer that may carry Part 2 (all but the public register).
    app.add_middleware(NoStoreMiddleware)
    add_exception_handlers(app)
    # Each router's routes sign the person in before a body is parsed (`SignedInFirst`).
    for router in ROUTERS:
        app.include_router(router)
    return app
