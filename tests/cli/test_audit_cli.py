"""`ratify audit timeline|as-of|export|check|access` as an auditor would run them, through
the real API (see test_client_cli for the bridge), and the bundle checked offline."""

from __future__ import annotations

import json

from tests.api.conftest import Api, api  # noqa: F401  (the fixture)
from tests.cli.test_client_cli import METTRACE, PART2_TEXT, Run, run  # noqa: F401


async def _revised(run: Run, tmp_path) -> str:  # noqa: F811
    source = tmp_path / "mettrace.yaml"
    source.write_text(METTRACE)
    r = await run("ollie.lane", "case", "submit", str(source), "--case-id", "a1", "--draft-only")
    assert r.exit_code == 0, r.output
    case = json.loads((await run("ollie.lane", "case", "show", "a1", "--json")).stdout)["case"]
    case["financial_comments"] = "The cost is now met from the 2020/21 capital budget."
    r = await run("ollie.lane", "act", "a1", "revise", "--json-body", json.dumps({"case": case}))
    assert r.exit_code == 0, r.output
    return "a1"


async def test_an_auditor_follows_a_revision_and_sees_the_case_as_it_was(
    api: Api,  # noqa: F811
    run: Run,  # noqa: F811
    tmp_path,
):
    case_id = await _revised(run, tmp_path)
    table = await run("aud.ann", "audit", "timeline", case_id)
    assert table.exit_code == 0, table.output
    assert "Revised (version 2 of the papers): changed" in table.stdout
    assert "Financial comments" in table.stdout and "capital budget" in table.stdout
    entries = json.loads((await run("aud.ann", "audit", "timeline", case_id, "--json")).stdout)
    assert [e["event_type"] for e in entries] == ["case.drafted", "case.revised"]

    then = await run("aud.ann", "audit", "as-of", case_id, "--version", "1")
    assert then.exit_code == 0, then.output
    assert "as of version 1: version 1" in then.stdout and "stage draft" in then.stdout
    assert "capital budget" not in then.stdout and "financial_comments" in then.stdout
    assert PART2_TEXT in then.stdout  # cleared: Part 2 is in the papers
    now = await run("aud.bob", "audit", "as-of", case_id, "--version", "2")
    assert "capital budget" in now.stdout and PART2_TEXT not in now.stdout
    assert "Part 2: withheld (needs the part2_clearance role)" in now.stdout
    r = await run("aud.ann", "audit", "as-of", case_id)
    assert r.exit_code == 2 and "give one of --version N or --at INSTANT" in r.stderr
    r = await run("aud.ann", "audit", "as-of", case_id, "--at", "2019-12-13")
    assert r.exit_code == 2 and "--at: give a timezone" in r.stderr
    r = await run("fran.fin", "audit", "timeline", case_id)
    assert r.exit_code == 2 and "only auditors may read a case's timeline" in r.stderr


async def test_an_auditor_exports_evidence_and_checks_it_offline(
    api: Api,  # noqa: F811
    run: Run,  # noqa: F811
    tmp_path,
):
    case_id = await _revised(run, tmp_path)
    bundle = tmp_path / "evidence.html"
    r = await run("aud.bob", "audit", "export", case_id, "-o", str(bundle))
    assert r.exit_code == 2 and "part2_clearance" in r.stderr and not bundle.exists()
    r = await run("aud.ann", "audit", "export", case_id, "-o", str(bundle))
    assert r.exit_code == 0, r.output
    assert f"wrote {bundle}: 2 events of {case_id}" in r.stdout
    kept = tmp_path / "digest.json"
    kept.write_text(r.stdout.split("proven against digest ", 1)[1].strip())
    ok = await run(None, "audit", "check", str(bundle), "--digest", str(kept))
    assert ok.exit_code == 0, ok.output
    assert "ok: the case's head is in the store digest" in ok.stdout
    bundle.write_text(bundle.read_text().replace("capital budget", "revenue budget"))
    bad = await run(None, "audit", "check", str(bundle), "--digest", str(kept))
    assert bad.exit_code == 1 and "FAILED:" in bad.stderr

    access = json.loads((await run("aud.bob", "audit", "access", case_id, "--json")).stdout)
    exports = [a for a in access if a["kind"] == "access.evidence_exported"]
    assert [a["user_id"] for a in exports] == ["aud.ann"]
    table = (await run("aud.bob", "audit", "access", case_id)).stdout
    assert "exported evidence" in table and "aud.ann" in table
