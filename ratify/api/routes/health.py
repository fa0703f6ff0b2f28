"""Health: liveness, readiness and the Prometheus metrics of this process."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse

from ratify.api.deps import SignedInFirst, Svc
from ratify.api.schemas import Health
from ratify.infra.observability.health import readiness
from ratify.infra.observability.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from ratify.infra.observability.metrics import metrics_text

router = APIRouter(tags=["health"], route_class=SignedInFirst)


@router.get("/healthz")
async def healthz() -> Health:
    """Liveness: 200 while the process serves, whatever the database and Temporal do."""
    return Health(status="ok")


@router.get(
    "/readyz",
    response_model=dict[str, str],
    responses={503: {"model": dict[str, str], "description": "Something is down"}},
)
async def readyz(services: Svc) -> JSONResponse:
    """Readiness: 200 when the database and Temporal both answer; else 503 naming which
    is down, e.g. `{"database": "ok", "temporal": "down: RuntimeError"}`."""
    checks = await readiness(services.engine, services.client)
    ok = all(v == "ok" for v in checks.values())
    return JSONResponse(status_code=200 if ok else 503, content=checks)


@router.get("/metrics", response_class=Response)
def prometheus_metrics() -> Response:  # sync: runs in a thread (it reads the SDK's page)
    """Prometheus metrics of this process (Ratify's, and the Temporal SDK's)."""
    return Response(metrics_text(), media_type=METRICS_CONTENT_TYPE)
