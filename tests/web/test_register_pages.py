"""What the public sees on the register: each entry shows the whole of Part 1, the board's
advice with its conditions on their own lines, who decided (name and office) and why, the
dates signed and published, and that a Part 2 exists (its exemption and review date, never
its text); the list searches by words, decision maker and dates; a valid Atom feed; the
register as CSV and JSON. No sign-in. (The projection is tested on both backends in
tests/services/projections/test_register_papers.py.)"""

from __future__ import annotations

import csv
import io
import json
from xml.etree import ElementTree as ET

from domain.roles import Role
from tests.services.projections.stories import PART2_TEXT, Story
from tests.services.projections.test_register_papers import CONDITIONS, NOTE, REASONS, decided
from tests.web.conftest import Web
from tests.web.test_case_answer import pages, table_problems, text_of

__all__ = ["pages"]  # the fixture

ATOM = "{http://www.w3.org/2005/Atom}"


def two_decisions(web: Web) -> None:
    web.stack.directory.add_user("dmpc.sl", "Sophie Linden", [Role.DMPC])
    decided(web.store, "one", executive_summary="Body-worn video cameras for borough teams.")
    Story(
        web.store, "two", executive_summary="Grants to youth clubs."
    ).to_advice().sign_all().approve("PCD 2").publish_part1()
    web.stack.projector.catch_up()


async def test_an_entry_reads_like_the_published_decision_with_its_reasons(pages: Web):
    two_decisions(pages)
    r = await pages.anonymous().get("/ui/register/PCD%20801")
    assert r.status_code == 200, r.text
    html, page = r.text, text_of(r.text)
    for heading in (
        "Introduction and background",
        "Issues for consideration",
        "Financial comments",
        "Legal comments",
        "Equality comments",
        "Privacy comments",
    ):
        assert f">{heading}</h2>" in html, heading
    assert "MOPAC has the power to enter into the contract." in page
    # the board's advice, each condition on its own line
    assert "IAM, meeting of" in page and "supported with conditions" in page
    assert "1. Report back to the board in six months.<br>2. Publish the evaluation." in html
    assert "The board asked for quarterly figures." in page
    # who decided, by name and office, when signed and published, and why
    assert "Decision maker Sophie Linden, Deputy Mayor for Policing and Crime" in page
    assert "Published " in page and "Date " in page
    assert "The evidence of the pilot is strong;<br>the cost is within" in html
    # Part 2: that it exists, its marking, exemption and review date; never its text
    assert "This decision has a confidential Part 2, marked OFFICIAL-SENSITIVE [COMMERCIAL]" in page
    assert "s43 Commercial interests" in page and "Exemption reviewed on 1 April 2024" in page
    assert PART2_TEXT not in html and NOTE not in html
    assert table_problems(html) == []
    assert CONDITIONS and REASONS


async def test_the_list_shows_and_searches_by_words_decision_maker_and_dates(pages: Web):
    two_decisions(pages)
    browser = pages.anonymous()
    listing = (await browser.get("/ui/register")).text
    assert 'rel="alternate" type="application/atom+xml"' in listing  # feed readers find it
    assert 'href="/ui/register.csv"' in listing and 'href="/ui/register.json"' in listing
    page = text_of(listing)
    assert "Body-worn video cameras for borough teams." in page
    assert "Sophie Linden, Deputy Mayor for Policing and Crime" in page
    found = text_of((await browser.get("/ui/register?text=youth+clubs")).text)
    assert "PCD 2" in found and "PCD 801" not in found
    html = (await browser.get("/ui/register?decided_by=dmpc.sl")).text
    assert '<option value="dmpc.sl" selected>Sophie Linden, Deputy Mayor' in html
    assert "PCD 2" in html and "PCD 801" in html
    nobody = text_of((await browser.get("/ui/register?decided_by=nobody")).text)
    assert "No decision matches." in nobody
    early = text_of((await browser.get("/ui/register?signed_to=2000-01-01")).text)
    assert "No decision matches." in early
    bad = await browser.get("/ui/register?signed_from=yesterday")
    assert bad.status_code == 422


async def test_the_atom_feed_is_valid_and_links_each_new_decision(pages: Web):
    two_decisions(pages)
    r = await pages.anonymous().get("/ui/register/feed.atom")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/atom+xml")
    feed = ET.fromstring(r.content)
    assert feed.tag == f"{ATOM}feed"
    for tag in ("id", "title", "updated", "author"):
        assert feed.find(f"{ATOM}{tag}") is not None, tag
    entries = feed.findall(f"{ATOM}entry")
    titles = [str(e.findtext(f"{ATOM}title")) for e in entries]
    assert any(t.startswith("PCD 801: ") for t in titles) and len(titles) == 2
    links = [e.find(f"{ATOM}link").get("href") for e in entries]  # type: ignore[union-attr]
    assert "http://ratify.test/ui/register/PCD%20801" in links
    for e in entries:
        for tag in ("id", "updated", "summary"):
            assert e.findtext(f"{ATOM}{tag}"), tag
    assert PART2_TEXT not in r.text


async def test_the_register_downloads_as_csv_and_json_never_with_part2(pages: Web):
    two_decisions(pages)
    browser = pages.anonymous()
    r = await browser.get("/ui/register.csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert {row["reference"] for row in rows} == {"PCD 801", "PCD 2"}
    one = next(row for row in rows if row["reference"] == "PCD 801")
    assert one["decision_maker_name"] == "Sophie Linden"
    assert one["summary"] == "Body-worn video cameras for borough teams."
    assert one["url"] == "http://ratify.test/ui/register/PCD%20801"
    r = await browser.get("/ui/register.json?text=youth")
    assert r.status_code == 200
    assert [d["reference"] for d in json.loads(r.text)["decisions"]] == ["PCD 2"]
    assert (await browser.get("/ui/register.csv?signed_from=never")).status_code == 422
    for url in ("/ui/register.csv", "/ui/register.json"):
        assert PART2_TEXT not in (await browser.get(url)).text
