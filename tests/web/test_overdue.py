"""Overdue tasks are flagged in the inbox and on the case page, with how many days."""

from __future__ import annotations

from datetime import date
from html import unescape
from pathlib import Path

from ratify.web.render import overdue
from tests.web.conftest import Web
from tests.web.test_pages import act, upload

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_a_date_past_says_by_how_many_days_and_a_date_ahead_says_nothing() -> None:
    today = date(2019, 12, 16)
    assert str(overdue(date(2019, 12, 13), today)) == (
        '<strong class="overdue">overdue by 3 days</strong>'
    )
    assert str(overdue(date(2019, 12, 15), today)).endswith("overdue by 1 day</strong>")
    assert str(overdue(date(2019, 12, 16), today)) == ""  # due today: not overdue yet
    assert str(overdue(None, today)) == ""


async def test_the_inbox_and_the_case_page_flag_a_task_past_its_date(web: Web):
    # PCD 679 was required by 13 December 2019: once submitted, the secretariat's task of
    # placing it on a meeting is long overdue.
    text = (EXAMPLES / "pcd-679-data-environment-solution.yaml").read_text(encoding="utf-8")
    officer = await web.as_user("ollie.lane")
    await upload(officer, case_id="des-overdue", text=text)
    assert (await act(officer, "des-overdue", "submit")).status_code == 303
    web.stack.projector.catch_up()
    secretariat = await web.as_user("sam.sec")
    inbox = unescape((await secretariat.get("/ui/")).text)
    row = inbox[inbox.index("des-overdue") - 400 :]
    assert "13 December 2019" in row and "overdue by" in row
    page = unescape((await secretariat.get("/ui/cases/des-overdue")).text)
    progress = page[page.index("Open tasks") :]
    assert "overdue by" in progress[: progress.index("</table>")]
