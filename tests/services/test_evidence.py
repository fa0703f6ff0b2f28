"""Evidence bundles: exported from the store (both backends), checked with no database, and
every way of tampering with the file caught, naming what is wrong."""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import URL
from typer.testing import CliRunner

from domain import events as ev
from domain.rules.delegation import route_case
from eventstore import EventStore, NewEvent
from eventstore.digest import Digest, InclusionProof, digest, leaf_hash
from eventstore.hashing import HashInput, row_hash
from eventstore.log import leaf_of, root_from, store_consistency
from ratify.cli.main import app
from ratify.services.accesslog import PART2_READ, AccessLog
from ratify.services.evidence import (
    BundleEvent,
    ConsistencyProof,
    Evidence,
    check_bundle,
    export_bundle,
    render,
)
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


def _reroot(evidence: dict[str, Any]) -> None:
    """What a forger does to the digest: recompute the heads root from the proof's path."""
    evidence["proof"]["head"] = evidence["events"][-1]["hash"]
    proof = InclusionProof.model_validate(evidence["proof"])
    node = leaf_hash(proof.stream_id, proof.version, proof.head)
    for step in proof.path:
        sibling = bytes.fromhex(step.hash)
        pair = sibling + node if step.side == "left" else node + sibling
        node = hashlib.sha256(b"\x01" + pair).digest()
    evidence["digest"]["root"] = node.hex()


def _relog(evidence: dict[str, Any]) -> None:
    """What a forger does to the carried log: put the forged hashes in it, recompute its root."""
    log = evidence["log"]
    for e in evidence["events"]:
        log["hashes"][e["position"] - log["start"] - 1] = e["hash"]
    evidence["digest"]["log"] = root_from(
        log["start"],
        [bytes.fromhex(h) for h in log["frontier"]],
        [leaf_of(h) for h in log["hashes"]],
        evidence["digest"]["position"],
    ).hex()


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
    _reroot(evidence)
    problems = check_bundle(_with(document, evidence), kept).problems
    assert problems == [
        f"{e} is not in the carried log at its position"
        for e in (
            f"v{v['version']} ({v['event_type']}, event {v['event_id']}, position {v['position']})"
            for v in evidence["events"]
        )
    ]
    # and rebuilds the carried log, its root, and the report: consistent on its own, refused
    # against the kept digest
    _relog(evidence)
    rebuilt = render(Evidence.model_validate(evidence))
    assert check_bundle(rebuilt).ok
    assert check_bundle(rebuilt, kept).problems == [
        "the bundle's digest is not the digest you kept: the store it came from is not the "
        "store your digest covers (or the bundle was rebuilt)"
    ]


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


# -- a digest kept at another position than the export (bundle v2) ---------------------------


def _read_part2(store: EventStore, user: str = "aud.ann") -> None:
    """What opening the history page does: a Part 2 read recorded, moving the digest."""
    AccessLog(store).record(
        CASE, PART2_READ, user_id=user, basis="auditor", via="history", case_version=6
    )


def _export(store: EventStore) -> str:
    _, content = export_bundle(
        store, CASE, exported_by="aud.ann", exported_at=datetime(2026, 1, 5, 9, 30, tzinfo=UTC)
    )
    return content.decode()


def test_a_digest_kept_before_a_part2_read_checks_the_bundle_exported_after_it(
    store: EventStore,
) -> None:
    _make_case(store)
    kept = digest(store)
    _read_part2(store)  # the auditor opens the history page, then downloads the bundle
    document = _export(store)
    assert _evidence(document)["digest"]["position"] == kept.position + 1
    result = check_bundle(document, kept)
    assert result.ok, result.problems
    assert result.covered == [1, 2, 3, 4, 5, 6] and result.after == []
    assert result.proven[-1] == (
        f"the digest you kept (position {kept.position}) is the store's log as this bundle "
        f"carries it: it covers v1 to v6 of the case; none of the case's events came after it "
        f"(up to the export at position {kept.position + 1})"
    )


