"""In a real browser: nothing typed is lost, and stale is about the papers.

A pasted case file with an error comes back whole with the error beside it, at the page's
own URL; the board's advice refused for want of a choice keeps its comment and conditions;
two advisers load the case and the second's sign-off (with a comment) is accepted after the
first's; a revision of the papers in between makes a third adviser's step stale, saying
that the papers were revised, with the comment still in the form.

Playwright over Debian's Chromium, as `test_e2e.py` (skipped where it is missing, never in CI).
"""

from __future__ import annotations

from pathlib import Path

from domain.clock import london_date
from tests.web.axe import AxeScan
from tests.web.conftest import METTRACE, PASSWORD
from tests.web.test_e2e import CHROMIUM, CHROMIUM_ARGS, LiveServer, live, pytestmark

__all__ = ["live", "pytestmark"]

PCD679 = (
    Path(__file__).resolve().parents[2] / "examples" / "pcd-679-data-environment-solution.yaml"
).read_text()


def test_what_was_typed_survives_refusals_and_only_a_revision_is_stale(live: LiveServer):
    from playwright.sync_api import Page, expect, sync_playwright

    assert live.stack is not None
    env = live.stack.env
    axe = AxeScan()  # every page state below, the refused forms included

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        expect.set_options(timeout=15_000)

        def signed_in(user: str) -> Page:
            page = browser.new_context(base_url=live.url).new_page()
            page.goto("/ui/")
            axe(page, "sign in")
            page.get_by_label("User id").fill(user)
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_label("Password").press("Enter")
            expect(page.get_by_role("heading", name="My tasks")).to_be_visible()
            axe(page, f"{user}'s tasks")
            return page

        def done(page: Page, message: str) -> None:
            expect(page.get_by_role("status")).to_have_text(message)
            axe(page, message)

        case_url = f"{live.url}/ui/cases/mettrace"

        # a pasted case file of 211 lines with an error: all of it comes back
        officer = signed_in("ollie.lane")
        officer.get_by_role("link", name="New case", exact=True).click()
        broken = PCD679.replace(
            "title: MET Intelligence – Data Environment Solution (DES)", "title: ''"
        )
        assert len(broken.splitlines()) == 211
        officer.get_by_label("Or paste the case file").fill(broken)
        officer.get_by_label("Case id").fill("des")
        officer.get_by_role("button", name="Create the draft").click()
        pasted = officer.get_by_label("Or paste the case file")
        expect(pasted).to_have_value(broken)
        expect(pasted).to_have_attribute("aria-invalid", "true")
        expect(officer.locator("#new-case_text-error")).to_contain_text("title")
        expect(officer.get_by_role("alert")).to_contain_text("title")
        expect(officer.get_by_label("Case id")).to_have_value("des")
        assert officer.url == f"{live.url}/ui/cases/new"
        axe(officer, "a case file refused")
        # corrected in place and sent again
        pasted.fill(METTRACE)
        officer.get_by_label("Case id").fill("mettrace")
        officer.get_by_role("button", name="Create the draft").click()
        done(officer, "The draft case was created.")
        officer.get_by_role("button", name="Submit the case").click()
        done(officer, "The case was submitted.")

        # the board's advice has no default: refused without one, comment kept
        today = london_date(live.call(env.get_current_time()))
        sec = signed_in("sam.sec")
        sec.goto("/ui/meetings/new")
        axe(sec, "new meeting")
        sec.get_by_label("Meeting id").fill("IAB-1")
        sec.get_by_label("Board").select_option("IAB")
        sec.get_by_label("Date").fill(today.isoformat())
        sec.get_by_role("button", name="Create the meeting").click()
        done(sec, "The meeting was created.")
        sec.goto("/ui/cases/mettrace")
        sec.get_by_label("Meeting id").fill("IAB-1")
        sec.get_by_role("button", name="Add to the meeting's agenda").click()
        done(sec, "The case was added to the agenda.")
        sec.goto("/ui/cases/mettrace")
        for choice in ("supported", "supported with conditions", "not supported", "deferred"):
            expect(sec.get_by_label(choice, exact=True)).not_to_be_checked()
        comment = "The board asked for the\nbenefits to be tracked quarterly."
        sec.get_by_role("textbox", name="Conditions").fill("Quarterly benefits report")
        sec.get_by_label("Comment", exact=True).fill(comment)
        sec.get_by_role("button", name="Record the board's advice").click()
        expect(sec.get_by_role("alert")).to_contain_text("choose the board's advice")
        expect(sec.locator("#record_board_advice-board_secretariat-advice-error")).to_contain_text(
            "choose the board's advice"
        )
        expect(sec.get_by_label("Comment", exact=True)).to_have_value(comment)
        expect(sec.get_by_role("textbox", name="Conditions")).to_have_value(
            "Quarterly benefits report"
        )
        assert sec.url == case_url
        axe(sec, "the board's advice refused")
        sec.get_by_label("supported with conditions", exact=True).check()
        sec.get_by_role("button", name="Record the board's advice").click()
        done(sec, "The board's advice was recorded.")
        # the advice, its conditions and its comment (its line break kept) on the case page
        board = sec.locator("dl.facts dd", has_text="supported with conditions")
        expect(board).to_contain_text("Conditions: Quarterly benefits report")
        expect(board.locator(".comment p")).to_have_text(
            "The board asked for the\nbenefits to be tracked quarterly.".replace("\n", "")
        )
        assert "The board asked for the<br>benefits" in board.inner_html()

        # three advisers load the case; finance signs off first
        finance, legal, commercial = (signed_in(u) for u in ("fran.fin", "lee.legal", "cat.com"))
        for page in (finance, legal, commercial):
            page.goto("/ui/cases/mettrace")
            axe(page, "an adviser's task")
        finance.get_by_role("button", name="Sign off", exact=True).click()
        done(finance, "Your sign-off was recorded.")
        # legal's sign-off, from the page loaded before finance's: accepted, with its comment
        legal.get_by_role("textbox", name="Comment (optional)").fill(
            "Read in full: no legal concerns."
        )
        legal.get_by_role("button", name="Sign off", exact=True).click()
        done(legal, "Your sign-off was recorded.")
        expect(legal.get_by_text("Read in full: no legal concerns.", exact=True)).to_be_visible()

        # equalities sends it back and the officer revises the papers
        equalities = signed_in("eve.eq")
        equalities.goto("/ui/cases/mettrace")
        equalities.get_by_label("Changes needed").fill("Attach the EIA")
        equalities.get_by_role("button", name="Request changes").click()
        axe(equalities, "request changes")
        done(equalities, "The case was sent back to the officer with your reasons.")
        officer.goto("/ui/cases/mettrace")
        axe(officer, "the officer revises")
        officer.get_by_label("Or paste the revised case file").fill(
            METTRACE.replace("£1.12m has been set aside", "£1.12m (£2.55 a kit) is set aside")
        )
        officer.get_by_label("What changed").fill("Cost per kit")
        officer.get_by_role("button", name="Revise the case").click()
        done(officer, "The case was revised.")

        # commercial acts on the page loaded before the revision: stale, saying why
        commercial.get_by_role("textbox", name="Comment (optional)").fill("No commercial concerns.")
        commercial.get_by_role("button", name="Sign off", exact=True).click()
        expect(commercial.get_by_role("alert")).to_contain_text("the papers were revised")
        expect(commercial.get_by_role("textbox", name="Comment (optional)")).to_have_value(
            "No commercial concerns."
        )
        assert commercial.url == case_url
        axe(commercial, "a stale step refused")
        browser.close()
    axe.assert_clean()
