"""Checks before submission in the decision workflow: a submission with an open check is
refused naming it; the officer acknowledges it with a reason (an event in the history);
then the submission is accepted."""

from __future__ import annotations

from domain.case import Case
from domain.fold.checks import current_checks
from domain.rules.findings import Severity
from tests import factories as f
from tests.workflows.lifecycle import Harness
from workflows import messages as m
from workflows.decision import SUBMISSION_CHECKS_PATCH


def mismatched() -> Case:
    data = f.case_data()
    data["money_lines"] = [{**data["money_lines"][0], "id": "M1"}]
    data["recommendations"] = [
        {"number": 1, "text": "Approve £650,000.", "covers": ["M1"], "amount": "650000"}
    ]
    return Case.model_validate(data)


async def test_submit_is_refused_until_the_check_is_acknowledged(harness: Harness):
    run = await harness.start(mismatched())
    state = await run.state()
    [check] = current_checks(state, await harness.today())
    assert check.severity is Severity.ACKNOWLEDGE

    message = await run.refused("submit", m.Submit(actor=f.OFFICER), "checks_open")
    assert "Recommendation 1 states £650,000" in message and check.key in message

    # Not a check that can be acknowledged: refused before anything is written.
    await run.refused(
        "acknowledge_check",
        m.AcknowledgeCheck(actor=f.OFFICER, check="figures:0123456789ab", reason="No."),
        "invalid",
    )
    reason = "The £50,000 contingency is held in the reserve."
    result = await run.act(
        "acknowledge_check", m.AcknowledgeCheck(actor=f.OFFICER, check=check.key, reason=reason)
    )
    assert [e.event_type for e in result.events] == ["case.check_acknowledged"]
    await run.refused(
        "acknowledge_check",
        m.AcknowledgeCheck(actor=f.OFFICER, check=check.key, reason=reason),
        "already_done",
    )

    await run.act("submit", m.Submit(actor=f.OFFICER))
    assert run.event_types() == ["case.drafted", "case.check_acknowledged", "case.submitted"]
    stored = harness.store.read_stream(run.case_id)[1]
    assert stored.data["check"] == check.key
    assert stored.data["reason"] == reason
    assert (stored.data["subject"], stored.data["message"]) == (check.subject, check.message)
    state = await run.assert_matches_store()
    assert state.acknowledgements[check.key].by == f.OFFICER

    history = await run.handle.fetch_history()
    patches = [
        payload.data
        for e in history.events
        if e.marker_recorded_event_attributes.marker_name == "core_patch"
        for payload in e.marker_recorded_event_attributes.details["patch-data"].payloads
    ]
    assert any(SUBMISSION_CHECKS_PATCH.encode() in data for data in patches), patches
