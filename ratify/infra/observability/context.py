"""The request context that follows one request from the API into workflows and activities.

A `RequestContext` (request id, and the actor once known) lives in one context variable,
`REQUEST`: the API middleware sets it for each HTTP request, the Temporal client
interceptor copies it into the header of a workflow start, update or signal, the workflow
interceptor sets it again from that header (in the workflow's own task, and so in the
activities it schedules), and the activity interceptor sets it from the activity's header.
Log lines pick it up from there (see `ratify.infra.observability.logs`).

This module is imported by the workflow interceptor, which runs inside the workflow
sandbox: it imports nothing but the standard library.
"""

from __future__ import annotations

import re
import uuid
from contextvars import ContextVar
from dataclasses import dataclass

#: The HTTP header a request id comes in on (from a proxy or a client) and goes out on.
REQUEST_ID_HEADER = "X-Request-ID"
#: The Temporal header (workflow start, update, signal, activity) holding the context.
TEMPORAL_HEADER = "ratify-context"

_SAFE_ID = re.compile(r"[A-Za-z0-9._:@/+=-]{1,128}")


@dataclass(slots=True)
class RequestContext:
    """Who asked for what, as far as it is known where the code runs."""

    request_id: str
    #: The user id of the person acting (own or delegated role), once known.
    actor: str | None = None
    #: The role they acted in, once known.
    actor_role: str | None = None
    #: True in the API process while it answers this request (not in workflows or
    #: activities): the refusal metric is counted once, by the HTTP middleware, then.
    in_http: bool = False
    #: A refusal code the workflow gave during this HTTP request (set by the client
    #: interceptor, read by the middleware).
    refusal: str | None = None
    #: The rule that refusal names (for the request's log line; never sent in headers).
    refusal_detail: str | None = None

    def to_header(self) -> dict[str, str]:
        header = {"request_id": self.request_id}
        if self.actor:
            header["actor"] = self.actor
        if self.actor_role:
            header["actor_role"] = self.actor_role
        return header

    @classmethod
    def from_header(cls, value: object) -> RequestContext | None:
        if not isinstance(value, dict):
            return None
        request_id = value.get("request_id")
        if not isinstance(request_id, str) or not _SAFE_ID.fullmatch(request_id):
            return None
        actor, role = value.get("actor"), value.get("actor_role")
        return cls(
            request_id=request_id,
            actor=actor if isinstance(actor, str) else None,
            actor_role=role if isinstance(role, str) else None,
        )

    def log_fields(self) -> dict[str, str]:
        fields = {"request_id": self.request_id}
        if self.actor:
            fields["actor"] = self.actor
        if self.actor_role:
            fields["actor_role"] = self.actor_role
        return fields


REQUEST: ContextVar[RequestContext | None] = ContextVar("ratify_request", default=None)


def current() -> RequestContext | None:
    """The request context where the code runs, if any."""
    return REQUEST.get()


def new_request_id() -> str:
    return uuid.uuid4().hex


def accepted_request_id(value: str | None) -> str:
    """The caller's request id if it is a safe token (letters, digits, `._:@/+=-`, at most
    128 characters), else a new one: a request id goes into logs and headers verbatim."""
    if value and _SAFE_ID.fullmatch(value):
        return value
    return new_request_id()
