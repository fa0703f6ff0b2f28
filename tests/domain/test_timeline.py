"""The auditors' timeline: every event in plain words, with the rules in force and lateness."""

from __future__ import annotations

from datetime import date

from domain import events as ev
from domain.roles import Actor, Role
from domain.timeline import SUMMARIES, timeline
from tests.domain.test_fold import CASE_ID, Story
from tests.factories import DMPC, FINANCE


def test_every_event_type_has_a_plain_words_summary():
    assert set(SUMMARIES) == set(ev.EVENT_TYPES.values())


def test_a_late_decision_reads_as_late_with_the_rule_set_and_the_deputy():
    s = Story(time_sensitivity={"required_by": "2019-11-18", "reason": "Funding year ends."})
    s.through_board()
    deputy = Actor(user_id="dep.dan", role=Role.LEGAL_ADVISER, on_behalf_of="legal.lee")
    s.do(ev.SignOffGiven, FINANCE, area="finance")
    s.do(ev.SignOffGiven, deputy, area="legal")
    s.do(ev.SignOffGiven, Actor(user_id="eq.eve", role=Role.EQUALITIES_ADVISER), area="equalities")
    s.do(ev.ChiefExecutiveConsulted, Actor(user_id="ceo", role=Role.CHIEF_EXECUTIVE))
    s.do(ev.InterestsDeclared, DMPC, has_interest=False)
    s.clock.jump_to(date(2019, 11, 20))
    s.do(ev.DecisionApproved, DMPC, reference="PCD 679")
    lines = timeline(CASE_ID, s.events)
    assert [e.version for e in lines] == list(range(1, len(s.events) + 1))
    assert lines[0].summary == "Drafted: Test Case (£600,000)" and lines[0].rule_set is None
    assert lines[1].summary.startswith("Submitted by the board route: the DMPC decides (para 4.8)")
    assert lines[1].rule_set is not None and lines[1].rule_set.startswith("SoDC-2019")
    legal = next(e for e in lines if e.summary == "Legal sign-off given")
    assert (legal.actor, legal.on_behalf_of, legal.role) == (
        "dep.dan",
        "legal.lee",
        "legal_adviser",
    )
    assert lines[-1].summary == (
        "Approved as PCD 679, late: required by 18 November 2019, decided 20 November 2019"
    )
