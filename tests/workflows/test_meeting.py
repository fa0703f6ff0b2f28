"""Board meetings: cases join an agenda, the board's advice moves each decision on."""

from __future__ import annotations

from datetime import timedelta

import pytest
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from domain.state import Stage
from tests import factories as f
from tests.workflows.lifecycle import Harness
from workflows import messages as m


async def _refused(meeting, update: str, action: m.Action, code: str) -> str:
    with pytest.raises(WorkflowUpdateFailedError) as info:
        await meeting.execute_update(update, action, result_type=m.ActionResult)
    cause = info.value.cause
    assert isinstance(cause, ApplicationError)
    assert cause.type == code, cause.message
    return cause.message


async def test_a_deferred_case_goes_to_a_later_meeting(harness: Harness):
    today = await harness.today()
    first = await harness.start_meeting("IAM-1", today + timedelta(days=7))
    run = await harness.start()
    other = await harness.start()
    for case in (run, other):
        await case.act("submit", m.Submit(actor=f.OFFICER))
        await first.execute_update(
            "add_case",
            m.AddToAgenda(actor=f.SECRETARIAT, case_id=case.case_id),
            result_type=m.ActionResult,
        )
    assert (await run.state()).meeting_id == "IAM-1"
    msg = await _refused(
        first, "add_case", m.AddToAgenda(actor=f.SECRETARIAT, case_id=run.case_id), "already_done"
    )
    assert "already on this agenda" in msg
    msg = await _refused(
        first,
        "record_advice",
        m.RecordCaseAdvice(actor=f.SECRETARIAT, case_id=run.case_id, advice="supported"),
        "wrong_stage",
    )
    assert "its advice cannot be recorded before then" in msg
    await _refused(first, "add_case", m.AddToAgenda(actor=f.FINANCE, case_id="x"), "wrong_role")

    await harness.env.sleep(timedelta(days=7))  # the day of the meeting
    await first.execute_update(
        "record_advice",
        m.RecordCaseAdvice(
            actor=f.SECRETARIAT,
            case_id=run.case_id,
            advice="deferred",
            comment="Needs the options appraisal.",
        ),
        result_type=m.ActionResult,
    )
    await _refused(first, "close", m.CloseMeeting(actor=f.SECRETARIAT), "wrong_stage")
    await first.execute_update(
        "record_advice",
        m.RecordCaseAdvice(actor=f.SECRETARIAT, case_id=other.case_id, advice="supported"),
        result_type=m.ActionResult,
    )
    view = await first.execute_update(
        "close", m.CloseMeeting(actor=f.SECRETARIAT), result_type=m.MeetingView
    )
    assert [(i.case_id, i.advice) for i in view.agenda] == [
        (run.case_id, "deferred"),
        (other.case_id, "supported"),
    ]
    await harness.finished(first)
    assert (await run.state()).stage is Stage.BOARD
    assert (await other.state()).stage is Stage.ADVICE

    later = await harness.start_meeting("IAM-2", await harness.today())
    await later.execute_update(
        "add_case",
        m.AddToAgenda(actor=f.SECRETARIAT, case_id=run.case_id),
        result_type=m.ActionResult,
    )
    await later.execute_update(
        "record_advice",
        m.RecordCaseAdvice(
            actor=f.SECRETARIAT,
            case_id=run.case_id,
            advice="supported_with_conditions",
            conditions="Report back to IAM in six months.",
        ),
        result_type=m.ActionResult,
    )
    await later.execute_update(
        "close", m.CloseMeeting(actor=f.SECRETARIAT), result_type=m.MeetingView
    )
    await harness.finished(later)
    state = await run.state()
    assert state.stage is Stage.ADVICE
    assert state.board_conditions == "Report back to IAM in six months."
    types = run.event_types()
    assert types.count("board.placed_on_agenda") == 2 and types.count("board.advice_recorded") == 2


async def test_a_case_that_cannot_join_is_refused_with_the_decisions_reason(harness: Harness):
    meeting = await harness.start_meeting("IAM-3", await harness.today())
    draft = await harness.start()  # never submitted
    msg = await _refused(
        meeting,
        "add_case",
        m.AddToAgenda(actor=f.SECRETARIAT, case_id=draft.case_id),
        "wrong_stage",
    )
    assert msg == "the case cannot be placed on an agenda: the case is in draft"
    msg = await _refused(
        meeting,
        "add_case",
        m.AddToAgenda(actor=f.SECRETARIAT, case_id="case-does-not-exist"),
        "not_found",
    )
    assert "there is no open case case-does-not-exist" in msg
    assert (await meeting.query("view", result_type=m.MeetingView)).agenda == []
    await meeting.execute_update(
        "close", m.CloseMeeting(actor=f.SECRETARIAT), result_type=m.MeetingView
    )
    await harness.finished(meeting)
