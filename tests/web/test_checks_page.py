"""The checks on the case page: the officer sees what disagrees before submitting, is
refused while it is open, acknowledges it with a reason from the page, and every approver
then reads the acknowledgement beside the check."""

from __future__ import annotations

from html import unescape
from pathlib import Path

import yaml

from tests.web.conftest import METTRACE, Web
from tests.web.test_pages import act, alert, upload

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def mismatched() -> str:
    """MetTrace, whose first recommendation asks for £5m of a £5.6m tender."""
    data = yaml.safe_load(METTRACE)
    data["procurements"][0]["id"] = "P1"
    data["recommendations"][0].update(amount="5000000", covers=["P1"])
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


async def test_a_check_is_acknowledged_from_the_page_and_every_approver_reads_why(web: Web):
    officer = await web.as_user("ollie.lane")
    await upload(officer, text=mismatched())
    page = unescape((await officer.get("/ui/cases/mettrace")).text)
    assert "Checks and acknowledgements" in page
    assert "1 check open: the case cannot be submitted until each is fixed or acknowledged" in page
    assert "Recommendation 1 states £5,000,000" in page
    assert 'name="action" value="acknowledge_check"' in page

    refused = await act(officer, "mettrace", "submit")
    assert refused.status_code == 409
    assert "check(s) open" in unescape(alert(refused))

    key = page.split('name="check" value="', 1)[1].split('"', 1)[0]
    reason = "The other £600,000 is the contingency held in the MPS reserve.\nSee para 3.2."
    r = await act(
        officer,
        "mettrace",
        "acknowledge_check",
        role="originating_officer",
        check=key,
        reason=reason,
    )
    assert r.status_code == 303, r.text
    assert (await act(officer, "mettrace", "submit")).status_code == 303

    # An adviser (who has no form) reads the check, who acknowledged it and the reason,
    # with its line break kept.
    adviser = await web.as_user("fran.fin")
    seen = unescape((await adviser.get("/ui/cases/mettrace")).text)
    assert "No check is open." in seen
    assert "Acknowledged</strong> by ollie.lane" in seen
    assert "contingency held in the MPS reserve." in seen and "See para 3.2." in seen
    assert "acknowledge_check" not in seen
    types = [e.event_type for e in web.store.read_stream("mettrace")]
    assert types[-2:] == ["case.check_acknowledged", "case.submitted"]


async def test_a_draft_shows_the_routing_it_would_get_so_the_officer_sees_each_appendix(
    web: Web,
):
    text = (EXAMPLES / "grants-programme.yaml").read_text(encoding="utf-8")
    officer = await web.as_user("ollie.lane")
    await upload(officer, case_id="grants-draft", text=text)
    page = unescape((await officer.get("/ui/cases/grants-draft")).text)
    assert "A preview:" in page and "the case is not submitted yet" in page
    assert "Who must approve, and why" in page
    # The three Bright Futures mentoring phases added together (£147,600) for approval,
    # the batch of 23 tested by its largest award and noted.
    assert "£147,600" in page
    assert "23 grants (largest £48,500)" in page
