"""ratify.services.reconcile: running workflows against the fold of their events, and orphans.

On the real Temporal dev server (in memory, one per test: it starts in a fraction of a
second), since the time-skipping test server has no `list_workflows`. The store is a fresh
SQLite file per test, tampered with in SQL where a test is about a disagreement.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
import sqlalchemy as sa
from temporalio.client import Client, WorkflowFailureError
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from domain import events as ev
from domain.roles import AdviceArea, Role
from domain.state import CaseState, SignOff, SignOffStatus, Stage
from eventstore import EventStore, create_engine_for, migrate
from eventstore.schema import events
from ratify.api.app import create_app
from ratify.http.services import HttpServices
from ratify.infra.db import migrate_all
from ratify.infra.devserver import bin_path
from ratify.processes.worker import build_worker
from ratify.services.identity.directory import Directory
from ratify.services.journal import CaseJournal
from ratify.services.reconcile import (
    Difference,
    EndedWorkflow,
    ReconcileReport,
    decision_workflow_ids,
    differences,
    reconcile,
)
from tests import factories as f
from tests.keys import signer
from tests.workflows.lifecycle import CaseRun, Harness
from tests.workflows.test_decision import BASIC, approve_as_dmpc
from workflows import messages as m


@pytest_asyncio.fixture(loop_scope="session")
async def live(tmp_path: Path) -> AsyncIterator[Harness]:
    """A dev server, a fresh SQLite store, and a worker on both."""
    env = await WorkflowEnvironment.start_local(
        data_converter=pydantic_data_converter,
        dev_server_existing_path=bin_path("temporal"),
        dev_server_startup_timeout=timedelta(seconds=60),
        dev_server_log_level="error",
        interceptors=[signer()],
    )
    url = f"sqlite:///{tmp_path / 'events.db'}"
    migrate(url)
    store = EventStore.from_url(url)
    task_queue = f"ratify-reconcile-{uuid.uuid4().hex[:8]}"
    try:
        async with build_worker(env.client, store, task_queue=task_queue):
            yield Harness(env=env, store=store, task_queue=task_queue)
    finally:
        store.close()
        await env.shutdown()


async def listed(client: Client, ids: list[str], timeout: float = 10.0) -> None:
    """Wait until visibility lists every one of these workflows (it lags their start)."""
    deadline = time.monotonic() + timeout
    while not set(ids) <= set(await decision_workflow_ids(client)):
        assert time.monotonic() < deadline, f"not all of {ids} listed in {timeout:.0f} s"
        await asyncio.sleep(0.05)


def tamper(store: EventStore, case_id: str, version: int, change: Callable[[Any], None]) -> None:
    """Edit a stored event's data in place, behind the store's back (hash left as it was)."""
    where = (events.c.stream_id == case_id) & (events.c.version == version)
    with store.engine.begin() as conn:
        data = json.loads(conn.execute(sa.select(events.c.data).where(where)).scalar_one())
        change(data)
        conn.execute(sa.update(events).where(where).values(data=json.dumps(data, sort_keys=True)))


async def in_advice(live: Harness) -> Any:
    """A case in the advice stage: finance has signed off (with a comment), legal has not."""
    run = await live.start()
    await run.act("submit", m.Submit(actor=f.OFFICER))
    await live.through_advice_after_submit(run, [])
    await run.act("sign_off", m.SignOff(actor=f.FINANCE, area="finance", comment="Funded."))
    return run


async def test_workflows_and_store_that_agree_reconcile_clean(live: Harness):
    draft = await live.start()
    advice = await in_advice(live)
    assert (await draft.state()).stage is Stage.DRAFT
    assert (await advice.state()).stage is Stage.ADVICE
    await listed(live.env.client, [draft.case_id, advice.case_id])

    report = await reconcile(live.env.client, live.store)

    assert report == ReconcileReport(
        checked=2,
        compared=2,
        differences=[],
        cases_without_workflow=[],
        workflows_without_case=[],
    )
    assert report.ok


async def test_a_tampered_event_is_reported_by_case_and_field_with_both_values(live: Harness):
    draft = await live.start()
    advice = await in_advice(live)
    untouched = await live.start()
    await listed(live.env.client, [draft.case_id, advice.case_id, untouched.case_id])
    # The title in case.drafted, and the comment of the finance sign-off (version 5).
    tamper(live.store, draft.case_id, 1, lambda d: d["case"].update(title="Tampered title"))
    assert live.store.read_stream(advice.case_id)[4].event_type == "advice.signed_off"
    tamper(live.store, advice.case_id, 5, lambda d: d.update(comment="Not funded."))

    report = await reconcile(live.env.client, live.store)

    assert report.differences == [
        Difference(
            case_id=draft.case_id,
            field="case.title",
            workflow='"Test Case"',
            stored='"Tampered title"',
        ),
        Difference(
            case_id=advice.case_id,
            field="signoffs.finance.note",
            workflow='"Funded."',
            stored='"Not funded."',
        ),
    ]
    assert (report.checked, report.compared) == (3, 3)
    assert report.cases_without_workflow == report.workflows_without_case == []
    assert not report.ok
    assert f"{draft.case_id}: case.title" in str(report)


async def test_a_workflow_whose_case_is_gone_from_the_store_is_reported(live: Harness):
    kept = await live.start()
    gone = await in_advice(live)
    await listed(live.env.client, [kept.case_id, gone.case_id])
    with live.store.engine.begin() as conn:
        deleted = conn.execute(sa.delete(events).where(events.c.stream_id == gone.case_id))
    assert deleted.rowcount == 5

    report = await reconcile(live.env.client, live.store)

    assert report.workflows_without_case == [gone.case_id]
    assert (report.checked, report.compared) == (1, 1)
    assert report.differences == report.cases_without_workflow == []
    assert not report.ok
    # The listing is a step of its own: known ids can be given instead.
    given = await reconcile(
        live.env.client, live.store, workflow_ids=[kept.case_id, gone.case_id], wait=0.1
    )
    assert given == report


async def test_a_stored_case_with_no_workflow_is_reported_and_a_closed_one_is_not(
    live: Harness,
):
    running = await live.start()
    closed = await live.start()
    await closed.act("withdraw", m.Withdraw(actor=f.OFFICER, reason="No longer needed."))
    assert (await closed.outcome()).stage == "withdrawn"
    orphan = f"case-{uuid.uuid4().hex[:12]}"
    drafted = ev.CaseDrafted(
        event_id=uuid.uuid4(),
        case_id=orphan,
        occurred_at=datetime.now(UTC),
        actor=f.OFFICER,
        case=f.make_case(),
    )
    CaseJournal(live.store).record(orphan, [drafted])
    await listed(live.env.client, [running.case_id, closed.case_id])

    report = await reconcile(live.env.client, live.store)

    assert report.cases_without_workflow == [orphan]
    # The closed workflow counts as the case's workflow, but only running ones are compared.
    assert (report.checked, report.compared) == (3, 1)
    assert report.differences == report.workflows_without_case == []
    assert not report.ok


async def ended_outside_ratify(run: CaseRun, how: str) -> None:
    """End a case's workflow as an operator would with `temporal workflow terminate|cancel`."""
    if how == "terminate":
        await run.handle.terminate(reason="ended by hand")
    else:
        await run.handle.cancel()
    with pytest.raises(WorkflowFailureError):
        await run.handle.result()


