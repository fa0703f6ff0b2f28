"""Round 2: an adviser whose sign-off a revision asks again sees what changed since their
advice, next to the task, as a readable diff; a request for changes ticks its sections."""

from __future__ import annotations

import re

from domain.events import ChangesRequested
from tests.web.conftest import METTRACE, Web
from tests.web.test_pages import through_board, upload

_INS = re.compile(r"<ins>(.*?)</ins>", re.S)


async def test_the_adviser_asked_again_sees_the_sections_changed_and_the_words_inserted(
    web: Web,
):
    officer = await web.as_user("ollie.lane")
    await upload(officer)
    await through_board(web)
    finance = await web.as_user("fran.fin")
    page = await finance.get("/ui/cases/mettrace")
    # the checklist of sections, by their labels, on the request for changes
    assert (
        'type="checkbox"' in page.text and 'name="sections" value="financial_comments"' in page.text
    )
    assert "Financial comments</label>" in page.text
    assert "What changed since your last advice" not in page.text  # round 1: nothing yet
    r = await finance.post(
        "/ui/cases/mettrace/actions/request_changes",
        {
            "area": "finance",
            "role": "finance_adviser",
            "reasons": "Show the cost per kit",
            "sections": ["financial_comments", "legal_comments"],
        },
    )
    assert r.status_code == 303, r.text
    asked = [
        e
        for e in web.stack.services.journal.history("mettrace").events
        if isinstance(e, ChangesRequested)
    ]
    assert asked and asked[-1].sections == ["financial_comments", "legal_comments"]
    revised = METTRACE.replace(
        "£1.12m has been set aside", "£1.12m (about £2.55 a kit) has been set aside"
    )
    r = await officer.post(
        "/ui/cases/mettrace/actions/revise",
        {"note": "cost per kit", "role": "originating_officer"},
        files={"case_file": ("mettrace.yaml", revised.encode(), "application/yaml")},
    )
    assert r.status_code == 303, r.text
    page = await finance.get("/ui/cases/mettrace")
    assert "round 2" in page.text
    shown = page.text[page.text.index("What changed since your last advice") :]
    shown = shown[: shown.index("</section>")]
    assert "<h5>Financial comments</h5>" in shown and "financial_comments" not in shown
    assert any("(about £2.55 a kit)" in ins for ins in _INS.findall(shown))
    assert "{+" not in shown and "[-" not in shown
    assert "Legal comments" not in shown  # only the sections that changed
