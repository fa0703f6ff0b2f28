"""Cases: create one (as JSON or from a case file), search them, read one now or as it was."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query
from starlette.concurrency import run_in_threadpool

from domain.bounds import quote_id
from domain.case import Case
from domain.casefile import CaseFileError, parse_case
from domain.money import MAX_AMOUNT
from ratify.api.deps import Cursor, Me, SignedInFirst, Svc, read_view
from ratify.api.schemas import MAX_VERSION, REFUSED, CaseCreated, CaseView, NewCase
from ratify.http.services import HttpServices
from ratify.services import checks, commands
from ratify.services.commands import Refusal
from ratify.services.identity.values import Principal
from ratify.services.projections import case_search, paging
from ratify.services.views import case_view

router = APIRouter(tags=["cases"], route_class=SignedInFirst, responses=REFUSED)


async def _start_case(
    services: HttpServices, me: Principal, case: Case, case_id: str | None
) -> CaseCreated:
    case_id = await commands.start_case(services, me, case, case_id)
    version = await run_in_threadpool(services.store.stream_version, case_id)
    return CaseCreated(case_id=case_id, version=version)


@router.post("/cases", status_code=201)
async def create_case(me: Me, services: Svc, body: NewCase) -> CaseCreated:
    """Create a draft from a case as JSON."""
    return await _start_case(services, me, body.case, body.case_id)


@router.post("/cases/upload", status_code=201)
async def upload_case(
    me: Me,
    services: Svc,
    content: Annotated[str, Body(media_type="text/plain")],
    filename: str = "case.yaml",
    case_id: str | None = None,
) -> CaseCreated:
    """Create a draft from a case file (YAML or JSON, the format of `examples/`)."""
    try:
        # In a worker thread: a 2 MiB YAML file takes a second or two to parse.
        case = await run_in_threadpool(parse_case, content, filename)
        services.window.check_case_file(case, filename)
    except CaseFileError as exc:
        raise Refusal("invalid_case_file", str(exc)) from None
    except ValueError as exc:  # a file name that says neither YAML nor JSON
        raise Refusal("invalid_case_file", f"filename: {exc}") from None
    return await _start_case(services, me, case, case_id)


@router.get("/cases")
async def list_cases(
    me: Me,
    services: Svc,
    stage: Annotated[str | None, Query(max_length=50)] = None,
    reference: Annotated[str | None, Query(max_length=50)] = None,
    title: Annotated[str | None, Query(max_length=200)] = None,
    submitted_from: date | None = None,
    submitted_to: date | None = None,
    required_by_before: date | None = None,
    min_amount: Annotated[Decimal | None, Query(ge=0, le=MAX_AMOUNT)] = None,
    max_amount: Annotated[Decimal | None, Query(ge=0, le=MAX_AMOUNT)] = None,
    limit: Annotated[int, Query(ge=1, le=paging.MAX_LIMIT)] = paging.DEFAULT_PAGE,
    cursor: Cursor = None,
    offset: Annotated[
        int,
        Query(ge=0, le=2**31 - 1, deprecated=True, description="Rows to skip; use `cursor`."),
    ] = 0,
) -> case_search.CasePage:
    """Search the cases, most recently changed first (from the read views; no Part 2).

    A page of `limit` cases (at most 500) and `next`, the cursor of the next page (null
    on the last): pass it back as `cursor`, with the same filters, for the next page.
    """
    commands.check_dates(
        services,
        {
            "submitted_from": submitted_from,
            "submitted_to": submitted_to,
            "required_by_before": required_by_before,
        },
    )
    return await read_view(
        case_search.cases,
        services.engine,
        limit=limit,
        cursor=cursor,
        offset=offset,
        stage=stage,
        reference=reference,
        title_contains=title,
        submitted_from=submitted_from,
        submitted_to=submitted_to,
        required_by_before=required_by_before,
        min_amount=min_amount,
        max_amount=max_amount,
    )


@router.get("/cases/{case_id}", response_model=CaseView)
def get_case(
    me: Me,
    services: Svc,
    case_id: str,
    version: Annotated[int | None, Query(ge=0, le=MAX_VERSION)] = None,
    as_of: datetime | None = None,
) -> dict[str, Any]:
    """The case now, or as of a version or an instant; Part 2 only if cleared."""
    if version is None and as_of is None:
        return commands.current_state(services, case_id, me)
    if as_of is not None and as_of.tzinfo is None:
        raise Refusal("invalid", "as_of: give a timezone, e.g. 2019-12-13T17:00:00Z")
    commands.check_dates(services, as_of, "as_of")
    history = services.journal.history(case_id, to_version=version, as_of=as_of)
    if history.state.version == 0:
        raise Refusal("not_found", f"case {quote_id(case_id)} had no events by then")
    full = services.journal.history(case_id)
    cleared = commands.shown_part2(services, me, full, "api", version=history.state.version)
    return case_view(history.state, part2=cleared, events=history.events)


@router.get("/cases/{case_id}/checks", response_model=checks.CaseChecks)
def get_case_checks(me: Me, services: Svc, case_id: str) -> checks.CaseChecks:
    """The checks on the case (recommendations against the routing, totals, the officer
    declaration, the engine's warnings), each with whether and how it was acknowledged.
    Part 1 only: whoever may read the case may read them."""
    return checks.case_checks(services, case_id)
