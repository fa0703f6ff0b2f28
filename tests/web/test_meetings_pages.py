"""The secretariat's meetings list, picking a meeting from a list on the case page, and the
warning for a case put on the other board's meeting."""

from __future__ import annotations

from html import unescape

from tests.web.conftest import METTRACE, Web
from tests.web.test_pages import act, today, upload

#: MetTrace's paper is written for the IAB; the same paper written for the IAM.
FOR_IAM = METTRACE.replace("board:\n  board: IAB", "board:\n  board: IAM")


async def submitted(web: Web, case_id: str, text: str = METTRACE) -> None:
    officer = await web.as_user("ollie.lane")
    await upload(officer, case_id, text)
    assert (await act(officer, case_id, "submit")).status_code == 303


async def test_the_meetings_page_lists_open_meetings_with_their_agendas(web: Web):
    await submitted(web, "mettrace")
    sec = await web.as_user("sam.sec")
    day = (await today(web)).isoformat()
    for meeting in ("IAB-7", "IAB-8"):
        r = await sec.post(
            "/ui/meetings/new", {"meeting_id": meeting, "board": "IAB", "meeting_date": day}
        )
        assert r.status_code == 303, r.text
    assert (await sec.post("/ui/meetings/IAB-7/cases", {"case_id": "mettrace"})).status_code == 303
    page = await sec.get("/ui/meetings")
    assert page.status_code == 200
    text = unescape(page.text)
    assert "IAB meeting IAB-7" in text and "(mettrace): advice to be recorded" in text
    # a meeting with nothing on its agenda is listed once Temporal's visibility lists it,
    # which the time-skipping test server does not; a closed meeting of the past is not
    assert "No meeting is open or to come" not in text


async def test_the_case_page_picks_the_meeting_from_a_list_of_open_meetings(web: Web):
    await submitted(web, "mettrace")
    await submitted(web, "second")
    sec = await web.as_user("sam.sec")
    day = (await today(web)).isoformat()
    r = await sec.post(
        "/ui/meetings/new", {"meeting_id": "IAB-7", "board": "IAB", "meeting_date": day}
    )
    assert r.status_code == 303
    assert (await sec.post("/ui/meetings/IAB-7/cases", {"case_id": "mettrace"})).status_code == 303
    page = await sec.get("/ui/cases/second")
    assert page.status_code == 200
    assert '<select id="' in page.text and 'name="meeting_id" required' in page.text
    assert '<option value="IAB-7"' in page.text
    r = await sec.post("/ui/cases/second/agenda", {"meeting_id": "IAB-7"})
    assert r.status_code == 303 and r.headers["location"] == "/ui/meetings/IAB-7?done=cases"
    meeting = await sec.get("/ui/meetings/IAB-7")
    assert "/ui/cases/second" in meeting.text
    assert "not the IAB" not in meeting.text  # both papers are written for the IAB


async def test_a_case_for_the_iam_on_an_iab_meeting_is_accepted_with_a_warning(web: Web):
    await submitted(web, "foriam", FOR_IAM)
    sec = await web.as_user("sam.sec")
    day = (await today(web)).isoformat()
    r = await sec.post(
        "/ui/meetings/new", {"meeting_id": "IAB-7", "board": "IAB", "meeting_date": day}
    )
    assert r.status_code == 303
    r = await sec.post("/ui/cases/foriam/agenda", {"meeting_id": "IAB-7"})
    assert r.status_code == 303, r.text
    meeting = await sec.get("/ui/meetings/IAB-7")
    text = unescape(meeting.text)
    assert "(foriam) is written for the IAM, not the IAB: it is on this agenda as asked" in text
