"""The auditors' API: timelines with revisions, Part 2 clearance, the access log, evidence
bundles checked offline, digests and verification."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from uuid import UUID

from eventstore.digest import Digest
from eventstore.hashing import GENESIS_HASH, HashInput, canonical_json, row_hash
from eventstore.log import store_consistency
from ratify.services.accesslog import AccessLog
from ratify.services.evidence import ConsistencyProof, bundle_sha256, check_bundle
from tests.api.conftest import Api
from tests.api.test_api import PART2_TEXT, _upload

SECRET = "The unit price is £12.40 per swab."


def _text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


async def _revised_case(api: Api) -> tuple[str, dict[str, Any]]:
    """MetTrace, revised in draft: a sentence of the summary and the Part 2 content."""
    case_id = await _upload(api)
    case = (await api.get("ollie.lane", f"/cases/{case_id}")).json()["case"]
    case["executive_summary"] = case["executive_summary"].replace(
        "MetTrace is the MPS flagship", "MetTrace remains the MPS flagship", 1
    )
    case["part2"]["content"] = f"{case['part2']['content']} {SECRET}"
    r = await api.post("ollie.lane", f"/cases/{case_id}/actions/revise", {"case": case})
    assert r.status_code == 200, r.text
    return case_id, case


def _confirms(case_id: str, events: list[dict[str, Any]], part2_guess: Any) -> bool:
    """The offline oracle: put a guess of Part 2 back into every event that withholds it,
    hash the stream from its first event, and compare with each hash the API shows (any
    later hash covers the earlier ones). True when a shown hash matches."""
    prev, matched = GENESIS_HASH, False
    for e in events:
        data = json.loads(json.dumps(e["data"]))
        case = data.get("case")
        if isinstance(case, dict) and case.get("part2") is not None:
            case["part2"] = part2_guess
        metadata = {"on_behalf_of": e["on_behalf_of"]} if e["on_behalf_of"] else {}
        prev = row_hash(
            HashInput(
                position=e["position"],
                event_id=UUID(e["event_id"]),
                stream_id=case_id,
                version=e["version"],
                event_type=e["type"],
                schema_version=e["schema_version"],
                occurred_at=datetime.fromisoformat(e["occurred_at"]),
                recorded_at=datetime.fromisoformat(e["recorded_at"]),
                actor_id=e["actor"],
                actor_role=e["role"],
                data_text=canonical_json(data),
                metadata_text=canonical_json(metadata),
                prev_hash=prev,
            )
        )
        if e["hash"] is not None:
            if e["hash"] != prev:
                return False
            matched = True
    return matched


async def test_an_auditor_without_clearance_cannot_confirm_a_guess_of_part2_by_its_hash(
    api: Api,
):
    case_id = await _upload(api)
    r = await api.post("ollie.lane", f"/cases/{case_id}/actions/submit", {})
    assert r.status_code == 200, r.text
    right = api.store.read_stream(case_id)[0].data["case"]["part2"]
    wrong = {**right, "security_marking": "OFFICIAL-SENSITIVE [OPERATIONAL]"}
    assert wrong != right

    # a cleared auditor sees every hash, and each one checks out
    ann = (await api.get("aud.ann", f"/cases/{case_id}/events")).json()
    assert [e["type"] for e in ann] == ["case.drafted", "case.submitted"]
    assert all(e["hash"] and e.get("hash_withheld") is None for e in ann)
    assert ann[1]["prev_hash"] == ann[0]["hash"]
    assert _confirms(case_id, ann, right) and not _confirms(case_id, ann, wrong)

    # without clearance: no hash of the event that withholds Part 2, nor of any later one
    # (each covers the one before it), and the reason in their place
    bob = (await api.get("aud.bob", f"/cases/{case_id}/events")).json()
    assert "withheld" in bob[0]["data"]["case"]["part2"]
    assert not _confirms(case_id, bob, right)
    assert [(e["hash"], e["hash_withheld"]) for e in bob] == [
        (None, "Part 2 withheld: the hash would confirm a guess of it")
    ] * 2
    assert bob[0]["prev_hash"] == GENESIS_HASH and bob[1]["prev_hash"] is None
    shown = json.dumps(bob)
    assert all(e["hash"][:16] not in shown for e in ann)

    # anyone may record an irregularity: the step's answer does not give the hash back
    r = await api.post(
        "aud.bob",
        f"/cases/{case_id}/actions/record_irregularity",
        {"description": "Grants paid before referral.", "role": "auditor"},
    )
    assert r.status_code == 200, r.text
    (recorded,) = r.json()["events"]
    bob = (await api.get("aud.bob", f"/cases/{case_id}/events")).json()
    assert bob[-1]["event_id"] == recorded["event_id"]
    bob[-1]["hash"] = recorded["hash"]
    assert not _confirms(case_id, bob, right)
    assert recorded["hash_withheld"] == "Part 2 withheld: the hash would confirm a guess of it"
    # a cleared auditor recording one gets its hash, as the events show it
    r = await api.post(
        "aud.ann",
        f"/cases/{case_id}/actions/record_irregularity",
        {"description": "Another.", "role": "auditor"},
    )
    (recorded,) = r.json()["events"]
    ann = (await api.get("aud.ann", f"/cases/{case_id}/events")).json()
    assert recorded["hash"] == ann[-1]["hash"] and _confirms(case_id, ann, right)


async def test_the_timeline_shows_revisions_section_by_section_and_part2_only_if_cleared(
    api: Api,
):
    case_id, _ = await _revised_case(api)
    cleared = (await api.get("aud.ann", f"/cases/{case_id}/timeline")).json()
    assert [e["event_type"] for e in cleared] == ["case.drafted", "case.revised"]
    sections = {s["section"]: s for s in cleared[1]["changes"]}
    assert set(sections) == {"executive_summary", "part2"}
    summary_edit = _text(sections["executive_summary"])
    assert "is" in summary_edit and "remains" in summary_edit
    assert SECRET.split()[0] in _text(sections["part2"])
    # the cleared auditor's read of the Part 2 changes is on the record
    reads = AccessLog(api.store).records(case_id)
    # (the officer's own read, to revise it, came first)
    assert [(r.user_id, r.via) for r in reads] == [("ollie.lane", "api"), ("aud.ann", "timeline")]

    withheld = (await api.get("aud.bob", f"/cases/{case_id}/timeline")).json()
    part2 = next(s for s in withheld[1]["changes"] if s["section"] == "part2")
    assert part2["withheld"] and part2["changes"] == []
    assert SECRET not in _text(withheld) and "12.40" not in _text(withheld)
    assert len(AccessLog(api.store).records(case_id)) == 2  # nothing shown, nothing recorded
    r = await api.get("ollie.lane", f"/cases/{case_id}/timeline")
    assert r.status_code == 403 and "only auditors" in r.json()["detail"]


async def test_auditors_see_part2_only_with_clearance_and_every_read_is_recorded(api: Api):
    case_id, _ = await _revised_case(api)
    bob = (await api.get("aud.bob", f"/cases/{case_id}")).json()
    assert bob["part2_exists"] and not bob["part2_visible"] and bob["case"]["part2"] is None
    events = (await api.get("aud.bob", f"/cases/{case_id}/events")).json()
    assert SECRET not in _text(events) and PART2_TEXT not in _text(events)
    assert "withheld" in events[0]["data"]["case"]["part2"]
    officer_read = ("ollie.lane", "api", 1, "open task as originating officer")
    assert [
        (r.user_id, r.via, r.case_version, r.basis) for r in AccessLog(api.store).records(case_id)
    ] == [officer_read]

    ann = (await api.get("aud.ann", f"/cases/{case_id}")).json()
    assert SECRET in ann["case"]["part2"]["content"]
    first = (await api.get("aud.ann", f"/cases/{case_id}?version=1")).json()
    assert SECRET not in first["case"]["part2"]["content"]  # as it stood before the revision
    events = (await api.get("aud.ann", f"/cases/{case_id}/events")).json()
    assert SECRET in _text(events)
    await api.get("ollie.lane", f"/cases/{case_id}")  # the officer who wrote it, reading it
    reads = [
        (r.user_id, r.via, r.case_version, r.basis) for r in AccessLog(api.store).records(case_id)
    ]
    assert reads == [
        officer_read,
        ("aud.ann", "api", 2, "auditor with Part 2 clearance"),
        ("aud.ann", "api", 1, "auditor with Part 2 clearance"),
        ("aud.ann", "events", 2, "auditor with Part 2 clearance"),
        ("ollie.lane", "api", 2, "open task as originating officer"),
    ]
    # the access log is itself for auditors, and is hash-chained like any stream
    access = (await api.get("aud.bob", f"/cases/{case_id}/access")).json()
    assert [a["user_id"] for a in access] == [u for u, *_ in reads]
    assert (await api.get("ollie.lane", f"/cases/{case_id}/access")).status_code == 403
    assert api.store.verify_stream(f"access-{case_id}").ok
    # reading never moves the case's own version
    assert (await api.get("aud.ann", f"/cases/{case_id}")).json()["version"] == 2


async def test_an_exported_bundle_checks_offline_against_the_kept_digest(api: Api, tmp_path):
    case_id, _ = await _revised_case(api)
    r = await api.get("aud.bob", f"/cases/{case_id}/bundle")
    assert r.status_code == 403 and "part2_clearance" in r.json()["detail"]
    r = await api.get("ollie.lane", f"/cases/{case_id}/bundle")
    assert r.status_code == 403 and "only auditors may export" in r.json()["detail"]
    before = AccessLog(api.store).records(case_id)
    assert [r.kind for r in before] == ["access.part2_read"]  # refusals export nothing

    r = await api.get("aud.ann", f"/cases/{case_id}/bundle")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/html")
    assert "attachment" in r.headers["content-disposition"]
    document = r.content.decode()
    assert "Evidence bundle: Met Trace" in document and "confidential Part 2" in document
    kept = (await api.get("aud.bob", "/audit/digest")).json()
    # the export was recorded after the bundle was made: the digest now covers that record
    result = check_bundle(document, Digest.model_validate(kept))
    assert result.problems == [
        f"the digest you kept (position {kept['position']}) was taken after this bundle's "
        f"export (position {kept['position'] - 1}): give the consistency proof between them "
        f"with --proof (`ratify audit prove {kept['position'] - 1} --to {kept['position']}`)"
    ]
    proof = ConsistencyProof(
        old_size=kept["position"] - 1,
        new_size=kept["position"],
        proof=store_consistency(api.store, kept["position"] - 1, kept["position"]),
    )
    assert check_bundle(document, Digest.model_validate(kept), proof).ok
    embedded = check_bundle(document)
    assert embedded.ok, embedded.problems
    export = AccessLog(api.store).records(case_id)[-1]
    assert export.kind == "access.evidence_exported" and export.user_id == "aud.ann"
    assert export.details["bundle_sha256"] == bundle_sha256(r.content)
    assert export.details["digest_position"] == kept["position"] - 1

    # a digest kept at the export's position proves the bundle
    at_export = (await api.get("aud.ann", "/audit/digest")).json()
    again = (await api.get("aud.ann", f"/cases/{case_id}/bundle")).content.decode()
    assert check_bundle(again, Digest.model_validate(at_export)).ok
    kinds = [r.kind for r in AccessLog(api.store).records(case_id)]
    assert kinds == ["access.part2_read", *["access.evidence_exported"] * 2]


async def test_verify_proves_the_store_against_a_kept_digest(api: Api):
    await _upload(api)
    kept = (await api.get("aud.bob", "/audit/digest")).json()
    await _upload(api)
    r = await api.post("aud.ann", "/audit/verify", {"since": kept})
    body = r.json()
    assert r.status_code == 200 and body["ok"] and body["since"]["ok"], body
    assert "events appended since" in body["since"]["detail"]
    forged = {**kept, "root": "0" * 64}
    body = (await api.post("aud.ann", "/audit/verify", {"since": forged})).json()
    assert not body["ok"] and not body["since"]["ok"]
    # Without Part 2 clearance a kept digest is not checked: one built from a guessed Part 2
    # (a case's first event hashed with the guess) would say whether the guess was right.
    r = await api.post("aud.bob", "/audit/verify", {"since": kept})
    assert r.status_code == 403 and "needs the part2_clearance role" in r.json()["detail"]
    assert "since" not in r.json()
    r = await api.post("aud.bob", "/audit/verify", {})
    assert r.status_code == 200 and r.json()["ok"], r.text  # the chains alone: no oracle
    r = await api.post("aud.bob", "/audit/verify", {"since": {"position": -1}})
    assert r.status_code == 422 and "since" in r.json()["detail"]
    assert (await api.post("no.body", "/audit/verify", {})).status_code == 403


async def test_a_stream_that_is_not_a_case_is_no_case_to_read(api: Api):
    """A case's access log and notifications are streams of their own; read as a case they
    gave a 500 (their events are no case's) and dropped the connection. Now: no such case."""
    case_id = await _upload(api)
    for url in (
        f"/cases/notifications-{case_id}",
        f"/cases/notifications-{case_id}/events",
        f"/cases/access-{case_id}/timeline",
        f"/cases/access-{case_id}",
    ):
        r = await api.get("aud.ann", url)
        assert r.status_code == 404, (url, r.text)
        assert r.json()["code"] == "not_found" and "there is no case" in r.json()["detail"]