async def test_a_case_whose_workflow_was_terminated_or_cancelled_is_reported(live: Harness):
    """`temporal workflow terminate` (or cancel) ends a live case: it takes no more steps, so
    reconciling must say so rather than pass it as a closed workflow."""
    terminated = await live.start()
    cancelled = await in_advice(live)
    running = await live.start()
    withdrawn = await live.start()
    await withdrawn.act("withdraw", m.Withdraw(actor=f.OFFICER, reason="No longer needed."))
    assert (await withdrawn.outcome()).stage == "withdrawn"
    today = await live.today()
    part2 = {
        "security_marking": "OFFICIAL-SENSITIVE [COMMERCIAL]",
        "foi_sections": ["s43 Commercial interests"],
        "review_on": (today + timedelta(days=400)).isoformat(),
        "content": "Prices.",
    }
    approved = await live.start(f.make_case(part2=part2))
    await live.through_advice(approved, BASIC)
    assert (await approve_as_dmpc(approved)).stage == "approved"
    review = live.part2_review(approved.case_id)
    await ended_outside_ratify(terminated, "terminate")
    await ended_outside_ratify(cancelled, "cancel")
    await review.terminate(reason="ended by hand")
    ids = [r.case_id for r in (terminated, cancelled, running, withdrawn, approved)]
    await listed(live.env.client, ids)

    report = await reconcile(live.env.client, live.store)

    assert report.ended_workflows == [
        EndedWorkflow(
            case_id=terminated.case_id,
            workflow_id=terminated.case_id,
            status="TERMINATED",
            awaiting="the case is open at stage draft",
        ),
        EndedWorkflow(
            case_id=cancelled.case_id,
            workflow_id=cancelled.case_id,
            status="CANCELED",
            awaiting="the case is open at stage advice",
        ),
        EndedWorkflow(
            case_id=approved.case_id,
            workflow_id=f"part2-review-{approved.case_id}",
            status="TERMINATED",
            awaiting="its Part 2 review is still to come",
        ),
    ]
    assert not report.ok
    assert (report.checked, report.compared) == (5, 1)
    assert report.differences == report.cases_without_workflow == []
    assert report.workflows_without_case == report.not_queried == []
    assert (
        f"{terminated.case_id}: workflow ended (TERMINATED) while the case is open at stage draft"
        in str(report)
    )