def test_a_digest_kept_part_way_through_the_case_says_which_events_came_after_it(
    store: EventStore,
) -> None:
    _make_case(store)
    case_events = store.read_stream(CASE)
    mid = digest(store, case_events[2].position)  # as an auditor kept it after v3
    document = _export(store)
    result = check_bundle(document, mid)
    assert result.ok, result.problems
    assert result.covered == [1, 2, 3] and result.after == [4, 5, 6]
    assert "it covers v1 to v3 of the case; v4 to v6 came after it" in result.proven[-1]
    # the first position it can vouch for: the one just before the case's first event
    first = digest(store, case_events[0].position - 1)
    assert check_bundle(document, first).covered == []
    before = digest(store, case_events[0].position - 2)
    assert check_bundle(document, before).problems == [
        f"the digest you kept (position {before.position}) was taken before the case's first "
        f"event (position {case_events[0].position}): it covers none of this bundle's events, "
        "so it cannot vouch for them"
    ]


def test_a_forged_or_unrelated_earlier_digest_is_refused(store: EventStore, tmp_path: Path) -> None:
    _make_case(store)
    kept = digest(store)
    _read_part2(store)
    document = _export(store)
    refused = (
        f"the digest you kept is not the store's log at position {kept.position} as this "
        "bundle carries it: the digest was forged or is from another store, or the events "
        "were changed since"
    )
    assert kept.log is not None
    forged = kept.model_copy(update={"log": kept.log[:-1] + ("0" if kept.log[-1] != "0" else "1")})
    assert check_bundle(document, forged).problems == [refused]
    # a digest of another store at the same position: same shape, not the same events
    other = EventStore.from_url(f"sqlite:///{tmp_path / 'other.db'}")
    from eventstore import migrate

    migrate(f"sqlite:///{tmp_path / 'other.db'}")
    _make_case(other)
    unrelated = digest(other)
    assert unrelated.position == kept.position
    result = check_bundle(document, unrelated)
    assert result.problems == [refused] and result.proven == []


def test_a_store_edited_since_the_kept_digest_is_caught(store: EventStore) -> None:
    """An event the kept digest covered, re-hashed in the carried log and its root: refused."""
    _make_case(store)
    kept = digest(store)
    _read_part2(store)
    document = _export(store)
    evidence = _evidence(document)
    evidence["events"][1]["actor_id"] = "someone.else"
    _rehash(evidence["events"])
    _reroot(evidence)
    _relog(evidence)
    rebuilt = render(Evidence.model_validate(evidence))
    problems = check_bundle(rebuilt, kept).problems
    assert any("the digest you kept is not the store's log at position" in p for p in problems)
    # and an edit of another stream's event in the carried log is caught on its own
    evidence = _evidence(document)
    evidence["log"]["hashes"][0] = (
        "f" * 64 if evidence["log"]["hashes"][0] != "f" * 64 else "e" * 64
    )
    assert "the carried log does not lead to the digest's log root" in " ".join(
        check_bundle(_with(document, evidence)).problems
    )


def test_a_digest_kept_after_the_export_checks_with_the_stores_consistency_proof(
    store: EventStore,
) -> None:
    _make_case(store)
    document = _export(store)
    export = Digest.model_validate(_evidence(document)["digest"])
    _read_part2(store)
    _read_part2(store, "aud.bob")
    later = digest(store)
    asked = check_bundle(document, later)
    assert asked.problems == [
        f"the digest you kept (position {later.position}) was taken after this bundle's export "
        f"(position {export.position}): give the consistency proof between them with --proof "
        f"(`ratify audit prove {export.position} --to {later.position}`)"
    ]
    proof = ConsistencyProof(
        old_size=export.position,
        new_size=later.position,
        proof=store_consistency(store, export.position, later.position),
    )
    result = check_bundle(document, later, proof)
    assert result.ok, result.problems
    assert result.covered == [1, 2, 3, 4, 5, 6] and result.after == []
    # a digest that does not extend the export's is refused, even with a proof
    assert later.log is not None
    forged = later.model_copy(update={"log": "ab" * 32})
    assert check_bundle(document, forged, proof).problems == [
        "the digest you kept does not extend the bundle's export digest: the proof does not "
        "lead to the newer root"
    ]
    wrong = proof.model_copy(update={"old_size": export.position - 1})
    assert (
        "the consistency proof is from position" in check_bundle(document, later, wrong).problems[0]
    )


DATA = Path(__file__).parent / "bundles"


