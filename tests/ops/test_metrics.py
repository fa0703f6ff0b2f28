"""Ratify's Prometheus metrics move with real actions, refusals, deadlines and projections."""

from __future__ import annotations

from datetime import timedelta

from domain.clock import london_date
from ratify.infra.observability import metrics
from tests.ops.conftest import Stack, sample


async def test_accepted_actions_and_refusals_are_counted_once_each(stack: Stack):
    submits = sample("ratify_actions_accepted_total", action="submit")
    creates = sample("ratify_actions_accepted_total", action="create_case")
    already_done = sample("ratify_refusals_total", code="already_done")
    wrong_stage = sample("ratify_refusals_total", code="wrong_stage")
    wrong_role = sample("ratify_refusals_total", code="wrong_role")
    invalid = sample("ratify_refusals_total", code="invalid")

    case_id = await stack.new_case()
    r = await stack.post("ollie.lane", f"/cases/{case_id}/actions/submit", {})
    assert r.status_code == 200, r.text
    # The workflow refuses a second submit, and a sign-off before the board has advised
    # (the rules are the workflow's): each counted once, though both the client
    # interceptor and the middleware see it.
    r = await stack.post("ollie.lane", f"/cases/{case_id}/actions/submit", {})
    assert r.status_code == 409 and r.json()["code"] == "already_done", r.text
    r = await stack.post("fran.fin", f"/cases/{case_id}/actions/sign_off", {"area": "finance"})
    assert r.status_code == 422 and r.json()["code"] == "wrong_stage", r.text
    # Refused by the API before any workflow is asked: the finance adviser cannot submit.
    r = await stack.post("fran.fin", f"/cases/{case_id}/actions/submit", {})
    assert r.status_code == 403 and r.json()["code"] == "wrong_role", r.text
    # A malformed action.
    r = await stack.post("ollie.lane", f"/cases/{case_id}/actions/withdraw", {})
    assert r.status_code == 422 and r.json()["code"] == "invalid", r.text

    assert sample("ratify_actions_accepted_total", action="create_case") == creates + 1
    assert sample("ratify_actions_accepted_total", action="submit") == submits + 1
    assert sample("ratify_refusals_total", code="already_done") == already_done + 1
    assert sample("ratify_refusals_total", code="wrong_stage") == wrong_stage + 1
    assert sample("ratify_refusals_total", code="wrong_role") == wrong_role + 1
    assert sample("ratify_refusals_total", code="invalid") == invalid + 1


async def test_reads_that_find_nothing_are_not_refusals(stack: Stack):
    before = sample("ratify_refusals_total", code="not_found")
    r = await stack.http.get("/cases/no-such-case", headers=stack.auth("ollie.lane"))
    assert r.status_code == 404
    assert sample("ratify_refusals_total", code="not_found") == before


async def test_the_append_latency_and_the_events_recorded_are_measured(stack: Stack):
    appends = sample("ratify_event_store_append_seconds_count", activity="record_events")
    drafted = sample("ratify_events_recorded_total", type="case.drafted")
    notified = sample("ratify_event_store_append_seconds_count", activity="notify")
    await stack.new_case()  # the draft is recorded, and its officer told of the new task
    assert sample("ratify_event_store_append_seconds_count", activity="record_events") > appends
    assert sample("ratify_event_store_append_seconds_sum", activity="record_events") > 0
    assert sample("ratify_events_recorded_total", type="case.drafted") == drafted + 1
    for _ in range(100):  # the notification runs beside the update, not before its answer
        if sample("ratify_event_store_append_seconds_count", activity="notify") > notified:
            break
        await stack.env.sleep(timedelta(milliseconds=20))
    assert sample("ratify_event_store_append_seconds_count", activity="notify") > notified


async def test_the_projection_lag_falls_to_zero_when_the_projector_catches_up(stack: Stack):
    await stack.new_case()
    behind = stack.projector.lag()
    assert behind > 0
    assert sample("ratify_projection_lag_events", projection=stack.projector.name) == behind
    stack.projector.catch_up()
    assert stack.projector.lag() == 0
    assert sample("ratify_projection_lag_events", projection=stack.projector.name) == 0
    assert (
        sample("ratify_projection_position", projection=stack.projector.name)
        == stack.store.last_position()
    )


async def test_deadline_reminders_escalation_and_miss_are_counted(stack: Stack):
    kinds = ("reminder", "escalation", "missed")
    before = {k: sample("ratify_deadline_events_total", kind=k) for k in kinds}
    today = london_date(await stack.env.get_current_time())
    await stack.new_case(
        time_sensitivity={
            "required_by": (today + timedelta(days=20)).isoformat(),
            "reason": "Funding year ends.",
        }
    )
    await stack.env.sleep(timedelta(days=22))  # two reminders, the escalation, the miss
    after = {k: sample("ratify_deadline_events_total", kind=k) for k in kinds}
    assert {k: after[k] - before[k] for k in kinds} == {
        "reminder": 2,
        "escalation": 1,
        "missed": 1,
    }


async def test_get_metrics_is_the_prometheus_page(stack: Stack):
    case_id = await stack.new_case()
    await stack.post("ollie.lane", f"/cases/{case_id}/actions/submit", {})
    r = await stack.http.get("/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain; version=0.0.4")
    text = r.text
    for name in (
        "ratify_actions_accepted_total{",
        "ratify_refusals_total",
        "ratify_event_store_append_seconds_bucket{",
        "ratify_events_recorded_total{",
        'ratify_http_requests_total{method="POST",route="/cases/{case_id}/actions/{action}"',
        "ratify_http_request_duration_seconds_bucket{",
        "process_cpu_seconds_total",
    ):
        assert name in text, name
    assert "_created" not in text
    assert r.headers["content-type"] == metrics.CONTENT_TYPE
