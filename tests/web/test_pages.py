"""The web pages with httpx against the real stack: each page for the right person, the
forms on the API's code paths, CSRF, refusals as messages, and Part 2 kept from the
uncleared and the public register."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, date, datetime, timedelta
from html import unescape
from urllib.parse import quote

import httpx
import pytest

from domain.clock import london_date
from domain.roles import Role
from ratify.http.sessions import SESSION_COOKIE
from ratify.services.projections import public_register, task_list
from tests.services.projections.stories import Story, required_by
from tests.web.conftest import METTRACE, PART2_TEXT, Browser, Web, csrf_of

ADVISERS = [
    ("fran.fin", "finance"),
    ("lee.legal", "legal"),
    ("cat.com", "commercial"),
    ("eve.eq", "equalities"),
    ("ian.ia", "information_assurance"),
]


def is_page(response: httpx.Response) -> bool:
    """An HTML page of ours: never JSON, never a stack trace."""
    return (
        response.headers["content-type"].startswith("text/html")
        and "<h1>" in response.text
        and "Traceback" not in response.text
    )


def alert(response: httpx.Response) -> str:
    """The refusal message a page shows."""
    text = response.text
    start = text.index('role="alert"')
    return text[start : text.index("</div>", start)]


async def upload(officer: Browser, case_id: str = "mettrace", text: str = METTRACE) -> None:
    form = await officer.get("/ui/cases/new")
    assert form.status_code == 200 and 'enctype="multipart/form-data"' in form.text
    r = await officer.post(
        "/ui/cases/new",
        {"case_id": case_id},
        files={"case_file": ("mettrace.yaml", text.encode(), "application/yaml")},
    )
    assert r.status_code == 303, r.text
    assert r.headers["location"] == f"/ui/cases/{case_id}?done=created"


async def act(browser: Browser, case_id: str, action: str, **fields: str) -> httpx.Response:
    return await browser.post(f"/ui/cases/{case_id}/actions/{action}", fields)


async def today(web: Web) -> date:
    return london_date(await web.stack.env.get_current_time())


async def through_board(web: Web, case_id: str = "mettrace", meeting: str = "IAB-1") -> None:
    officer = await web.as_user("ollie.lane")
    assert (await act(officer, case_id, "submit")).status_code == 303
    sec = await web.as_user("sam.sec")
    inbox = await sec.get("/ui/")
    assert "Place the case on a board meeting" in inbox.text
    r = await sec.post(
        "/ui/meetings/new",
        {"meeting_id": meeting, "board": "IAB", "meeting_date": (await today(web)).isoformat()},
    )
    assert r.status_code == 303, r.text
    page = await sec.get(f"/ui/meetings/{meeting}")
    assert page.status_code == 200 and f'<option value="{case_id}">' in page.text
    r = await sec.post(f"/ui/meetings/{meeting}/cases", {"case_id": case_id})
    assert r.status_code == 303, r.text
    r = await sec.post(
        f"/ui/meetings/{meeting}/advice", {"case_id": case_id, "advice": "supported"}
    )
    assert r.status_code == 303, r.text
    page = await sec.get(f"/ui/meetings/{meeting}")
    assert "supported" in page.text and "to be recorded" not in page.text


async def to_approval(web: Web, case_id: str = "mettrace") -> None:
    await through_board(web, case_id)
    for user, area in ADVISERS:
        adviser = await web.as_user(user)
        inbox = await adviser.get("/ui/")
        assert f"/ui/cases/{case_id}" in inbox.text, user
        r = await act(adviser, case_id, "sign_off", area=area, role=f"{area}_adviser")
        assert r.status_code == 303, (user, r.text)
    ceo = await web.as_user("rl.ceo")
    assert (await act(ceo, case_id, "consult_chief_executive")).status_code == 303
    dmpc = await web.as_user("sl.dmpc")
    r = await act(dmpc, case_id, "declare_interests", role="dmpc", has_interest="false")
    assert r.status_code == 303, r.text
    r = await act(dmpc, case_id, "decide", role="dmpc", approve="true")
    assert r.status_code == 303, r.text


async def published(web: Web) -> list[public_register.RegisterItem]:
    for _ in range(200):  # Part 1 is published by the workflow once the decision is stored
        web.stack.projector.catch_up()
        rows = public_register.register(web.stack.services.engine).items
        if rows:
            return rows
        await asyncio.sleep(0.05)
    raise AssertionError("Part 1 was not published")


# -- signing in ----------------------------------------------------------------------------


async def test_pages_need_sign_in_and_the_sign_in_form_sets_the_api_session(web: Web):
    visitor = web.anonymous()
    r = await visitor.get("/ui/")
    assert r.status_code == 303 and r.headers["location"] == "/ui/sign-in?next=%2Fui%2F"
    form = await visitor.get("/ui/sign-in?next=/ui/cases")
    assert form.status_code == 200 and is_page(form)
    assert '<label for="user_id">User id</label>' in form.text
    assert '<label for="password">Password</label>' in form.text
    assert form.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in form.headers["content-security-policy"]
    # a wrong password: the API's one answer, on the form, 401
    r = await visitor.http.post(
        "/ui/sign-in",
        data={"user_id": "fran.fin", "password": "nope", "csrf_token": csrf_of(form.text)},
    )
    assert r.status_code == 401 and "user id or password is wrong" in alert(r)
    assert SESSION_COOKIE not in r.cookies
    # the sign-in form's own token is required (no signing a browser in from another site)
    r = await web.anonymous().http.post(
        "/ui/sign-in", data={"user_id": "fran.fin", "password": "correct horse battery staple"}
    )
    assert r.status_code == 403 and SESSION_COOKIE not in r.cookies
    # signed in: on to `next`, with the API's session cookie (the API accepts it too)
    form = await visitor.get("/ui/sign-in?next=/ui/cases")
    r = await visitor.http.post(
        "/ui/sign-in",
        data={
            "user_id": "fran.fin",
            "password": "correct horse battery staple",
            "csrf_token": csrf_of(form.text),
            "next": "/ui/cases",
        },
    )
    assert r.status_code == 303 and r.headers["location"] == "/ui/cases"
    assert "httponly" in r.headers["set-cookie"].lower()
    session = (await visitor.get("/session")).json()
    assert session["user"]["id"] == "fran.fin"
    page = await visitor.get("/ui/")
    assert "Fran Finance" in page.text and csrf_of(page.text) == session["csrf_token"]
    again = await visitor.get("/ui/sign-in")  # its sign-out button carries the session's token
    assert "You are signed in as Fran Finance" in again.text
    assert csrf_of(again.text) == session["csrf_token"]
    # never on to another site
    stranger = web.anonymous()
    form = await stranger.get("/ui/sign-in")
    r = await stranger.http.post(
        "/ui/sign-in",
        data={
            "user_id": "fran.fin",
            "password": "correct horse battery staple",
            "csrf_token": csrf_of(form.text),
            "next": "//evil.example/ui",
        },
    )
    assert r.status_code == 303 and r.headers["location"] == "/ui/"
    # signing out needs the token, then clears the cookie
    visitor.csrf = session["csrf_token"]
    r = await visitor.post("/ui/sign-out")
    assert r.status_code == 303 and r.headers["location"] == "/ui/sign-in"
    assert (await visitor.get("/ui/")).status_code == 303


# -- the lifecycle through the pages -------------------------------------------------------


async def test_each_role_acts_from_its_pages_and_part2_stays_with_the_cleared(web: Web):
    officer = await web.as_user("ollie.lane")
    await upload(officer)
    page = await officer.get("/ui/cases/mettrace?done=created")
    assert page.status_code == 200 and is_page(page)
    assert "The draft case was created." in page.text
    assert "<h1>Met Trace</h1>" in page.text and "in draft" in page.text
    assert PART2_TEXT in page.text  # the officer drafted it
    assert "Submit the case" in page.text and 'name="action" value="submit"' in page.text
    # the page sends the papers' revision and the stage it showed (the looser stale check)
    assert 'name="expected_revision" value="1"' in page.text
    assert 'name="expected_stage" value="draft"' in page.text
    assert "case.drafted" in page.text  # the timeline
    # someone without a task on it sees the case without Part 2, and no forms
    outsider = await web.as_user("no.body")
    page = await outsider.get("/ui/cases/mettrace")
    assert page.status_code == 200
    assert PART2_TEXT not in page.text and "confidential Part 2" in page.text
    assert "nothing for you to do" in page.text and 'name="action"' not in page.text
    listing = await outsider.get("/ui/cases?title=met")
    assert "Met Trace" in listing.text and PART2_TEXT not in listing.text

    await through_board(web)
    finance = await web.as_user("fran.fin")
    inbox = await finance.get("/ui/")
    assert inbox.status_code == 200 and '<th scope="col">Due</th>' in inbox.text
    assert "Give or decline finance advice" in inbox.text
    page = await finance.get("/ui/cases/mettrace")
    assert "collecting advice" in page.text
    for label in ("Sign off", "Advice not required", "Request changes"):
        assert f"<legend>{label}" in page.text
    assert PART2_TEXT in page.text  # finance holds one of the case's open tasks
    assert PART2_TEXT not in (await outsider.get("/ui/cases/mettrace")).text
    # request changes: back to the officer, who revises by uploading the file again
    r = await act(
        finance,
        "mettrace",
        "request_changes",
        area="finance",
        role="finance_adviser",
        reasons="Show the cost per kit\nName the budget line",
    )
    assert r.status_code == 303
    page = await officer.get("/ui/cases/mettrace")
    assert "sent back to the officer" in page.text and "Show the cost per kit" in page.text
    assert "Revise the case" in page.text and 'name="case_file"' in page.text
    revised = METTRACE.replace(
        "£1.12m has been set aside", "£1.12m (about £2.55 a kit) is set aside"
    )
    r = await officer.post(
        "/ui/cases/mettrace/actions/revise",
        {"note": "cost per kit", "role": "originating_officer"},
        files={"case_file": ("mettrace.yaml", revised.encode(), "application/yaml")},
    )
    assert r.status_code == 303, r.text
    page = await finance.get("/ui/cases/mettrace")
    assert "round 2" in page.text and "about £2.55 a kit" in page.text
    for user, area in ADVISERS:
        adviser = finance if user == "fran.fin" else await web.as_user(user)
        r = await act(adviser, "mettrace", "sign_off", area=area, role=f"{area}_adviser")
        assert r.status_code == 303, (user, r.text)
    ceo = await web.as_user("rl.ceo")
    page = await ceo.get("/ui/cases/mettrace")
    assert "I confirm that financial, legal and equalities advice" in page.text
    assert (await act(ceo, "mettrace", "consult_chief_executive")).status_code == 303
    dmpc = await web.as_user("sl.dmpc")
    page = await dmpc.get("/ui/cases/mettrace")
    assert "personal or prejudicial interest" in page.text and 'value="true"' in page.text
    r = await act(dmpc, "mettrace", "declare_interests", role="dmpc", has_interest="false")
    assert r.status_code == 303
    page = await dmpc.get("/ui/cases/mettrace?done=declare_interests")
    assert "Approve: the above request has my approval" in page.text
    r = await act(dmpc, "mettrace", "decide", role="dmpc", approve="true", comment="Agreed")
    assert r.status_code == 303
    page = await dmpc.get("/ui/cases/mettrace?done=decide")
    assert "Your decision was recorded." in page.text and "approved" in page.text
    events = [r.event_type for r in web.store.read_stream("mettrace")]
    assert "decision.approved" in events and events.count("case.revised") == 1


async def test_a_deputy_acts_for_the_principal_from_the_pages(web: Web):
    officer = await web.as_user("ollie.lane")
    await upload(officer)
    await through_board(web)
    day = london_date(datetime.now(UTC))
    web.stack.directory.delegate(
        "lee.legal",
        "cat.com",
        Role.LEGAL_ADVISER,
        day,
        day + timedelta(7),
        "Leave",
    )
    deputy = await web.as_user("cat.com")
    inbox = await deputy.get("/ui/")
    assert "legal adviser for lee.legal" in inbox.text
    page = await deputy.get("/ui/cases/mettrace")
    assert "You act as deputy for lee.legal." in page.text
    r = await act(
        deputy, "mettrace", "sign_off", area="legal", role="legal_adviser", on_behalf_of="lee.legal"
    )
    assert r.status_code == 303, r.text
    last = web.store.read_stream("mettrace")[-1]
    assert (last.actor_id, last.metadata) == ("cat.com", {"on_behalf_of": "lee.legal"})
    page = await deputy.get("/ui/cases/mettrace")
    assert "<td>lee.legal</td>" in page.text  # the timeline's "on behalf of"


async def test_the_secretariat_works_from_the_case_page_too(web: Web):
    officer = await web.as_user("ollie.lane")
    await upload(officer)
    assert (await act(officer, "mettrace", "submit")).status_code == 303
    sec = await web.as_user("sam.sec")
    page = await sec.get("/ui/cases/mettrace")
    assert "Add to the meeting's agenda" in page.text
    r = await sec.post("/ui/cases/mettrace/agenda", {"meeting_id": "IAB-NONE"})
    assert r.status_code == 404 and "IAB-NONE" in alert(r) and "<h1>Met Trace</h1>" in r.text
    day = (await today(web)).isoformat()
    r = await sec.post(
        "/ui/meetings/new", {"meeting_id": "IAB-7", "board": "IAB", "meeting_date": day}
    )
    assert r.status_code == 303
    r = await sec.post("/ui/cases/mettrace/agenda", {"meeting_id": "IAB-7"})
    assert r.status_code == 303 and r.headers["location"] == "/ui/meetings/IAB-7?done=cases"
    page = await sec.get("/ui/cases/mettrace")
    assert "Record the board's advice" in page.text
    r = await sec.post(
        "/ui/meetings/IAB-7/advice",
        {"case_id": "mettrace", "advice": "not_supported", "return_to": "case"},
    )
    assert r.status_code == 303 and r.headers["location"] == "/ui/cases/mettrace?done=advice"
    page = await officer.get("/ui/cases/mettrace")
    assert "not supported" in page.text
    # the meeting can now be closed; afterwards it takes nothing more
    r = await sec.post("/ui/meetings/IAB-7/close")
    assert r.status_code == 303
    page = await sec.get("/ui/meetings/IAB-7")
    assert "closed" in page.text and "Close the meeting" not in page.text


# -- CSRF and refusals ---------------------------------------------------------------------


async def test_forms_refuse_without_the_csrf_token_and_store_nothing(web: Web):
    officer = await web.as_user("ollie.lane")
    await upload(officer)
    for token in (None, "not-the-token"):
        data = {} if token is None else {"csrf_token": token}
        r = await officer.post("/ui/cases/mettrace/actions/submit", data, csrf=False)
        assert r.status_code == 403 and is_page(r), r.text
        assert "CSRF token" in alert(r)
    r = await officer.post(
        "/ui/cases/new",
        {"case_id": "second"},
        csrf=False,
        files={"case_file": ("mettrace.yaml", METTRACE.encode(), "application/yaml")},
    )
    assert r.status_code == 403
    sec = await web.as_user("sam.sec")
    r = await sec.post(
        "/ui/meetings/new",
        {"meeting_id": "IAB-X", "board": "IAB", "meeting_date": "2030-01-01"},
        csrf=False,
    )
    assert r.status_code == 403
    r = await officer.post("/ui/sign-out", csrf=False)
    assert r.status_code == 403
    assert [e.event_type for e in web.store.read_stream("mettrace")] == ["case.drafted"]
    assert web.store.stream_version("second") == 0
    # the API's token in a header is accepted instead of the form field
    r = await officer.http.post(
        "/ui/cases/mettrace/actions/submit",
        data={"role": "originating_officer"},
        headers={"X-CSRF-Token": officer.csrf},
    )
    assert r.status_code == 303
    # a form POST without a session is refused as a page, not a redirect
    r = await web.anonymous().post("/ui/cases/mettrace/actions/withdraw", {"reason": "x"})
    assert r.status_code == 401 and is_page(r)


async def test_refusals_are_shown_as_messages_on_the_page(web: Web):
    officer = await web.as_user("ollie.lane")
    # a bad case file: the field and the rule, nothing started
    bad = METTRACE.replace("title: Met Trace", "titel: Met Trace")
    r = await officer.post(
        "/ui/cases/new",
        {"case_id": "bad"},
        files={"case_file": ("bad.yaml", bad.encode(), "application/yaml")},
    )
    assert r.status_code == 422 and is_page(r)
    assert "extra field &#39;titel&#39; is not allowed" in alert(r)
    assert web.store.read_all() == []
    r = await officer.post(
        "/ui/cases/new",
        {"case_id": "txt"},
        files={"case_file": ("mettrace.txt", METTRACE.encode(), "text/plain")},
    )
    assert r.status_code == 422 and "filename:" in alert(r)
    r = await officer.post("/ui/cases/new", {"case_id": "empty"})
    assert r.status_code == 422 and "choose a case file" in alert(r)
    # only an originating officer may start a case
    finance = await web.as_user("fran.fin")
    r = await finance.post(
        "/ui/cases/new",
        {},
        files={"case_file": ("m.yaml", METTRACE.encode(), "application/yaml")},
    )
    assert r.status_code == 403 and "originating_officer" in alert(r)
    await upload(officer)
    r = await officer.post(
        "/ui/cases/new",
        {"case_id": "mettrace"},
        files={"case_file": ("mettrace.yaml", METTRACE.encode(), "application/yaml")},
    )
    assert r.status_code == 409 and "case mettrace already exists: it is in draft" in alert(r)
    # withdraw without a reason: the field is named
    r = await act(officer, "mettrace", "withdraw", role="originating_officer")
    assert r.status_code == 422 and "reason" in alert(r)
    assert "<h1>Met Trace</h1>" in r.text  # shown on the case page itself
    # stale: acting on a version the person no longer sees
    r = await act(officer, "mettrace", "submit", role="originating_officer", expected_version="0")
    assert r.status_code == 409 and alert(r)
    await through_board(web)
    # the wrong role: a legal adviser cannot give finance advice
    legal = await web.as_user("lee.legal")
    r = await act(legal, "mettrace", "sign_off", area="finance", role="finance_adviser")
    assert r.status_code == 403 and "finance_adviser" in alert(r)
    # the same sign-off twice
    r = await act(finance, "mettrace", "sign_off", area="finance", role="finance_adviser")
    assert r.status_code == 303
    r = await act(finance, "mettrace", "sign_off", area="finance", role="finance_adviser")
    assert r.status_code == 409 and "already_done" in r.text
    # deciding before the case reaches the decision maker
    dmpc = await web.as_user("sl.dmpc")
    r = await act(dmpc, "mettrace", "decide", role="dmpc", approve="true")
    assert r.status_code == 422 and is_page(r) and alert(r)
    # unknown things are 404 pages
    r = await finance.get("/ui/cases/case-nope")
    assert r.status_code == 404 and is_page(r) and "there is no case case-nope" in r.text
    r = await finance.get("/ui/meetings/NOPE")
    assert r.status_code == 404 and is_page(r)
    r = await act(finance, "mettrace", "teleport")
    assert r.status_code == 404 and is_page(r)
    # the secretariat's refusals: advice on a case not on the agenda
    sec = await web.as_user("sam.sec")
    r = await sec.post("/ui/meetings/IAB-1/advice", {"case_id": "other", "advice": "supported"})
    assert r.status_code == 422 and "not on this agenda" in alert(r)
    r = await sec.post(
        "/ui/meetings/new", {"meeting_id": "IAB-1", "board": "IAB", "meeting_date": "2030-01-01"}
    )
    assert r.status_code == 409 and "exists" in alert(r)
    r = await sec.post(
        "/ui/meetings/new", {"meeting_id": "IAB-9", "board": "IAB", "meeting_date": "soon"}
    )
    assert r.status_code == 422 and "meeting_date" in alert(r)
    # dates and ids have the API's bounds
    r = await sec.post(
        "/ui/meetings/new", {"meeting_id": "IAB-9", "board": "IAB", "meeting_date": "9999-12-31"}
    )
    assert r.status_code == 422 and "meeting_date: 9999-12-31 is outside" in alert(r)
    r = await sec.post(
        "/ui/meetings/new", {"meeting_id": "IAB/9", "board": "IAB", "meeting_date": "2030-01-01"}
    )
    assert r.status_code == 422 and "meeting_id: &#39;IAB/9&#39; is not a valid id" in alert(r)
    r = await web.anonymous().get("/ui/register?signed_from=0001-01-01")
    assert r.status_code == 422 and "signed_from: 0001-01-01 is outside" in alert(r)
    # a bad query parameter is a message too
    r = await sec.get("/ui/cases?stage=limbo")
    assert r.status_code == 422 and "unknown stage" in alert(r)


# -- history and the register --------------------------------------------------------------


async def test_an_auditor_reads_the_history_as_of_a_version_or_a_time(web: Web):
    officer = await web.as_user("ollie.lane")
    await upload(officer)
    await through_board(web)
    auditor = await web.as_user("aud.ann")
    page = await auditor.get("/ui/cases/mettrace")
    assert "/ui/cases/mettrace/history" in page.text
    latest = await auditor.get("/ui/cases/mettrace/history")
    assert latest.status_code == 200 and is_page(latest)
    assert '<label for="version">' in latest.text and '<label for="as_of">' in latest.text
    assert "collecting advice" in latest.text and PART2_TEXT in latest.text
    first = await auditor.get("/ui/cases/mettrace/history?version=1")
    assert "As of version 1 of" in first.text and "in draft" in first.text
    assert 'class="later"' in first.text and 'class="hash"' in first.text
    # the events' times are the workflows' (time-skipping) clock, not the wall clock
    now = (await web.stack.env.get_current_time()).isoformat()
    r = await auditor.get(f"/ui/cases/mettrace/history?as_of={quote(now)}")
    assert r.status_code == 200 and "collecting advice" in r.text
    r = await auditor.get("/ui/cases/mettrace/history?as_of=2001-01-01T09:00")
    assert r.status_code == 422 and "had no events by then" in alert(r)
    r = await auditor.get("/ui/cases/mettrace/history?as_of=9999-12-31T23:00")
    assert r.status_code == 422 and "as_of: 9999-12-31 is outside the dates" in alert(r)
    r = await auditor.get("/ui/cases/mettrace/history?version=99")
    assert r.status_code == 422 and "version: between 1 and" in alert(r)
    for user in ("ollie.lane", "fran.fin"):
        other = await web.as_user(user)
        r = await other.get("/ui/cases/mettrace/history?version=1")
        assert r.status_code == 403 and "only auditors" in alert(r)


async def test_the_public_register_shows_part1_like_the_published_paper(web: Web):
    officer = await web.as_user("ollie.lane")
    await upload(officer)
    await to_approval(web)
    [row] = await published(web)
    public = web.anonymous()  # no sign-in
    listing = await public.get("/ui/register")
    assert listing.status_code == 200 and is_page(listing)
    assert (
        "Met Trace" in listing.text and f"/ui/register/{quote(row.reference or '')}" in listing.text
    )
    assert PART2_TEXT not in listing.text and "Sign in" in listing.text
    entry = await public.get(f"/ui/register/{quote(row.reference or '')}")
    assert entry.status_code == 200 and is_page(entry)
    text = entry.text
    assert f"DMPC Decision – {row.reference}" in text
    assert "<h2>Executive Summary</h2>" in text and "MetTrace is the MPS flagship" in text
    assert "<h2>Recommendations</h2>" in text and "Approval to commence and award a tender" in text
    assert "The above request has my approval." in text
    assert row.date_signed.strftime("%d/%m/%Y") in text
    assert "Deputy Mayor for Policing and Crime" in text
    # that a confidential Part 2 exists and its marking; never its text
    assert PART2_TEXT not in text and "This decision has a confidential Part 2" in text
    r = await public.get("/ui/register/PCD%209999")
    assert r.status_code == 404 and is_page(r)
    # the stylesheet is served with the pages
    css = await public.get("/ui/static/ratify.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")


async def test_an_internal_error_is_a_short_page_never_a_stack_trace(
    web: Web, monkeypatch: pytest.MonkeyPatch
):
    finance = await web.as_user("fran.fin")

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the database is on fire")

    monkeypatch.setattr(task_list, "inbox", broken)
    r = await finance.get("/ui/")
    assert r.status_code == 500 and is_page(r)
    assert "internal error" in alert(r) and "on fire" not in r.text


async def test_the_publication_officer_reviews_part2_from_the_case_page(web: Web):
    await upload(await web.as_user("ollie.lane"))
    await to_approval(web)
    await published(web)
    # MetTrace's Part 2 ceased to be exempt on 01/04/2024: the review is due at once
    pub = await web.as_user("pat.pub")
    for _ in range(100):
        page = await pub.get("/ui/cases/mettrace")
        if 'name="action" value="review_part2"' in page.text:
            break
        await asyncio.sleep(0.05)
    assert 'name="action" value="review_part2"' in page.text and "Passages to redact" in page.text
    passage = "held separately"
    r = await act(
        pub,
        "mettrace",
        "review_part2",
        outcome="redact",
        reason="Contract complete; a phrase stays exempt.",
        redactions=passage,
    )
    assert r.status_code == 303, r.text
    web.stack.projector.catch_up()
    [listed] = public_register.register(web.stack.services.engine).items
    assert listed.part2_published_at is not None
    row = public_register.register_entry(web.stack.services.engine, listed.reference or "")
    assert row is not None and row.part2_text is not None and "[REDACTED]" in row.part2_text
    assert passage not in row.part2_text
    entry = await web.anonymous().get(f"/ui/register/{quote(row.reference or '')}")
    assert "[REDACTED]" in entry.text and passage not in entry.text


async def test_the_officer_moves_the_date_and_anyone_acting_records_an_irregularity(web: Web):
    officer = await web.as_user("ollie.lane")
    await upload(officer)
    page = await officer.get("/ui/cases/mettrace")
    assert "Change the required-by date" in page.text and "Record an irregularity" in page.text
    r = await act(
        officer,
        "mettrace",
        "change_required_by",
        role="originating_officer",
        required_by="2031-01-31",
        reason="Settlement delayed.",
    )
    assert r.status_code == 303, r.text
    fin = await web.as_user("fran.fin")
    r = await act(
        fin,
        "mettrace",
        "record_irregularity",
        role="finance_adviser",
        description="Kits were ordered before the referral.",
    )
    assert r.status_code == 303, r.text
    types = [e.event_type for e in web.store.read_stream("mettrace")]
    assert types[-2:] == ["deadline.changed", "irregularity.recorded"]


# -- pages of the inbox and the register ---------------------------------------------------


def _next_link(html: str, label: str) -> str:
    """The href of the link whose text starts with `label`, unescaped."""
    found = re.search(rf'<a href="([^"]+)" rel="next">{re.escape(label)}', html)
    assert found, f"no {label!r} link"
    return unescape(found.group(1))


async def test_the_inbox_shows_the_most_urgent_first_and_how_many_more(web: Web):
    for n in range(52):  # more than a page: 50
        due = (date(2020, 1, 1) + timedelta(days=52 - n)).isoformat()
        Story(web.store, f"adv-{n:02}", time_sensitivity=required_by(due)).to_advice()
    finance = await web.as_user("fran.fin")
    inbox = await finance.get("/ui/")
    assert inbox.status_code == 200 and is_page(inbox)
    assert "Tasks 1 to 50 of 52: 2 more after these." in inbox.text
    rows = re.findall(r'<a href="/ui/cases/(adv-\d\d)">', inbox.text)
    assert rows[:3] == ["adv-51", "adv-50", "adv-49"] and len(rows) == 50  # soonest due first
    assert "2 January 2020" in inbox.text.split("adv-51")[0]  # its due date, before it
    following = await finance.get(_next_link(inbox.text, "Next tasks (2 more)"))
    assert following.status_code == 200
    assert "Tasks 51 to 52 of 52." in following.text and "more after these" not in following.text
    assert re.findall(r'<a href="/ui/cases/(adv-\d\d)">', following.text) == ["adv-01", "adv-00"]
    assert '<a href="/ui/">Back to the soonest due</a>' in following.text
    assert 'rel="next"' not in following.text
    r = await finance.get("/ui/?cursor=bogus")
    assert r.status_code == 422 and is_page(r)
    assert "cursor: not a cursor of this list" in alert(r)


async def test_the_register_page_searches_and_pages(web: Web):
    for n in range(51):
        title = f"Body Worn Video {n}" if n % 10 == 3 else f"Decision {n}"
        start = datetime(2020, 1, 6, 9, tzinfo=UTC) + timedelta(days=n)
        story = Story(web.store, f"dec-{n:02}", start=start, title=title)
        story.to_advice().sign_all().approve(f"PCD {900 + n}").publish_part1()
    public = web.anonymous()
    listing = await public.get("/ui/register")
    assert listing.status_code == 200 and is_page(listing)
    for field in ("reference", "text", "decided_by", "signed_from", "signed_to"):
        assert f'<label for="{field}">' in listing.text
    shown = re.findall(r'<a href="/ui/register/PCD%20(\d+)">PCD', listing.text)
    assert len(shown) == 50 and shown[:2] == ["950", "949"]  # newest first
    older = await public.get(_next_link(listing.text, "Older decisions"))
    assert re.findall(r'<a href="/ui/register/PCD%20(\d+)">PCD', older.text) == ["900"]
    assert "Back to the newest" in older.text and 'rel="next"' not in older.text

    found = await public.get("/ui/register?title=worn+video")
    assert re.findall(r'<a href="/ui/register/PCD%20(\d+)">PCD', found.text) == [
        "943",
        "933",
        "923",
        "913",
        "903",
    ]
    assert "Decisions found" in found.text and 'value="worn video"' in found.text
    one = await public.get("/ui/register?reference=pcd+925")
    assert re.findall(r'<a href="/ui/register/PCD%20(\d+)">PCD', one.text) == ["925"]
    signed = await public.get("/ui/register?signed_from=2020-02-20&signed_to=2020-02-22")
    assert len(re.findall(r'<a href="/ui/register/PCD%20(\d+)">PCD', signed.text)) == 3
    none = await public.get("/ui/register?title=zebra")
    assert "No decision matches." in none.text
    bad = await public.get("/ui/register?signed_from=13%2F12%2F2019&title=video")
    assert bad.status_code == 422 and is_page(bad)
    assert "signed_from: &#39;13/12/2019&#39; is not a date" in alert(bad)
    assert 'value="video"' in bad.text  # the form keeps what was typed
    bad = await public.get("/ui/register?cursor=bogus")
    assert bad.status_code == 422 and "cursor: not a cursor of this list" in alert(bad)


async def test_another_officer_gets_no_forms_no_task_and_no_part2_of_a_draft(web: Web):
    from tests.web.conftest import PASSWORD

    web.stack.directory.add_user(
        "olga.other", "Olga Other", [Role.ORIGINATING_OFFICER], password=PASSWORD
    )
    officer = await web.as_user("ollie.lane")
    await upload(officer, case_id="ollies")
    other = await web.as_user("olga.other")
    page = await other.get("/ui/cases/ollies")
    assert page.status_code == 200
    assert PART2_TEXT not in page.text and "confidential Part 2" in page.text
    assert "nothing for you to do" in page.text
    for action in ("submit", "revise", "withdraw", "change_required_by"):
        assert f'name="action" value="{action}"' not in page.text, action
    assert "ollies" not in (await other.get("/ui/")).text
    # the officer who drafted it has the forms and the task
    page = await officer.get("/ui/cases/ollies")
    assert 'name="action" value="submit"' in page.text
    assert 'name="action" value="withdraw"' in page.text
    assert "ollies" in (await officer.get("/ui/")).text


def _rows(html: str) -> list[str]:
    """Each body row's visible text (tags and attributes stripped), in order."""
    body = html[html.index("<tbody>") : html.index("</tbody>")]
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)
    return [" ".join(unescape(re.sub(r"<[^>]+>", " ", r)).split()) for r in rows]


async def test_the_cases_list_and_the_inbox_tell_cases_of_one_title_apart(web: Web):
    ids = ["trace-north", "trace-south"]
    for case_id in ids:  # one title, no reference yet
        Story(web.store, case_id).to_advice()
    finance = await web.as_user("fran.fin")
    for url in ("/ui/cases", "/ui/"):
        page = await finance.get(url)
        assert page.status_code == 200 and is_page(page)
        titles = re.findall(r'<th scope="row"><a [^>]+>([^<]+)</a>', page.text)
        assert len(titles) == 2 and titles[0] == titles[1]
        # each row shows its own case id as text, not only in the link's address
        shown = [[c for c in ids if c in row] for row in _rows(page.text)]
        assert sorted(shown) == [["trace-north"], ["trace-south"]], url
