"""The auditors' pages: revisions in the timeline, the evidence bundle download, the access
log, and verifying the store against a digest kept earlier."""

from __future__ import annotations

import json

from eventstore.digest import Digest
from ratify.services.evidence import ConsistencyProof, check_bundle
from tests.web.conftest import METTRACE, PART2_TEXT, Web
from tests.web.test_pages import alert, is_page, through_board, upload


async def test_an_auditor_reads_revisions_downloads_evidence_and_sees_who_read_part2(web: Web):
    officer = await web.as_user("ollie.lane")
    await upload(officer)
    revised = METTRACE.replace("MetTrace is the MPS flagship", "MetTrace remains the MPS flagship")
    r = await officer.post(
        "/ui/cases/mettrace/actions/revise",
        files={"case_file": ("mettrace.yaml", revised.encode(), "application/yaml")},
    )
    assert r.status_code in (200, 303), r.text
    await through_board(web)

    cleared = await web.as_user("aud.ann")
    history = await cleared.get("/ui/cases/mettrace/history")
    assert history.status_code == 200 and is_page(history)
    assert "Revised (version 2 of the papers): changed executive summary" in history.text
    assert "[-is-] {+remains+}" in history.text
    assert 'href="/ui/cases/mettrace/bundle"' in history.text

    bundle = await cleared.get("/ui/cases/mettrace/bundle")
    assert bundle.status_code == 200
    assert 'filename="evidence-mettrace.html"' in bundle.headers["content-disposition"]
    result = check_bundle(bundle.text)
    assert result.ok, result.problems

    # the page lists who read Part 2 and who exported the evidence
    history = await cleared.get("/ui/cases/mettrace/history")
    log = history.text.split('id="access"', 1)[1]
    assert "exported evidence" in log and "read Part 2" in log
    rows = log.split("</table>", 1)[0].count("<tr><td>")
    assert rows == 3  # the first history read, the export, and this read
    assert "aud.ann" in log and "auditor with Part 2 clearance" in log

    # an auditor without Part 2 clearance: history without Part 2, and no export
    plain = await web.as_user("aud.bob")
    history = await plain.get("/ui/cases/mettrace/history")
    assert history.status_code == 200 and PART2_TEXT not in history.text
    r = await plain.get("/ui/cases/mettrace/bundle")
    assert r.status_code == 403 and "part2_clearance" in alert(r)


async def test_the_audit_page_verifies_the_store_against_a_kept_digest(web: Web):
    officer = await web.as_user("ollie.lane")
    await upload(officer)
    auditor = await web.as_user("aud.ann")  # cleared for Part 2: may check a kept digest
    home = await auditor.get("/ui/audit")
    assert home.status_code == 200 and is_page(home) and 'href="/ui/audit"' in home.text
    kept = Digest.model_validate_json(
        home.text.split('<pre class="digest"><code>', 1)[1]
        .split("</code>", 1)[0]
        .replace("&#34;", '"')
    )
    await upload(officer, case_id="second")
    r = await auditor.post("/ui/audit/verify", {"since": kept.model_dump_json()})
    assert r.status_code == 200 and "Every hash chain is intact" in r.text
    assert "Consistent with the digest: everything up to position" in r.text
    forged = json.dumps({**kept.model_dump(), "root": "f" * 64})
    r = await auditor.post("/ui/audit/verify", {"since": forged})
    assert "Not consistent with the digest" in r.text
    r = await auditor.post("/ui/audit/verify", {"since": "{not a digest"})
    assert r.status_code == 422 and "since: not a digest" in alert(r)
    r = await auditor.post("/ui/audit/verify", {"since": ""}, csrf=False)
    assert r.status_code == 403
    uncleared = await web.as_user("aud.bob")
    r = await uncleared.post("/ui/audit/verify", {"since": kept.model_dump_json()})
    assert r.status_code == 403 and "needs the part2_clearance role" in alert(r)
    officer_page = await officer.get("/ui/audit")
    assert officer_page.status_code == 403 and "only auditors" in alert(officer_page)