async def test_a_store_ahead_of_its_workflow_is_rechecked_then_reported(live: Harness):
    run = await live.start()
    await listed(live.env.client, [run.case_id])
    # An event stored as if by the workflow's activity, whose answer the workflow never gets.
    irregularity = ev.IrregularityRecorded(
        event_id=uuid.uuid4(),
        case_id=run.case_id,
        occurred_at=datetime.now(UTC),
        actor=f.SECRETARIAT,
        description="Recorded behind the workflow's back.",
    )
    CaseJournal(live.store).record(run.case_id, [irregularity])

    started = time.monotonic()
    report = await reconcile(live.env.client, live.store, attempts=3, wait=0.2)
    took = time.monotonic() - started

    assert took >= 0.4  # two re-checks, 0.2 s apart, before reporting
    # When the case's latest step happened moves with it (a timestamp either side).
    moved = [d for d in report.differences if d.field == "last_step_at"]
    assert len(moved) == 1 and moved[0].workflow != moved[0].stored
    assert [d for d in report.differences if d.field != "last_step_at"] == [
        Difference(case_id=run.case_id, field="version", workflow="1", stored="2"),
        Difference(
            case_id=run.case_id,
            field="irregularities.0",
            workflow="(absent)",
            stored='"Recorded behind the workflow\'s back."',
        ),
        Difference(
            case_id=run.case_id,
            field="irregularities_by.0",
            workflow="(absent)",
            stored=f'"{f.SECRETARIAT.user_id}"',
        ),
    ]


async def test_reconciling_while_actions_are_in_flight_reports_no_false_difference(
    live: Harness,
):
    """Each action stores its event a moment before the workflow adopts it; reconciling
    in that moment must re-check, not report. (With `attempts=1` about half of these
    reconciliations report the store one step ahead.)"""
    run = await live.start()
    await listed(live.env.client, [run.case_id])

    async def act_with_pauses() -> None:
        await run.act("submit", m.Submit(actor=f.OFFICER))
        await asyncio.sleep(0.1)
        today = await live.today()
        await run.act(
            "place_on_agenda",
            m.PlaceOnAgenda(actor=f.SECRETARIAT, meeting_id="M", meeting_date=today, board="IAM"),
        )
        await asyncio.sleep(0.1)
        await run.act(
            "record_board_advice",
            m.RecordBoardAdvice(actor=f.SECRETARIAT, meeting_id="M", advice="supported"),
        )
        for actor, area in [(f.FINANCE, "finance"), (f.LEGAL, "legal")]:
            await asyncio.sleep(0.1)
            await run.act("sign_off", m.SignOff(actor=actor, area=area))

    acting = asyncio.ensure_future(act_with_pauses())
    reports: list[ReconcileReport] = []
    versions_seen: set[int] = set()
    while not acting.done():
        reports.append(await reconcile(live.env.client, live.store, wait=0.05))
        versions_seen.add(live.store.stream_version(run.case_id))
    await acting
    assert len(versions_seen) >= 4, "reconciling did not overlap the actions"
    assert [r for r in reports if not r.ok] == []
    assert (await run.state()).version == 6


