"""The two seed decisions run end to end: board meeting, sign-offs, decision, publication,
and the Part 2 review years later (fire, extend once, fire again, publish)."""

from __future__ import annotations

from datetime import date, timedelta

from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from domain.register import REDACTED
from domain.roles import Actor, Role
from domain.state import Part1Status, Part2Status
from tests import factories as f
from tests.published import published_register
from tests.workflows.lifecycle import CaseRun, Harness, example, shift_dates
from workflows import messages as m

IA = Actor(user_id="ia.ian", role=Role.INFORMATION_ASSURANCE_ADVISER)
COMMERCIAL = Actor(user_id="com.cat", role=Role.COMMERCIAL_ADVISER)


async def _through_meeting(harness: Harness, run: CaseRun, meeting_id: str) -> None:
    meeting = await harness.start_meeting(meeting_id, await harness.today())
    await run.act("submit", m.Submit(actor=f.OFFICER))
    await meeting.execute_update(
        "add_case",
        m.AddToAgenda(actor=f.SECRETARIAT, case_id=run.case_id),
        result_type=m.ActionResult,
    )
    await meeting.execute_update(
        "record_advice",
        m.RecordCaseAdvice(actor=f.SECRETARIAT, case_id=run.case_id, advice="supported"),
        result_type=m.ActionResult,
    )
    await meeting.execute_update(
        "close", m.CloseMeeting(actor=f.SECRETARIAT), result_type=m.MeetingView
    )
    # Wait for the meeting to finish: a workflow left mid-task when this test's worker
    # stops would hold back the shared test server's clock for the tests after it.
    await harness.finished(meeting)


async def _decide(run: CaseRun) -> m.DecisionOutcome:
    await run.act("consult_chief_executive", m.ConsultChiefExecutive(actor=f.CEO))
    await run.act("declare_interests", m.DeclareInterests(actor=f.DMPC, has_interest=False))
    await run.act("decide", m.Decide(actor=f.DMPC, approve=True))
    return await run.outcome()


async def _review(handle: WorkflowHandle, outcome: m.Part2Outcome) -> m.ActionResult:
    result: m.ActionResult = await handle.execute_update(
        "review", outcome, result_type=m.ActionResult
    )
    return result


async def test_pcd_679_data_environment_solution_end_to_end(harness: Harness):
    today = await harness.today()
    des = example("pcd-679-data-environment-solution.yaml")
    assert des.time_sensitivity is not None and des.part2 is not None
    delta = (today + timedelta(days=20) - des.time_sensitivity.required_by).days
    case = shift_dates(des, delta)
    run = await harness.start(case, settings=m.Settings(first_reference=679))
    await _through_meeting(harness, run, "IAM-DES")
    await run.act("sign_off", m.SignOff(actor=f.FINANCE, area="finance"))
    await run.act(
        "advice_not_required",
        m.AdviceNotRequired(actor=f.LEGAL, area="legal", reason="Legal advice is not required."),
    )
    await run.act("sign_off", m.SignOff(actor=COMMERCIAL, area="commercial"))
    await run.act("sign_off", m.SignOff(actor=f.EQUALITIES, area="equalities"))
    await run.act("sign_off", m.SignOff(actor=IA, area="information_assurance"))
    outcome = await _decide(run)
    assert outcome.reference == "PCD 679" and not outcome.late
    state = await run.assert_matches_store()
    assert state.routing is not None and state.routing.paragraphs == ["para 4.8", "para 4.13"]
    assert state.routing.regulations_engaged
    assert state.part1 is Part1Status.PUBLISHED and state.part2 is Part2Status.EXEMPT
    published = harness.store.read_stream(run.case_id)[-1]
    entry = published.data["entry"]
    assert (entry["reference"], entry["title"]) == ("PCD 679", des.title)
    assert "part2" not in str(published.data) and des.part2.content not in str(published.data)

    # Part 2 review, ten years on: fire, extend once, fire again, publish.
    review = harness.part2_review(run.case_id)
    review_date = case.part2.review_date  # type: ignore[union-attr]
    await harness.env.sleep(timedelta(days=(review_date - today).days + 1))
    extended_to = review_date + timedelta(days=365 * 2)
    await _review(
        review,
        m.Part2Outcome(
            actor=f.PUBLISHER,
            outcome="extend",
            reason="The MPS asks for two more years.",
            new_review_date=extended_to,
        ),
    )
    await harness.env.sleep(timedelta(days=365 * 2 + 1))
    await _review(
        review, m.Part2Outcome(actor=f.PUBLISHER, outcome="publish", reason="No longer sensitive.")
    )
    result = await review.result()
    assert (result.outcome, result.extensions) == ("publish", 1)

    assert run.event_types() == [
        "case.drafted",
        "case.submitted",
        "board.placed_on_agenda",
        "board.advice_recorded",
        "advice.signed_off",
        "advice.not_required",
        "advice.signed_off",
        "advice.signed_off",
        "advice.signed_off",
        "ceo.consulted",
        "decision.interests_declared",
        "decision.approved",
        "publication.part1_published",
        "part2.review_due",
        "part2.exemption_extended",
        "part2.review_due",
        "part2.published",
    ]
    stored = run.stored()
    assert stored.part2 is Part2Status.PUBLISHED and stored.part2_extensions == 1
    [on_register] = published_register(harness.store)
    assert on_register.entry.reference == "PCD 679"
    assert on_register.part2 == case.part2.content  # type: ignore[union-attr]
    assert harness.store.verify_all().ok


async def test_mettrace_end_to_end_with_part2_published_redacted(harness: Harness):
    today = await harness.today()
    mettrace = example("mettrace.yaml")
    assert mettrace.part2 is not None
    case = shift_dates(mettrace, (today - date(2019, 7, 1)).days)
    run = await harness.start(case, settings=m.Settings(first_reference=400))
    await _through_meeting(harness, run, "IAB-METTRACE")
    for actor, area in [
        (f.FINANCE, "finance"),
        (f.LEGAL, "legal"),
        (COMMERCIAL, "commercial"),
        (f.EQUALITIES, "equalities"),
        (IA, "information_assurance"),
    ]:
        await run.act("sign_off", m.SignOff(actor=actor, area=area))
    outcome = await _decide(run)
    assert outcome.reference == "PCD 400"
    state = await run.assert_matches_store()
    assert state.routing is not None and state.routing.paragraphs == ["para 4.13"]

    review = harness.part2_review(run.case_id)
    review_date = case.part2.review_date  # type: ignore[union-attr]
    try:
        await _review(review, m.Part2Outcome(actor=f.PUBLISHER, outcome="publish", reason="x"))
        raise AssertionError("a Part 2 review was accepted before it was due")
    except WorkflowUpdateFailedError as exc:
        assert isinstance(exc.cause, ApplicationError)
        assert exc.cause.message == "no Part 2 review is due yet"
    await harness.env.sleep(timedelta(days=(review_date - today).days + 1))
    text = case.part2.content  # type: ignore[union-attr]
    passage = text.split()[0]
    await _review(
        review,
        m.Part2Outcome(
            actor=f.PUBLISHER,
            outcome="redact",
            reason="Contract completed; names withheld.",
            redactions=[{"passage": passage, "reason": "s43 still applies"}],
        ),
    )
    assert (await review.result()).outcome == "redact"
    last = harness.store.read_stream(run.case_id)[-1]
    assert last.event_type == "part2.published_redacted"
    assert REDACTED in last.data["content"] and passage not in last.data["content"].split()[0]
    assert run.stored().part2 is Part2Status.PUBLISHED_REDACTED
