"""The public register: published decisions (Part 1), searchable, one page per decision
laid out like the published papers, an Atom feed of new decisions and the register as CSV
or JSON for open-data users. No sign-in.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import date
from typing import Any
from urllib.parse import urlencode

from fastapi import Request, Response
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from domain.bounds import quote_id
from ratify.services.commands import Refusal
from ratify.services.dates import DateWindow
from ratify.services.projections import paging, public_register
from ratify.services.projections.register_export import (
    CSV_COLUMNS,
    FEED_SIZE,
    atom_feed,
    csv_safe,
    export_rows,
)
from ratify.web.pages.common import MaybeWho, page_context, router, services_of
from ratify.web.render import page


def _day_field(name: str, value: str, window: DateWindow) -> date | None:
    if not value.strip():
        return None
    try:
        day = date.fromisoformat(value.strip())
    except ValueError:
        raise paging.QueryError(name, f"{value!r} is not a date, e.g. 2019-12-13") from None
    for problem in window.problems(day):
        raise paging.QueryError(name, problem.removeprefix("date: "))
    return day


def _filters(request: Request, search: dict[str, str]) -> dict[str, Any]:
    """The service's filters from the search form's fields (QueryError if one is wrong)."""
    window = services_of(request).window
    return {
        "reference": search["reference"],
        "title_contains": search["title"],
        "text": search["text"],
        "decided_by": search["decided_by"],
        "signed_from": _day_field("signed_from", search["signed_from"], window),
        "signed_to": _day_field("signed_to", search["signed_to"], window),
    }


def _search(
    reference: str, title: str, text: str, decided_by: str, signed_from: str, signed_to: str
) -> dict[str, str]:
    return {
        "reference": reference,
        "title": title,
        "text": text,
        "decided_by": decided_by,
        "signed_from": signed_from,
        "signed_to": signed_to,
    }


@router.get("/register")
async def register(
    request: Request,
    who: MaybeWho,
    reference: str = "",
    title: str = "",
    text: str = "",
    decided_by: str = "",
    signed_from: str = "",
    signed_to: str = "",
    cursor: str = "",
) -> Response:
    """Published decisions (Part 1), newest first, a page at a time, with a search by
    reference, words of the title or summary, decision maker and date signed. Public."""
    search = _search(reference, title, text, decided_by, signed_from, signed_to)
    error = None
    found = public_register.RegisterPage(items=[], next=None)
    services = services_of(request)
    try:
        found = await run_in_threadpool(
            public_register.register,
            services.engine,
            cursor=cursor or None,
            **_filters(request, search),
        )
    except paging.QueryError as exc:
        error = str(exc)
    found = await run_in_threadpool(public_register.named_page, found, services.directory)
    makers = await run_in_threadpool(public_register.decision_makers, services.engine)
    names = await run_in_threadpool(
        public_register.person_names, services.directory, (m.decided_by for m in makers)
    )
    kept = {k: v for k, v in search.items() if v.strip()}
    next_url = None
    if found.next:
        next_url = f"/ui/register?{urlencode({**kept, 'cursor': found.next})}"
    query = f"?{urlencode(kept)}" if kept else ""
    context = page_context(
        request,
        "Decisions register",
        rows=found.items,
        search=search,
        searched=bool(kept),
        paged=bool(cursor),
        first_url=f"/ui/register{query}",
        next_url=next_url,
        makers=[m.model_copy(update={"name": names.get(m.decided_by)}) for m in makers],
        csv_url=f"/ui/register.csv{query}",
        json_url=f"/ui/register.json{query}",
        error=error,
    )
    return page("register.html", context, 422 if error else 200)


@router.get("/register/feed.atom")
def register_feed(request: Request) -> Response:
    """The newest published decisions as an Atom feed (RFC 4287). Public."""
    services = services_of(request)
    found = public_register.register(services.engine, limit=FEED_SIZE)
    found = public_register.named_page(found, services.directory)
    base = str(request.base_url).rstrip("/")
    return Response(
        atom_feed(found.items, base),
        media_type="application/atom+xml; charset=utf-8",
    )


def _download(request: Request, search: dict[str, str], kind: str) -> Response:
    services = services_of(request)
    try:
        filters = _filters(request, search)
        # Refuse a wrong search before the first byte is sent.
        public_register.register(services.engine, limit=1, **filters)
    except paging.QueryError as exc:
        return Response(str(exc), status_code=422, media_type="text/plain; charset=utf-8")
    base = str(request.base_url).rstrip("/")
    rows = export_rows(services.engine, services.directory, base, filters)
    if kind == "csv":
        body: Iterator[str] = _csv_lines(rows)
        media = "text/csv; charset=utf-8"
    else:
        body = _json_chunks(rows)
        media = "application/json"
    return StreamingResponse(
        body,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="register.{kind}"'},
    )


def _csv_lines(rows: Iterator[dict[str, str]]) -> Iterator[str]:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow(csv_safe(row))
        yield out.getvalue()
        out.seek(0)
        out.truncate()
    if out.getvalue():
        yield out.getvalue()


def _json_chunks(rows: Iterator[dict[str, str]]) -> Iterator[str]:
    yield '{"decisions": ['
    for i, row in enumerate(rows):
        yield ("," if i else "") + json.dumps(row, ensure_ascii=False)
    yield "]}"


@router.get("/register.csv")
def register_csv(
    request: Request,
    reference: str = "",
    title: str = "",
    text: str = "",
    decided_by: str = "",
    signed_from: str = "",
    signed_to: str = "",
) -> Response:
    """The register (the search's matches) as CSV, streamed: one row per decision. Public."""
    search = _search(reference, title, text, decided_by, signed_from, signed_to)
    return _download(request, search, "csv")


@router.get("/register.json")
def register_json(
    request: Request,
    reference: str = "",
    title: str = "",
    text: str = "",
    decided_by: str = "",
    signed_from: str = "",
    signed_to: str = "",
) -> Response:
    """The register (the search's matches) as JSON, streamed. Public."""
    search = _search(reference, title, text, decided_by, signed_from, signed_to)
    return _download(request, search, "json")


@router.get("/register/{reference}")
async def register_entry(request: Request, who: MaybeWho, reference: str) -> Response:
    """One published decision, laid out like the published decision form."""
    services = services_of(request)
    try:
        row = public_register.register_entry(services.engine, reference)
    except paging.QueryError:  # a NUL: no reference has one
        row = None
    if row is None:
        raise Refusal("not_found", f"no published decision {quote_id(reference)}")
    row = await run_in_threadpool(public_register.named_entry, row, services.directory)
    title = f"{row.reference or row.case_id}: {row.title}"
    return page("register_entry.html", page_context(request, title, entry=row))
