"""What a reader of the case page and the register entry sees of the engine's answer: the
appendix each grant line falls in, the groups tested together, the procedure and its
Regulations test, the offer of funding, the paper's tables, cross-references that link to
the register, the form, and "late". The case is written into the store event by event with
its routing (no workflow runs: the pages only read).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, cast

import pytest_asyncio
from argon2 import PasswordHasher

from eventstore import EventStore, create_engine_for
from ratify.http.auth import Authenticator
from ratify.http.services import HttpServices
from ratify.infra.db import migrate_all
from ratify.processes.app import build_app
from ratify.services.identity.directory import Directory
from ratify.services.projections.projector import Projector
from tests.api.conftest import PEOPLE
from tests.services.projections.answers import (
    BRIGHT,
    SECRET,
    SPLIT_WARNING,
    decided_grants_case,
)
from tests.services.projections.stories import PAPER_FORM, PAPER_RECORDED_BY, paper_decision
from tests.web.conftest import PASSWORD, Stack, Web
from workflows import messages as m


@pytest_asyncio.fixture(loop_scope="session")
async def pages(tmp_path: Path) -> AsyncIterator[Web]:
    """The app on a fresh SQLite file, without Temporal: the pages read the store."""
    url = f"sqlite:///{tmp_path / 'ratify.db'}"
    migrate_all(url)
    store = EventStore.from_url(url)
    engine = create_engine_for(url)
    directory = Directory(
        engine, hasher=PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )
    for user_id, (name, roles) in PEOPLE.items():
        directory.add_user(user_id, name, roles, password=PASSWORD)
    projector = Projector(store, engine)
    services = HttpServices(
        store=store,
        engine=engine,
        client=cast(Any, None),
        directory=directory,
        workflow_settings=m.Settings(),
        auth=Authenticator(session_secret="web-tests-" + "s" * 40, secure_cookies=False),
    )
    web = Web(Stack(build_app(services), services, store, projector, cast(Any, None), directory))
    try:
        yield web
    finally:
        await web.close()
        store.close()
        engine.dispose()


def text_of(html: str) -> str:
    """The page's text as a reader sees it (tags out, whitespace collapsed)."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).replace("&amp;", "&").split())


def row_of(html: str, header: str) -> str:
    """The text of the table row whose row header is `header`."""
    for row in re.findall(r"<tr[^>]*>.*?</tr>", html, flags=re.S):
        if re.search(rf'<th scope="row">(<strong>)?{re.escape(header)}(</strong>)?</th>', row):
            return text_of(row)
    raise AssertionError(f"no row headed {header!r}")


class _Tables(HTMLParser):
    """Every table has a caption; every header cell a scope."""

    def __init__(self) -> None:
        super().__init__()
        self.problems: list[str] = []
        self._captioned: list[bool] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self._captioned.append(False)
        elif tag == "caption" and self._captioned:
            self._captioned[-1] = True
        elif tag == "th" and not dict(attrs).get("scope"):
            self.problems.append(f"a <th> without scope at {self.getpos()}")

    def handle_endtag(self, tag: str) -> None:
        if tag == "table" and not self._captioned.pop():
            self.problems.append(f"a table without a caption ending at {self.getpos()}")


def table_problems(html: str) -> list[str]:
    parser = _Tables()
    parser.feed(html)
    return parser.problems


async def test_the_case_page_shows_the_appendix_of_each_grant_line_and_each_group(pages: Web):
    decided_grants_case(pages.store, late=False)
    dmpc = await pages.as_user("sl.dmpc")
    r = await dmpc.get("/ui/cases/vr-grants")
    assert r.status_code == 200, r.text
    html = r.text
    # each line: recipient (a batch as its count and largest), amount, group, appendix
    assert row_of(html, "G1") == (
        f"G1 Bright Futures Ltd £30,000 Mentoring, phase 1 {BRIGHT} £55,000 approve "
        "grants to third parties"
    )
    assert row_of(html, "G3") == (
        "G3 Bright Futures Ltd £12,000 A summer sports day Bright Futures Ltd £12,000 note "
        "grants to third parties"
    )
    assert row_of(html, "G4").startswith("G4 23 grants (largest £48,000) £402,118")
    assert row_of(html, "G4").endswith("23 grants £48,000 note grants to third parties")
    assert "Appendix" in text_of(html)
    # each group: its lines and total, tested as one award
    assert row_of(html, BRIGHT).startswith(
        f"{BRIGHT} declared by the paper G1, G2 £55,000 £55,000 approve"
    )
    assert row_of(html, "23 grants").startswith(
        "23 grants batch of separate awards G4 £402,118 £48,000 note"
    )
    # the check the officer must see, in its marked place
    checks = text_of(html.split('id="checks"', 1)[1].split("</section>", 1)[0])
    assert SPLIT_WARNING in checks and "acknowledge it with a reason" in checks
    assert table_problems(html) == []


