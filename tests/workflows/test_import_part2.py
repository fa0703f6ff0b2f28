"""An imported decision with Part 2: its review workflow is started as the decision
workflow would have started it; a review date already past opens the review at once."""

from __future__ import annotations

import asyncio
import shutil
from datetime import date, datetime, timedelta
from pathlib import Path

from domain.ids import part2_review_id
from domain.state import Part2Status
from ratify.services.importing import import_histories, read_sources, start_part2_reviews
from ratify.services.journal import CaseJournal
from ratify.services.reconcile import reconcile
from tests.workflows.lifecycle import Harness
from workflows.part2 import Part2ReviewWorkflow

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "import"


def _import(harness: Harness, folder: Path, now: datetime) -> list[tuple[str, date]]:
    histories, beside = read_sources(folder)
    report = import_histories(
        harness.store, histories, beside=beside, importer="admin.ada", now=now
    )
    assert [c.status for c in report.cases] == ["imported"]
    return report.reviews


async def test_a_future_review_date_sets_the_timer_and_a_past_one_opens_the_review(
    harness: Harness, tmp_path: Path
) -> None:
    now = await harness.now()
    today = await harness.today()
    future = tmp_path / "future"
    future.mkdir()
    shutil.copy(EXAMPLES / "pcd-700.history.yaml", future)
    reviews = _import(harness, future, now)
    client = harness.env.client
    started = await start_part2_reviews(client, reviews, task_queue=harness.task_queue, today=today)
    assert started == {"pcd-700": "review timer set for 2031-06-01"}
    handle = client.get_workflow_handle(part2_review_id("pcd-700"))
    assert (await handle.query(Part2ReviewWorkflow.status)).outcome == "waiting"
    again = await start_part2_reviews(client, reviews, task_queue=harness.task_queue, today=today)
    assert again == {"pcd-700": "review already started"}

    past = tmp_path / "past"
    past.mkdir()
    text = (EXAMPLES / "pcd-700.history.yaml").read_text()
    passed = (today - timedelta(days=30)).isoformat()
    text = (
        text.replace("PCD 700", "PCD 701")
        .replace("review_on: 2031-06-01", f"review_on: {passed}")
        .replace("part2_review_on: 2031-06-01", f"part2_review_on: {passed}")
    )
    (past / "pcd-701.history.yaml").write_text(text)
    reviews = _import(harness, past, now)
    started = await start_part2_reviews(client, reviews, task_queue=harness.task_queue, today=today)
    assert started == {"pcd-701": f"review task opened (review date {passed} has passed)"}
    journal = CaseJournal(harness.store)
    for _ in range(100):
        if journal.load("pcd-701").part2 is Part2Status.REVIEW_DUE:
            break
        await asyncio.sleep(0.1)
    assert journal.load("pcd-701").part2 is Part2Status.REVIEW_DUE
    assert journal.load("pcd-700").part2 is Part2Status.EXEMPT


async def test_reconcile_does_not_list_an_imported_case_for_its_missing_decision_workflow(
    harness: Harness, tmp_path: Path
) -> None:
    now = await harness.now()
    today = await harness.today()
    for name in ("pcd-512.history.yaml", "pcd-512.case.yaml", "pcd-700.history.yaml"):
        shutil.copy(EXAMPLES / name, tmp_path)
    histories, beside = read_sources(tmp_path)
    report = import_histories(
        harness.store, histories, beside=beside, importer="admin.ada", now=now
    )
    client = harness.env.client
    before = await reconcile(client, harness.store, workflow_ids=[], wait=0.1)
    assert before.cases_without_workflow == []
    # the Part 2 review is to come and not started yet: that is listed
    assert [(e.case_id, e.workflow_id) for e in before.ended_workflows] == [
        ("pcd-700", part2_review_id("pcd-700"))
    ]
    await start_part2_reviews(client, report.reviews, task_queue=harness.task_queue, today=today)
    after = await reconcile(client, harness.store, workflow_ids=[], wait=0.1)
    assert after.cases_without_workflow == [] and after.ended_workflows == []