def test_a_bundle_of_the_first_format_still_checks_against_its_digest() -> None:
    """evidence-v1.html was written by Ratify before bundles carried the event log."""
    document = (DATA / "evidence-v1.html").read_text("utf-8")
    kept = Digest.model_validate_json((DATA / "evidence-v1.digest.json").read_text("utf-8"))
    assert kept.format == "ratify-digest-v1" and _evidence(document)["format"] == (
        "ratify-evidence-v1"
    )
    result = check_bundle(document, kept)
    assert result.ok, result.problems
    assert "that digest is the one you kept" in result.proven
    moved = kept.model_copy(update={"position": kept.position + 1})
    assert "carries no event log (an older bundle" in check_bundle(document, moved).problems[0]


def test_the_cli_checks_a_bundle_against_earlier_and_later_digests(
    store: EventStore, database_url: URL, tmp_path: Path
) -> None:
    url = database_url.render_as_string(hide_password=False)
    runner = CliRunner()

    def ratify(*args: str) -> Any:
        return runner.invoke(app, ["--database-url", url, *args])

    _make_case(store)
    case_events = store.read_stream(CASE)
    early = tmp_path / "early.json"
    early.write_text(digest(store, case_events[3].position).model_dump_json(), "utf-8")
    _read_part2(store)
    bundle = tmp_path / "evidence.html"
    bundle.write_text(_export(store), "utf-8")
    export = Digest.model_validate(_evidence(bundle.read_text("utf-8"))["digest"])

    ok = ratify("audit", "check", str(bundle), "--digest", str(early))
    assert ok.exit_code == 0, ok.output
    assert "it covers v1 to v4 of the case; v5 to v6 came after it" in ok.stdout
    shown = json.loads(
        ratify("audit", "check", str(bundle), "--digest", str(early), "--json").stdout
    )
    assert shown["covered_versions"] == [1, 2, 3, 4] and shown["versions_after_digest"] == [5, 6]

    _read_part2(store, "aud.bob")
    late = tmp_path / "late.json"
    taken = ratify("audit", "digest", "--json")
    assert taken.exit_code == 0, taken.output
    late.write_text(taken.stdout, "utf-8")
    later = Digest.model_validate_json(taken.stdout)
    asked = ratify("audit", "check", str(bundle), "--digest", str(late))
    assert asked.exit_code == 1
    assert f"`ratify audit prove {export.position} --to {later.position}`" in asked.stderr
    proved = ratify("audit", "prove", str(export.position), "--to", str(later.position))
    assert proved.exit_code == 0, proved.output
    proof = tmp_path / "proof.json"
    proof.write_text(proved.stdout, "utf-8")
    checked = ratify("audit", "check", str(bundle), "--digest", str(late), "--proof", str(proof))
    assert checked.exit_code == 0, checked.output
    assert f"the digest you kept (position {later.position}) extends the export's" in checked.stdout
    # a proof for other positions, or a file that is not one, is refused
    other = ratify("audit", "prove", str(export.position - 1))
    proof.write_text(other.stdout, "utf-8")
    wrong = ratify("audit", "check", str(bundle), "--digest", str(late), "--proof", str(proof))
    assert wrong.exit_code == 1 and "the consistency proof is from position" in wrong.stderr
    not_proof = ratify("audit", "check", str(bundle), "--digest", str(late), "--proof", str(late))
    assert not_proof.exit_code == 2 and "--proof:" in not_proof.stderr
    beyond = ratify("audit", "prove", str(later.position), "--to", str(later.position + 5))
    assert beyond.exit_code == 2 and "positions: need OLD <= --to" in beyond.stderr


def test_a_bundle_without_the_log_holds_no_other_cases_hashes_and_checks_at_its_export(
    store: EventStore,
) -> None:
    """Exported for an auditor without Part 2 clearance: no hash of another case's event (it
    would confirm a guess of a withheld Part 2), so only the export's digest checks it."""
    _make_case(store)
    kept = digest(store)
    _read_part2(store)
    _, content = export_bundle(
        store,
        CASE,
        exported_by="aud.bob",
        exported_at=datetime(2026, 1, 5, 9, 30, tzinfo=UTC),
        with_log=False,
    )
    document = content.decode()
    evidence = _evidence(document)
    assert "log" not in evidence
    others = [e.hash for e in store.read_all() if e.stream_id != CASE]
    assert others and not any(h in document for h in others)
    assert check_bundle(document, digest(store)).ok
    assert "exported without Part 2 clearance" in check_bundle(document, kept).problems[0]
