"""With tracing on, one API action is one trace: request -> update -> workflow -> activity."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path

import pytest
import pytest_asyncio
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from temporalio.contrib.opentelemetry import TracingInterceptor

from ratify.infra.observability.http import use_http_tracer
from ratify.infra.settings import Settings
from tests.ops.conftest import Stack, json_lines, logs_to, start_stack


@pytest.fixture
def exporter() -> Iterator[InMemorySpanExporter]:
    spans = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    tracer = provider.get_tracer("ratify-tests")
    use_http_tracer(tracer)
    spans.tracer = tracer  # type: ignore[attr-defined]
    try:
        yield spans
    finally:
        use_http_tracer(None)
        provider.shutdown()


@pytest_asyncio.fixture(loop_scope="session")
async def traced(tmp_path: Path, exporter: InMemorySpanExporter) -> AsyncIterator[Stack]:
    interceptor = TracingInterceptor(exporter.tracer)  # type: ignore[attr-defined]
    async for stack in start_stack(tmp_path, [interceptor]):
        yield stack


def _http_span(spans: Sequence[ReadableSpan], route: str) -> ReadableSpan:
    [span] = [s for s in spans if s.kind is SpanKind.SERVER and s.name == route]
    return span


async def test_a_new_case_is_one_trace_from_the_request_to_the_activity(
    traced: Stack, exporter: InMemorySpanExporter
):
    with_id = {"X-Request-ID": "trace-new-case"}
    await traced.new_case(headers=with_id)
    # The API answers once the draft is stored: the activity's span may end just after.
    for _ in range(200):
        spans = exporter.get_finished_spans()
        if any(s.name == "RunActivity:record_events" for s in spans):
            break
        await asyncio.sleep(0.01)
    http = _http_span(spans, "POST /cases")
    assert http.attributes is not None
    assert http.attributes["http.response.status_code"] == 201
    assert http.attributes["ratify.request_id"] == "trace-new-case"
    in_trace = {s.name for s in spans if s.context.trace_id == http.context.trace_id}
    assert {
        "StartUpdateWithStartWorkflow:DecisionWorkflow",  # the API's client
        "RunWorkflow:DecisionWorkflow",  # the worker's workflow
        "StartActivity:record_events",
        "RunActivity:record_events",  # the activity that stored the draft
    } <= in_trace, sorted(in_trace)
    [start] = [s for s in spans if s.name == "StartUpdateWithStartWorkflow:DecisionWorkflow"]
    assert start.parent is not None and start.parent.span_id == http.context.span_id


async def test_an_action_traces_the_update_into_the_workflow_and_its_activity(
    traced: Stack, exporter: InMemorySpanExporter
):
    case_id = await traced.new_case()
    [run] = [s for s in exporter.get_finished_spans() if s.name.startswith("RunWorkflow:")]
    exporter.clear()
    with logs_to("json") as buffer:
        r = await traced.post("ollie.lane", f"/cases/{case_id}/actions/submit", {})
    assert r.status_code == 200, r.text

    spans = exporter.get_finished_spans()
    http = _http_span(spans, "POST /cases/{case_id}/actions/{action}")
    # The API's log line names the trace.
    [logged] = [line for line in json_lines(buffer) if line["event"] == "request"]
    assert logged["trace_id"] == format(http.context.trace_id, "032x")
    [update] = [s for s in spans if s.name == "StartWorkflowUpdate:submit"]
    assert update.parent is not None and update.parent.span_id == http.context.span_id
    # Temporal's TracingInterceptor keeps a workflow's spans in the workflow's own trace
    # (the one of the request that started it) and links each update's to its caller.
    [handled] = [s for s in spans if s.name == "HandleUpdate:submit"]
    assert [link.context.span_id for link in handled.links] == [update.context.span_id]
    workflow_trace = {s.name for s in spans if s.context.trace_id == run.context.trace_id}
    assert {
        "ValidateUpdate:submit",
        "HandleUpdate:submit",
        "StartActivity:record_events",
        "RunActivity:record_events",
    } <= workflow_trace, sorted(workflow_trace)


async def test_tracing_is_off_unless_asked_for(monkeypatch: pytest.MonkeyPatch):
    for name in ("RATIFY_OTEL", "RATIFY_OTEL_EXPORTER", "OTEL_EXPORTER_OTLP_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    assert not Settings().tracing
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")
    assert Settings().tracing and Settings().tracing_exporter == "otlp"
    monkeypatch.setenv("RATIFY_OTEL", "false")
    assert not Settings().tracing
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT")
    monkeypatch.setenv("RATIFY_OTEL", "true")
    assert Settings().tracing and Settings().tracing_exporter == "console"
