"""The decision workflow end to end: every stage, refusals, and the state equals the store."""

from __future__ import annotations

from datetime import timedelta

from domain.case import Case
from domain.roles import Actor, AdviceArea, Role
from domain.state import Part1Status, SignOffStatus, Stage
from tests import factories as f
from tests.workflows.lifecycle import CaseRun, Harness
from workflows import messages as m

BASIC = [(f.FINANCE, "finance"), (f.LEGAL, "legal"), (f.EQUALITIES, "equalities")]


async def approve_as_dmpc(run: CaseRun) -> m.DecisionOutcome:
    await run.act("consult_chief_executive", m.ConsultChiefExecutive(actor=f.CEO))
    await run.act("declare_interests", m.DeclareInterests(actor=f.DMPC, has_interest=False))
    await run.act("decide", m.Decide(actor=f.DMPC, approve=True, comment="Approved."))
    return await run.outcome()


async def test_a_small_case_goes_from_draft_to_approved_and_published(harness: Harness):
    run = await harness.start()
    await harness.through_advice(run, BASIC)
    view = await run.view()
    assert view.state.stage is Stage.CHIEF_EXECUTIVE
    assert [t.role for t in view.tasks] == [Role.CHIEF_EXECUTIVE]
    await run.act("consult_chief_executive", m.ConsultChiefExecutive(actor=f.CEO))
    await run.act("declare_interests", m.DeclareInterests(actor=f.DMPC, has_interest=False))
    result = await run.act("decide", m.Decide(actor=f.DMPC, approve=True, comment="Approved."))
    assert [e.event_type for e in result.events] == ["decision.approved"]
    assert result.events[0].version == 10 and len(result.events[0].hash) == 64
    outcome = await run.outcome()
    assert outcome.reference == "PCD 1" and not outcome.late
    assert run.event_types() == [
        "case.drafted",
        "case.submitted",
        "board.placed_on_agenda",
        "board.advice_recorded",
        "advice.signed_off",
        "advice.signed_off",
        "advice.signed_off",
        "ceo.consulted",
        "decision.interests_declared",
        "decision.approved",
        "publication.part1_published",
    ]
    state = await run.assert_matches_store()
    assert state.part1 is Part1Status.PUBLISHED
    notes = harness.store.read_stream(f"notifications-{run.case_id}")
    told = {n.data["to_role"] for n in notes if n.data["kind"] == "new_task"}
    assert {
        "finance_adviser",
        "legal_adviser",
        "equalities_adviser",
        "chief_executive",
        "dmpc",
    } <= told
    assert len({n.event_id for n in notes}) == len(notes)


async def test_references_are_unique_and_gap_free_across_cases(harness: Harness):
    settings = m.Settings(first_reference=679)
    refs = []
    for _ in range(3):
        run = await harness.start(settings=settings)
        await harness.through_advice(run, BASIC)
        refs.append((await approve_as_dmpc(run)).reference)
    assert refs == ["PCD 679", "PCD 680", "PCD 681"]


async def test_send_back_and_re_sign_round_shows_both_rounds(harness: Harness):
    run = await harness.start()
    await harness.through_advice(run, [(f.FINANCE, "finance"), (f.EQUALITIES, "equalities")])
    await run.act(
        "request_changes",
        m.RequestChanges(
            actor=f.LEGAL,
            area="legal",
            reasons=["Cite paragraph 4.8."],
            sections=["legal_comments"],
        ),
    )
    message = await run.refused(
        "sign_off", m.SignOff(actor=f.FINANCE, area="finance"), "wrong_stage"
    )
    assert "the case was sent back for changes on" in message
    case = (await run.state()).case
    assert case is not None
    data = case.model_dump()
    data["legal_comments"] = "Paragraph 4.8 applies."
    data["money_lines"][0]["amount"] = "620000"
    revised = Case.model_validate(data)
    await run.act("revise", m.Revise(actor=f.OFFICER, case=revised, note="Legal and money"))
    state = await run.state()
    assert state.signoffs[AdviceArea.FINANCE].round == 2  # the money changed
    assert state.signoffs[AdviceArea.LEGAL].round == 2
    assert state.signoffs[AdviceArea.EQUALITIES].status is SignOffStatus.SIGNED_OFF
    await run.act("sign_off", m.SignOff(actor=f.FINANCE, area="finance"))
    await run.act("sign_off", m.SignOff(actor=f.LEGAL, area="legal"))
    await approve_as_dmpc(run)
    types = run.event_types()
    assert types.count("advice.signed_off") == 4  # finance twice, legal once, equalities once
    assert "advice.changes_requested" in types and "case.revised" in types
    await run.assert_matches_store()


