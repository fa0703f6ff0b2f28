"""The register entry's answer columns: the appendix of each grant line and each group's
total, the cross-references, and late, projected from the case and equal after a rebuild."""

from __future__ import annotations

from datetime import date

from sqlalchemy.engine import Engine

from eventstore import EventStore
from ratify.services.projections import public_register
from ratify.services.projections.projector import Projector
from tests.services.projections.answers import BRIGHT, SECRET, decided_grants_case
from tests.services.projections.stories import (
    PAPER_FORM,
    PAPER_RECORDED_BY,
    Story,
    paper_decision,
    snapshot,
)


def test_the_entry_holds_each_lines_appendix_and_survives_a_rebuild(
    store: EventStore, engine: Engine, projector: Projector
):
    decided_grants_case(store, late=True)
    projector.catch_up()
    entry = public_register.register_entry(engine, "pcd 700")
    assert entry is not None and entry.grants is not None
    assert [(g.line, g.outcome) for g in entry.grants.lines] == [
        ("G1", "approve"),
        ("G2", "approve"),
        ("G3", "note"),
        ("G4", "note"),
        ("G5", "approve"),
    ]
    first = entry.grants.groups[0]
    assert (first.label, first.lines, first.outcome, first.total) == (
        BRIGHT,
        ["G1", "G2"],
        "approve",
        55000,
    )
    assert entry.late and entry.timeliness and entry.timeliness.startswith("late: required by")
    assert [x.published for x in entry.cross_references] == ["PCD 512", None]
    assert SECRET not in entry.model_dump_json()
    before = snapshot(engine)
    projector.rebuild()
    assert snapshot(engine) == before


def test_a_decision_without_grants_or_a_date_says_neither(
    store: EventStore, engine: Engine, projector: Projector
):
    Story(store, "plain").to_advice().sign_all().approve("PCD 1").publish_part1()
    projector.catch_up()
    entry = public_register.register_entry(engine, "PCD 1")
    assert entry is not None
    assert entry.grants is None and entry.cross_references == []
    assert not entry.late and entry.timeliness is None


def test_a_decision_signed_on_paper_shows_its_signature_date_and_when_it_was_recorded(
    store: EventStore, engine: Engine, projector: Projector
):
    paper_decision(store)
    projector.catch_up()
    entry = public_register.register_entry(engine, "PCD 512")
    assert entry is not None
    assert entry.date_signed == date(2022, 3, 14)  # the signature's date, not 17 March
    assert entry.late and entry.timeliness == (
        "late: required by 9 March 2022, decided 14 March 2022"
    )
    assert entry.recorded == "recorded 17 March 2022"
    # Who recorded it and the form's reference are not Part 1: not on the register.
    shown = entry.model_dump_json()
    assert PAPER_RECORDED_BY not in shown and PAPER_FORM not in shown


def test_a_decision_taken_in_ratify_says_nothing_of_recording(
    store: EventStore, engine: Engine, projector: Projector
):
    Story(store, "plain").to_advice().sign_all().approve("PCD 1").publish_part1()
    projector.catch_up()
    entry = public_register.register_entry(engine, "PCD 1")
    assert entry is not None and entry.recorded is None
