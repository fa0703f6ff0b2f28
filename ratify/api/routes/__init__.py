"""The API's routes, one router per resource; `create_app` includes them in this order.

Each router is a FastAPI `APIRouter` of `SignedInFirst` routes (a route that takes a body
and a signed-in person signs the person in before the body is parsed). A route over
synchronous code (the event store, the journal, the directory, the read views) is a plain
`def`, which FastAPI runs in its thread pool; an `async def` route awaits Temporal and puts
any synchronous read in a worker thread: nothing a route does holds up the event loop.
"""

from fastapi import APIRouter

from ratify.api.routes import (
    admin,
    audit,
    cases,
    delegations,
    health,
    meetings,
    register,
    session,
    tasks,
)

ROUTERS: tuple[APIRouter, ...] = (
    session.router,
    cases.router,
    audit.router,
    tasks.router,
    delegations.router,
    meetings.router,
    register.router,
    admin.router,
    health.router,
)

__all__ = ["ROUTERS"]
