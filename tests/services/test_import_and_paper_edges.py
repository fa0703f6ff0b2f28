"""The edges of time and text in imports and steps on paper, found by trying issue 15's
work as an attacker: a date at the edge of the calendar is refused where it is sent (it
would have made a case unreadable for ever), one bad file never stops an import, a paper
step dated today by its day is placed now (not at a noon still to come), and a YAML error
never quotes the file's text (Part 2)."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError
from sqlalchemy.engine import URL, Engine

from domain.casefile import CaseFileError, parse_case
from domain.clock import LONDON
from eventstore import EventStore, create_engine_for
from ratify.infra.db import migrate_app
from ratify.services.commands import OnPaperBody
from ratify.services.importing import ImportReport, Source, import_histories

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
NOW = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
SECRET = "TenderPrice_1200000_SECRET"


@pytest.fixture
def store(database_url: URL) -> Iterator[EventStore]:
    engine: Engine = create_engine_for(database_url)
    migrate_app(engine)
    yield EventStore(engine)
    engine.dispose()


def history(reference: int, **steps: Any) -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load((EXAMPLES / "import" / "pcd-700.history.yaml").read_text())
    doc = copy.deepcopy(doc)
    doc["history"]["reference"] = f"PCD {reference}"
    doc["history"].update(steps)
    return doc


def source(name: str, doc: dict[str, Any]) -> Source:
    return Source(name, yaml.safe_dump(doc, sort_keys=False).encode())


def run(store: EventStore, *sources: Source) -> ImportReport:
    return import_histories(store, list(sources), importer="admin.ada", now=NOW)


def test_a_date_at_the_edge_of_time_is_refused_not_imported_into_an_unreadable_case(
    store: EventStore,
) -> None:
    # Imported today, such a case makes `ratify case show`, its page, its history page and
    # its evidence export fail with OverflowError / 500, for ever (the store is append-only).
    report = run(
        store, source("a.history.yaml", history(801, drafted_on="0001-01-01T00:00:00+05:00"))
    )
    (case,) = report.cases
    assert case.status == "refused"
    assert [p.field for p in case.problems] == ["history.drafted_on"]
    assert store.read_stream("pcd-801") == []


def test_one_file_with_an_overflowing_date_does_not_crash_the_whole_import(
    store: EventStore,
) -> None:
    # Today: OverflowError out of import_histories (CLI traceback, POST /admin/import 500),
    # after the files before it were written and before any Part 2 review was started.
    report = run(
        store,
        source("a.history.yaml", history(949)),
        source("b.history.yaml", history(950, submitted_on="0001-01-01T00:00:00+05:00")),
    )
    assert {c.source: c.status for c in report.cases} == {
        "a.history.yaml": "imported",
        "b.history.yaml": "refused",
    }


def test_history_dates_outside_the_date_window_are_refused(store: EventStore) -> None:
    # README "Bounded input": dates a person writes lie between 1990-01-01 and 2100-12-31.
    report = run(store, source("a.history.yaml", history(804, drafted_on="1066-10-14")))
    (case,) = report.cases
    assert case.status == "refused"
    assert [p.field for p in case.problems] == ["history.drafted_on"]


@pytest.mark.parametrize(
    "effective_at", ["0001-01-01T00:00:00+05:00", "9999-12-31T23:00:00-05:00", "1066-10-14"]
)
def test_an_on_paper_date_outside_the_window_is_refused_at_the_edge(effective_at: str) -> None:
    # Today the first two reach london_date() in commands.on_paper: HTTP 500.
    with pytest.raises(ValidationError):
        OnPaperBody.model_validate(
            {
                "effective_at": effective_at,
                "for_user": "dee.dmpc",
                "evidence": {"kind": "signed_form", "reference": "scan 42"},
            }
        )


def test_a_case_file_error_does_not_quote_part2_text_written_like_a_yaml_alias() -> None:
    # An unquoted Part 2 text starting with "*" is a YAML alias: the refusal quotes it, and
    # the refusal's `detail` goes into the request's log line (POST /cases/upload, 422), and
    # into the import report (the same loader reads history files).
    text = (EXAMPLES / "mettrace.yaml").read_text()
    lines = [
        f"  content: *{SECRET}" if line.startswith("  content:") else line
        for line in text.splitlines()
    ]
    with pytest.raises(CaseFileError) as refused:
        parse_case("\n".join(lines) + "\n", "leak.yaml")
    assert SECRET not in str(refused.value)


def test_a_paper_step_dated_today_by_its_day_happened_by_now_not_at_noon_to_come() -> None:
    today = datetime.now(UTC).astimezone(LONDON).date()
    body = OnPaperBody.model_validate(
        {
            "effective_at": today.isoformat(),
            "for_user": "dee.dmpc",
            "evidence": {"kind": "signed_form", "reference": "scan 42"},
        }
    )
    assert body.effective_at <= datetime.now(UTC)
    earlier = OnPaperBody.model_validate(
        {
            "effective_at": "2022-03-14",
            "for_user": "dee.dmpc",
            "evidence": {"kind": "signed_form", "reference": "scan 42"},
        }
    )
    assert earlier.effective_at.astimezone(LONDON).hour == 12