async def test_extremis_route_needs_the_chairs_agreement(harness: Harness):
    run = await harness.start(f.make_case(board=None, extremis_reason="Funding lapses Friday."))
    await run.act("submit", m.Submit(actor=f.OFFICER))
    today = await harness.today()
    await run.refused(
        "place_on_agenda",
        m.PlaceOnAgenda(actor=f.SECRETARIAT, meeting_id="IAM-X", meeting_date=today, board="IAM"),
        "illegal_transition",
    )
    await run.refused(
        "agree_extremis", m.AgreeExtremis(actor=f.SECRETARIAT, reason="Urgent"), "wrong_role"
    )
    await run.act("agree_extremis", m.AgreeExtremis(actor=f.CHAIR, reason="Urgent."))
    for actor, area in BASIC:
        await run.act("sign_off", m.SignOff(actor=actor, area=area))
    await approve_as_dmpc(run)
    assert "board.extremis_agreed" in run.event_types()
    assert "board.placed_on_agenda" not in run.event_types()


async def test_withdrawal_ends_the_case_and_nothing_is_published(harness: Harness):
    run = await harness.start()
    await harness.through_advice(run, [(f.FINANCE, "finance")])
    await run.refused("withdraw", m.Withdraw(actor=f.FINANCE, reason="x"), "wrong_role")
    await run.act("withdraw", m.Withdraw(actor=f.OFFICER, reason="Funding found elsewhere."))
    outcome = await run.outcome()
    assert outcome.stage == "withdrawn" and outcome.reference is None
    assert run.event_types()[-1] == "case.withdrawn"
    assert harness.store.allocations("PCD") == {}


async def test_recusal_goes_to_the_configured_alternate(harness: Harness):
    settings = m.Settings(alternate_decision_maker="alt.al")
    run = await harness.start(settings=settings)
    await harness.through_advice(run, BASIC)
    await run.act("consult_chief_executive", m.ConsultChiefExecutive(actor=f.CEO))
    await run.act(
        "declare_interests",
        m.DeclareInterests(actor=f.DMPC, has_interest=True, details="A trustee of the supplier."),
    )
    view = await run.view()
    assert [(t.role, t.assignee) for t in view.tasks] == [(Role.ALTERNATE_DECISION_MAKER, "alt.al")]
    await run.refused("decide", m.Decide(actor=f.DMPC, approve=True), "wrong_role")
    someone = Actor(user_id="someone.else", role=Role.ALTERNATE_DECISION_MAKER)
    message = await run.refused(
        "declare_interests", m.DeclareInterests(actor=someone, has_interest=False), "wrong_role"
    )
    assert message == "the alternate decision maker is alt.al, not someone.else"
    await run.act("declare_interests", m.DeclareInterests(actor=f.ALTERNATE, has_interest=False))
    await run.act("decide", m.Decide(actor=f.ALTERNATE, approve=True))
    outcome = await run.outcome()
    assert outcome.reference == "PCD 1"
    state = await run.assert_matches_store()
    assert state.decided_by == f.ALTERNATE and state.recused == [f.DMPC]


async def test_declined_decision_takes_no_reference(harness: Harness):
    run = await harness.start()
    await harness.through_advice(run, BASIC)
    await run.act("consult_chief_executive", m.ConsultChiefExecutive(actor=f.CEO))
    await run.act("declare_interests", m.DeclareInterests(actor=f.DMPC, has_interest=False))
    msg = await run.refused("decide", m.Decide(actor=f.DMPC, approve=False), "invalid")
    assert "needs a comment" in msg
    await run.act("decide", m.Decide(actor=f.DMPC, approve=False, comment="Not affordable."))
    outcome = await run.outcome()
    assert (outcome.stage, outcome.reference) == ("declined", None)
    assert harness.store.allocations("PCD") == {}


async def test_mps_delegated_case_skips_the_ceo_and_the_register(harness: Harness):
    small = f.make_case(
        money_lines=[
            {
                "kind": "capital",
                "amount": "120000",
                "financial_years": ["2019/20"],
                "funding_source": "MPS capital",
            }
        ]
    )
    run = await harness.start(small)
    await harness.through_advice(run, BASIC)
    view = await run.view()
    assert view.state.stage is Stage.DECISION
    assert [t.role for t in view.tasks] == [Role.MPS_DECISION_MAKER]
    await run.act("decide", m.Decide(actor=f.MPS, approve=True))
    outcome = await run.outcome()
    assert outcome.reference is None
    assert "publication.part1_published" not in run.event_types()
    assert (await run.assert_matches_store()).part1 is Part1Status.NOT_DUE


