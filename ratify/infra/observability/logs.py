"""Structured logs: structlog for Ratify's own lines, the standard library's routed through it.

`configure_logging("json" | "console")` sets both up once per process (the commands call it;
importing Ratify configures nothing). Every line carries, where they are known:

* `timestamp` (UTC, ISO 8601), `level`, `logger`, `event`;
* `request_id`: the HTTP request's `X-Request-ID` (given or made), carried into the
  workflow and its activities;
* `actor`, `actor_role`: the user acting and the role they act in;
* `case_id`: the case (a decision workflow's id is its case id);
* `workflow_id`, `run_id`: the Temporal workflow execution;
* `activity`, `attempt`: in an activity, its type and attempt number;
* `trace_id`: with tracing on, the OpenTelemetry trace the line belongs to.

JSON goes one object per line to stderr; the console format is structlog's. In both, an
error's traceback is the standard library's: frames and source lines, never the frames'
local variables (they hold request bodies with Part 2 text, tokens and keys), and it can
be formatted inside the workflow sandbox (rich's cannot). A refusal is not an error: the
API logs it on the request's one line (see `ratify.infra.observability.http`). Inside a
workflow the request context comes from `ratify.infra.observability.context` (the workflow
logger of the Temporal SDK adds the workflow's ids); elsewhere from structlog's context
variables, which the API middleware and the activity interceptor bind.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any, Literal, TextIO

import structlog
from opentelemetry import trace
from structlog.typing import EventDict, Processor

from domain.ids import case_id_of_workflow
from ratify.infra.observability.context import REQUEST

LogFormat = Literal["json", "console"]


def add_request_context(_: Any, __: str, event_dict: EventDict) -> EventDict:
    """The request context of the code that logs (set in workflows, API and activities),
    and the trace id when tracing is on."""
    ctx = REQUEST.get()
    if ctx is not None:
        for key, value in ctx.log_fields().items():
            event_dict.setdefault(key, value)
    span = trace.get_current_span().get_span_context()
    if span.is_valid:
        event_dict.setdefault("trace_id", format(span.trace_id, "032x"))
    return event_dict


def add_temporal_fields(_: Any, __: str, event_dict: EventDict) -> EventDict:
    """The workflow or activity of a standard-library line from the Temporal SDK's loggers
    (`workflow.logger`, `activity.logger`), which put them in the record's `extra`."""
    record = event_dict.get("_record")
    if record is None:
        return event_dict
    workflow_info = getattr(record, "temporal_workflow", None)
    if isinstance(workflow_info, dict):
        _fill(
            event_dict,
            workflow_id=workflow_info.get("workflow_id"),
            run_id=workflow_info.get("run_id"),
            workflow_type=workflow_info.get("workflow_type"),
            update=workflow_info.get("update_name"),
        )
    activity_info = getattr(record, "temporal_activity", None)
    if isinstance(activity_info, dict):
        _fill(
            event_dict,
            workflow_id=activity_info.get("workflow_id"),
            run_id=activity_info.get("workflow_run_id"),
            activity=activity_info.get("activity_type"),
            attempt=activity_info.get("attempt"),
        )
    if "workflow_id" in event_dict:
        _fill(event_dict, case_id=case_id_of_workflow(event_dict["workflow_id"]))
    return event_dict


def _fill(event_dict: MutableMapping[str, Any], **fields: Any) -> None:
    for key, value in fields.items():
        if value is not None:
            event_dict.setdefault(key, value)


def _shared_processors() -> list[Processor]:
    return [
        structlog.contextvars.merge_contextvars,
        add_request_context,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]


def configure_logging(
    fmt: LogFormat = "console", level: str = "INFO", *, stream: TextIO | None = None
) -> None:
    """Send structlog's lines and the standard library's (uvicorn, Temporal, Alembic) to
    `stream` (default stderr), as JSON or for the console, from `level` up."""
    shared = _shared_processors()
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.processors.StackInfoRenderer(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        # Not cached: tests (and embedders) may configure again.
        cache_logger_on_first_use=False,
    )
    renderer: Processor
    final: list[Processor] = [structlog.stdlib.ProcessorFormatter.remove_processors_meta]
    if fmt == "json":
        # The standard library's traceback, as a string: frames and source lines only.
        # (Not `dict_tracebacks`: its transformer shows every frame's locals by default.)
        final.append(structlog.processors.format_exc_info)
        renderer = structlog.processors.JSONRenderer()
    else:
        out = stream or sys.stderr
        # The standard library's traceback, never rich's default with every frame's
        # locals (request bodies with Part 2 text, bearer tokens, keys). Rich also imports
        # modules as it formats, which the workflow sandbox refuses: a workflow task's
        # failure was lost in a logging error.
        renderer = structlog.dev.ConsoleRenderer(
            colors=out.isatty(), exception_formatter=structlog.dev.plain_traceback
        )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*shared, add_temporal_fields],
        processors=[*final, renderer],
    )
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    # The SDK's loggers put the workflow's and activity's details in `extra` (made into
    # fields above); in JSON they need not be repeated at the end of each message.
    import temporalio.activity
    import temporalio.workflow

    temporalio.workflow.logger.workflow_info_on_message = fmt != "json"
    temporalio.activity.logger.activity_info_on_message = fmt != "json"
