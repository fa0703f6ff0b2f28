"""Temporal interceptors: the request context across client, workflow and activity, and the
action metrics of the client.

`ContextInterceptor` (client and worker):

* client: puts the current `RequestContext` (or a new request id, outside any request) in
  the `ratify-context` header of each workflow start, update and signal, with the actor
  taken from the message when the context has none;
* workflow: sets the context from the header of the start, update or signal it handles,
  so the activities, child workflows and signals it sends carry it on (nothing here makes
  ids or reads clocks: replay sees the same headers and does the same);
* activity: sets the context from the activity's header and binds it, with the workflow
  id, run id, case id, activity type and attempt, to structlog's context variables for
  every line the activity logs.

`ActionMetricsInterceptor` (client): counts each update a workflow accepted and each case or
meeting started (`ratify_actions_accepted_total`), and each refusal
(`ratify_refusals_total`) of a call made outside an HTTP request; inside one, it leaves
the refusal to the HTTP middleware, which counts one per request. Calls made from inside
an activity (a board meeting moving its cases on) are not counted again.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from typing import Any, Protocol

import structlog
import temporalio.activity
import temporalio.client
import temporalio.converter
import temporalio.worker
from temporalio.api.common.v1 import Payload
from temporalio.client import Client, WorkflowUpdateFailedError, WorkflowUpdateStage
from temporalio.exceptions import ApplicationError

from domain.ids import case_id_of_workflow
from ratify.infra.observability import metrics
from ratify.infra.observability.context import (
    REQUEST,
    TEMPORAL_HEADER,
    RequestContext,
    new_request_id,
)

_converter = temporalio.converter.PayloadConverter.default

#: Workflow types whose start is an action of its own, and the action's name.
START_ACTIONS = {"DecisionWorkflow": "create_case", "BoardMeetingWorkflow": "create_meeting"}


class _HasHeaders(Protocol):
    headers: Mapping[str, Payload]


def _actor_of(args: Sequence[Any]) -> tuple[str | None, str | None]:
    """The user id and role of the actor a message names (an action, a new case, ...)."""
    for arg in args[:1]:
        for name in ("actor", "officer", "created_by"):
            actor = getattr(arg, name, None)
            user_id = getattr(actor, "user_id", None)
            if isinstance(user_id, str):
                role = getattr(actor, "role", None)
                return user_id, str(getattr(role, "value", role)) if role is not None else None
    return None, None


def _outgoing_context(args: Sequence[Any]) -> RequestContext:
    """The context a client call carries: the current one, or a new request id outside
    any; the actor from the message when not known yet."""
    ctx = REQUEST.get()
    if ctx is None:
        ctx = RequestContext(request_id=new_request_id())
    if ctx.actor is None:
        actor, role = _actor_of(args)
        if actor is not None:
            ctx = RequestContext(
                request_id=ctx.request_id,
                actor=actor,
                actor_role=role,
                in_http=ctx.in_http,
                refusal=ctx.refusal,
            )
    return ctx


def _with_header(headers: Mapping[str, Payload], ctx: RequestContext) -> Mapping[str, Payload]:
    return {**headers, TEMPORAL_HEADER: _converter.to_payload(ctx.to_header())}


def _from_header(headers: Mapping[str, Payload]) -> RequestContext | None:
    payload = headers.get(TEMPORAL_HEADER)
    if payload is None:
        return None
    try:
        return RequestContext.from_header(_converter.from_payload(payload))
    except Exception:  # a header from elsewhere that does not decode: no context
        return None


@contextmanager
def _context_from(headers: Mapping[str, Payload]) -> Iterator[RequestContext | None]:
    ctx = _from_header(headers)
    if ctx is None:
        yield None
        return
    token = REQUEST.set(ctx)
    try:
        yield ctx
    finally:
        # A workflow evicted from the cache is closed from outside its own context: there
        # is nothing to reset then.
        with suppress(ValueError):
            REQUEST.reset(token)


# -- client ---------------------------------------------------------------------------------


class _ContextClientOutbound(temporalio.client.OutboundInterceptor):
    async def start_workflow(
        self, input: temporalio.client.StartWorkflowInput
    ) -> temporalio.client.WorkflowHandle[Any, Any]:
        input.headers = _with_header(input.headers, _outgoing_context(input.args))
        return await super().start_workflow(input)

    async def start_workflow_update(
        self, input: temporalio.client.StartWorkflowUpdateInput
    ) -> temporalio.client.WorkflowUpdateHandle[Any]:
        input.headers = _with_header(input.headers, _outgoing_context(input.args))
        return await super().start_workflow_update(input)

    async def start_update_with_start_workflow(
        self, input: temporalio.client.StartWorkflowUpdateWithStartInput
    ) -> temporalio.client.WorkflowUpdateHandle[Any]:
        start, update = input.start_workflow_input, input.update_workflow_input
        ctx = _outgoing_context(start.args)  # one request: the same context on both halves
        start.headers = _with_header(start.headers, ctx)
        update.headers = _with_header(update.headers, ctx)
        return await super().start_update_with_start_workflow(input)

    async def signal_workflow(self, input: temporalio.client.SignalWorkflowInput) -> None:
        input.headers = _with_header(input.headers, _outgoing_context(input.args))
        await super().signal_workflow(input)


class _ContextActivityInbound(temporalio.worker.ActivityInboundInterceptor):
    async def execute_activity(self, input: temporalio.worker.ExecuteActivityInput) -> Any:
        info = temporalio.activity.info()
        fields: dict[str, Any] = {
            "workflow_id": info.workflow_id,
            "run_id": info.workflow_run_id,
            "activity": info.activity_type,
            "attempt": info.attempt,
        }
        case_id = _case_of(input.args, info.activity_type, info.workflow_id)
        if case_id is not None:
            fields["case_id"] = case_id
        with _context_from(input.headers) as ctx:
            if ctx is not None:
                fields.update(ctx.log_fields())
            with structlog.contextvars.bound_contextvars(**fields):
                return await super().execute_activity(input)


def _case_of(args: Sequence[Any], activity_type: str, workflow_id: str | None) -> str | None:
    """The case an activity works on: its message's `case_id`, else its workflow's case."""
    first = args[0] if args else None
    case_id = getattr(first, "case_id", None)
    if isinstance(case_id, str):
        return case_id
    if activity_type == "load_case" and isinstance(first, str):
        return first
    return case_id_of_workflow(workflow_id)


# -- workflow (runs inside the sandbox: no I/O, no clocks, no random ids) ---------------------


class _ContextWorkflowInbound(temporalio.worker.WorkflowInboundInterceptor):
    def init(self, outbound: temporalio.worker.WorkflowOutboundInterceptor) -> None:
        super().init(_ContextWorkflowOutbound(outbound))

    async def execute_workflow(self, input: temporalio.worker.ExecuteWorkflowInput) -> Any:
        with _context_from(input.headers):
            return await super().execute_workflow(input)

    async def handle_signal(self, input: temporalio.worker.HandleSignalInput) -> None:
        with _context_from(input.headers):
            await super().handle_signal(input)

    def handle_update_validator(self, input: temporalio.worker.HandleUpdateInput) -> None:
        with _context_from(input.headers):
            super().handle_update_validator(input)

    async def handle_update_handler(self, input: temporalio.worker.HandleUpdateInput) -> Any:
        with _context_from(input.headers):
            return await super().handle_update_handler(input)


def _carry(input: _HasHeaders) -> None:
    ctx = REQUEST.get()
    if ctx is not None:
        input.headers = _with_header(input.headers, ctx)


class _ContextWorkflowOutbound(temporalio.worker.WorkflowOutboundInterceptor):
    def start_activity(
        self, input: temporalio.worker.StartActivityInput
    ) -> temporalio.workflow.ActivityHandle[Any]:
        _carry(input)
        return super().start_activity(input)

    def start_local_activity(
        self, input: temporalio.worker.StartLocalActivityInput
    ) -> temporalio.workflow.ActivityHandle[Any]:
        _carry(input)
        return super().start_local_activity(input)

    async def start_child_workflow(
        self, input: temporalio.worker.StartChildWorkflowInput
    ) -> temporalio.workflow.ChildWorkflowHandle[Any, Any]:
        _carry(input)
        return await super().start_child_workflow(input)

    async def signal_child_workflow(
        self, input: temporalio.worker.SignalChildWorkflowInput
    ) -> None:
        _carry(input)
        await super().signal_child_workflow(input)

    async def signal_external_workflow(
        self, input: temporalio.worker.SignalExternalWorkflowInput
    ) -> None:
        _carry(input)
        await super().signal_external_workflow(input)


class ContextInterceptor(temporalio.client.Interceptor, temporalio.worker.Interceptor):
    """Carries the request context (request id, actor) from client to workflow to activity."""

    def intercept_client(
        self, next: temporalio.client.OutboundInterceptor
    ) -> temporalio.client.OutboundInterceptor:
        return _ContextClientOutbound(next)

    def intercept_activity(
        self, next: temporalio.worker.ActivityInboundInterceptor
    ) -> temporalio.worker.ActivityInboundInterceptor:
        return _ContextActivityInbound(next)

    def workflow_interceptor_class(
        self, input: temporalio.worker.WorkflowInterceptorClassInput
    ) -> type[temporalio.worker.WorkflowInboundInterceptor]:
        return _ContextWorkflowInbound


# -- action metrics ---------------------------------------------------------------------------


def _counted() -> bool:
    """False inside an activity: a call made there repeats an action already counted."""
    return not temporalio.activity.in_activity()


def record_refusal(code: str, detail: str | None = None) -> None:
    """Count a refusal: now outside an HTTP request, else when the request ends (then
    `detail`, the rule it names, goes on the request's log line)."""
    ctx = REQUEST.get()
    if ctx is not None and ctx.in_http:
        ctx.refusal = code
        ctx.refusal_detail = detail
    else:
        metrics.REFUSALS.labels(code=code).inc()


class _MetricsClientOutbound(temporalio.client.OutboundInterceptor):
    async def start_workflow(
        self, input: temporalio.client.StartWorkflowInput
    ) -> temporalio.client.WorkflowHandle[Any, Any]:
        handle = await super().start_workflow(input)
        if _counted():
            action = START_ACTIONS.get(input.workflow, f"start_{input.workflow}")
            metrics.ACTIONS_ACCEPTED.labels(action=action).inc()
        return handle

    async def start_workflow_update(
        self, input: temporalio.client.StartWorkflowUpdateInput
    ) -> temporalio.client.WorkflowUpdateHandle[Any]:
        handle = await super().start_workflow_update(input)
        if input.wait_for_stage is not WorkflowUpdateStage.COMPLETED or not _counted():
            return handle
        # The outcome is known by now: `result` reads it without another call.
        try:
            await handle.result()
        except WorkflowUpdateFailedError as exc:
            if isinstance(exc.cause, ApplicationError):
                record_refusal(exc.cause.type or "refused", exc.cause.message)
        except Exception:  # not a refusal: the caller sees the error from the handle
            pass
        else:
            metrics.ACTIONS_ACCEPTED.labels(action=input.update).inc()
        return handle

    async def start_update_with_start_workflow(
        self, input: temporalio.client.StartWorkflowUpdateWithStartInput
    ) -> temporalio.client.WorkflowUpdateHandle[Any]:
        # The start is the action (a new case); the update only waits for its outcome.
        handle = await super().start_update_with_start_workflow(input)
        if _counted():
            workflow_type = input.start_workflow_input.workflow
            action = START_ACTIONS.get(workflow_type, f"start_{workflow_type}")
            metrics.ACTIONS_ACCEPTED.labels(action=action).inc()
        return handle


class ActionMetricsInterceptor(temporalio.client.Interceptor):
    """Counts the actions workflows accept and the refusals they give."""

    def intercept_client(
        self, next: temporalio.client.OutboundInterceptor
    ) -> temporalio.client.OutboundInterceptor:
        return _MetricsClientOutbound(next)


def client_interceptors() -> list[temporalio.client.Interceptor]:
    """The interceptors every Ratify client gets (tracing is added where it is on)."""
    return [ContextInterceptor(), ActionMetricsInterceptor()]


def instrumented(client: Client) -> Client:
    """`client`, or a client on the same connection with Ratify's interceptors added if it
    has not got them (e.g. a test environment's client)."""
    config = client.config()
    present = {type(i) for i in config["interceptors"]}
    missing = [i for i in client_interceptors() if type(i) not in present]
    if not missing:
        return client
    config["interceptors"] = [*config["interceptors"], *missing]
    return Client(**config)