async def test_the_case_page_shows_procedure_funding_tables_references_and_form(pages: Web):
    decided_grants_case(pages.store, late=False)
    cleared = await pages.as_user("aud.ann")  # an auditor cleared for Part 2
    html = (await cleared.get("/ui/cases/vr-grants")).text
    page = text_of(html)
    contract = row_of(html, "Knife-crime analytics platform")
    assert "negotiated without prior publication, on the ground reg 32(2)(b)" in contract
    assert "not stated: compared both ways" in contract
    assert "3 years, with extension options of up to 2 years" in contract
    assert "A negotiated procedure on the ground reg 32(2)(b)." in page  # the assessment
    assert "Public Contracts Regulations 2015: the threshold in force on" in page
    # the offer: funder, amount, split, spend-by, conditions, match funding
    assert "Offer of grant funding from Home Office (HO1)" in page
    assert "Split capital £100,000; revenue £2,000,000" in page
    assert "Spend by 31 March 2020" in page
    assert "Match funding £250,000 from MOPAC Violence Reduction budget" in page
    assert "Conditions Quarterly returns to the Home Office." in page
    # the table as the paper gives it: total row bold, negatives with a minus
    assert row_of(html, "Mentoring") == "Mentoring £67,000 £70,000 (£3,000)"
    assert "<strong>Total</strong>" in html and "<strong>(£882)</strong>" in html
    # a reference to a published decision links to its register page; another does not
    assert '<a href="/ui/register/PCD%20512">pcd 512</a>' in html
    assert "companion: PCD 9999" in page and 'href="/ui/register/PCD%209999"' not in html
    # the form; a section not applicable, and one the form does not have
    assert "Written on the dmpc-2021 decision form" in page
    assert "Commercial comments Not applicable" in page
    assert "Real estate implications Not given in this paper." in page
    # extremis, with its board
    assert "An extremis submission, outside the meeting cycle, to the IAB." in page
    # Part 2, for the cleared: FOI subsections with titles, no basis not cited
    assert "s31(1)(a) Law enforcement" in page and "s43(2) Commercial interests" in page
    assert "Exempt under" not in page and "Specified Information" not in page
    assert SECRET in page


async def test_part2_stays_off_the_page_for_the_uncleared(pages: Web):
    decided_grants_case(pages.store, late=False)
    html = (await (await pages.as_user("aud.bob")).get("/ui/cases/vr-grants")).text
    assert SECRET not in html and "s31(1)(a)" not in html
    assert row_of(html, "G5").endswith("approve grants to third parties")


async def test_late_reads_the_same_on_the_case_page_the_timeline_and_the_register(pages: Web):
    decided_grants_case(pages.store, late=True)
    pages.stack.projector.catch_up()
    words = "late: required by 20 November 2019, decided 22 November 2019"
    case_page = text_of((await (await pages.as_user("sl.dmpc")).get("/ui/cases/vr-grants")).text)
    assert f"by dmpc.sl, {words}" in case_page  # the decision
    assert f"Approved as PCD 700, {words}" in case_page  # the timeline
    entry = text_of((await pages.anonymous().get("/ui/register/PCD%20700")).text)
    assert f"Decided {words}" in entry


async def test_on_time_reads_on_time(pages: Web):
    decided_grants_case(pages.store, late=False)
    pages.stack.projector.catch_up()
    case_page = text_of((await (await pages.as_user("sl.dmpc")).get("/ui/cases/vr-grants")).text)
    assert "on time (required by 20 November 2019)" in case_page and "late:" not in case_page
    entry = text_of((await pages.anonymous().get("/ui/register/PCD%20700")).text)
    assert "Decided on time (required by 20 November 2019)" in entry


async def test_the_register_entry_shows_the_appendices_and_links_but_never_part2(pages: Web):
    decided_grants_case(pages.store, late=False)
    pages.stack.projector.catch_up()
    r = await pages.anonymous().get("/ui/register/PCD%20700")
    assert r.status_code == 200, r.text
    html = r.text
    assert row_of(html, "G1") == (
        f"G1 Bright Futures Ltd £30,000 {BRIGHT} approve grants to third parties"
    )
    assert row_of(html, "G3") == (
        "G3 Bright Futures Ltd £12,000 Bright Futures Ltd note grants to third parties"
    )
    assert row_of(html, "G4") == (
        "G4 23 grants (largest £48,000) £402,118 23 grants note grants to third parties"
    )
    assert row_of(html, BRIGHT) == f"{BRIGHT} G1, G2 £55,000 approve grants to third parties"
    assert '<a href="/ui/register/PCD%20512">pcd 512</a>' in html
    # Part 2: a notice with its exemptions (cited by subsection), never its text
    assert SECRET not in html and "This decision has a confidential Part 2" in html
    assert "s31(1)(a) Law enforcement" in html
    assert table_problems(html) == []


async def test_a_paper_signature_shows_both_dates_on_the_case_page_and_the_register(pages: Web):
    paper_decision(pages.store)
    pages.stack.projector.catch_up()
    recorded = f"recorded 17 March 2022 by {PAPER_RECORDED_BY}, from the signed form ({PAPER_FORM})"
    late = "late: required by 9 March 2022, decided 14 March 2022"
    case_page = text_of((await (await pages.as_user("sl.dmpc")).get("/ui/cases/paper-512")).text)
    # the decision's facts: signed on the 14th, recorded on the 17th by whom, from what
    assert f"14 March 2022, 12:00 by dmpc.sl ({recorded}), {late}" in case_page
    # the timeline: the row of the decision is dated when it happened, with the recording
    assert f"14 March 2022, 12:00 {recorded}" in case_page
    entry = text_of((await pages.anonymous().get("/ui/register/PCD%20512")).text)
    # the paper's date format, as every register entry writes it
    assert "Date 14/03/2022 (recorded 17 March 2022)" in entry and f"Decided {late}" in entry
    assert PAPER_RECORDED_BY not in entry and PAPER_FORM not in entry
