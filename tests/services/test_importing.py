"""Importing a register: history files become closed cases with their real dates."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy.engine import URL, Engine

from domain.clock import london_date
from domain.state import Part2Status, Stage
from eventstore import EventStore, create_engine_for
from eventstore.digest import digest
from ratify.infra.db import migrate_app
from ratify.services.evidence import check_bundle, export_bundle
from ratify.services.importing import ImportReport, Source, import_histories, read_sources
from ratify.services.journal import CaseJournal
from ratify.services.projections import public_register
from ratify.services.projections.projector import Projector

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "import"
NOW = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)


@pytest.fixture
def engine(database_url: URL) -> Iterator[Engine]:
    engine = create_engine_for(database_url)
    migrate_app(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def store(engine: Engine) -> EventStore:
    return EventStore(engine)


def run(store: EventStore, path: Path = EXAMPLES, *, check: bool = False) -> ImportReport:
    histories, beside = read_sources(path)
    return import_histories(
        store, histories, beside=beside, importer="admin.ada", now=NOW, check=check
    )


def statuses(report: ImportReport) -> dict[str, str]:
    return {c.source: c.status for c in report.cases}


def test_a_decision_signed_five_days_after_its_deadline_is_late_with_its_real_dates(
    store: EventStore, engine: Engine
) -> None:
    report = run(store)
    assert statuses(report) == {
        "declined-2021-custody-vans.history.yaml": "imported",
        "pcd-512.history.yaml": "imported",
        "pcd-700.history.yaml": "imported",
        "withdrawn-2020-cctv-upgrade.history.yaml": "imported",
    }
    history = CaseJournal(store).history("pcd-512")
    state = history.state
    assert state.stage is Stage.APPROVED and state.reference == "PCD 512"
    assert state.required_by == date(2022, 3, 9)
    assert london_date(state.decided_at) == date(2022, 3, 14)  # type: ignore[arg-type]
    assert state.late
    # a missed deadline is recorded at its own date, not when it was imported
    missed = [e for e in history.events if e.TYPE == "deadline.missed"]
    assert len(missed) == 1 and london_date(missed[0].at) == date(2022, 3, 9)
    # every event is marked imported, by whom, from which file
    sha = {e.provenance.source_sha256 for e in history.events if e.provenance}
    assert len(sha) == 1 and all(
        e.provenance is not None and e.provenance.how == "imported" for e in history.events
    )
    assert {e.occurred_at for e in history.events} == {NOW}

    Projector(store, engine).catch_up()
    entry = public_register.register_entry(engine, "PCD 512")
    assert entry is not None
    assert entry.date_signed == date(2022, 3, 14)
    assert london_date(entry.published_at) == date(2022, 3, 17)
    assert entry.late


def test_the_outcomes_declined_and_withdrawn_and_a_future_part2_review(store: EventStore) -> None:
    report = run(store)
    journal = CaseJournal(store)
    assert journal.load("declined-2021-custody-vans").stage is Stage.DECLINED
    assert journal.load("withdrawn-2020-cctv-upgrade").stage is Stage.WITHDRAWN
    pcd700 = journal.load("pcd-700")
    assert pcd700.part2 is Part2Status.EXEMPT
    assert report.reviews == [("pcd-700", date(2031, 6, 1))]


def test_importing_twice_changes_nothing(store: EventStore) -> None:
    run(store)
    before = store.last_position()
    again = run(store)
    assert set(statuses(again).values()) == {"skipped"}
    assert store.last_position() == before
    # the review of Part 2 is still to be started (idempotently) from a second run
    assert again.reviews == [("pcd-700", date(2031, 6, 1))]


def test_the_same_case_from_another_file_is_a_conflict(store: EventStore, tmp_path: Path) -> None:
    run(store)
    changed = tmp_path / "pcd-512.history.yaml"
    shutil.copy(EXAMPLES / "pcd-512.case.yaml", tmp_path)
    changed.write_text(
        (EXAMPLES / "pcd-512.history.yaml").read_text().replace("Fran Okafor", "Fran O")
    )
    before = store.last_position()
    (case,) = run(store, changed).cases
    assert case.status == "refused"
    assert case.problems[0].field == "history.case_id"
    assert "another file" in case.problems[0].rule
    assert store.last_position() == before


def test_a_bad_case_among_good_ones_writes_nothing_and_names_field_and_rule(
    store: EventStore, tmp_path: Path
) -> None:
    for name in ("pcd-512.history.yaml", "pcd-512.case.yaml", "pcd-700.history.yaml"):
        shutil.copy(EXAMPLES / name, tmp_path)
    bad = (EXAMPLES / "declined-2021-custody-vans.history.yaml").read_text()
    # no board advice: the advisers would sign off a case the board has not seen
    bad = bad.replace(
        "  board: {meeting_on: 2021-06-17, advice: supported_with_conditions, "
        "conditions: A revised fleet plan first.}\n",
        "",
    )
    (tmp_path / "declined.history.yaml").write_text(bad)
    report = run(store, tmp_path)
    assert statuses(report) == {
        "declined.history.yaml": "refused",
        "pcd-512.history.yaml": "imported",
        "pcd-700.history.yaml": "imported",
    }
    refused = report.with_status("refused")[0]
    assert [str(p) for p in refused.problems] == [
        "history.signoffs.0: finance sign-off cannot be given: the case is "
        + refused.problems[0].rule.split("the case is ")[1]
    ]
    assert "board" in refused.problems[0].rule
    assert store.read_stream("declined-2021-custody-vans") == []
    assert set(store.allocations("PCD")) == {"pcd-512", "pcd-700"}


def test_a_file_too_large_is_refused_alone_and_the_rest_of_the_directory_lands(
    store: EventStore, tmp_path: Path
) -> None:
    for name in ("pcd-512.history.yaml", "pcd-512.case.yaml"):
        shutil.copy(EXAMPLES / name, tmp_path)
    (tmp_path / "huge.history.yaml").write_bytes(b"#" * (3 * 1024 * 1024))
    report = run(store, tmp_path)
    assert statuses(report) == {"huge.history.yaml": "refused", "pcd-512.history.yaml": "imported"}
    [refused] = report.with_status("refused")
    assert [str(p) for p in refused.problems] == ["(file): at most 2,097,152 bytes"]


def test_a_date_before_the_step_it_follows_is_refused(store: EventStore, tmp_path: Path) -> None:
    text = (EXAMPLES / "pcd-700.history.yaml").read_text()
    (tmp_path / "pcd-700.history.yaml").write_text(
        text.replace(
            "{by: Sophie Linden, date: 2022-06-06}", "{by: Sophie Linden, date: 2022-05-30}"
        )
    )
    (case,) = run(store, tmp_path).cases
    assert case.status == "refused"
    assert case.problems[0].field == "history.interests"
    assert "before the step it follows (history.chief_executive, 2022-06-01)" in (
        case.problems[0].rule
    )


def test_a_reference_used_twice_or_held_by_a_live_case_is_refused(
    store: EventStore, tmp_path: Path
) -> None:
    text = (EXAMPLES / "pcd-700.history.yaml").read_text()
    (tmp_path / "a.history.yaml").write_text(text)
    (tmp_path / "b.history.yaml").write_text(text.replace("case:", "case:", 1))
    report = run(store, tmp_path)
    assert set(statuses(report).values()) == {"refused"}
    assert all(c.problems[0].field == "history.reference" for c in report.cases)
    assert store.last_position() == 0

    store.allocate("PCD", "case-live", first=700)  # a live case took PCD 700
    (tmp_path / "b.history.yaml").unlink()
    (case,) = run(store, tmp_path).cases
    assert case.status == "refused"
    assert case.problems == [case.problems[0]]
    assert "held by case case-live" in case.problems[0].rule
    assert store.read_stream("pcd-700") == []


def test_new_references_continue_after_the_highest_imported(store: EventStore) -> None:
    store.allocate("PCD", "case-early", first=3)
    run(store)
    assert store.allocate("PCD", "case-next", first=3) == 701


def test_check_writes_nothing_and_reports_what_would_be_imported(store: EventStore) -> None:
    report = run(store, check=True)
    assert set(statuses(report).values()) == {"would_import"}
    assert store.last_position() == 0 and store.allocations("PCD") == {}
    assert {c.events for c in report.cases} >= {12}


def test_a_recorded_outcome_the_rules_disagree_with_is_a_finding_not_a_refusal(
    store: EventStore, tmp_path: Path
) -> None:
    text = (EXAMPLES / "pcd-700.history.yaml").read_text()
    text = text.replace(
        "decision: {by: Sophie Linden, date: 2022-06-06}",
        "decision: {by: Sophie Linden, date: 2022-06-06, paragraphs: [para 4.13]}",
    )
    (tmp_path / "pcd-700.history.yaml").write_text(text)
    (case,) = run(store, tmp_path).cases
    assert case.status == "imported"
    assert case.findings == [
        "the paper cites para 4.13; the rules in force on 2022-05-05 (scheme "
        + case.findings[0].split("(scheme ")[1].split(")")[0]
        + ") give para 4.8"
    ]
    state = CaseJournal(store).load("pcd-700")
    assert any("para 4.13" in i for i in state.irregularities)


def test_a_person_in_two_capacities_is_a_finding_the_past_being_what_it_was(
    store: EventStore, tmp_path: Path
) -> None:
    text = (EXAMPLES / "pcd-700.history.yaml").read_text()
    (tmp_path / "pcd-700.history.yaml").write_text(
        text.replace("{by: Diana Luchford, date: 2022-06-01}", "{by: Lee Hart, date: 2022-06-01}")
    )
    (case,) = run(store, tmp_path).cases
    assert case.status == "imported"
    assert len(case.findings) == 1
    assert case.findings[0].startswith("history.chief_executive: ")
    assert "lee-hart" in case.findings[0]


def test_the_evidence_bundle_of_an_imported_case_checks_offline(store: EventStore) -> None:
    run(store)
    _, content = export_bundle(store, "pcd-512", exported_by="aud.ann", exported_at=NOW)
    result = check_bundle(content.decode(), digest(store))
    assert result.ok, result.problems


def test_a_history_with_an_unknown_field_is_refused_with_its_path(store: EventStore) -> None:
    source = Source("x.history.yaml", b"case_file: y.yaml\nhistory: {outcom: approved}\n")
    (case,) = import_histories(store, [source], importer="admin.ada", now=NOW).cases
    assert case.status == "refused"
    assert any(p.field == "history" and "outcom" in p.rule for p in case.problems)
