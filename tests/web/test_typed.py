"""Nothing typed is lost: a refused form comes back, from the page's own URL, with what was
typed and the refusal beside the field it names; formal choices have no default; and a step
is stale only when what it depends on changed (the papers, the stage, the person's task),
not when another adviser signed off in between."""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path

import httpx

from tests.web.conftest import METTRACE, Browser, Web
from tests.web.test_pages import alert, through_board, today, upload

PCD679 = (
    Path(__file__).resolve().parents[2] / "examples" / "pcd-679-data-environment-solution.yaml"
).read_text()


def textarea(response: httpx.Response, element_id: str) -> str:
    """The text of a page's textarea, as the browser shows it (one leading newline
    dropped, as the HTML parser does)."""
    found = re.search(rf'<textarea id="{element_id}"[^>]*>(.*?)</textarea>', response.text, re.S)
    assert found, f"no textarea {element_id}"
    text = unescape(found.group(1))
    return text[1:] if text.startswith("\n") else text


def beside(response: httpx.Response, anchor: str) -> str:
    """The refusal shown beside a field (`<p id=anchor>`), and linked from the top."""
    found = re.search(rf'<p class="field-error" id="{anchor}">(.*?)</p>', response.text, re.S)
    assert found, f"no refusal beside {anchor}"
    assert f'href="#{anchor}"' in alert(response)
    return unescape(found.group(1))


async def seen(browser: Browser, case_id: str = "mettrace") -> dict[str, str]:
    """What the case page's forms send for the looser stale check."""
    page = (await browser.get(f"/ui/cases/{case_id}")).text
    fields = {}
    for name in ("expected_revision", "expected_stage"):
        found = re.search(rf'name="{name}" value="([^"]+)"', page)
        assert found, name
        fields[name] = found.group(1)
    return fields


async def test_a_refused_pasted_case_file_comes_back_whole_with_the_error_beside_it(web: Web):
    officer = await web.as_user("ollie.lane")
    broken = PCD679.replace(
        "title: MET Intelligence – Data Environment Solution (DES)", "title: ''"
    )
    assert broken != PCD679 and len(broken.splitlines()) == 211
    r = await officer.post("/ui/cases/new", {"case_text": broken, "case_id": "des"})
    assert r.status_code == 422
    assert textarea(r, "case_text") == broken  # all 211 lines, as pasted
    assert 'id="case_id" name="case_id" type="text" value="des"' in r.text
    assert "title" in beside(r, "new-case_text-error")
    assert 'aria-invalid="true"' in r.text


async def test_an_uploaded_case_file_that_is_refused_comes_back_in_the_paste_box(web: Web):
    officer = await web.as_user("ollie.lane")
    broken = METTRACE.replace("title: Met Trace", "title: ''")
    assert broken != METTRACE
    r = await officer.post(
        "/ui/cases/new",
        {"case_id": "mettrace"},
        files={"case_file": ("mettrace.yaml", broken.encode(), "application/yaml")},
    )
    assert r.status_code == 422
    assert textarea(r, "case_text") == broken
    assert "title" in beside(r, "new-case_text-error")


async def test_board_advice_has_no_default_and_a_refusal_keeps_the_comment(web: Web):
    officer = await web.as_user("ollie.lane")
    await upload(officer)
    sec = await web.as_user("sam.sec")
    r = await sec.post(
        "/ui/meetings/new",
        {"meeting_id": "IAB-1", "board": "IAB", "meeting_date": (await today(web)).isoformat()},
    )
    assert r.status_code == 303, r.text
    r = await officer.post(
        "/ui/cases/mettrace", {"action": "submit", "role": "originating_officer"}
    )
    assert r.status_code == 303, r.text
    r = await sec.post("/ui/cases/mettrace", {"action": "place_on_agenda", "meeting_id": "IAB-1"})
    assert r.status_code == 303, r.text
    page = await sec.get("/ui/cases/mettrace")
    assert "Record the board's advice" in page.text
    assert " checked" not in page.text  # no advice chosen for the secretariat
    meeting = await sec.get("/ui/meetings/IAB-1")
    assert '<option value="" selected>Choose the board\'s advice</option>' in meeting.text
    comment = "Support subject to\nthe DPIA being signed off first."
    form = {
        "action": "advice",
        "form": "record_board_advice-board_secretariat",
        "meeting_id": "IAB-1",
        "conditions": "Report back in 6 months",
        "comment": comment,
    }
    r = await sec.post("/ui/cases/mettrace", form)
    assert r.status_code == 422
    assert "choose the board's advice" in beside(
        r, "record_board_advice-board_secretariat-advice-error"
    )
    assert textarea(r, "record_board_advice-board_secretariat-comment") == comment
    assert textarea(r, "record_board_advice-board_secretariat-conditions") == (
        "Report back in 6 months"
    )
    # chosen and sent again: recorded with its comment
    r = await sec.post("/ui/cases/mettrace", {**form, "advice": "supported_with_conditions"})
    assert r.status_code == 303, r.text
    page = await officer.get("/ui/cases/mettrace")
    assert "Report back in 6 months" in page.text
    # the meeting page's own form: refused the same way, from the meeting's URL
    r = await sec.post(
        "/ui/meetings/IAB-1",
        {"action": "advice", "form": "advice-1", "case_id": "mettrace", "comment": "x y"},
    )
    assert r.status_code == 422 and "advice" in alert(r)


