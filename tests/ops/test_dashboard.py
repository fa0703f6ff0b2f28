"""The Grafana dashboard reads metrics Ratify exports, under the names it exports them."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from prometheus_client import REGISTRY

DASHBOARD = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "ratify-dashboard.json"

#: The suffixes of the series of each Prometheus metric type.
SUFFIXES = {
    "counter": ("_total",),
    "gauge": ("",),
    "histogram": ("_bucket", "_sum", "_count"),
}


def dashboard() -> dict[str, Any]:
    return dict(json.loads(DASHBOARD.read_text("utf-8")))


def expressions() -> list[str]:
    return [t["expr"] for p in dashboard()["panels"] for t in p.get("targets", [])]


def metric_names(prefix: str) -> set[str]:
    return {n for e in expressions() for n in re.findall(rf"\b{prefix}[a-z_]+\b", e)}


def exported() -> set[str]:
    import ratify.infra.observability.metrics  # noqa: F401  (registers Ratify's metrics)

    return {
        family.name + suffix
        for family in REGISTRY.collect()
        for suffix in SUFFIXES.get(family.type, ("",))
    }


def test_every_ratify_metric_on_the_dashboard_is_exported():
    used = metric_names("ratify_")
    assert used >= {
        "ratify_actions_accepted_total",
        "ratify_refusals_total",
        "ratify_event_store_append_seconds_bucket",
        "ratify_projection_lag_events",
        "ratify_deadline_events_total",
    }
    assert used <= exported(), used - exported()


def test_the_dashboard_shows_the_temporal_sdk_metrics_asked_for():
    used = metric_names("temporal_")
    assert {
        "temporal_workflow_task_execution_latency_seconds_bucket",
        "temporal_activity_execution_failed_total",
    } <= used
    # Ratify's runtimes tag their SDK metrics service="ratify" (ratify.infra.observability.metrics).
    for expr in expressions():
        if "temporal_" in expr:
            assert 'service="ratify"' in expr, expr


def test_the_dashboard_is_well_formed():
    board = dashboard()
    assert board["uid"] == "ratify-overview" and board["title"] == "Ratify"
    panels = board["panels"]
    assert len({p["id"] for p in panels}) == len(panels)
    for panel in panels:
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]
        if panel["type"] != "row":
            assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
            assert panel["targets"], panel["title"]
    titles = {p["title"] for p in panels}
    for wanted in (
        "Actions accepted per minute, by action",
        "Refusals per minute, by code",
        "Event-store append latency",
        "Projection lag",
        "Workflow task execution latency",
        "Activity failures per minute, by activity",
    ):
        assert wanted in titles
