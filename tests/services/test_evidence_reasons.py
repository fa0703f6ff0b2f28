"""The evidence report shows the decline's reason and the board's conditions on their own
lines; a bundle exported before the report showed them still checks."""

from __future__ import annotations

from datetime import UTC, datetime

from eventstore import EventStore
from eventstore.digest import digest
from ratify.services.evidence import check_bundle, export_bundle, render
from tests.services.projections.stories import Story, declined_with_conditions

AT = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)


def test_the_report_gives_the_reason_and_the_conditions_line_by_line(store: EventStore) -> None:
    declined_with_conditions(Story(store, "declined-2"))
    _, content = export_bundle(store, "declined-2", exported_by="aud.ann", exported_at=AT)
    document = content.decode()
    assert "<dt>Reason for the decline</dt><dd>Not value for money at this price.</dd>" in document
    assert "Declined. Reason: Not value for money at this price." in document
    two_lines = "Report the uptake each quarter<br>Return to the board before year 2"
    assert document.count(two_lines) == 2  # the facts and the timeline row
    assert "Comment: A pilot first." in document
    assert check_bundle(document, digest(store)).ok


def test_a_bundle_exported_before_reasons_were_shown_still_checks(store: EventStore) -> None:
    declined_with_conditions(Story(store, "declined-3"))
    evidence, _ = export_bundle(store, "declined-3", exported_by="aud.ann", exported_at=AT)
    older = render(evidence, reasons=False)
    assert "Reason for the decline" not in older
    result = check_bundle(older, digest(store))
    assert result.ok, result.problems
    edited = older.replace("Board advice at IAM-declined-3", "Board advice at IAM-elsewhere")
    assert not check_bundle(edited, digest(store)).ok
