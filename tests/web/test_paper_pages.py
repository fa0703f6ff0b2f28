"""A records officer records a sign-off given on paper from the case page; the adviser it
was recorded for sees it there and disputes it."""

from __future__ import annotations

from domain.roles import Role
from tests.web.conftest import PASSWORD, Web
from tests.web.test_pages import act, alert, through_board, today, upload

RECORDS = "rec.rory"


async def test_a_records_officer_records_a_paper_sign_off_and_the_adviser_disputes_it(web: Web):
    web.stack.directory.add_user(RECORDS, "Rory Records", [Role.RECORDS_OFFICER], password=PASSWORD)
    await upload(await web.as_user("ollie.lane"))
    await through_board(web)
    day = (await today(web)).isoformat()
    records = await web.as_user(RECORDS)
    page = await records.get("/ui/cases/mettrace")
    assert "Record on paper: Give or decline finance advice" in page.text
    # others are not offered the form, and a refusal names the rule
    adviser_page = await (await web.as_user("lee.legal")).get("/ui/cases/mettrace")
    assert "Record on paper" not in adviser_page.text
    paper = {
        "role": "finance_adviser",
        "area": "finance",
        "on_paper_for": "fran.fin",
        "evidence_kind": "email",
        "evidence_reference": "Fran to Rory, 09:14",
    }
    r = await act(records, "mettrace", "sign_off", **paper, effective="2099-01-01")
    assert r.status_code == 422 and "in the future" in alert(r), r.text
    r = await act(records, "mettrace", "sign_off", **paper, effective=day)
    assert r.status_code == 303, r.text

    fran = await web.as_user("fran.fin")
    page = await fran.get("/ui/cases/mettrace")
    assert "Recorded on paper" in page.text and f"recorded on paper by {RECORDS}" in page.text
    assert 'name="action" value="dispute"' in page.text
    version = web.store.stream_version("mettrace")
    r = await act(fran, "mettrace", "dispute", version=str(version), reason="Not given yet.")
    assert r.status_code == 303, r.text
    page = await (await web.as_user("sl.dmpc")).get("/ui/cases/mettrace")
    assert "Disputed by fran.fin" in page.text and "Not given yet." in page.text
