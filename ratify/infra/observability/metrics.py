"""Prometheus metrics: Ratify's own (prometheus_client) and the Temporal SDK's, on one page.

Ratify's own metrics (prometheus_client), all prefixed `ratify_`:

* `ratify_actions_accepted_total{action}`: updates a workflow accepted (`submit`,
  `sign_off`, `add_case`, ...) and cases and meetings started (`create_case`,
  `create_meeting`), counted by the Temporal client interceptor;
* `ratify_refusals_total{code}`: once per refused request, the API's refusal code
  (`wrong_stage`, `four_eyes`, `wrong_role`, `invalid`, ...), or the workflow's when the
  web pages show it (the HTTP middleware; outside HTTP, the client interceptor);
* `ratify_deadline_events_total{kind}`: `reminder`, `escalation` (to the chief executive),
  `missed`, as the `record_events` activity stores them;
* `ratify_events_recorded_total{type}`: each event the `record_events` activity stores;
* `ratify_event_store_append_seconds{activity}` (histogram): the append of the
  `record_events` (the journal's fold and append) and `notify` activities;
* `ratify_projection_lag_events{projection}` (gauge): events in the log not yet in the
  read views, after each poll of the projector; `ratify_projection_position{projection}`;
* `ratify_http_requests_total{method,route,status}` and
  `ratify_http_request_duration_seconds{method,route}` (histogram), `route` being the
  route's template (`/cases/{case_id}/actions/{action}`), from the API middleware.

The Temporal SDK's metrics (prefix `temporal_`, e.g.
`temporal_workflow_task_execution_latency_seconds`, `temporal_activity_execution_failed_total`,
`temporal_request_latency_seconds`) come from the SDK's own Prometheus exporter
(`temporal_runtime`), bound to a free loopback port and read by `metrics_text` on each
scrape, so each process has one page with both: the API's `GET /metrics`, and
`serve_metrics` (`RATIFY_METRICS_PORT`) in the worker and the projector.
"""

from __future__ import annotations

import http.server
import socket
import threading
import urllib.request

import prometheus_client
import structlog
from prometheus_client import Counter, Gauge, Histogram
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

log = structlog.get_logger("ratify.metrics")

# One series per label set, without the `_created` twin of each counter.
prometheus_client.disable_created_metrics()  # type: ignore[no-untyped-call]

#: The Prometheus text format both halves of the page are written in.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

ACTIONS_ACCEPTED = Counter(
    "ratify_actions_accepted",
    "Actions a workflow accepted (updates, and cases and meetings started), by action.",
    ["action"],
)
REFUSALS = Counter(
    "ratify_refusals",
    "Refused actions and requests, by refusal code (wrong_stage, four_eyes, wrong_role, ...).",
    ["code"],
)
DEADLINE_EVENTS = Counter(
    "ratify_deadline_events",
    "Deadline reminders, escalations to the chief executive, and missed deadlines recorded.",
    ["kind"],
)
EVENTS_RECORDED = Counter(
    "ratify_events_recorded",
    "Case events newly stored by the record_events activity, by event type.",
    ["type"],
)
APPEND_SECONDS = Histogram(
    "ratify_event_store_append_seconds",
    "Time to append to the event store (the journal's fold and append), by activity.",
    ["activity"],
    buckets=_LATENCY_BUCKETS,
)
PROJECTION_LAG = Gauge(
    "ratify_projection_lag_events",
    "Events in the log that the read views do not show yet.",
    ["projection"],
)
PROJECTION_POSITION = Gauge(
    "ratify_projection_position",
    "Position of the last event applied to the read views.",
    ["projection"],
)
HTTP_REQUESTS = Counter(
    "ratify_http_requests",
    "HTTP requests answered, by method, route template and status.",
    ["method", "route", "status"],
)
HTTP_SECONDS = Histogram(
    "ratify_http_request_duration_seconds",
    "Time to answer an HTTP request, by method and route template.",
    ["method", "route"],
    buckets=_LATENCY_BUCKETS,
)

#: Deadline event types and the `kind` label of each.
DEADLINE_KINDS = {
    "deadline.reminder_sent": "reminder",
    "deadline.escalated": "escalation",
    "deadline.missed": "missed",
}

# -- the Temporal SDK's metrics -----------------------------------------------------------

_temporal_metrics_url: str | None = None


def free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def temporal_runtime() -> Runtime:
    """A Temporal runtime whose metrics (worker, client, workflow and activity tasks) are
    exported in Prometheus format, and added to this process's metrics page.

    Counters end in `_total` and durations are histograms in seconds (`..._seconds`), as
    Prometheus names them.
    """
    global _temporal_metrics_url
    port = free_loopback_port()
    runtime = Runtime(
        telemetry=TelemetryConfig(
            metrics=PrometheusConfig(
                bind_address=f"127.0.0.1:{port}",
                counters_total_suffix=True,
                unit_suffix=True,
                durations_as_seconds=True,
            ),
            global_tags={"service": "ratify"},
        )
    )
    _temporal_metrics_url = f"http://127.0.0.1:{port}/metrics"
    return runtime


def _temporal_text() -> bytes:
    if _temporal_metrics_url is None:
        return b""
    try:
        with urllib.request.urlopen(_temporal_metrics_url, timeout=2) as response:
            body: bytes = response.read()
    except OSError as exc:
        log.warning("temporal sdk metrics unavailable", error=str(exc))
        return b"# Temporal SDK metrics unavailable\n"
    return body if body.endswith(b"\n") or not body else body + b"\n"


def metrics_text() -> bytes:
    """This process's metrics page: Ratify's own metrics, then the Temporal SDK's."""
    return prometheus_client.generate_latest(prometheus_client.REGISTRY) + _temporal_text()


# -- the metrics endpoint of processes without the HTTP API -------------------------------


class _MetricsHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path.split("?", 1)[0] not in ("/metrics", "/"):
            self.send_error(404)
            return
        body = metrics_text()
        self.send_response(200)
        self.send_header("Content-Type", CONTENT_TYPE)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # no access log per scrape
        pass


class MetricsServer:
    """`GET /metrics` on host:port in a daemon thread; `close` stops it."""

    def __init__(self, host: str, port: int) -> None:
        self._server = http.server.ThreadingHTTPServer((host, port), _MetricsHandler)
        self._server.daemon_threads = True
        self.host, self.port = host, self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="metrics", daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def serve_metrics(host: str, port: int) -> MetricsServer | None:
    """Serve the metrics page, or log why not and return None (port 0 turns it off; a busy
    port is reported but does not stop the process: metrics are not worth an outage)."""
    if port == 0:
        return None
    try:
        server = MetricsServer(host, port)
    except OSError as exc:
        log.warning(
            "metrics endpoint not started: set RATIFY_METRICS_PORT to a free port",
            host=host,
            port=port,
            error=str(exc),
        )
        return None
    log.info("metrics endpoint", url=f"http://{host}:{server.port}/metrics")
    return server