async def test_a_case_due_9999_12_31_takes_steps_and_one_unqueryable_case_stops_nothing(
    live: Harness,
):
    """A required-by date of 9999-12-31 (written before dates were bounded) once wedged its
    case: the deadline arithmetic overflowed in the workflow, every task failed, every step
    timed out, and reconciling stopped at the case for the whole store. Now the case has no
    reminders but takes its steps, and a case whose workflow cannot be queried is reported
    by name while the others are still reconciled."""
    far = await live.start(
        f.make_case(time_sensitivity={"required_by": "9999-12-31", "reason": "Far away."})
    )
    other = await in_advice(live)
    # A case whose workflow can never answer a query: its input does not load, so each of
    # its workflow tasks fails.
    broken = f"case-{uuid.uuid4().hex[:12]}"
    drafted = ev.CaseDrafted(
        event_id=uuid.uuid4(),
        case_id=broken,
        occurred_at=datetime.now(UTC),
        actor=f.OFFICER,
        case=f.make_case(),
    )
    CaseJournal(live.store).record(broken, [drafted])
    await live.env.client.start_workflow(
        "DecisionWorkflow", {"case_id": broken}, id=broken, task_queue=live.task_queue
    )
    await listed(live.env.client, [far.case_id, other.case_id, broken])

    report = await asyncio.wait_for(
        reconcile(live.env.client, live.store, wait=0.1, query_timeout=timedelta(seconds=2)), 60
    )

    assert [u.case_id for u in report.not_queried] == [broken]
    # Named by the kind of error only (the query timed out): never the error's text.
    assert report.not_queried[0].error.startswith("RPCError"), report
    assert (report.checked, report.compared) == (3, 2)
    assert report.differences == report.cases_without_workflow == []
    assert report.workflows_without_case == []
    assert not report.ok and f"not queried: {broken}" in str(report)

    done = await asyncio.wait_for(far.act("submit", m.Submit(actor=f.OFFICER)), 30)
    assert done.stage == "board"
    assert "deadline.reminder_sent" not in far.event_types()
    await far.assert_matches_store()


def test_differences_name_missing_entries_and_list_items_by_path():
    finance = SignOff(area=AdviceArea.FINANCE, status=SignOffStatus.SIGNED_OFF, by=f.FINANCE)
    stored = CaseState(case_id="c", version=3, irregularities=["one"])
    workflow = stored.model_copy(
        update={"signoffs": {AdviceArea.FINANCE: finance}, "irregularities": ["one", "two"]}
    )
    found = {d.field: (d.workflow, d.stored) for d in differences("c", workflow, stored)}
    assert set(found) == {"signoffs.finance", "irregularities.1"}
    assert found["irregularities.1"] == ('"two"', "(absent)")
    shown, absent = found["signoffs.finance"]
    assert json.loads(shown)["by"]["user_id"] == "fin.fran" and absent == "(absent)"
    assert differences("c", stored, stored) == []


# -- the front doors: `ratify audit reconcile|replay-workflows` and the API ----------------


