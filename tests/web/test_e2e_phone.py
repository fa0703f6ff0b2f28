"""At a phone's width (390 x 844 CSS pixels) the cases list and the case page fit.

No sideways scrolling of the page itself: a wide table scrolls inside its own box, long
case ids and references wrap. Playwright over Debian's Chromium, as `test_e2e.py` (skipped
where it is missing, never in CI); both pages are scanned with axe-core at that width too.
"""

from __future__ import annotations

from tests.services.projections.stories import Story
from tests.web.axe import AxeScan
from tests.web.conftest import PASSWORD
from tests.web.test_e2e import CHROMIUM, CHROMIUM_ARGS, LiveServer, live, pytestmark

__all__ = ["live", "pytestmark"]

#: A long case id without a break in it: it must wrap, not widen the page.
LONG_ID = "met-intelligence-data-environment-solution-2026-27-phase-two"


def test_the_cases_list_and_the_case_page_fit_a_phone(live: LiveServer):
    from playwright.sync_api import expect, sync_playwright

    assert live.stack is not None
    Story(live.stack.store, LONG_ID).to_advice().sign_all().approve("PCD 1234")
    Story(live.stack.store, "short").to_advice()
    axe = AxeScan()

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        expect.set_options(timeout=15_000)
        page = browser.new_context(
            base_url=live.url, viewport={"width": 390, "height": 844}
        ).new_page()
        page.goto("/ui/")
        page.get_by_label("User id").fill("aud.ann")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_label("Password").press("Enter")
        expect(page.get_by_role("heading", name="My tasks")).to_be_visible()

        def width() -> int:
            return int(page.evaluate("document.scrollingElement.scrollWidth"))

        page.goto("/ui/cases")
        expect(page.get_by_text(LONG_ID)).to_be_visible()
        assert width() <= 390, f"the cases list is {width()} px wide"
        axe(page, "cases at 390 px")
        page.goto(f"/ui/cases/{LONG_ID}")
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        expect(page.get_by_role("heading", name="Timeline")).to_be_visible()
        assert width() <= 390, f"the case page is {width()} px wide"
        # the timeline is wider than the phone: it scrolls inside its own box, and the
        # keyboard can reach it to scroll it
        timeline = page.locator("table.timeline")
        assert timeline.evaluate("t => t.scrollWidth > t.clientWidth")
        timeline.focus()
        page.keyboard.press("ArrowRight")
        expect(timeline).to_be_focused()
        axe(page, "case page at 390 px")
        browser.close()
    axe.assert_clean()
