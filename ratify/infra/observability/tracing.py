"""OpenTelemetry tracing: off unless `RATIFY_OTEL=true` (or `OTEL_EXPORTER_OTLP_ENDPOINT` set).

When on, `configure_tracing` installs a tracer provider (service name `OTEL_SERVICE_NAME`,
else `ratify-<process>`) with the exporter `RATIFY_OTEL_EXPORTER` names: `otlp` (needs the
`opentelemetry-exporter-otlp-proto-http` or `-grpc` package; it reads the standard
`OTEL_EXPORTER_OTLP_*` variables), `console` (spans as JSON on stdout), or `none`. It
returns Temporal's `TracingInterceptor`, to go on the client: the API's request span
(made by the HTTP middleware) is then the parent of the update's span, whose context
travels in the Temporal headers to the workflow's spans and the activity's.
"""

from __future__ import annotations

import importlib
import os
from typing import Any

from opentelemetry import trace
from temporalio.contrib.opentelemetry import TracingInterceptor

from ratify.infra.observability.http import use_http_tracer
from ratify.infra.observability.startup import StartupError
from ratify.infra.settings import Settings

_provider: Any = None


def _otlp_exporter() -> Any:
    for module in (
        "opentelemetry.exporter.otlp.proto.http.trace_exporter",
        "opentelemetry.exporter.otlp.proto.grpc.trace_exporter",
    ):
        try:
            return importlib.import_module(module).OTLPSpanExporter()
        except ImportError:
            continue
    raise StartupError(
        "RATIFY_OTEL_EXPORTER=otlp (or OTEL_EXPORTER_OTLP_ENDPOINT set) needs the OTLP "
        "exporter: pip install opentelemetry-exporter-otlp-proto-http",
        2,
    )


def configure_tracing(settings: Settings, process: str) -> TracingInterceptor | None:
    """Set up tracing for this process if it is on; the interceptor for its client."""
    global _provider
    if not settings.tracing:
        return None
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter

    exporter_name = settings.tracing_exporter
    exporter: Any = None
    if exporter_name == "otlp":
        exporter = _otlp_exporter()
    elif exporter_name == "console":
        exporter = ConsoleSpanExporter()
    service = os.environ.get("OTEL_SERVICE_NAME") or f"ratify-{process}"
    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: service}))
    if exporter is not None:
        provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    _provider = provider
    tracer = provider.get_tracer("ratify")
    use_http_tracer(tracer)
    return TracingInterceptor(tracer)


def shutdown_tracing() -> None:
    """Export the spans still buffered (at the end of the process)."""
    if _provider is not None:
        _provider.shutdown()