async def test_every_refusal_reason_writes_nothing(harness: Harness):
    run = await harness.start()
    # wrong stage: nothing to sign before the board has advised
    msg = await run.refused("sign_off", m.SignOff(actor=f.FINANCE, area="finance"), "wrong_stage")
    assert msg == "finance sign-off cannot be given: the case is in draft"
    await harness.through_advice(run, [(f.FINANCE, "finance")])
    # wrong role
    msg = await run.refused("sign_off", m.SignOff(actor=f.EQUALITIES, area="legal"), "wrong_role")
    assert "only the legal adviser may do this" in msg
    # already done
    msg = await run.refused("sign_off", m.SignOff(actor=f.FINANCE, area="finance"), "already_done")
    assert "finance advice was already given by fin.fran" in msg
    # four-eyes: the submitting officer, holding the legal adviser role too
    same = Actor(user_id=f.OFFICER.user_id, role=Role.LEGAL_ADVISER)
    msg = await run.refused("sign_off", m.SignOff(actor=same, area="legal"), "four_eyes")
    assert "officer.ollie submitted this case on" in msg and "may not advise on it" in msg
    # stale: acting on a version of the case the person no longer sees
    version = (await run.state()).version
    msg = await run.refused(
        "sign_off", m.SignOff(actor=f.LEGAL, area="legal", expected_version=version - 1), "stale"
    )
    assert f"it is now at version {version}" in msg
    await run.act("sign_off", m.SignOff(actor=f.LEGAL, area="legal", expected_version=version))
    await run.act("sign_off", m.SignOff(actor=f.EQUALITIES, area="equalities"))
    await run.act("consult_chief_executive", m.ConsultChiefExecutive(actor=f.CEO))
    # the DMPC has not declared interests
    msg = await run.refused(
        "decide", m.Decide(actor=f.DMPC, approve=True), "interests_not_declared"
    )
    assert msg == "the decision cannot be approved: the DMPC has not declared interests"
    # a malformed action names the field
    msg = await run.refused("withdraw", m.Withdraw(actor=f.OFFICER, reason=""), "invalid")
    assert msg.startswith("reason:")
    assert harness.store.allocations("PCD") == {}  # no refused decision took a number
    await run.assert_matches_store()


async def test_deadline_reminders_escalation_and_missed_with_a_bank_holiday(harness: Harness):
    # Required by the first working day after the Christmas bank holidays ahead of us, so
    # the reminder window spans them.
    today = await harness.today()
    year = today.year if today < today.replace(month=12, day=1) else today.year + 1
    from datetime import date

    from domain.calendar import WorkingCalendar, add_working_days, subtract_working_days

    required_by = add_working_days(date(year, 12, 24), 1, WorkingCalendar.ENGLAND_AND_WALES)
    run = await harness.start(
        f.make_case(
            time_sensitivity={
                "required_by": required_by.isoformat(),
                "reason": "Funding year ends.",
            }
        )
    )
    await run.act("submit", m.Submit(actor=f.OFFICER))
    # sleep until the day after the required-by date: every timer fires on the way
    now = await harness.now()
    days = (required_by - now.date()).days + 2
    await harness.env.sleep(timedelta(days=days))
    stored = harness.store.read_stream(run.case_id)
    deadline = [
        (e.event_type, e.data.get("working_days_before"))
        for e in stored
        if e.event_type.startswith("deadline.")
    ]
    assert deadline == [
        ("deadline.reminder_sent", 5),
        ("deadline.reminder_sent", 1),
        ("deadline.escalated", None),
        ("deadline.missed", None),
    ]
    reminder_days = [e.occurred_at for e in stored if e.event_type == "deadline.reminder_sent"]
    from domain.clock import london_date

    assert london_date(reminder_days[1]) == subtract_working_days(
        required_by, 1, WorkingCalendar.ENGLAND_AND_WALES
    )
    assert london_date(reminder_days[1]).month == 12 and london_date(reminder_days[1]).day < 25
    notes = harness.store.read_stream(f"notifications-{run.case_id}")
    sent = [(n.data["kind"], n.data["to_role"]) for n in notes if n.data["kind"] != "new_task"]
    # reminders go to whoever holds a task (the secretariat: the case awaits the agenda);
    # the escalation and the missed deadline go to the chief executive's office
    assert sent == [
        ("reminder", "board_secretariat"),
        ("reminder", "board_secretariat"),
        ("escalation", "chief_executive"),
        ("missed", "chief_executive"),
    ]
    await harness.through_advice_after_submit(run, BASIC)
    outcome = await approve_as_dmpc(run)
    assert outcome.late
    assert (await run.assert_matches_store()).deadline_missed


