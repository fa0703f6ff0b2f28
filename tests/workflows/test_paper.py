"""Steps taken on paper, recorded by a records officer for the person who took them: judged
as if that person had taken them on that date, late or on time by that date, disputable."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from domain.events import Evidence, EvidenceKind
from domain.roles import Actor, Role
from domain.state import Stage
from tests import factories as f
from tests.workflows.lifecycle import CaseRun, Harness
from tests.workflows.test_decision import BASIC
from workflows import messages as m

RECORDS = "rec.rory"
FORM = Evidence(kind=EvidenceKind.SIGNED_FORM, reference="DMPC form, scan 0042")


async def now(harness: Harness, by: str = RECORDS) -> m.OnPaper:
    """A step on paper dated the moment it is recorded (no later: not in the future)."""
    return paper(await harness.now(), by)


def paper(day: date | datetime, by: str = RECORDS) -> m.OnPaper:
    return m.OnPaper(effective_at=day, recorded_by=by, evidence=FORM)


async def at_decision(harness: Harness, required_in_days: int = 10) -> tuple[CaseRun, date]:
    """A DMPC case required by `required_in_days` from today, awaiting the decision (the
    DMPC declared no interest today, in Ratify); returns it and its required-by date."""
    today = await harness.today()
    required_by = today + timedelta(days=required_in_days)
    run = await harness.start(
        f.make_case(
            time_sensitivity={"required_by": required_by.isoformat(), "reason": "Year end."}
        )
    )
    await harness.through_advice(run, BASIC)
    await run.act("consult_chief_executive", m.ConsultChiefExecutive(actor=f.CEO))
    await run.act("declare_interests", m.DeclareInterests(actor=f.DMPC, has_interest=False))
    return run, required_by


async def test_a_paper_signature_is_on_time_by_its_date_though_recorded_after_the_deadline(
    harness: Harness,
):
    run, required_by = await at_decision(harness)
    # Ratify notices the deadline pass; the form signed before it arrives a few days later.
    await harness.env.sleep(timedelta(days=14))
    assert (await run.state()).deadline_missed
    signed = required_by - timedelta(days=1)
    result = await run.act(
        "decide",
        m.Decide(actor=f.DMPC, approve=True, comment="Approved.", on_paper=paper(signed)),
    )
    assert [e.event_type for e in result.events] == ["decision.approved"]
    version = result.events[0].version
    outcome = await run.outcome()
    assert outcome.reference == "PCD 1" and outcome.stage == Stage.APPROVED.value
    assert not outcome.late
    assert outcome.decided_at is not None and outcome.decided_at.date() == signed
    stored = next(e for e in harness.store.read_stream(run.case_id) if e.version == version)
    assert stored.event_type == "decision.approved"
    assert (stored.actor_id, stored.actor_role) == (f.DMPC.user_id, "dmpc")
    assert stored.data["provenance"]["recorded_by"] == RECORDS
    assert stored.data["provenance"]["evidence"]["reference"] == "DMPC form, scan 0042"
    state = await run.assert_matches_store()
    assert [(p.version, p.actor.user_id, p.recorded_by) for p in state.paper_steps] == [
        (version, f.DMPC.user_id, RECORDS)
    ]
    # The DMPC is told, by name, that a step was recorded for them, and how to dispute it.
    notes = harness.store.read_stream(f"notifications-{run.case_id}")
    told = [n.data for n in notes if n.data["kind"] == "recorded_on_paper"]
    assert [(n["to_user"], n["to_role"]) for n in told] == [(f.DMPC.user_id, "dmpc")]
    assert f"version {version}" in told[0]["body"] and RECORDS in told[0]["body"]


async def test_a_paper_signature_dated_after_the_deadline_is_late(harness: Harness):
    run, required_by = await at_decision(harness)
    await harness.env.sleep(timedelta(days=14))
    signed = required_by + timedelta(days=3)
    await run.act("decide", m.Decide(actor=f.DMPC, approve=True, on_paper=paper(signed)))
    outcome = await run.outcome()
    assert outcome.late
    assert outcome.decided_at is not None and outcome.decided_at.date() == signed


async def test_paper_steps_are_refused_out_of_date_order_of_stage_or_of_people(
    harness: Harness,
):
    today = await harness.today()
    run = await harness.start()
    await run.act("submit", m.Submit(actor=f.OFFICER))
    # stage order: the decision cannot come before the board and the advice
    msg = await run.refused(
        "decide",
        m.Decide(actor=f.DMPC, approve=True, on_paper=await now(harness)),
        "wrong_stage",
    )
    assert "the case is" in msg
    await harness.through_advice_after_submit(run, [(f.FINANCE, "finance")])
    # four-eyes: the officer who drafted the case, recorded as signing off legal advice
    as_adviser = Actor(user_id=f.OFFICER.user_id, role=Role.LEGAL_ADVISER)
    msg = await run.refused(
        "sign_off",
        m.SignOff(actor=as_adviser, area="legal", on_paper=await now(harness)),
        "four_eyes",
    )
    assert f.OFFICER.user_id in msg and "four-eyes" in msg
    # dated in the future
    msg = await run.refused(
        "sign_off",
        m.SignOff(actor=f.LEGAL, area="legal", on_paper=paper(today + timedelta(days=1))),
        "effective_in_future",
    )
    assert msg.startswith("effective_at:") and "in the future" in msg
    # dated before the previous step (the finance sign-off, today)
    msg = await run.refused(
        "sign_off",
        m.SignOff(actor=f.LEGAL, area="legal", on_paper=paper(today - timedelta(days=1))),
        "effective_before_previous_step",
    )
    assert msg.startswith("effective_at:") and "before the case's previous step" in msg
    # a records officer may not record for themself, nor on a case they took part in
    await run.refused(
        "sign_off",
        m.SignOff(actor=f.LEGAL, area="legal", on_paper=await now(harness, by=f.LEGAL.user_id)),
        "records_officer_conflict",
    )
    await run.refused(
        "sign_off",
        m.SignOff(actor=f.LEGAL, area="legal", on_paper=await now(harness, by=f.FINANCE.user_id)),
        "records_officer_conflict",
    )
    # the same step, in order, by someone who took no part: accepted
    result = await run.act(
        "sign_off", m.SignOff(actor=f.LEGAL, area="legal", on_paper=await now(harness))
    )
    assert result.events[0].event_type == "advice.signed_off"


async def test_the_person_recorded_for_and_only_they_dispute_a_paper_step(harness: Harness):
    run = await harness.start()
    await harness.through_advice(run, [(f.FINANCE, "finance")])
    signed = await run.act(
        "sign_off", m.SignOff(actor=f.LEGAL, area="legal", on_paper=await now(harness))
    )
    version = signed.events[0].version
    await run.refused(
        "dispute",
        m.Dispute(actor=f.FINANCE, version=version, reason="Not mine to dispute."),
        "not_yours",
    )
    await run.refused(
        "dispute",
        m.Dispute(actor=f.LEGAL, version=version - 1, reason="Wrong step."),
        "not_found",
    )
    result = await run.act(
        "dispute",
        m.Dispute(actor=f.LEGAL, version=version, reason="I signed it on the 3rd, not today."),
    )
    assert [e.event_type for e in result.events] == ["step.disputed"]
    state = await run.assert_matches_store()
    assert [(d.version, d.by.user_id, d.reason) for d in state.disputes] == [
        (version, f.LEGAL.user_id, "I signed it on the 3rd, not today.")
    ]
    # the case goes on: a dispute is a record for the auditors, not a step of the case
    assert state.stage is Stage.ADVICE
    await run.refused(
        "dispute",
        m.Dispute(actor=f.LEGAL, event_id=signed.events[0].event_id, reason="Again."),
        "already_done",
    )
