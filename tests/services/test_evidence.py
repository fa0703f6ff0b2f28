"""Evidence bundles: exported from the store (both backends), checked with no database, and
every way of tampering with the file caught, naming what is wrong."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from domain import events as ev
from domain.rules.delegation import route_case
from eventstore import EventStore, NewEvent
from eventstore.digest import Digest, digest
from eventstore.hashing import HashInput, row_hash
from ratify.cli.main import app
from ratify.services.evidence import BundleEvent, check_bundle, export_bundle
from ratify.services.journal import CaseJournal
from tests.factories import LEGAL, OFFICER, SECRETARIAT, Clock, make_case
from tests.services.projections.stories import PAPER_FORM, PAPER_RECORDED_BY, paper_decision

CASE = "case-evidence-1"
SCRIPT = re.compile(
    r'(<script type="application/json" id="ratify-evidence">)(.*?)(</script>)', re.S
)


def _make_case(store: EventStore) -> None:
    """A submitted case with a revision, a request for changes stored by an older Ratify
    (schema v1), and a second case and a notification stream beside it in the store."""
    journal = CaseJournal(store)
    clock = Clock()
    case = make_case()

    def mk(cls: type[ev.Event], actor: Any, case_id: str = CASE, **kw: Any) -> ev.Event:
        return cls(
            event_id=uuid.uuid4(), case_id=case_id, occurred_at=clock.tick(), actor=actor, **kw
        )

    journal.record("case-other", [mk(ev.CaseDrafted, OFFICER, "case-other", case=case)])
    revised = case.model_copy(update={"title": "Met Trace (revised)"})
    journal.record(
        CASE,
        [
            mk(ev.CaseDrafted, OFFICER, case=case),
            mk(ev.CaseRevised, OFFICER, case=revised),
            mk(ev.CaseSubmitted, OFFICER, routing=route_case(revised, date(2019, 11, 18))),
            mk(
                ev.PlacedOnAgenda,
                SECRETARIAT,
                meeting_id="IAM-1",
                meeting_date=date(2019, 11, 18),
                board="IAM",
            ),
            mk(ev.BoardAdviceRecorded, SECRETARIAT, meeting_id="IAM-1", advice="supported"),
        ],
    )
    v1 = NewEvent(
        event_id=uuid.uuid4(),
        event_type="advice.changes_requested",
        schema_version=1,
        occurred_at=clock.tick(),
        actor_id=LEGAL.user_id,
        actor_role=LEGAL.role.value,
        data={"area": "legal", "reason": "Please cite paragraph 4.13."},
    )
    store.append(CASE, 5, [v1])
    journal.record("case-other", [mk(ev.CaseWithdrawn, OFFICER, "case-other", reason="Dup.")])


@pytest.fixture
def exported(store: EventStore) -> tuple[str, Digest]:
    _make_case(store)
    _, content = export_bundle(
        store, CASE, exported_by="aud.ann", exported_at=datetime(2026, 1, 5, 9, 30, tzinfo=UTC)
    )
    return content.decode(), digest(store)


def _evidence(document: str) -> dict[str, Any]:
    found = SCRIPT.search(document)
    assert found is not None
    data: dict[str, Any] = json.loads(found.group(2))
    return data


def _with(document: str, evidence: dict[str, Any]) -> str:
    payload = json.dumps(evidence, sort_keys=True, indent=1, ensure_ascii=False)
    return SCRIPT.sub(lambda m: m.group(1) + payload.replace("</", "<\\/") + m.group(3), document)


def _rehash(events: list[dict[str, Any]]) -> None:
    """What a forger with the hashing code does: recompute every hash and link in order."""
    prev = "0" * 64
    for e in events:
        e["prev_hash"] = prev
        row = BundleEvent.model_validate(e)
        e["hash"] = prev = row_hash(
            HashInput(
                position=row.position,
                event_id=uuid.UUID(row.event_id),
                stream_id=row.stream_id,
                version=row.version,
                event_type=row.event_type,
                schema_version=row.schema_version,
                occurred_at=datetime.fromisoformat(row.occurred_at),
                recorded_at=datetime.fromisoformat(row.recorded_at),
                actor_id=row.actor_id,
                actor_role=row.actor_role,
                data_text=row.data,
                metadata_text=row.metadata,
                prev_hash=row.prev_hash,
            )
        )


def test_a_bundle_checks_with_no_database_against_the_kept_digest(
    exported: tuple[str, Digest],
) -> None:
    document, kept = exported
    result = check_bundle(document, kept)
    assert result.ok, result.problems
    assert (
        result.proven[0] == f"6 events of {CASE}, every hash recomputed and chained from the first"
    )
    assert "that digest is the one you kept" in result.proven
    # the report is readable: the revision, and the v1 request for changes, upcast
    assert "Met Trace (revised)" in document and "Please cite paragraph 4.13." in document
    assert "Title: Test Case → Met Trace (revised)" in document
    evidence = _evidence(document)
    assert [e["schema_version"] for e in evidence["events"]][-1] == 1
    assert {e["stream_id"] for e in evidence["events"]} == {CASE}  # only this case's events
    # without a kept digest it is consistent, and says what that does not prove
    alone = check_bundle(document)
    assert alone.ok and "no kept digest was given" in alone.proven[-1]


def test_an_edited_field_is_caught_naming_the_event(exported: tuple[str, Digest]) -> None:
    document, kept = exported
    evidence = _evidence(document)
    evidence["events"][0]["data"] = evidence["events"][0]["data"].replace("Test Case", "Test Trick")
    problems = check_bundle(_with(document, evidence), kept).problems
    first = evidence["events"][0]
    assert problems == [
        f"v1 (case.drafted, event {first['event_id']}, position {first['position']}): its "
        "content does not match its hash (edited)"
    ]


def test_an_edited_actor_is_caught(exported: tuple[str, Digest]) -> None:
    document, kept = exported
    evidence = _evidence(document)
    evidence["events"][2]["actor_id"] = "someone.else"
    assert any(
        "v3 (case.submitted" in p for p in check_bundle(_with(document, evidence), kept).problems
    )


def test_a_deleted_event_is_caught(exported: tuple[str, Digest]) -> None:
    document, kept = exported
    evidence = _evidence(document)
    del evidence["events"][3]
    problems = check_bundle(_with(document, evidence), kept).problems
    assert any("expected version 4 here" in p for p in problems)
    assert any("does not link to the event before it" in p for p in problems)


def test_two_swapped_events_are_caught(exported: tuple[str, Digest]) -> None:
    document, kept = exported
    evidence = _evidence(document)
    events = evidence["events"]
    events[2], events[3] = events[3], events[2]
    problems = check_bundle(_with(document, evidence), kept).problems
    assert any("expected version 3 here" in p for p in problems)
    assert any("position does not follow" in p for p in problems)


def test_a_truncated_bundle_is_caught_by_the_inclusion_proof(exported: tuple[str, Digest]) -> None:
    document, kept = exported
    evidence = _evidence(document)
    evidence["events"].pop()  # the newest event, say the request for changes, removed
    problems = check_bundle(_with(document, evidence), kept).problems
    assert problems == [
        f"the inclusion proof is for {CASE} v6, not the bundle's last event "
        f"v5 (board.advice_recorded, event {evidence['events'][-1]['event_id']}, position "
        f"{evidence['events'][-1]['position']}): events were removed or added at the end"
    ]


def test_a_rehashed_forgery_is_caught_by_the_proof_and_a_rebuilt_proof_by_the_kept_digest(
    exported: tuple[str, Digest],
) -> None:
    document, kept = exported
    evidence = _evidence(document)
    evidence["events"][0]["data"] = evidence["events"][0]["data"].replace("Test Case", "Test Trick")
    _rehash(evidence["events"])
    forged = _with(document, evidence)
    assert not any("does not match its hash" in p for p in check_bundle(forged, kept).problems)
    assert "the inclusion proof is for" in check_bundle(forged, kept).problems[0]
    # the forger also points the proof at the new head: the path no longer reaches the root
    evidence["proof"]["head"] = evidence["events"][-1]["hash"]
    problems = check_bundle(_with(document, evidence), kept).problems
    assert any("does not lead to the digest's root" in p for p in problems)
    # and rebuilds the root from it: consistent on its own, refused against the kept digest
    from eventstore.digest import InclusionProof, leaf_hash

    proof = InclusionProof.model_validate(evidence["proof"])
    node = leaf_hash(proof.stream_id, proof.version, proof.head)
    import hashlib

    for step in proof.path:
        sibling = bytes.fromhex(step.hash)
        pair = sibling + node if step.side == "left" else node + sibling
        node = hashlib.sha256(b"\x01" + pair).digest()
    evidence["digest"]["root"] = node.hex()
    rebuilt = _with(document, evidence)
    against_kept = check_bundle(rebuilt, kept).problems
    assert against_kept[0].startswith("the bundle's digest is not the digest you kept")


def test_an_edited_report_is_caught(exported: tuple[str, Digest]) -> None:
    document, kept = exported
    edited = document.replace("Met Trace (revised)", "Met Trace (approved)", 1)
    assert edited != document
    assert check_bundle(edited, kept).problems == [
        "the human-readable report was edited: it is not what the evidence says"
    ]


def test_files_that_are_not_bundles_are_refused_clearly(exported: tuple[str, Digest]) -> None:
    document, _ = exported
    assert check_bundle("<html>hello</html>").problems == [
        "this is not a Ratify evidence bundle: it holds no evidence block"
    ]
    broken = SCRIPT.sub(lambda m: m.group(1) + "{not json" + m.group(3), document)
    assert check_bundle(broken).problems[0].startswith("the evidence block is not valid JSON")
    evidence = _evidence(document)
    del evidence["proof"]
    assert check_bundle(_with(document, evidence)).problems == [
        "the evidence is malformed at proof: Field required"
    ]


def test_the_cli_exports_nothing_without_a_server_but_checks_offline(
    exported: tuple[str, Digest], tmp_path: Path
) -> None:
    document, kept = exported
    bundle = tmp_path / "evidence.html"
    bundle.write_text(document, "utf-8")
    kept_file = tmp_path / "digest.json"
    kept_file.write_text(kept.model_dump_json(), "utf-8")
    runner = CliRunner()
    ok = runner.invoke(app, ["audit", "check", str(bundle), "--digest", str(kept_file)])
    assert ok.exit_code == 0, ok.output
    assert "ok: 6 events of case-evidence-1" in ok.stdout
    bundle.write_text(document.replace("Met Trace (revised)", "Met Trace (approved)", 1), "utf-8")
    bad = runner.invoke(app, ["audit", "check", str(bundle), "--digest", str(kept_file)])
    assert bad.exit_code == 1 and "FAILED: the human-readable report was edited" in bad.stderr
    missing = runner.invoke(app, ["audit", "check", str(tmp_path / "nope.html")])
    assert missing.exit_code == 2 and "BUNDLE:" in missing.stderr
    not_digest = runner.invoke(app, ["audit", "check", str(bundle), "--digest", str(bundle)])
    assert not_digest.exit_code == 2 and "--digest:" in not_digest.stderr


def test_a_decision_signed_on_paper_shows_both_dates_and_its_bundle_checks_offline(
    store: EventStore, tmp_path: Path
) -> None:
    paper_decision(store, "paper-512")
    _, content = export_bundle(
        store, "paper-512", exported_by="aud.ann", exported_at=datetime(2026, 1, 5, tzinfo=UTC)
    )
    document = content.decode()
    recorded = f"recorded 17 March 2022 by {PAPER_RECORDED_BY}, from the signed form ({PAPER_FORM})"
    # The decision's facts: signed on the 14th (late), recorded on the 17th, from the form.
    assert f"14 March 2022, 12:00 by dmpc.sl ({recorded}) (required by 9 March 2022: late)" in (
        document
    )
    # The timeline's row for the decision: when it happened, and how it was recorded.
    assert "late: required by 9 March 2022, decided 14 March 2022" in document
    assert document.count(recorded) == 2  # the facts and the timeline row
    kept = digest(store)
    assert check_bundle(document, kept).ok
    bundle = tmp_path / "paper.html"
    bundle.write_text(document, "utf-8")
    kept_file = tmp_path / "digest.json"
    kept_file.write_text(kept.model_dump_json(), "utf-8")
    ok = CliRunner().invoke(app, ["audit", "check", str(bundle), "--digest", str(kept_file)])
    assert ok.exit_code == 0, ok.output
    # Editing the recorded date in the report is caught: it is re-rendered from the evidence.
    edited = document.replace("recorded 17 March 2022", "recorded 14 March 2022")
    assert not check_bundle(edited, kept).ok
