"""Reasons shown wherever a decision is read: the officer of a declined case sees why on
the case page; the board's conditions keep their lines; the decision maker decides on one
form that shows the recommendations, the advice and the declaration above approve and
decline, and a decline without a reason is refused beside the reason's field."""

from __future__ import annotations

from html import unescape
from urllib.parse import quote

from ratify.services.projections.paging import normalise_reference
from tests.web.conftest import Web
from tests.web.test_pages import ADVISERS, act, published, to_approval, today, upload

CONDITIONS = "Report the uptake each quarter\nReturn to the board before year 2"
REASON = "Not value for money at this price.\nBring it back with the cost per kit."


async def _to_decision(web: Web) -> None:
    officer = await web.as_user("ollie.lane")
    await upload(officer)
    assert (await act(officer, "mettrace", "submit")).status_code == 303
    sec = await web.as_user("sam.sec")
    r = await sec.post(
        "/ui/meetings/new",
        {"meeting_id": "IAB-9", "board": "IAB", "meeting_date": (await today(web)).isoformat()},
    )
    assert r.status_code == 303, r.text
    assert (await sec.post("/ui/meetings/IAB-9/cases", {"case_id": "mettrace"})).status_code == 303
    r = await sec.post(
        "/ui/meetings/IAB-9/advice",
        {
            "case_id": "mettrace",
            "advice": "supported_with_conditions",
            "conditions": CONDITIONS,
            "comment": "The board asked for a pilot first.",
        },
    )
    assert r.status_code == 303, r.text
    for user, area in ADVISERS:
        fields = {"area": area, "role": f"{area}_adviser"}
        if area == "finance":
            fields["comment"] = "Within the 2024/25 budget."
        r = await act(await web.as_user(user), "mettrace", "sign_off", **fields)
        assert r.status_code == 303, (user, r.text)
    assert (
        await act(await web.as_user("rl.ceo"), "mettrace", "consult_chief_executive")
    ).status_code == 303
    dmpc = await web.as_user("sl.dmpc")
    r = await act(dmpc, "mettrace", "declare_interests", role="dmpc", has_interest="false")
    assert r.status_code == 303, r.text


async def test_the_officer_of_a_declined_case_sees_the_reason_and_the_conditions_keep_their_lines(
    web: Web,
):
    await _to_decision(web)
    dmpc = await web.as_user("sl.dmpc")

    page = (await dmpc.get("/ui/cases/mettrace")).text
    form = page[page.index('class="stack decision"') : page.index("Record the decision")]
    # The recommendations, the advice and the declaration come before approve and decline.
    asked = form.index("Approval to commence and award a tender for a new phase of MetTrace")
    approve = form.index("Approve: the above request has my approval")
    assert asked < approve and form.index('value="false"') > asked
    assert form.index("Within the 2024/25 budget.") < approve  # the adviser's comment
    assert form.index("The board asked for a pilot first.") < approve
    assert form.index("no personal or prejudicial interest") < approve
    assert "a decline needs a reason" in form  # said before it is refused

    refused = await act(
        dmpc, "mettrace", "decide", role="dmpc", approve="false", form="decide-dmpc"
    )
    assert refused.status_code != 303
    beside = unescape(refused.text)
    beside = beside[beside.index('id="decide-dmpc-comment-error"') :]
    assert beside.index("a decline needs a reason") < beside.index('id="decide-dmpc-comment"')
    assert 'id="decide-dmpc-decline" name="approve" value="false" checked' in refused.text
    r = await act(dmpc, "mettrace", "decide", role="dmpc", approve="false", comment=REASON)
    assert r.status_code == 303, r.text

    officer = await web.as_user("ollie.lane")
    page = (await officer.get("/ui/cases/mettrace")).text
    assert "Reason for the decline" in page
    assert "Not value for money at this price.<br>Bring it back with the cost per kit." in page
    # Two conditions typed on two lines are on two lines, in the facts and the timeline.
    two_lines = "Report the uptake each quarter<br>Return to the board before year 2"
    assert page.count(two_lines) >= 2
    assert "The board asked for a pilot first." in page
    timeline = page[page.index('id="timeline"') :]
    assert "Declined. Reason: Not value for money at this price.<br>" in timeline


async def test_after_the_decision_the_case_page_links_to_the_published_entry(web: Web):
    officer = await web.as_user("ollie.lane")
    await upload(officer)
    await to_approval(web)
    [item] = await published(web)
    page = (await officer.get("/ui/cases/mettrace")).text
    link = f'href="/ui/register/{quote(normalise_reference(item.reference or ""), safe="")}"'
    assert link in page and "on the public register" in page
    entry = await officer.get(unescape(link[len('href="') : -1]))
    assert entry.status_code == 200 and "Met Trace" in entry.text
