"""A required-by date already past is recorded as missed at its own date, never escalated
as news; a date still ahead keeps its reminders and escalation
(`test_decision.test_deadline_reminders_escalation_and_missed_with_a_bank_holiday`)."""

from __future__ import annotations

from datetime import datetime, timedelta

from domain.clock import LONDON, london_date
from tests import factories as f
from tests.workflows.lifecycle import Harness
from workflows import messages as m


def _deadline_records(harness: Harness, case_id: str) -> list[tuple[str, str | None]]:
    return [
        (e.event_type, e.data.get("effective_at"))
        for e in harness.store.read_stream(case_id)
        if e.event_type.startswith("deadline.") and e.event_type != "deadline.changed"
    ]


def _deadline_notes(harness: Harness, case_id: str) -> list[str]:
    notes = harness.store.read_stream(f"notifications-{case_id}")
    return [n.data["kind"] for n in notes if n.data["kind"] != "new_task"]


async def test_a_case_drafted_after_its_date_is_recorded_missed_at_that_date_only(
    harness: Harness,
):
    today = await harness.today()
    required_by = today - timedelta(days=5)
    run = await harness.start(
        f.make_case(
            time_sensitivity={"required_by": required_by.isoformat(), "reason": "Year end."}
        )
    )
    await run.act("submit", m.Submit(actor=f.OFFICER))
    await harness.env.sleep(timedelta(days=3))
    [(kind, effective)] = _deadline_records(harness, run.case_id)
    assert kind == "deadline.missed"
    assert effective is not None
    missed_at = datetime.fromisoformat(effective).astimezone(LONDON)
    # Missed at the end of its own day, not on the day the case was drafted.
    assert london_date(missed_at) == required_by and missed_at.hour == 23
    # No reminder, no escalation, and no one told of it as news.
    assert _deadline_notes(harness, run.case_id) == []
    state = await run.assert_matches_store()
    assert state.deadline_missed and not state.escalated and state.reminders_sent == []


async def test_a_date_changed_to_one_already_past_is_recorded_missed_without_escalation(
    harness: Harness,
):
    today = await harness.today()
    run = await harness.start(
        f.make_case(
            time_sensitivity={
                "required_by": (today + timedelta(days=40)).isoformat(),
                "reason": "Year end.",
            }
        )
    )
    await run.act("submit", m.Submit(actor=f.OFFICER))
    past = today - timedelta(days=2)
    await run.act(
        "change_required_by",
        m.ChangeRequiredBy(actor=f.OFFICER, required_by=past, reason="It was due last week."),
    )
    await harness.env.sleep(timedelta(days=50))
    records = _deadline_records(harness, run.case_id)
    assert [kind for kind, _ in records] == ["deadline.missed"]
    effective = records[0][1]
    assert effective is not None and london_date(datetime.fromisoformat(effective)) == past
    assert _deadline_notes(harness, run.case_id) == []
