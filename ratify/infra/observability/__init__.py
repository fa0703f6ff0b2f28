"""Operating Ratify: logs, metrics, traces, health, and how its processes start and stop.

| module | what |
|---|---|
| `context` | the request context (request id, actor) and its Temporal header |
| `interceptors` | Temporal: the context from client to workflow to activity; action metrics |
| `http` | the API middleware: `X-Request-ID`, access log, HTTP and refusal metrics, request span |
| `logs` | structlog set-up, JSON or console (`RATIFY_LOG_FORMAT`) |
| `metrics` | the Prometheus metrics, the Temporal SDK's runtime metrics, the metrics endpoint |
| `tracing` | OpenTelemetry tracing (`RATIFY_OTEL`), Temporal's `TracingInterceptor` |
| `health` | readiness checks of the database and Temporal |
| `startup` | start-up errors: one clear line and an exit status |

Nothing here configures anything on import: the process commands (`ratify worker`, `ratify
api`, `ratify projector`, `ratify serve`, `python worker.py`) do.
"""