async def test_a_decision_has_no_default_and_a_missing_choice_is_refused_naming_it(web: Web):
    officer = await web.as_user("ollie.lane")
    await upload(officer)
    await through_board(web)
    for user, area in [
        ("fran.fin", "finance"),
        ("lee.legal", "legal"),
        ("cat.com", "commercial"),
        ("eve.eq", "equalities"),
        ("ian.ia", "information_assurance"),
    ]:
        adviser = await web.as_user(user)
        r = await adviser.post(
            "/ui/cases/mettrace",
            {"action": "sign_off", "area": area, "role": f"{area}_adviser"},
        )
        assert r.status_code == 303, r.text
    ceo = await web.as_user("rl.ceo")
    r = await ceo.post("/ui/cases/mettrace", {"action": "consult_chief_executive"})
    assert r.status_code == 303, r.text
    dmpc = await web.as_user("sl.dmpc")
    r = await dmpc.post(
        "/ui/cases/mettrace",
        {"action": "declare_interests", "role": "dmpc", "has_interest": "false"},
    )
    assert r.status_code == 303, r.text
    page = await dmpc.get("/ui/cases/mettrace")
    assert 'name="approve" value="true"' in page.text and " checked" not in page.text
    r = await dmpc.post(
        "/ui/cases/mettrace",
        {"action": "decide", "form": "decide-dmpc", "role": "dmpc", "comment": "Value for money."},
    )
    assert r.status_code == 422
    assert "approve" in beside(r, "decide-dmpc-approve-error")
    assert textarea(r, "decide-dmpc-comment") == "Value for money."
    events = [e.event_type for e in web.store.read_stream("mettrace")]
    assert "decision.approved" not in events and "decision.declined" not in events


async def test_a_second_advisers_sign_off_is_not_stale_but_a_revision_of_the_papers_is(web: Web):
    officer = await web.as_user("ollie.lane")
    await upload(officer)
    await through_board(web)
    finance = await web.as_user("fran.fin")
    legal = await web.as_user("lee.legal")
    commercial = await web.as_user("cat.com")
    finance_saw, legal_saw, commercial_saw = (
        await seen(finance),
        await seen(legal),
        await seen(commercial),
    )
    r = await finance.post(
        "/ui/cases/mettrace",
        {
            **finance_saw,
            "action": "sign_off",
            "area": "finance",
            "role": "finance_adviser",
            "expected_task": "sign_off:finance",
        },
    )
    assert r.status_code == 303, r.text
    # legal loaded the page before finance signed: not stale, the comment is kept
    r = await legal.post(
        "/ui/cases/mettrace",
        {
            **legal_saw,
            "action": "sign_off",
            "area": "legal",
            "role": "legal_adviser",
            "expected_task": "sign_off:legal",
            "comment": "Read in full; content.",
        },
    )
    assert r.status_code == 303, r.text
    # the strict check still refuses the same step for the API's clients that want it
    r = await commercial.post(
        "/ui/cases/mettrace",
        {
            "expected_version": "1",
            "action": "sign_off",
            "area": "commercial",
            "role": "commercial_adviser",
        },
    )
    assert r.status_code == 409
    # the papers are revised (sent back and revised) after commercial loaded the page
    r = await (await web.as_user("eve.eq")).post(
        "/ui/cases/mettrace",
        {
            "action": "request_changes",
            "area": "equalities",
            "role": "equalities_adviser",
            "reasons": "Cost per kit",
        },
    )
    assert r.status_code == 303, r.text
    revised = METTRACE.replace("£1.12m has been set aside", "£1.12m (£2.55 a kit) is set aside")
    r = await officer.post(
        "/ui/cases/mettrace",
        {"action": "revise", "role": "originating_officer", "case_text": revised},
    )
    assert r.status_code == 303, r.text
    comment = "No commercial concerns."
    r = await commercial.post(
        "/ui/cases/mettrace",
        {
            **commercial_saw,
            "action": "sign_off",
            "form": "sign_off-commercial-s",
            "area": "commercial",
            "role": "commercial_adviser",
            "expected_task": "sign_off:commercial",
            "comment": comment,
        },
    )
    assert r.status_code == 409
    assert "the papers were revised" in alert(r)
    assert textarea(r, "sign_off-commercial-comment") == comment
    assert r.url.path == "/ui/cases/mettrace"


async def test_text_typed_into_a_form_no_longer_offered_is_shown_to_copy(web: Web):
    officer = await web.as_user("ollie.lane")
    await upload(officer)
    await through_board(web)
    legal = await web.as_user("lee.legal")
    loaded = await seen(legal)
    r = await legal.post(
        "/ui/cases/mettrace", {"action": "sign_off", "area": "legal", "role": "legal_adviser"}
    )
    assert r.status_code == 303, r.text
    # the older tab: changes requested on a task done meanwhile
    reasons = "Cite paragraph 4.8\nName the data controller"
    r = await legal.post(
        "/ui/cases/mettrace",
        {
            **loaded,
            "action": "request_changes",
            "form": "sign_off-legal-r",
            "area": "legal",
            "role": "legal_adviser",
            "expected_task": "sign_off:legal",
            "reasons": reasons,
        },
    )
    assert r.status_code == 409
    assert "your task (sign off:legal) was done or withdrawn" in alert(r)
    assert 'name="action" value="request_changes"' not in r.text  # the form is gone
    assert "What you typed" in r.text and textarea(r, "typed-1") == reasons
