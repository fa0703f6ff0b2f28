"""The fold: stages, outstanding approvals, and refusals a person understands."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from domain import events as ev
from domain.clock import london_date
from domain.errors import DomainError
from domain.fold import apply, apply_new, fold
from domain.register import RegisterEntry, part1_entry
from domain.roles import Actor, AdviceArea, Role
from domain.rules.delegation import route_case
from domain.state import (
    CaseState,
    Part1Status,
    Part2Status,
    SignOffStatus,
    Stage,
    evolve,
    open_tasks,
)
from tests.factories import (
    ALTERNATE,
    CEO,
    CHAIR,
    DMPC,
    EQUALITIES,
    FINANCE,
    LEGAL,
    MPS,
    OFFICER,
    PUBLISHER,
    SECRETARIAT,
    SYSTEM,
    Clock,
    case_data,
    make_case,
)

CASE_ID = "case-1"
ENTRY = RegisterEntry(
    case_id=CASE_ID,
    reference="PCD 1",
    title="T",
    date_signed=date(2019, 12, 1),
    decision_maker="DMPC",
    executive_summary="S",
    recommendations=[],
)


class Story:
    """A case told event by event; `do` folds, `refused` expects a DomainError."""

    def __init__(self, **case_overrides: Any) -> None:
        self.clock = Clock()
        self.case = make_case(**case_overrides)
        self.state = CaseState(case_id=CASE_ID)
        self.events: list[ev.Event] = []

    def make(self, cls: type[ev.Event], actor: Actor, **fields: Any) -> ev.Event:
        return cls(
            event_id=uuid.uuid4(),
            case_id=CASE_ID,
            occurred_at=self.clock.tick(),
            actor=actor,
            **fields,
        )

    def do(self, cls: type[ev.Event], actor: Actor, **fields: Any) -> CaseState:
        event = self.make(cls, actor, **fields)
        self.state = apply(self.state, event)
        self.events.append(event)
        return self.state

    def new(self, cls: type[ev.Event], actor: Actor, **fields: Any) -> CaseState:
        """A step taken now: the rules over persons apply too (`apply_new`)."""
        event = self.make(cls, actor, **fields)
        self.state = apply_new(self.state, event)
        self.events.append(event)
        return self.state

    def refused_new(self, cls: type[ev.Event], actor: Actor, code: str, **fields: Any) -> str:
        before = self.state
        with pytest.raises(DomainError) as info:
            apply_new(self.state, self.make(cls, actor, **fields))
        assert info.value.code == code, info.value.message
        assert self.state == before
        return info.value.message

    def refused(self, cls: type[ev.Event], actor: Actor, code: str, **fields: Any) -> str:
        before = self.state
        with pytest.raises(DomainError) as info:
            apply(self.state, self.make(cls, actor, **fields))
        assert info.value.code == code, info.value.message
        assert self.state == before
        return info.value.message

    # the common path -------------------------------------------------------------
    def submit(self) -> CaseState:
        self.do(ev.CaseDrafted, OFFICER, case=self.case)
        routing = route_case(self.case, self.clock.now.date())
        return self.do(ev.CaseSubmitted, OFFICER, routing=routing)

    def through_board(self) -> CaseState:
        self.submit()
        self.do(
            ev.PlacedOnAgenda,
            SECRETARIAT,
            meeting_id="IAM-2019-11",
            board="IAM",
            meeting_date=date(2019, 11, 18),
        )
        return self.do(
            ev.BoardAdviceRecorded, SECRETARIAT, meeting_id="IAM-2019-11", advice="supported"
        )

    def through_advice(self) -> CaseState:
        self.through_board()
        for actor, area in ((FINANCE, "finance"), (LEGAL, "legal"), (EQUALITIES, "equalities")):
            self.do(ev.SignOffGiven, actor, area=area)
        return self.state

    def to_decision(self) -> CaseState:
        self.through_advice()
        return self.do(ev.ChiefExecutiveConsulted, CEO)


def test_a_dmpc_decision_goes_from_draft_to_published():
    s = Story()
    assert s.submit().stage is Stage.BOARD
    assert [t.kind for t in open_tasks(s.state)] == ["place_on_agenda"]
    s.do(
        ev.PlacedOnAgenda,
        SECRETARIAT,
        meeting_id="IAM-2019-11",
        board="IAM",
        meeting_date=date(2019, 11, 18),
    )
    assert [t.role for t in open_tasks(s.state)] == [Role.BOARD_SECRETARIAT]
    s.do(ev.BoardAdviceRecorded, SECRETARIAT, meeting_id="IAM-2019-11", advice="supported")
    assert s.state.stage is Stage.ADVICE
    assert {t.role for t in open_tasks(s.state)} == {
        Role.FINANCE_ADVISER,
        Role.LEGAL_ADVISER,
        Role.EQUALITIES_ADVISER,
    }
    s.do(ev.SignOffGiven, FINANCE, area="finance")
    s.do(ev.AdviceNotRequired, LEGAL, area="legal", reason="Legal advice is not required.")
    assert s.state.outstanding_signoffs == [AdviceArea.EQUALITIES]
    s.do(ev.SignOffGiven, EQUALITIES, area="equalities")
    assert s.state.stage is Stage.CHIEF_EXECUTIVE
    s.do(ev.ChiefExecutiveConsulted, CEO)
    assert [t.kind for t in open_tasks(s.state)] == ["declare_interests"]
    s.do(ev.InterestsDeclared, DMPC, has_interest=False)
    assert [t.kind for t in open_tasks(s.state)] == ["decide"]
    s.do(ev.DecisionApproved, DMPC, reference="PCD 679", comment="Approved.")
    assert s.state.stage is Stage.APPROVED and s.state.reference == "PCD 679"
    assert s.state.part1 is Part1Status.PENDING
    forged = part1_entry(s.state).model_copy(update={"reference": "PCD 1"})
    msg = s.refused(ev.Part1Published, SYSTEM, "illegal_transition", entry=forged)
    assert "does not match the decision" in msg
    s.do(ev.Part1Published, SYSTEM, entry=part1_entry(s.state))
    assert s.state.part1 is Part1Status.PUBLISHED
    assert open_tasks(s.state) == []
    # the same events folded from nothing give the same state
    assert fold(CASE_ID, s.events) == s.state
    assert s.state.version == len(s.events) == 11


def test_send_back_and_re_sign_takes_again_only_the_affected_signoffs():
    s = Story()
    s.through_board()
    s.do(ev.SignOffGiven, FINANCE, area="finance")
    s.do(ev.SignOffGiven, EQUALITIES, area="equalities")
    s.do(
        ev.ChangesRequested,
        LEGAL,
        area="legal",
        reasons=["Cite para 4.13."],
        sections=["legal_comments"],
    )
    assert s.state.stage is Stage.REVISION
    assert [t.kind for t in open_tasks(s.state)] == ["revise"]
    message = s.refused(ev.SignOffGiven, FINANCE, "wrong_stage", area="finance")
    assert message == (
        "finance sign-off cannot be given: the case was sent back for changes on "
        "18 November 2019 and the officer has not yet revised it"
    )
    # finance has signed already; revising only the legal comments keeps that signature
    revised = s.case.model_copy(update={"legal_comments": "Paragraph 4.13 applies."})
    s.do(ev.CaseRevised, OFFICER, case=revised)
    assert s.state.stage is Stage.ADVICE
    assert s.state.signoffs[AdviceArea.FINANCE].status is SignOffStatus.SIGNED_OFF
    assert s.state.signoffs[AdviceArea.LEGAL].status is SignOffStatus.PENDING
    assert s.state.signoffs[AdviceArea.LEGAL].round == 2
    assert s.state.case_revision == 2
    s.do(ev.ChangesRequested, LEGAL, area="legal", reasons=["The money has changed?"])
    # a money change makes finance sign again, in a second round
    more = case_data(
        money_lines=[
            {
                "kind": "revenue",
                "amount": "650000",
                "financial_years": ["2019/20"],
                "funding_source": "MOPAC",
            }
        ]
    )
    s.do(ev.CaseRevised, OFFICER, case=make_case(**more))
    assert s.state.signoffs[AdviceArea.FINANCE].round == 2
    assert s.state.signoffs[AdviceArea.FINANCE].status is SignOffStatus.PENDING
    assert s.state.signoffs[AdviceArea.LEGAL].round == 3
    assert s.state.signoffs[AdviceArea.EQUALITIES].status is SignOffStatus.SIGNED_OFF
    assert s.state.returns == 2


def test_chief_executive_can_send_back_and_sees_it_again():
    s = Story()
    s.through_advice()
    s.do(ev.ChiefExecutiveSentBack, CEO, reasons=["Explain the equality impact."])
    assert s.state.stage is Stage.REVISION
    s.do(
        ev.CaseRevised,
        OFFICER,
        case=s.case.model_copy(update={"equality_comments": "Screened; no impact."}),
    )
    assert s.state.stage is Stage.ADVICE
    assert s.state.outstanding_signoffs == [AdviceArea.EQUALITIES]
    s.do(ev.SignOffGiven, EQUALITIES, area="equalities")
    assert s.state.stage is Stage.CHIEF_EXECUTIVE


def test_refusals_name_the_rule():
    s = Story()
    s.through_board()
    msg = s.refused(ev.SignOffGiven, LEGAL, "wrong_role", area="finance")
    assert "only the finance adviser may do this, not legal.lee (legal adviser)" in msg
    s.do(ev.SignOffGiven, FINANCE, area="finance")
    msg = s.refused(ev.SignOffGiven, FINANCE, "already_done", area="finance")
    assert (
        "finance advice was already given by fin.fran (finance adviser) on 18 November 2019" in msg
    )
    commercial = Actor(user_id="com.cat", role=Role.COMMERCIAL_ADVISER)
    msg = s.refused(ev.SignOffGiven, commercial, "not_required", area="commercial")
    assert "commercial advice is not required for this case" in msg
    msg = s.refused(ev.ChiefExecutiveConsulted, CEO, "wrong_stage")
    assert msg == (
        "the chief executive cannot confirm the case: the case is collecting advice and sign-offs"
    )


def test_four_eyes_the_submitter_signs_none_of_the_approvals_even_as_a_deputy():
    s = Story()
    s.through_board()
    same_person = Actor(user_id=OFFICER.user_id, role=Role.FINANCE_ADVISER)
    msg = s.refused(ev.SignOffGiven, same_person, "four_eyes", area="finance")
    assert msg == (
        "finance sign-off cannot be given: officer.ollie submitted this case on "
        "18 November 2019 and may not advise on it (four-eyes rule)"
    )
    deputy_for_submitter = Actor(
        user_id="someone.else", role=Role.LEGAL_ADVISER, on_behalf_of=OFFICER.user_id
    )
    s.refused(ev.SignOffGiven, deputy_for_submitter, "four_eyes", area="legal")
    deputy = Actor(user_id="dep.dan", role=Role.LEGAL_ADVISER, on_behalf_of="legal.lee")
    s.do(ev.SignOffGiven, deputy, area="legal")
    assert s.state.signoffs[AdviceArea.LEGAL].by == deputy


def test_decision_needs_interests_declared_first_and_a_recusal_goes_to_the_alternate():
    s = Story()
    s.to_decision()
    msg = s.refused(ev.DecisionApproved, DMPC, "interests_not_declared", reference="PCD 1")
    assert msg == "the decision cannot be approved: the DMPC has not declared interests"
    s.do(ev.InterestsDeclared, DMPC, has_interest=True, details="Trustee of the supplier.")
    assert s.state.decision_maker_role is Role.ALTERNATE_DECISION_MAKER
    assert [t.role for t in open_tasks(s.state)] == [Role.ALTERNATE_DECISION_MAKER]
    s.refused(ev.DecisionApproved, DMPC, "wrong_role", reference="PCD 1")
    s.refused(ev.DecisionApproved, ALTERNATE, "interests_not_declared", reference="PCD 1")
    s.do(ev.InterestsDeclared, ALTERNATE, has_interest=False)
    s.do(ev.DecisionApproved, ALTERNATE, reference="PCD 1")
    assert s.state.decided_by == ALTERNATE and s.state.recused == [DMPC]


def test_declined_decision_is_final():
    s = Story()
    s.to_decision()
    s.do(ev.InterestsDeclared, DMPC, has_interest=False)
    s.do(ev.DecisionDeclined, DMPC, comment="Not value for money.")
    assert s.state.stage is Stage.DECLINED
    s.refused(ev.CaseWithdrawn, OFFICER, "wrong_stage", reason="Too late")
    s.refused(ev.Part1Published, SYSTEM, "wrong_stage", entry=ENTRY)


def test_mps_delegated_case_skips_the_chief_executive_and_has_no_reference():
    s = Story(
        money_lines=[
            {
                "kind": "capital",
                "amount": "120000",
                "financial_years": ["2019/20"],
                "funding_source": "MPS capital",
            }
        ]
    )
    s.through_advice()
    assert s.state.stage is Stage.DECISION
    assert [t.role for t in open_tasks(s.state)] == [Role.MPS_DECISION_MAKER]
    s.refused(ev.DecisionApproved, MPS, "illegal_transition", reference="PCD 2")
    s.do(ev.DecisionApproved, MPS)
    assert s.state.reference is None and s.state.part1 is Part1Status.NOT_DUE


def test_board_deferral_then_a_later_meeting():
    s = Story()
    s.submit()
    s.do(
        ev.PlacedOnAgenda,
        SECRETARIAT,
        meeting_id="IAM-1",
        board="IAM",
        meeting_date=date(2019, 11, 18),
    )
    s.refused(
        ev.PlacedOnAgenda,
        SECRETARIAT,
        "already_done",
        meeting_id="IAM-2",
        board="IAM",
        meeting_date=date(2019, 11, 19),
    )
    s.do(ev.BoardAdviceRecorded, SECRETARIAT, meeting_id="IAM-1", advice="deferred")
    assert s.state.stage is Stage.BOARD and s.state.meeting_id is None
    s.do(
        ev.PlacedOnAgenda,
        SECRETARIAT,
        meeting_id="IAM-2",
        board="IAM",
        meeting_date=date(2019, 11, 19),
    )
    s.refused(
        ev.BoardAdviceRecorded,
        SECRETARIAT,
        "illegal_transition",
        meeting_id="IAM-1",
        advice="supported",
    )
    msg = s.refused(
        ev.BoardAdviceRecorded, SECRETARIAT, "wrong_stage", meeting_id="IAM-2", advice="supported"
    )
    assert msg == "the board's advice cannot be recorded: the board meets on 19 November 2019"
    s.clock.jump_to(date(2019, 11, 19))
    s.do(
        ev.BoardAdviceRecorded,
        SECRETARIAT,
        meeting_id="IAM-2",
        advice="supported_with_conditions",
        conditions="Report back in 6 months.",
    )
    assert s.state.stage is Stage.ADVICE and s.state.board_conditions


def test_board_not_supporting_returns_the_case_to_the_officer_and_then_to_the_board():
    s = Story()
    s.submit()
    s.do(
        ev.PlacedOnAgenda,
        SECRETARIAT,
        meeting_id="IAM-1",
        board="IAM",
        meeting_date=date(2019, 11, 18),
    )
    s.do(
        ev.BoardAdviceRecorded,
        SECRETARIAT,
        meeting_id="IAM-1",
        advice="not_supported",
        comment="Options appraisal missing.",
    )
    assert s.state.stage is Stage.REVISION
    s.do(
        ev.CaseRevised,
        OFFICER,
        case=s.case.model_copy(update={"issues_for_consideration": "Options appraised."}),
    )
    assert s.state.stage is Stage.BOARD and s.state.meeting_id is None


def test_extremis_needs_the_chair_not_a_meeting():
    s = Story(board=None, extremis_reason="Funding lapses this week.")
    s.submit()
    assert [t.role for t in open_tasks(s.state)] == [Role.BOARD_CHAIR]
    s.refused(
        ev.PlacedOnAgenda,
        SECRETARIAT,
        "illegal_transition",
        meeting_id="IAM-1",
        board="IAM",
        meeting_date=date(2019, 11, 18),
    )
    s.refused(ev.ExtremisAgreed, SECRETARIAT, "wrong_role", reason="Urgent")
    s.do(ev.ExtremisAgreed, CHAIR, reason="Urgent: funding lapses.")
    assert s.state.stage is Stage.ADVICE


def test_withdrawal_before_the_decision_only():
    s = Story()
    s.through_board()
    s.refused(ev.CaseWithdrawn, FINANCE, "wrong_role", reason="No longer needed")
    s.do(ev.CaseWithdrawn, OFFICER, reason="No longer needed")
    assert s.state.stage is Stage.WITHDRAWN and open_tasks(s.state) == []
    s.refused(ev.SignOffGiven, FINANCE, "wrong_stage", area="finance")


def test_deadline_reminders_escalation_missed_and_late_decision():
    s = Story(time_sensitivity={"required_by": "2019-12-13", "reason": "Funding year ends."})
    s.to_decision()
    assert s.state.required_by == date(2019, 12, 13)
    s.do(ev.DeadlineReminderSent, SYSTEM, required_by=date(2019, 12, 13), working_days_before=5)
    s.refused(
        ev.DeadlineReminderSent,
        SYSTEM,
        "already_done",
        required_by=date(2019, 12, 13),
        working_days_before=5,
    )
    s.refused(
        ev.DeadlineReminderSent,
        OFFICER,
        "wrong_role",
        required_by=date(2019, 12, 13),
        working_days_before=1,
    )
    s.do(ev.DeadlineEscalated, SYSTEM, required_by=date(2019, 12, 13))
    s.clock.jump_to(date(2019, 12, 13), hour=22)  # 22:00 UTC is still the 13th in London
    msg = s.refused(ev.DeadlineMissed, SYSTEM, "illegal_transition", required_by=date(2019, 12, 13))
    assert "has not ended" in msg
    s.clock.jump_to(date(2019, 12, 14), hour=0)
    s.do(ev.DeadlineMissed, SYSTEM, required_by=date(2019, 12, 13))
    s.do(ev.InterestsDeclared, DMPC, has_interest=False)
    s.do(ev.DecisionApproved, DMPC, reference="PCD 679")
    assert s.state.late and s.state.deadline_missed


def test_a_deadline_noticed_late_is_recorded_missed_at_the_end_of_its_own_day():
    from domain.deadlines import deadline_ended_at

    s = Story(time_sensitivity={"required_by": "2019-12-13", "reason": "Funding year ends."})
    s.submit()
    s.clock.jump_to(date(2019, 12, 18))
    early = deadline_ended_at(date(2019, 12, 13)) - timedelta(hours=3)
    msg = s.refused(
        ev.DeadlineMissed,
        SYSTEM,
        "illegal_transition",
        required_by=date(2019, 12, 13),
        effective_at=early,
    )
    assert "has not ended" in msg
    s.do(
        ev.DeadlineMissed,
        SYSTEM,
        required_by=date(2019, 12, 13),
        effective_at=deadline_ended_at(date(2019, 12, 13)),
    )
    assert s.state.deadline_missed
    missed = s.events[-1]
    assert london_date(missed.at) == date(2019, 12, 13)


def test_changing_the_required_by_date_resets_the_reminders():
    s = Story(time_sensitivity={"required_by": "2019-12-13", "reason": "Funding year ends."})
    s.submit()
    s.do(ev.DeadlineReminderSent, SYSTEM, required_by=date(2019, 12, 13), working_days_before=5)
    s.do(ev.RequiredByChanged, OFFICER, required_by=date(2020, 1, 17), reason="Settlement late.")
    s.refused(
        ev.DeadlineReminderSent,
        SYSTEM,
        "illegal_transition",
        required_by=date(2019, 12, 13),
        working_days_before=1,
    )
    s.do(ev.DeadlineReminderSent, SYSTEM, required_by=date(2020, 1, 17), working_days_before=5)
    assert s.state.reminders_sent == [5]


def test_deferred_part1_waits_for_its_date():
    s = Story(part1_deferral={"until": "2020-03-01", "reason": "Tender still open."})
    s.to_decision()
    s.do(ev.InterestsDeclared, DMPC, has_interest=False)
    s.do(ev.DecisionApproved, DMPC, reference="PCD 700")
    msg = s.refused(ev.Part1Published, SYSTEM, "illegal_transition", entry=part1_entry(s.state))
    assert msg == "Part 1 cannot be published: publication is deferred until 1 March 2020"
    s.do(ev.Part1Deferred, PUBLISHER, until=date(2020, 3, 1), reason="Tender still open.")
    s.clock.jump_to(date(2020, 3, 1))
    s.do(ev.Part1Published, SYSTEM, entry=part1_entry(s.state))
    assert s.state.part1 is Part1Status.PUBLISHED


def test_part2_review_extend_then_publish_redacted():
    part2 = {
        "security_marking": "OFFICIAL-SENSITIVE [COMMERCIAL]",
        "foi_sections": ["s43 Commercial interests"],
        "review_on": "2024-04-01",
        "content": "The unit prices are set out.",
    }
    s = Story(part2=part2)
    s.to_decision()
    s.do(ev.InterestsDeclared, DMPC, has_interest=False)
    s.do(ev.DecisionApproved, DMPC, reference="PCD 701")
    assert s.state.part2 is Part2Status.EXEMPT
    msg = s.refused(ev.Part2ReviewDue, SYSTEM, "illegal_transition", review_date=date(2024, 4, 1))
    assert "not due until 1 April 2024" in msg
    s.clock.jump_to(date(2024, 4, 1))
    s.do(ev.Part2ReviewDue, SYSTEM, review_date=date(2024, 4, 1))
    assert [t.kind for t in open_tasks(s.state)] == ["review_part2"]
    s.do(
        ev.Part2ExemptionExtended,
        PUBLISHER,
        new_review_date=date(2026, 4, 1),
        reasons=["Contract extended."],
    )
    assert s.state.part2 is Part2Status.EXEMPT and s.state.part2_extensions == 1
    s.refused(
        ev.Part2Published,
        PUBLISHER,
        "wrong_stage",
        reason="Now",
        content="The unit prices are set out.",
    )
    s.clock.jump_to(date(2026, 4, 1))
    s.do(ev.Part2ReviewDue, SYSTEM, review_date=date(2026, 4, 1))
    msg = s.refused(
        ev.Part2PublishedRedacted,
        PUBLISHER,
        "illegal_transition",
        reason="Contract ended.",
        content="The unit prices are set out.",
        redactions=[{"passage": "unit prices", "reason": "s43 still applies"}],
    )
    assert "not Part 2 with those redactions" in msg
    s.do(
        ev.Part2PublishedRedacted,
        PUBLISHER,
        reason="Contract ended.",
        content="The [REDACTED] are set out.",
        redactions=[{"passage": "unit prices", "reason": "s43 still applies"}],
    )
    assert s.state.part2 is Part2Status.PUBLISHED_REDACTED


def test_nothing_happens_before_the_case_is_drafted_and_it_is_drafted_once():
    s = Story()
    s.refused(ev.SignOffGiven, FINANCE, "wrong_stage", area="finance")
    s.do(ev.CaseDrafted, OFFICER, case=s.case)
    s.refused(ev.CaseDrafted, OFFICER, "already_done", case=s.case)
    s.refused(ev.CaseDrafted, FINANCE, "already_done", case=s.case)


def test_an_event_of_another_case_is_refused():
    s = Story()
    s.do(ev.CaseDrafted, OFFICER, case=s.case)
    other = ev.CaseWithdrawn(
        event_id=uuid.uuid4(),
        case_id="case-2",
        occurred_at=datetime(2019, 12, 1, tzinfo=UTC),
        actor=OFFICER,
        reason="x",
    )
    with pytest.raises(DomainError, match="belongs to case case-2"):
        apply(s.state, other)


def test_a_decision_signed_late_in_the_evening_in_summer_is_late_by_london_time():
    s = Story(time_sensitivity={"required_by": "2020-06-13", "reason": "Funding year ends."})
    s.to_decision()
    s.do(ev.InterestsDeclared, DMPC, has_interest=False)
    # 23:30 UTC on the 13th is 00:30 BST on the 14th in London: a day late
    s.clock.now = datetime(2020, 6, 13, 22, 30, tzinfo=UTC)  # the next step is 23:30 UTC
    s.do(ev.DecisionApproved, DMPC, reference="PCD 800")
    assert s.state.late


def test_a_revision_moves_the_required_by_date_and_restarts_the_reminders():
    s = Story(time_sensitivity={"required_by": "2019-12-13", "reason": "Funding year ends."})
    s.do(ev.CaseDrafted, OFFICER, case=s.case)
    s.do(ev.DeadlineReminderSent, SYSTEM, required_by=date(2019, 12, 13), working_days_before=5)
    later = s.case.model_copy(
        update={
            "time_sensitivity": s.case.time_sensitivity.model_copy(  # type: ignore[union-attr]
                update={"required_by": date(2020, 1, 17)}
            )
        }
    )
    s.do(ev.CaseRevised, OFFICER, case=later)
    assert (s.state.required_by, s.state.reminders_sent) == (date(2020, 1, 17), [])
    s.do(ev.CaseRevised, OFFICER, case=later.model_copy(update={"time_sensitivity": None}))
    assert s.state.required_by is None


def test_ratify_itself_cannot_record_an_irregularity():
    s = Story()
    s.do(ev.CaseDrafted, OFFICER, case=s.case)
    s.refused(ev.IrregularityRecorded, SYSTEM, "wrong_role", description="Grants paid early.")
    s.do(ev.IrregularityRecorded, FINANCE, description="Grants paid before referral.")
    assert s.state.irregularities == ["Grants paid before referral."]


def test_evolve_is_model_copy_with_an_update_and_leaves_the_original_alone():
    """The fold's fast copy gives what pydantic's `model_copy(update=...)` gives."""
    s = Story()
    s.submit()
    before = s.state
    dumped = before.model_dump()
    update = {"stage": Stage.WITHDRAWN, "withdrawn_reason": "No longer needed.", "version": 9}
    fast, slow = evolve(before, update), before.model_copy(update=update)
    assert fast == slow and fast.model_dump() == slow.model_dump()
    assert fast.model_fields_set == slow.model_fields_set
    assert type(fast) is CaseState and fast.withdrawn_reason == "No longer needed."
    assert before.model_dump() == dumped and before.stage is Stage.BOARD  # untouched
    with pytest.raises(ValidationError):  # still frozen
        fast.stage = Stage.DRAFT  # type: ignore[misc]


# -- the rules over persons: own cases only, separation of duties --------------------------

OTHER_OFFICER = Actor(user_id="officer.olga", role=Role.ORIGINATING_OFFICER)
CO_OFFICER = Actor(user_id="officer.cora", role=Role.ORIGINATING_OFFICER)


def test_only_the_case_officers_revise_submit_or_withdraw_it():
    s = Story(co_officers=["officer.cora"])
    s.new(ev.CaseDrafted, OFFICER, case=s.case)
    routing = route_case(s.case, s.clock.now.date())
    revised = s.case.model_copy(update={"legal_comments": "Changed."})
    msg = s.refused_new(ev.CaseRevised, OTHER_OFFICER, "not_case_officer", case=revised)
    assert msg == (
        "the case cannot be revised: only the case's own officers (officer.ollie, "
        "officer.cora) may do this, not officer.olga (originating officer)"
    )
    s.refused_new(ev.CaseSubmitted, OTHER_OFFICER, "not_case_officer", routing=routing)
    s.refused_new(ev.CaseWithdrawn, OTHER_OFFICER, "not_case_officer", reason="Not mine.")
    # a deputy for another officer is not one of this case's officers either
    deputy_for_other = Actor(
        user_id="dep.dan", role=Role.ORIGINATING_OFFICER, on_behalf_of="officer.olga"
    )
    s.refused_new(ev.CaseSubmitted, deputy_for_other, "not_case_officer", routing=routing)
    # the submit task is personal: it names the case's officers
    (task,) = open_tasks(s.state)
    assert task.people == ("officer.ollie", "officer.cora")
    # the co-officer may revise, and a deputy for the drafter may submit
    s.new(ev.CaseRevised, CO_OFFICER, case=revised)
    deputy_for_drafter = Actor(
        user_id="dep.dan", role=Role.ORIGINATING_OFFICER, on_behalf_of="officer.ollie"
    )
    s.new(ev.CaseSubmitted, deputy_for_drafter, routing=routing)
    assert s.state.stage is Stage.BOARD
    # ...and once it awaits the decision maker, another officer still cannot withdraw it
    s2 = Story()
    s2.to_decision()
    s2.refused_new(ev.CaseWithdrawn, OTHER_OFFICER, "not_case_officer", reason="Not mine.")
    s2.new(ev.CaseWithdrawn, OFFICER, reason="No longer needed.")
    assert s2.state.stage is Stage.WITHDRAWN


def test_a_stored_history_that_breaks_the_new_rules_still_folds():
    """Histories recorded before the rules over persons (another officer submitted, the
    chief executive then decided) must still fold for auditors and replays."""
    s = Story()
    s.do(ev.CaseDrafted, OFFICER, case=s.case)
    s.do(ev.CaseSubmitted, OTHER_OFFICER, routing=route_case(s.case, s.clock.now.date()))
    s.do(
        ev.PlacedOnAgenda, SECRETARIAT, meeting_id="M", board="IAM", meeting_date=date(2019, 11, 18)
    )
    s.do(ev.BoardAdviceRecorded, SECRETARIAT, meeting_id="M", advice="supported")
    for actor, area in ((FINANCE, "finance"), (LEGAL, "legal"), (EQUALITIES, "equalities")):
        s.do(ev.SignOffGiven, actor, area=area)
    s.do(ev.ChiefExecutiveConsulted, CEO)
    as_dmpc = Actor(user_id=CEO.user_id, role=Role.DMPC)
    s.do(ev.InterestsDeclared, as_dmpc, has_interest=False)
    s.do(ev.DecisionApproved, as_dmpc, reference="PCD 1")
    assert fold(CASE_ID, s.events) == s.state
    assert s.state.stage is Stage.APPROVED


def test_the_required_by_date_is_moved_by_the_case_officers_and_the_chief_executive_only():
    s = Story(co_officers=["officer.cora"])
    s.submit()
    fields = {"required_by": date(2020, 3, 1), "reason": "The funding year ends."}
    drafting = Actor(user_id="draft.dora", role=Role.DRAFTING_OFFICER)
    msg = s.refused_new(ev.RequiredByChanged, drafting, "wrong_role", **fields)
    assert "only the case's own officers or the chief executive may do this" in msg
    s.refused_new(ev.RequiredByChanged, OTHER_OFFICER, "not_case_officer", **fields)
    s.new(ev.RequiredByChanged, CO_OFFICER, **fields)
    s.new(ev.RequiredByChanged, CEO, **{**fields, "required_by": date(2020, 3, 2)})
    assert s.state.required_by == date(2020, 3, 2)


def test_whoever_drafted_or_revised_the_case_approves_none_of_it():
    s = Story(co_officers=["officer.cora"])
    s.new(ev.CaseDrafted, OFFICER, case=s.case)
    s.clock.tick()
    s.new(ev.CaseRevised, CO_OFFICER, case=s.case.model_copy(update={"legal_comments": "New."}))
    # submitted by the drafter: the co-officer revised it, and may not advise on it
    s.new(ev.CaseSubmitted, OFFICER, routing=route_case(s.case, s.clock.now.date()))
    s.do(
        ev.PlacedOnAgenda, SECRETARIAT, meeting_id="M", board="IAM", meeting_date=date(2019, 11, 18)
    )
    s.do(ev.BoardAdviceRecorded, SECRETARIAT, meeting_id="M", advice="supported")
    as_finance = Actor(user_id=CO_OFFICER.user_id, role=Role.FINANCE_ADVISER)
    msg = s.refused_new(ev.SignOffGiven, as_finance, "four_eyes", area="finance")
    assert msg == (
        "finance sign-off cannot be given: officer.cora revised this case on 18 November 2019 "
        "and may not advise on it (four-eyes rule)"
    )
    for actor, area in ((FINANCE, "finance"), (LEGAL, "legal"), (EQUALITIES, "equalities")):
        s.new(ev.SignOffGiven, actor, area=area)
    # the chief executive's deputy is the co-officer: refused, naming the revision
    ceo_deputy = Actor(user_id="officer.cora", role=Role.CHIEF_EXECUTIVE, on_behalf_of="ceo.rl")
    msg = s.refused_new(ev.ChiefExecutiveConsulted, ceo_deputy, "four_eyes")
    assert (
        "officer.cora revised this case on 18 November 2019 and may not act on it as chief" in msg
    )
    s.new(ev.ChiefExecutiveConsulted, CEO)
    # the drafter (who also submitted it) may not decide it
    dmpc_as_drafter = Actor(user_id="officer.ollie", role=Role.DMPC)
    msg = s.refused_new(ev.InterestsDeclared, dmpc_as_drafter, "four_eyes", has_interest=False)
    assert "officer.ollie submitted this case on 18 November 2019 and may not decide it" in msg


def test_adviser_chief_executive_and_decision_maker_are_three_different_people():
    s = Story()
    s.through_board()
    # advising in two areas is allowed
    fin_and_legal = Actor(user_id="fin.fran", role=Role.LEGAL_ADVISER)
    s.new(ev.SignOffGiven, FINANCE, area="finance")
    s.new(ev.SignOffGiven, fin_and_legal, area="legal")
    s.new(ev.SignOffGiven, EQUALITIES, area="equalities")
    adviser_as_ceo = Actor(user_id="eq.eve", role=Role.CHIEF_EXECUTIVE)
    msg = s.refused_new(ev.ChiefExecutiveConsulted, adviser_as_ceo, "separation_of_duties")
    assert msg == (
        "the chief executive cannot confirm the case: eq.eve signed off equalities advice on "
        "this case on 18 November 2019 and may not act on it as chief executive "
        "(separation of duties)"
    )
    s.new(ev.ChiefExecutiveConsulted, CEO)
    ceo_as_dmpc = Actor(user_id="ceo.rl", role=Role.DMPC)
    msg = s.refused_new(
        ev.InterestsDeclared, ceo_as_dmpc, "separation_of_duties", has_interest=False
    )
    assert (
        "ceo.rl confirmed this case as chief executive on 18 November 2019 and may not decide it"
        in msg
    )
    # a deputy acting for the DMPC who advised on the case is refused too
    deputy_adviser = Actor(user_id="fin.fran", role=Role.DMPC, on_behalf_of=DMPC.user_id)
    s.refused_new(ev.InterestsDeclared, deputy_adviser, "separation_of_duties", has_interest=False)
    s.new(ev.InterestsDeclared, DMPC, has_interest=False)
    s.new(ev.DecisionApproved, DMPC, reference="PCD 1")
    assert s.state.stage is Stage.APPROVED


def test_the_refusal_names_the_deputy_and_the_principal_actually_in_conflict():
    s = Story()
    kim = Actor(user_id="kim.deputy", role=Role.ORIGINATING_OFFICER, on_behalf_of="officer.ollie")
    s.new(ev.CaseDrafted, OFFICER, case=s.case)
    s.new(ev.CaseSubmitted, kim, routing=route_case(s.case, s.clock.now.date()))
    s.do(
        ev.PlacedOnAgenda, SECRETARIAT, meeting_id="M", board="IAM", meeting_date=date(2019, 11, 18)
    )
    s.do(ev.BoardAdviceRecorded, SECRETARIAT, meeting_id="M", advice="supported")
    for actor, area in ((FINANCE, "finance"), (LEGAL, "legal"), (EQUALITIES, "equalities")):
        s.new(ev.SignOffGiven, actor, area=area)
    s.new(ev.ChiefExecutiveConsulted, CEO)
    # the deputy who submitted, now deputising for the DMPC: named as they acted
    kim_for_dmpc = Actor(user_id="kim.deputy", role=Role.DMPC, on_behalf_of=DMPC.user_id)
    msg = s.refused_new(ev.InterestsDeclared, kim_for_dmpc, "four_eyes", has_interest=False)
    assert msg == (
        "interests cannot be declared: kim.deputy (deputy for officer.ollie) submitted this "
        "case on 18 November 2019 and may not decide it (four-eyes rule)"
    )
    # the principal, acting through another deputy: the principal is the one named
    for_ollie = Actor(user_id="dep.dan", role=Role.DMPC, on_behalf_of="officer.ollie")
    msg = s.refused_new(ev.InterestsDeclared, for_ollie, "four_eyes", has_interest=False)
    assert msg == (
        "interests cannot be declared: kim.deputy (deputy for officer.ollie) submitted this "
        "case on 18 November 2019, so officer.ollie may not decide it, in person or through a "
        "deputy (four-eyes rule)"
    )
    s.new(ev.InterestsDeclared, DMPC, has_interest=False)


def test_nobody_can_fill_a_case_with_irregularities_until_it_breaks():
    """Anyone may record an irregularity, so one case holds a bounded number of them: ten by
    one person, a hundred in all, each at most 20,000 bytes and 256 KiB together. Without
    that, one person's loop of 80 KB descriptions pushed a case's state over Temporal's
    payload limit and its history over Temporal's, which ended the case's workflow."""
    s = Story()
    s.do(ev.CaseDrafted, OFFICER, case=s.case)
    for n in range(10):
        s.new(ev.IrregularityRecorded, FINANCE, description=f"Grant {n} paid early.")
    message = s.refused_new(
        ev.IrregularityRecorded, FINANCE, "limit", description="Grant 10 paid early."
    )
    assert message == (
        f"an irregularity cannot be recorded: {FINANCE.user_id} has recorded 10 on this case, "
        "the most one person may"
    )
    s.new(ev.IrregularityRecorded, LEGAL, description="Seen by legal too.")  # others still may
    emoji = "\N{GRINNING FACE}" * 6_000  # 6,000 characters, 24,000 bytes
    message = s.refused_new(ev.IrregularityRecorded, LEGAL, "limit", description=emoji)
    assert "24,000 bytes in UTF-8; at most 20,000" in message
    big = Story()
    big.do(ev.CaseDrafted, OFFICER, case=big.case)
    people = [Actor(user_id=f"person.{n}", role=Role.AUDITOR) for n in range(14)]
    for n in range(13 * 10):
        who = people[n // 10]
        text = "x" * 19_000
        if len(big.state.irregularities) * 19_000 + 19_000 > 256 * 1024:
            message = big.refused_new(ev.IrregularityRecorded, who, "limit", description=text)
            assert "at most 262,144 in all" in message
            break
        big.new(ev.IrregularityRecorded, who, description=text)
    else:
        raise AssertionError("the bytes of a case's irregularities were never bounded")
    # a history stored before the bounds still folds
    many = Story()
    many.do(ev.CaseDrafted, OFFICER, case=many.case)
    for n in range(12):
        many.do(ev.IrregularityRecorded, FINANCE, description=f"Old note {n}.")
    assert len(many.state.irregularities_by) == 12
