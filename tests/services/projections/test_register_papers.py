"""The register entry shows the whole of Part 1, the board's advice with its conditions as
typed, who decided and why, and that a Part 2 exists (its exemption and review date, never
its text); the list searches the summaries and by decision maker. Both backends."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.engine import Engine

from domain import events as ev
from eventstore import EventStore
from ratify.services.projections import public_register
from ratify.services.projections.projector import Projector
from tests.factories import CEO, DMPC, MPS, SECRETARIAT
from tests.services.projections.stories import PART2, PART2_TEXT, Story, snapshot

NOTE = "The annex names the two suppliers who bid."
CONDITIONS = "1. Report back to the board in six months.\n2. Publish the evaluation."
REASONS = "The evidence of the pilot is strong;\nthe cost is within the approved budget."


def decided(store: EventStore, case_id: str = "papers", **overrides: Any) -> Story:
    story = Story(
        store,
        case_id,
        part2={**PART2, "exemption_note": NOTE},
        financial_comments="The £600,000 is met from the approved revenue budget.",
        legal_comments="MOPAC has the power to enter into the contract.",
        equality_comments="No adverse impact on any protected group.",
        **overrides,
    )
    story.submit().place_on_agenda()
    story.do(
        ev.BoardAdviceRecorded,
        SECRETARIAT,
        meeting_id=f"IAM-{case_id}",
        advice="supported_with_conditions",
        conditions=CONDITIONS,
        comment="The board asked for quarterly figures.",
    )
    story.sign_all()
    story.do(ev.ChiefExecutiveConsulted, CEO)
    story.do(ev.InterestsDeclared, DMPC, has_interest=False)
    story.do(ev.DecisionApproved, DMPC, reference="PCD 801", comment=REASONS)
    return story.publish_part1()


def test_an_entry_shows_all_of_part1_the_advice_the_reasons_and_a_part2_notice_only(
    store: EventStore, engine: Engine, projector: Projector
):
    decided(store)
    projector.catch_up()
    entry = public_register.register_entry(engine, "PCD 801")
    assert entry is not None and entry.papers is not None
    papers = entry.papers
    sections = {s.heading: s.text for s in papers.sections}
    assert sections["Financial comments"].startswith("The £600,000 is met")
    assert sections["Legal comments"] == "MOPAC has the power to enter into the contract."
    assert sections["Equality comments"] == "No adverse impact on any protected group."
    assert sections["Privacy comments"] == "No personal data."
    assert "Introduction and background" in sections
    assert papers.board is not None
    assert papers.board.advice == "supported with conditions"
    assert papers.board.conditions == CONDITIONS  # the line break kept
    assert papers.board.comment == "The board asked for quarterly figures."
    assert papers.decided_by == "dmpc.sl" and papers.outcome == "approved"
    assert papers.reasons == REASONS
    assert [m.amount for m in papers.money_lines] == [600000]
    assert papers.part2 is not None
    assert papers.part2.security_marking == "OFFICIAL-SENSITIVE [COMMERCIAL]"
    assert papers.part2.foi_exemptions == ["s43 Commercial interests"]
    assert papers.part2.review_date == date(2024, 4, 1)
    shown = entry.model_dump_json()
    assert PART2_TEXT not in shown and NOTE not in shown
    before = snapshot(engine)
    projector.rebuild()
    assert snapshot(engine) == before


def test_the_list_searches_summaries_and_by_decision_maker(
    store: EventStore, engine: Engine, projector: Projector
):
    decided(store, "one", executive_summary="Body-worn video cameras for the borough teams.")
    Story(store, "two", executive_summary="Grants to youth clubs.").to_advice().sign_all().approve(
        "PCD 2"
    ).publish_part1()
    projector.catch_up()
    found = public_register.register(engine, text="BODY-WORN")
    assert [i.reference for i in found.items] == ["PCD 801"]
    assert found.items[0].executive_summary.startswith("Body-worn video")
    assert [i.reference for i in public_register.register(engine, text="youth").items] == ["PCD 2"]
    by_dmpc = public_register.register(engine, decided_by="dmpc.sl")
    assert {i.reference for i in by_dmpc.items} == {"PCD 801", "PCD 2"}
    assert public_register.register(engine, decided_by=MPS.user_id).items == []
    makers = public_register.decision_makers(engine)
    assert [(m.decided_by, m.decision_maker) for m in makers] == [
        ("dmpc.sl", "Deputy Mayor for Policing and Crime")
    ]