async def test_the_history_page_shows_hashes_that_cover_part2_only_to_cleared_auditors(
    web: Web,
):
    officer = await web.as_user("ollie.lane")
    await upload(officer)
    await through_board(web)
    hashes = [r.hash[:16] for r in web.store.read_stream("mettrace")]
    assert len(hashes) > 2

    cleared = await (await web.as_user("aud.ann")).get("/ui/cases/mettrace/history")
    assert cleared.status_code == 200 and all(h in cleared.text for h in hashes)
    # every hash covers the drafted event's Part 2 (each covers the one before it)
    plain = await (await web.as_user("aud.bob")).get("/ui/cases/mettrace/history")
    assert plain.status_code == 200 and not any(h in plain.text for h in hashes)
    assert "the hash would confirm a guess of it" in plain.text


async def test_a_web_auditor_checks_a_bundle_against_the_digest_kept_before_reading_it(web: Web):
    """Keep the digest from the audit page, open the history (a Part 2 read moves the
    digest), download the bundle: it checks against the digest kept first, and the history
    page shows the digest at the export."""
    officer = await web.as_user("ollie.lane")
    await upload(officer)
    auditor = await web.as_user("aud.ann")
    home = await auditor.get("/ui/audit")
    kept = Digest.model_validate_json(
        home.text.split('<pre class="digest"><code>', 1)[1]
        .split("</code>", 1)[0]
        .replace("&#34;", '"')
    )
    history = await auditor.get("/ui/cases/mettrace/history")
    assert history.status_code == 200 and 'id="export-digests"' not in history.text
    bundle = await auditor.get("/ui/cases/mettrace/bundle")
    assert bundle.status_code == 200
    result = check_bundle(bundle.text, kept)
    assert result.ok, result.problems
    assert result.after == [] and result.covered == list(range(1, len(result.covered) + 1))
    assert f"the digest you kept (position {kept.position})" in result.proven[-1]

    history = await auditor.get("/ui/cases/mettrace/history")
    shown = history.text.split('id="export-digests"', 1)[1]
    at_export = Digest.model_validate_json(
        shown.split('<pre class="digest export-digest"><code>', 1)[1].split("</code>", 1)[0]
    )
    assert result.evidence is not None and at_export == result.evidence.digest
    assert at_export.position > kept.position  # the history read moved it
    assert check_bundle(bundle.text, at_export).ok
    forged = kept.model_copy(update={"log": "0" * 64})
    assert not check_bundle(bundle.text, forged).ok

    # a digest kept after the export: the history page's form downloads the proof
    assert 'action="/ui/audit/consistency"' in history.text
    home = await auditor.get("/ui/audit")
    later = Digest.model_validate_json(
        home.text.split('<pre class="digest"><code>', 1)[1]
        .split("</code>", 1)[0]
        .replace("&#34;", '"')
    )
    assert later.position > at_export.position
    assert not check_bundle(bundle.text, later).ok
    r = await auditor.get(f"/ui/audit/consistency?old={at_export.position}&new={later.position}")
    assert r.status_code == 200, r.text
    assert "attachment" in r.headers["content-disposition"]
    proof = ConsistencyProof.model_validate_json(r.text)
    extended = check_bundle(bundle.text, later, proof)
    assert extended.ok, extended.problems
    assert (
        f"the digest you kept (position {later.position}) extends the export's"
        in (extended.proven[-1])
    )
    r = await auditor.get(f"/ui/audit/consistency?old={later.position}&new={later.position + 99}")
    assert (
        r.status_code == 422
        and "positions: from one position to the same or a later one" in alert(r)
    )
    uncleared = await web.as_user("aud.bob")
    r = await uncleared.get(f"/ui/audit/consistency?old=1&new={later.position}")
    assert r.status_code == 403 and "part2_clearance" in alert(r)
