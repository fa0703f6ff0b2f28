"""The API's case JSON and register entry carry what the pages show: "late" in the words
of the timeline, and on the register each grant line's appendix, each group's total and
the cross-references (linked when on the register), never Part 2."""

from __future__ import annotations

from decimal import Decimal

from tests.api.conftest import Api
from tests.services.projections.answers import BRIGHT, SECRET, decided_grants_case

LATE = "late: required by 20 November 2019, decided 22 November 2019"


async def test_the_case_json_says_late_as_the_timeline_does(api: Api):
    decided_grants_case(api.store, late=True)
    view = (await api.get("aud.ann", "/cases/vr-grants")).json()
    assert view["late"] is True and view["timeliness"] == LATE
    events = (await api.get("aud.ann", "/cases/vr-grants/timeline")).json()
    approved = [e for e in events if e["event_type"] == "decision.approved"]
    assert approved[0]["summary"] == f"Approved as PCD 700, {LATE}"
    # before the decision: neither late nor on time
    before = (await api.get("aud.ann", "/cases/vr-grants", params={"version": 2})).json()
    assert before["late"] is False and before["timeliness"] is None


async def test_the_register_entry_carries_appendices_references_and_late(api: Api):
    decided_grants_case(api.store, late=True)
    r = await api.get(None, "/register/PCD 700")
    assert r.status_code == 200, r.text
    entry = r.json()
    assert entry["late"] is True and entry["timeliness"] == LATE
    lines = {line["line"]: line for line in entry["grants"]["lines"]}
    assert lines["G1"] == {
        "line": "G1",
        "recipient": "Bright Futures Ltd",
        "amount": "30000.00",
        "group": BRIGHT,
        "outcome": "approve",
        "paragraph": "grants to third parties",
    }
    assert lines["G3"]["outcome"] == "note" and lines["G4"]["recipient"].startswith("23 grants")
    groups = {g["label"]: g for g in entry["grants"]["groups"]}
    assert Decimal(groups[BRIGHT]["total"]) == Decimal(55000) and groups[BRIGHT]["lines"] == [
        "G1",
        "G2",
    ]
    assert [(x["reference"], x["published"]) for x in entry["cross_references"]] == [
        ("pcd 512", "PCD 512"),
        ("PCD 9999", None),
    ]
    # Part 2: a notice with its exemptions, never its text
    assert SECRET not in r.text
    assert entry["papers"]["part2"]["foi_exemptions"][0] == "s31(1)(a) Law enforcement"
