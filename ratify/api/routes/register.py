"""The public register of published decisions (no sign-in)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool

from domain.bounds import quote_id
from ratify.api.deps import Cursor, SignedInFirst, Svc, read_view
from ratify.api.schemas import REFUSED
from ratify.services import commands
from ratify.services.commands import Refusal
from ratify.services.projections import paging, public_register

router = APIRouter(tags=["register"], route_class=SignedInFirst, responses=REFUSED)


@router.get("/register")
async def register(
    services: Svc,
    limit: Annotated[int, Query(ge=1, le=paging.MAX_PAGE)] = paging.DEFAULT_PAGE,
    cursor: Cursor = None,
    reference: Annotated[
        str | None, Query(max_length=50, description="e.g. `PCD 679`: that one decision.")
    ] = None,
    title: Annotated[
        str | None,
        Query(max_length=200, description="Titles containing this (any letter case)."),
    ] = None,
    signed_from: Annotated[date | None, Query(description="Signed on or after this day.")] = None,
    signed_to: Annotated[date | None, Query(description="Signed on or before this day.")] = None,
    text: Annotated[
        str | None,
        Query(max_length=200, description="Words in the title or the executive summary."),
    ] = None,
    decided_by: Annotated[
        str | None, Query(max_length=200, description="The decision maker's user id.")
    ] = None,
) -> public_register.RegisterPage:
    """Published decisions, most recently published first, `limit` at a time (at most
    200), each with its reference, title, date signed and decision maker; the papers
    are at `/register/{reference}`. `next` is the cursor of the next (older) page, or
    null on the last: decisions published meanwhile never shift the pages. Public."""
    commands.check_dates(services, {"signed_from": signed_from, "signed_to": signed_to})
    found = await read_view(
        public_register.register,
        services.engine,
        limit=limit,
        cursor=cursor,
        reference=reference,
        title_contains=title,
        signed_from=signed_from,
        signed_to=signed_to,
        text=text,
        decided_by=decided_by,
    )
    return await run_in_threadpool(public_register.named_page, found, services.directory)


@router.get("/register/{reference}")
def register_entry(services: Svc, reference: str) -> public_register.RegisterRow:
    """One published decision: the whole of Part 1 (executive summary, recommendations
    and in `papers` the other sections, money and contracts), the board's advice, who
    decided and the reasons, a notice of Part 2 (its exemption and review date), and Part 2
    itself once a review published it. Public."""
    try:
        row = public_register.register_entry(services.engine, reference)
    except paging.QueryError:  # a NUL: no reference has one
        row = None
    if row is None:
        raise Refusal("not_found", f"no published decision {quote_id(reference)}")
    return public_register.named_entry(row, services.directory)