async def test_the_cli_reconciles_and_replays_against_the_live_server(live: Harness):
    from typer.testing import CliRunner

    from ratify.cli.main import app

    advice = await in_advice(live)
    await listed(live.env.client, [advice.case_id])
    address = live.env.client.service_client.config.target_host
    url = str(live.store.engine.url)
    runner = CliRunner()

    def cli(*args: str) -> Any:
        return runner.invoke(
            app, ["--database-url", url, "audit", *args, "--temporal-address", address]
        )

    clean = await asyncio.to_thread(cli, "reconcile")
    assert clean.exit_code == 0, clean.output
    assert "ok: the workflows agree with the record" in clean.stdout
    replayed = await asyncio.to_thread(cli, "replay-workflows", "--json")
    assert replayed.exit_code == 0, replayed.output
    assert json.loads(replayed.stdout) == {"replayed": 1, "failures": {}}

    tamper(live.store, advice.case_id, 1, lambda d: d["case"].update(title="Tampered title"))
    dirty = await asyncio.to_thread(cli, "reconcile")
    assert dirty.exit_code == 1
    assert (
        f'DIFFERS: {advice.case_id}: case.title: workflow "Test Case", stored "Tampered title"'
        in dirty.stdout
    )
    ended = await live.start()
    await listed(live.env.client, [ended.case_id])
    await ended_outside_ratify(ended, "terminate")
    told = await asyncio.to_thread(cli, "reconcile")
    assert told.exit_code == 1
    assert (
        f"WORKFLOW ENDED: {ended.case_id}: workflow ended (TERMINATED) while the case is open "
        "at stage draft: tell an operator" in told.stdout
    )
    unreachable = await asyncio.to_thread(
        runner.invoke,
        app,
        ["--database-url", url, "audit", "reconcile", "--temporal-address", "127.0.0.1:1"],
    )
    assert (
        unreachable.exit_code == 1 and "cannot reach Temporal at 127.0.0.1:1" in unreachable.stderr
    )


async def test_the_api_reconciles_and_replays_for_auditors_only(live: Harness, tmp_path: Path):
    advice = await in_advice(live)
    await listed(live.env.client, [advice.case_id])
    url = str(live.store.engine.url)
    migrate_all(url)
    engine = create_engine_for(url)
    directory = Directory(engine)
    directory.add_user("aud.ann", "Ann", [Role.AUDITOR])
    directory.add_user("fran.fin", "Fran", [Role.FINANCE_ADVISER])
    directory.add_user(f.OFFICER.user_id, "Ollie", [Role.ORIGINATING_OFFICER])
    tokens = {
        u: directory.create_token(u, "t")[1] for u in ("aud.ann", "fran.fin", f.OFFICER.user_id)
    }
    services = HttpServices(
        store=live.store,
        engine=engine,
        client=live.env.client,
        directory=directory,
        workflow_settings=m.Settings(),
        task_queue=live.task_queue,
    )
    transport = httpx.ASGITransport(app=create_app(services))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://ratify") as http:

            async def get(user: str, path: str) -> httpx.Response:
                auth = {"Authorization": f"Bearer {tokens[user]}"}
                return await http.get(path, headers=auth)

            body = (await get("aud.ann", "/audit/reconcile")).json()
            assert body["ok"] and body["compared"] == 1, body
            tamper(live.store, advice.case_id, 5, lambda d: d.update(comment="Not funded."))
            body = (await get("aud.ann", "/audit/reconcile")).json()
            assert not body["ok"]
            assert [(d["case_id"], d["field"]) for d in body["differences"]] == [
                (advice.case_id, "signoffs.finance.note")
            ]
            replay = (await get("aud.ann", "/audit/replay")).json()
            assert replay == {"replayed": 1, "failures": {}, "ok": True}
            refused = await get("fran.fin", "/audit/reconcile")
            assert refused.status_code == 403 and "only auditors" in refused.json()["detail"]

            # a case whose workflow an operator terminated: reported, and its steps say why
            ended = await live.start()
            await listed(live.env.client, [ended.case_id])
            await ended_outside_ratify(ended, "terminate")
            body = (await get("aud.ann", "/audit/reconcile")).json()
            assert not body["ok"]
            assert body["ended_workflows"] == [
                {
                    "case_id": ended.case_id,
                    "workflow_id": ended.case_id,
                    "status": "TERMINATED",
                    "awaiting": "the case is open at stage draft",
                }
            ]
            step = await http.post(
                f"/cases/{ended.case_id}/actions/submit",
                json={},
                headers={"Authorization": f"Bearer {tokens[f.OFFICER.user_id]}"},
            )
            assert step.status_code == 422, step.text
            assert step.json()["detail"] == (
                f"case {ended.case_id} is in draft, but its workflow was ended outside Ratify: "
                "it takes no steps until an operator restores it; tell an operator "
                "(`ratify audit reconcile` lists it)"
            )
    finally:
        engine.dispose()
