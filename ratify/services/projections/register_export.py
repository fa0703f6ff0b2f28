"""The public register for machines: an Atom feed of new decisions (RFC 4287) and every
matching decision as rows for a CSV or JSON download, read a page at a time.

Only what the register's list shows is exported (reference, title, summary, decision maker,
the dates signed and published, the link to the entry): Part 1, never Part 2.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote
from xml.etree import ElementTree as ET

from sqlalchemy.engine import Engine

from ratify.services.identity.directory import Directory
from ratify.services.projections.paging import MAX_PAGE
from ratify.services.projections.public_register import RegisterItem, named_page, register

ATOM = "http://www.w3.org/2005/Atom"
#: How many decisions the feed holds: the newest.
FEED_SIZE = 50
FEED_TITLE = "MOPAC decisions register: new decisions"

CSV_COLUMNS = [
    "reference",
    "title",
    "summary",
    "decision_maker",
    "decision_maker_name",
    "date_signed",
    "date_published",
    "part2_published",
    "url",
]

#: A spreadsheet reads a cell starting with one of these as a formula (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def entry_url(base: str, item: RegisterItem) -> str:
    """The entry's page; a decision without a reference is found on the register's list."""
    if item.reference:
        return f"{base}/ui/register/{quote(item.reference)}"
    return f"{base}/ui/register?{quote('text')}={quote(item.title)}"


def export_row(item: RegisterItem, base: str) -> dict[str, str]:
    """One decision as a row of the download."""
    return {
        "reference": item.reference or "",
        "title": item.title,
        "summary": item.executive_summary,
        "decision_maker": item.decision_maker,
        "decision_maker_name": item.decision_maker_name or "",
        "date_signed": item.date_signed.isoformat(),
        "date_published": item.published_at.astimezone(UTC).isoformat(),
        "part2_published": item.part2_published_at.astimezone(UTC).isoformat()
        if item.part2_published_at
        else "",
        "url": entry_url(base, item),
    }


def csv_safe(row: dict[str, str]) -> dict[str, str]:
    """The row with any cell a spreadsheet would run as a formula quoted with a `'`."""
    return {k: f"'{v}" if v.startswith(_FORMULA_START) else v for k, v in row.items()}


def export_rows(
    engine: Engine, directory: Directory, base: str, filters: dict[str, Any]
) -> Iterator[dict[str, str]]:
    """Every decision matching `filters` (those of `register`), newest first, read
    `MAX_PAGE` at a time (each page its own short read: nothing is held open between)."""
    cursor: str | None = None
    while True:
        page = named_page(register(engine, limit=MAX_PAGE, cursor=cursor, **filters), directory)
        for item in page.items:
            yield export_row(item, base)
        if page.next is None:
            return
        cursor = page.next


#: Characters XML 1.0 cannot hold (C0 controls but tab and newlines).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _text(parent: ET.Element, tag: str, text: str, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, f"{{{ATOM}}}{tag}", attrs)
    element.text = _NOT_XML.sub("\ufffd", text)
    return element


def _stamp(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def atom_feed(items: Iterable[RegisterItem], base: str) -> bytes:
    """The newest decisions as an Atom 1.0 feed, newest first: each entry links to its
    page, is dated when it was published, and carries its executive summary."""
    items = list(items)
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed")
    _text(feed, "id", f"{base}/ui/register/feed.atom")
    _text(feed, "title", FEED_TITLE)
    updated = max((i.published_at for i in items), default=datetime(2000, 1, 1, tzinfo=UTC))
    _text(feed, "updated", _stamp(updated))
    author = ET.SubElement(feed, f"{{{ATOM}}}author")
    _text(author, "name", "Mayor's Office for Policing and Crime")
    ET.SubElement(feed, f"{{{ATOM}}}link", {"rel": "self", "href": f"{base}/ui/register/feed.atom"})
    ET.SubElement(feed, f"{{{ATOM}}}link", {"rel": "alternate", "href": f"{base}/ui/register"})
    for item in items:
        entry = ET.SubElement(feed, f"{{{ATOM}}}entry")
        url = entry_url(base, item)
        _text(entry, "id", url if item.reference else f"{base}/ui/register#{quote(item.case_id)}")
        name = f"{item.reference}: {item.title}" if item.reference else item.title
        _text(entry, "title", name)
        _text(entry, "published", _stamp(item.published_at))
        _text(entry, "updated", _stamp(item.part2_published_at or item.published_at))
        ET.SubElement(entry, f"{{{ATOM}}}link", {"rel": "alternate", "href": url})
        who = ET.SubElement(entry, f"{{{ATOM}}}author")
        maker = item.decision_maker
        _text(
            who,
            "name",
            f"{item.decision_maker_name}, {maker}" if item.decision_maker_name else maker,
        )
        signed = f"{item.date_signed.day} {item.date_signed:%B %Y}"
        _text(entry, "summary", f"Signed {signed}. {item.executive_summary}")
    return bytes(ET.tostring(feed, encoding="utf-8", xml_declaration=True))
