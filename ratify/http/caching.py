"""`Cache-Control: no-store` on every response that does not say otherwise.

Most of the API's answers can carry a case's confidential Part 2 (the case view and its
as-of views, the events, the timeline, the access log, the evidence bundle) or who holds
which role: no browser, proxy or shared cache may keep them. Rather than trust each route
to say so, `NoStoreMiddleware` adds the header to every response that sets no
`Cache-Control` of its own, except the public register (`/register...`), which holds only
what was published. A route that wants caching (the stylesheet) sets its own header.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: Paths whose answers are public, and may be cached.
PUBLIC_PREFIXES = ("/register",)


class NoStoreMiddleware:
    """Adds `Cache-Control: no-store` to responses without a `Cache-Control` header."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if scope["type"] != "http" or path.startswith(PUBLIC_PREFIXES):
            await self.app(scope, receive, send)
            return

        async def send_no_store(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if "cache-control" not in headers:
                    headers["Cache-Control"] = "no-store"
            await send(message)

        await self.app(scope, receive, send_no_store)