async def test_moving_the_required_by_date_moves_the_timers(harness: Harness):
    today = await harness.today()
    first = today + timedelta(days=30)
    run = await harness.start(
        f.make_case(
            time_sensitivity={"required_by": first.isoformat(), "reason": "Funding year ends."}
        )
    )
    await run.act("submit", m.Submit(actor=f.OFFICER))
    later = first + timedelta(days=60)
    await run.act(
        "change_required_by",
        m.ChangeRequiredBy(actor=f.OFFICER, required_by=later, reason="Settlement delayed."),
    )
    await harness.env.sleep(timedelta(days=35))  # past the old date
    assert not [
        t for t in run.event_types() if t.startswith("deadline.") and t != "deadline.changed"
    ]
    await harness.env.sleep(timedelta(days=60))
    events = [
        e for e in harness.store.read_stream(run.case_id) if e.event_type == "deadline.missed"
    ]
    assert [e.data["required_by"] for e in events] == [later.isoformat()]


async def test_a_submit_sent_straight_after_starting_waits_for_the_draft(harness: Harness):
    case_id = "case-straight-away"
    handle = await harness.env.client.start_workflow(
        "DecisionWorkflow",
        m.DecisionInput(case_id=case_id, officer=f.OFFICER, case=f.make_case()),
        id=case_id,
        task_queue=harness.task_queue,
    )
    result = await handle.execute_update(
        "submit", m.Submit(actor=f.OFFICER), result_type=m.ActionResult
    )
    assert (result.version, result.stage) == (2, "board")


async def test_a_deferred_part1_is_published_on_its_date_by_a_durable_timer(harness: Harness):
    from tests.published import published_register

    today = await harness.today()
    until = today + timedelta(days=90)
    part2 = {
        "security_marking": "OFFICIAL-SENSITIVE [OPERATIONAL]",
        "foi_sections": ["s31 Law enforcement"],
        "review_on": (today + timedelta(days=3650)).isoformat(),
        "content": "Deployment locations.",
    }
    run = await harness.start(
        f.make_case(
            part1_deferral={"until": until.isoformat(), "reason": "The operation is live."},
            part2=part2,
        )
    )
    await harness.through_advice(run, BASIC)
    await run.act("consult_chief_executive", m.ConsultChiefExecutive(actor=f.CEO))
    await run.act("declare_interests", m.DeclareInterests(actor=f.DMPC, has_interest=False))
    await run.act("decide", m.Decide(actor=f.DMPC, approve=True))
    await harness.env.sleep(timedelta(days=30))
    assert run.event_types()[-1] == "publication.part1_deferred"
    assert published_register(harness.store) == []
    outcome = await run.outcome()  # the timer fires on the deferral date
    assert outcome.reference == "PCD 1"
    [published] = published_register(harness.store)
    record = harness.store.read_stream(run.case_id)[-1]
    assert record.event_type == "publication.part1_published"
    from domain.clock import london_date

    assert london_date(record.occurred_at) == until
    assert published.entry.reference == "PCD 1" and published.part2 is None
    assert "Deployment locations" not in published.model_dump_json()


async def test_a_date_added_by_a_revision_starts_the_deadline_timers(harness: Harness):
    run = await harness.start()  # no required-by date
    today = await harness.today()
    dated = f.make_case(
        time_sensitivity={
            "required_by": (today + timedelta(days=20)).isoformat(),
            "reason": "Funding year ends.",
        }
    )
    await run.act("revise", m.Revise(actor=f.OFFICER, case=dated, note="Now urgent"))
    await harness.env.sleep(timedelta(days=22))
    types = [t for t in run.event_types() if t.startswith("deadline.")]
    assert types == [
        "deadline.reminder_sent",
        "deadline.reminder_sent",
        "deadline.escalated",
        "deadline.missed",
    ]
