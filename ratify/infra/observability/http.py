"""The API's request middleware: request id, request context, access log, metrics, span.

For each HTTP request it takes the caller's `X-Request-ID` (when it is a safe token) or
makes one, echoes it on the response, sets the `RequestContext` that the Temporal client
interceptor carries into workflows, and binds `request_id` to structlog's context
variables. When the request ends it logs one `request` line (method, path, route, status,
duration, actor, case id; for a refusal, its code and the rule it names, so that a refusal
is this one line, never a traceback), counts it (`ratify_http_requests_total`,
`ratify_http_request_duration_seconds`), and counts a refusal once
(`ratify_refusals_total`): the refusal code of a JSON error body, else the code a workflow
refused with during the request (the web pages show it as a page). Reads (GET, HEAD) are
not counted as refusals. With tracing on, the request is a server span, the parent of the
Temporal client's spans.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from typing import Any

import structlog
from opentelemetry import propagate, trace
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ratify.infra.observability import metrics
from ratify.infra.observability.context import (
    REQUEST,
    REQUEST_ID_HEADER,
    RequestContext,
    accepted_request_id,
)

log = structlog.get_logger("ratify.http")

#: Probes and scrapes: logged at debug only, so they do not drown the access log.
QUIET_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
_MAX_ERROR_BODY = 64 * 1024
#: A refusal's rule, on the request's line, on one line and at most this long.
MAX_DETAIL = 500

_http_tracer: trace.Tracer | None = None


def use_http_tracer(tracer: trace.Tracer | None) -> None:
    """Make (or, with None, stop making) a span for each HTTP request."""
    global _http_tracer
    _http_tracer = tracer


@contextlib.contextmanager
def _span(scope: Scope, headers: dict[str, str]) -> Iterator[trace.Span | None]:
    tracer = _http_tracer
    if tracer is None:
        yield None
        return
    method = scope.get("method", "GET")
    with tracer.start_as_current_span(
        f"{method} {scope.get('path', '')}",
        kind=trace.SpanKind.SERVER,
        context=propagate.extract(headers),
        attributes={"http.request.method": method, "url.path": scope.get("path", "")},
    ) as span:
        yield span


def _refusal_of(body: bytes) -> tuple[str | None, str | None]:
    """The code and the detail (the rule it names) of a JSON error body."""
    try:
        parsed = json.loads(body)
    except ValueError:
        return None, None
    if not isinstance(parsed, dict):
        return None, None
    code, detail = parsed.get("code"), parsed.get("detail")
    return (
        code if isinstance(code, str) else None,
        detail if isinstance(detail, str) else None,
    )


def _actor(scope: Scope) -> str | None:
    found = scope.get("state", {}).get("auth")
    user_id = getattr(getattr(found, "principal", None), "user_id", None)
    return user_id if isinstance(user_id, str) else None


class RequestContextMiddleware:
    """Pure ASGI middleware (see the module's docstring)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        request_id = accepted_request_id(headers.get(REQUEST_ID_HEADER.lower()))
        method: str = scope.get("method", "GET")
        ctx = RequestContext(request_id=request_id, in_http=True)
        started = time.perf_counter()
        state: dict[str, Any] = {"status": 500, "capture": False, "body": bytearray()}

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status = int(message["status"])
                raw = [
                    (k, v)
                    for k, v in message.get("headers", [])
                    if k.lower() != REQUEST_ID_HEADER.lower().encode()
                ]
                raw.append((REQUEST_ID_HEADER.lower().encode(), request_id.encode()))
                message["headers"] = raw
                content_type = next(
                    (v.decode("latin-1") for k, v in raw if k.lower() == b"content-type"), ""
                )
                state["status"] = status
                state["capture"] = (
                    status >= 400
                    and method not in ("GET", "HEAD")
                    and content_type.startswith("application/json")
                )
            elif message["type"] == "http.response.body" and state["capture"]:
                body: bytearray = state["body"]
                if len(body) < _MAX_ERROR_BODY:
                    body.extend(message.get("body", b""))
            await send(message)

        token = REQUEST.set(ctx)
        try:
            with (
                structlog.contextvars.bound_contextvars(request_id=request_id),
                _span(scope, headers) as span,
            ):
                try:
                    await self.app(scope, receive, send_with_id)
                except Exception:
                    log.exception("request failed", method=method, path=scope.get("path"))
                    raise
                finally:
                    self._finish(scope, method, ctx, state, time.perf_counter() - started, span)
        finally:
            REQUEST.reset(token)

    def _finish(
        self,
        scope: Scope,
        method: str,
        ctx: RequestContext,
        state: dict[str, Any],
        elapsed: float,
        span: trace.Span | None,
    ) -> None:
        status: int = state["status"]
        route_obj = scope.get("route")
        route = getattr(route_obj, "path", None) or "unmatched"
        metrics.HTTP_REQUESTS.labels(method=method, route=route, status=str(status)).inc()
        metrics.HTTP_SECONDS.labels(method=method, route=route).observe(elapsed)
        refusal: str | None = None
        detail: str | None = None
        if method not in ("GET", "HEAD"):
            if state["capture"]:
                refusal, detail = _refusal_of(bytes(state["body"]))
            if not refusal:
                refusal, detail = ctx.refusal, ctx.refusal_detail
            if refusal:
                metrics.REFUSALS.labels(code=refusal).inc()
        path = scope.get("path", "")
        fields: dict[str, Any] = {
            "method": method,
            "path": path,
            "route": route,
            "status": status,
            "duration_ms": round(elapsed * 1000, 1),
        }
        actor = _actor(scope) or ctx.actor
        if actor:
            fields["actor"] = actor
        case_id = scope.get("path_params", {}).get("case_id")
        if isinstance(case_id, str):
            fields["case_id"] = case_id
        if refusal:
            # A refusal is routine: this one line (no traceback) with its code and rule.
            fields["refusal"] = refusal
            if detail:
                fields["detail"] = " ".join(detail.split())[:MAX_DETAIL]
        if span is not None:
            span.update_name(f"{method} {route}")
            span.set_attribute("http.route", route)
            span.set_attribute("http.response.status_code", status)
            span.set_attribute("ratify.request_id", ctx.request_id)
            if status >= 500:
                span.set_status(trace.Status(trace.StatusCode.ERROR))
        if path in QUIET_PATHS:
            log.debug("request", **fields)
        else:
            log.info("request", **fields)
