"""The auditors' timeline: every event in plain words, with the rules in force and lateness."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from domain import events as ev
from domain.casefile import parse_case
from domain.roles import Actor, Role
from domain.rules.delegation import route_case
from domain.timeline import SUMMARIES, recorded_words, timeline, when_words, without_part2
from tests.domain.test_fold import CASE_ID, Story
from tests.factories import DMPC, FINANCE, OFFICER, case_data, make_case


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


SUMMARY = (
    "MetTrace is the MPS flagship crime prevention project to reduce residential burglary. "
    "Based upon the success to date, MPS Management Board took the decision to continue "
    "MetTrace for 5 years and a budget has been secured in order to do this."
)
PART2 = {
    "security_marking": "OFFICIAL-SENSITIVE [COMMERCIAL]",
    "foi_sections": ["s43 Commercial interests"],
    "review_on": "2029-06-30",
    "content": "The unit price tendered by the supplier is £12.40 per kit.",
}


def _revised_story() -> Story:
    """Drafted with Part 2, then revised: one word of the summary, an amount, Part 2."""
    s = Story(executive_summary=SUMMARY, part2=PART2)
    s.do(ev.CaseDrafted, OFFICER, case=s.case)
    line = {**case_data()["money_lines"][0], "amount": "650000"}
    revised = make_case(
        executive_summary=SUMMARY.replace("5 years", "6 years"),
        money_lines=[line],
        part2={**PART2, "content": "The unit price tendered by the supplier is £11.90 per kit."},
    )
    s.do(ev.CaseRevised, OFFICER, case=revised, note="Six years, at the tendered price.")
    s.do(ev.CaseSubmitted, OFFICER, routing=route_case(revised, s.clock.now.date()))
    return s


def test_a_revision_carries_its_diff_section_by_section_under_the_same_summary():
    drafted, revision, submitted = timeline(CASE_ID, _revised_story().events)
    assert drafted.changes == [] and submitted.changes == []
    assert revision.summary == (
        "Revised (version 2 of the papers): changed executive summary, money lines, part2"
    )
    assert [(d.label, d.is_part2, d.describe()) for d in revision.changes] == [
        (
            "Executive summary",
            False,
            [
                "Executive summary:",
                "  … to continue MetTrace for [-5-] {+6+} years and a budget …",
            ],
        ),
        ("Money lines", False, ["Money line 1, amount: £600,000 → £650,000"]),
        (
            "Part 2",
            True,
            [
                "Part 2, content: The unit price tendered by the supplier is £12.40 per kit. → "
                "The unit price tendered by the supplier is £11.90 per kit."
            ],
        ),
    ]


def test_without_part2_leaves_no_part2_text_in_any_entry():
    entries = timeline(CASE_ID, _revised_story().events)
    hidden = without_part2(entries)
    assert [e.summary for e in hidden] == [e.summary for e in entries]
    revision = hidden[1]
    assert [(d.section, d.withheld, d.changes == []) for d in revision.changes] == [
        ("executive_summary", False, False),
        ("money_lines", False, False),
        ("part2", True, True),
    ]
    assert revision.changes[:2] == entries[1].changes[:2]
    dumped = json.dumps([e.model_dump(mode="json") for e in hidden], ensure_ascii=False)
    for secret in ("unit price", "£12.40", "£11.90", "OFFICIAL-SENSITIVE", "Commercial interests"):
        assert secret not in dumped
    # the cleared view is untouched, and entries without Part 2 come back as they were
    assert "£11.90" in entries[1].model_dump_json()
    assert hidden[0] is entries[0] and hidden[2] is entries[2]


def test_the_submission_of_a_grants_programme_says_which_awards_go_to_the_dmpc():
    path = Path(__file__).resolve().parents[2] / "examples" / "grants-programme.yaml"
    case = parse_case(path.read_text(encoding="utf-8"), str(path))
    routing = route_case(case, date(2021, 9, 1))
    s = Story()
    s.case = case
    s.do(ev.CaseDrafted, OFFICER, case=case)
    s.do(ev.CaseSubmitted, OFFICER, routing=routing)
    summary = timeline(CASE_ID, s.events)[1].summary
    # Appendix 1 (£759,700 in 9 awards) and Appendix 2 (£818,318, batches included), as
    # the paper's two recommendations give them.
    assert "; grants: 9 awards for the DMPC's approval (£759,700: Bright Futures" in summary
    assert "18 awards noted (£818,318:" in summary


def test_a_decision_signed_on_paper_is_late_or_on_time_by_its_signature_date():
    # Required by 18 November; signed on paper on 15 November, recorded on 20 November:
    # on time, because the fold goes by when it happened, not by when it was recorded.
    s = Story(time_sensitivity={"required_by": "2019-11-18", "reason": "Funding year ends."})
    s.through_board()
    s.do(ev.SignOffGiven, FINANCE, area="finance")
    s.do(ev.SignOffGiven, Actor(user_id="lee", role=Role.LEGAL_ADVISER), area="legal")
    s.do(ev.SignOffGiven, Actor(user_id="eq.eve", role=Role.EQUALITIES_ADVISER), area="equalities")
    s.do(ev.ChiefExecutiveConsulted, Actor(user_id="ceo", role=Role.CHIEF_EXECUTIVE))
    s.do(ev.InterestsDeclared, DMPC, has_interest=False)
    s.clock.jump_to(date(2019, 11, 20))
    signed = datetime(2019, 11, 15, 12, 0, tzinfo=UTC)
    state = s.do(ev.DecisionApproved, DMPC, reference="PCD 679", effective_at=signed)
    assert state.decided_at == signed and not state.late
    assert timeline(CASE_ID, s.events)[-1].summary == (
        "Approved as PCD 679, on time (required by 18 November 2019)"
    )


def _paper_signature(s: Story, **provenance: Any) -> ev.Event:
    s.through_board()
    s.do(ev.SignOffGiven, FINANCE, area="finance")
    s.do(ev.SignOffGiven, Actor(user_id="lee", role=Role.LEGAL_ADVISER), area="legal")
    s.do(ev.SignOffGiven, Actor(user_id="eq.eve", role=Role.EQUALITIES_ADVISER), area="equalities")
    s.do(ev.ChiefExecutiveConsulted, Actor(user_id="ceo", role=Role.CHIEF_EXECUTIVE))
    s.do(ev.InterestsDeclared, DMPC, has_interest=False)
    s.clock.jump_to(date(2019, 11, 26))
    s.do(
        ev.DecisionApproved,
        DMPC,
        reference="PCD 679",
        effective_at=datetime(2019, 11, 23, 12, 0, tzinfo=UTC),
        provenance=ev.Provenance(**provenance) if provenance else None,
    )
    return s.events[-1]


def test_a_paper_signature_five_days_late_shows_both_dates_in_the_timeline():
    s = Story(time_sensitivity={"required_by": "2019-11-18", "reason": "Funding year ends."})
    signed = _paper_signature(
        s,
        how="on_paper",
        recorded_by="rec.rita",
        evidence=ev.Evidence(kind=ev.EvidenceKind.SIGNED_FORM, reference="DMPC form 512"),
    )
    assert when_words(signed, "signed") == (
        "signed 23 November 2019, recorded 26 November 2019 by rec.rita, "
        "from the signed form (DMPC form 512)"
    )
    assert when_words(signed, "signed", public=True) == (
        "signed 23 November 2019, recorded 26 November 2019"
    )
    last = timeline(CASE_ID, s.events)[-1]
    assert last.summary == (
        "Approved as PCD 679, late: required by 18 November 2019, decided 23 November 2019"
    )
    assert last.effective_at == datetime(2019, 11, 23, 12, 0, tzinfo=UTC)
    assert last.occurred_at.date() == date(2019, 11, 26)
    assert last.recorded == (
        "recorded 26 November 2019 by rec.rita, from the signed form (DMPC form 512)"
    )
    # Steps Ratify witnessed say one date and carry no provenance line.
    assert all(e.recorded is None for e in timeline(CASE_ID, s.events)[:-1])


def test_an_imported_decision_says_imported_and_by_whom():
    s = Story(time_sensitivity={"required_by": "2019-11-18", "reason": "Funding year ends."})
    signed = _paper_signature(s, how="imported", recorded_by="admin.ann")
    assert when_words(signed, "signed") == (
        "signed 23 November 2019, imported 26 November 2019 by admin.ann"
    )


def test_a_step_recorded_the_day_it_happened_says_one_date():
    s = Story()
    s.do(ev.CaseDrafted, OFFICER, case=s.case)
    assert when_words(s.events[-1], "drafted") == "drafted 18 November 2019"
    assert recorded_words(s.events[-1]) is None
