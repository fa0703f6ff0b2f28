"""The FastAPI application: cases, tasks, actions, meetings, history, register, health.

`create_app(services)` builds the app around its dependencies (event store, database engine
for identity and projections, Temporal client), so tests and `ratify serve` wire them alike.
Every refusal is an HTTP error naming its rule: 401 without a valid token, 403 for a role,
own-case, four-eyes or separation-of-duties refusal, 409 for a stale action (with the
current state), 422 for anything else the rules refuse or the input breaks, 404 for an
unknown case.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Coroutine
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, ParamSpec, TypeVar

import structlog
from fastapi import Body, Depends, FastAPI, Header, Query, Request, Response
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from domain.bounds import MAX_IDENTIFIER, quote_id
from domain.case import Case
from domain.casefile import CaseFileError, parse_case
from domain.money import MAX_AMOUNT
from domain.roles import Role
from domain.visibility import may_see_part2
from eventstore.digest import Digest
from ratify.http.auth import (
    SIGN_IN_OPENAPI,
    Authenticated,
    AuthRefusal,
    whoami,
)
from ratify.http.caching import NoStoreMiddleware
from ratify.http.errors import status_of
from ratify.http.limits import BodyLimitMiddleware
from ratify.http.services import HttpServices
from ratify.infra.observability.health import readiness
from ratify.infra.observability.http import RequestContextMiddleware
from ratify.infra.observability.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from ratify.infra.observability.metrics import metrics_text
from ratify.services import auditing as audit_steps
from ratify.services import commands as steps
from ratify.services import delegations
from ratify.services.commands import Refusal
from ratify.services.identity.service import IdentityError, NotPermitted, Principal
from ratify.services.projections import queries
from ratify.services.reconcile import reconcile
from ratify.services.replay import replay_workflows, workflow_ids
from ratify.services.views import (
    HASH_WITHHELD,
    case_view,
    chain_view,
    event_data_view,
)

#: A delegation's id as the directory makes it.
_DELEGATION_ID = re.compile(r"del_[0-9a-f]{12}")

log = structlog.get_logger("ratify.api")

# -- request bodies ------------------------------------------------------------------------


#: The largest version number a read takes (a larger one is a 422, not a database error).
MAX_VERSION = 2**31 - 1


class NewCase(BaseModel):
    case: Case
    case_id: str | None = Field(default=None, max_length=MAX_IDENTIFIER)


class ActionBody(BaseModel):
    """The fields of an action; the actor comes from the signed-in user, never the body."""

    model_config = {"extra": "allow"}

    #: The role to act in, when the user holds several (own or delegated).
    role: Role | None = None
    #: The principal, when acting as a deputy and several people delegated the role.
    on_behalf_of: str | None = Field(default=None, max_length=200)
    expected_version: int | None = Field(default=None, ge=0, le=MAX_VERSION)


async def principal(
    request: Request, authorization: Annotated[str | None, Header()] = None
) -> Principal:
    """The signed-in user: an API token or OIDC token (`Authorization: Bearer <token>`), or
    the web session cookie, with its CSRF token on state-changing requests (see `auth`).
    Once per request: a route with a body has signed the person in already
    (`SignedInFirst`)."""
    signed_in: Authenticated | None = getattr(request.state, "auth", None)
    if signed_in is not None:
        return signed_in.principal
    services: HttpServices = request.app.state.services
    try:
        found = await services.auth.authenticate(request, services.directory, authorization)
    except AuthRefusal as exc:
        raise Refusal(exc.code, exc.message, headers=exc.headers) from None
    request.state.auth = found
    return found.principal


Me = Annotated[Principal, Depends(principal)]


def _needs_principal(dependant: Dependant) -> bool:
    return any(dep.call is principal or _needs_principal(dep) for dep in dependant.dependencies)


class SignedInFirst(APIRoute):
    """A route that takes a body and a signed-in person signs the person in before FastAPI
    parses the body: parsing a JSON body of megabytes takes a CPU's tenths of a second,
    which no one who has not signed in may make the service spend (FastAPI reads the body
    before it solves the dependencies). Before sign-in the body has only passed the checks
    that cost little (`ratify.http.limits.BodyLimitMiddleware`)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        if self.body_field is None or not _needs_principal(self.dependant):
            return handler

        async def signed_in_first(request: Request) -> Response:
            await principal(request, request.headers.get("authorization"))
            return await handler(request)

        return signed_in_first


class NewMeeting(BaseModel):
    meeting_id: str = Field(max_length=MAX_IDENTIFIER)
    board: str = Field(max_length=10)
    meeting_date: date


class NewDelegation(BaseModel):
    deputy_id: str = Field(max_length=200)
    role: Role
    starts_on: date
    ends_on: date
    reason: str = Field(max_length=2000)


class VerifyBody(BaseModel):
    #: A digest kept earlier (`GET /audit/digest`).
    since: Digest | None = None


class MeetingAction(BaseModel):
    model_config = {"extra": "allow"}


def create_app(services: HttpServices) -> FastAPI:
    app = FastAPI(
        title="Ratify",
        version="0.1.0",
        description="Approval workflows for formal decisions of the DMPC (MOPAC).",
    )
    app.state.services = services
    # Sign in before a body is parsed (the routes below; the pages take forms, parsed
    # after their own sign-in check).
    app.router.route_class = SignedInFirst
    # Body caps (413) and malformed JSON (400), per route, before routing and sign-in.
    app.add_middleware(BodyLimitMiddleware)
    # X-Request-ID, the request context carried into workflows, access log, HTTP metrics.
    app.add_middleware(RequestContextMiddleware)
    # No cache keeps an answer that may carry Part 2 (all but the public register).
    app.add_middleware(NoStoreMiddleware)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        for err in exc.errors():
            if err.get("type") == "json_invalid":  # FastAPI's parse, after sign-in
                reason = (err.get("ctx") or {}).get("error") or "not valid JSON"
                detail = f"body: not valid JSON ({reason})"
                return await _refusal(request, Refusal("malformed", detail))
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'] if p != 'body') or 'body'}: {err['msg']}"
            for err in exc.errors()
        )
        return await _refusal(request, Refusal("invalid", problems))

    @app.exception_handler(Refusal)
    async def _refusal(request: Request, exc: Refusal) -> JSONResponse:
        # Logged once, by the middleware's `request` line (status, route, refusal code):
        # a refusal is routine, and its message may quote what the person sent.
        body: dict[str, Any] = {"code": exc.code, "detail": exc.message}
        if exc.state is not None:
            body["state"] = exc.state
        return JSONResponse(status_code=status_of(exc), content=body, headers=exc.headers)

    # -- identity ------------------------------------------------------------------------

    @app.post("/session", tags=["session"], openapi_extra=SIGN_IN_OPENAPI)
    async def sign_in(request: Request) -> Response:
        """Sign in with user id and password (JSON or a form): sets the session cookie and
        returns the user, their roles and the session's CSRF token."""
        try:
            return await services.auth.sign_in(request, services.directory)
        except AuthRefusal as exc:
            raise Refusal(exc.code, exc.message, headers=exc.headers) from None

    @app.get("/session", tags=["session"])
    async def who_am_i(me: Me, request: Request, response: Response) -> dict[str, Any]:
        """Who I am, the roles I hold today, and (signed in by cookie) the CSRF token."""
        found: Authenticated = request.state.auth
        response.headers["Cache-Control"] = "no-store"
        return whoami(found)

    @app.delete("/session", status_code=204, tags=["session"])
    async def sign_out(request: Request) -> Response:
        """Sign out: ends the session at once and clears the cookie (a live session must
        send its CSRF token)."""
        try:
            return await services.auth.sign_out(request, services.directory)
        except AuthRefusal as exc:
            raise Refusal(exc.code, exc.message) from None

    # -- cases ---------------------------------------------------------------------------

    async def start_case(me: Principal, case: Case, case_id: str | None) -> dict[str, Any]:
        case_id = await steps.start_case(services, me, case, case_id)
        return {"case_id": case_id, "version": services.store.stream_version(case_id)}

    @app.post("/cases", status_code=201, tags=["cases"])
    async def create_case(me: Me, body: NewCase) -> dict[str, Any]:
        """Create a draft from a case as JSON."""
        return await start_case(me, body.case, body.case_id)

    @app.post("/cases/upload", status_code=201, tags=["cases"])
    async def upload_case(
        me: Me,
        content: Annotated[str, Body(media_type="text/plain")],
        filename: str = "case.yaml",
        case_id: str | None = None,
    ) -> dict[str, Any]:
        """Create a draft from a case file (YAML or JSON, the format of `examples/`)."""
        try:
            # In a worker thread: a 2 MiB YAML file takes a second or two to parse.
            case = await run_in_threadpool(parse_case, content, filename)
            services.window.check_case_file(case, filename)
        except CaseFileError as exc:
            raise Refusal("invalid_case_file", str(exc)) from None
        except ValueError as exc:  # a file name that says neither YAML nor JSON
            raise Refusal("invalid_case_file", f"filename: {exc}") from None
        return await start_case(me, case, case_id)

    @app.get("/cases", tags=["cases"])
    async def list_cases(
        me: Me,
        stage: Annotated[str | None, Query(max_length=50)] = None,
        reference: Annotated[str | None, Query(max_length=50)] = None,
        title: Annotated[str | None, Query(max_length=200)] = None,
        submitted_from: date | None = None,
        submitted_to: date | None = None,
        required_by_before: date | None = None,
        min_amount: Annotated[Decimal | None, Query(ge=0, le=MAX_AMOUNT)] = None,
        max_amount: Annotated[Decimal | None, Query(ge=0, le=MAX_AMOUNT)] = None,
        limit: Annotated[int, Query(ge=1, le=queries.MAX_LIMIT)] = queries.DEFAULT_PAGE,
        cursor: Cursor = None,
        offset: Annotated[
            int,
            Query(ge=0, le=2**31 - 1, deprecated=True, description="Rows to skip; use `cursor`."),
        ] = 0,
    ) -> queries.CasePage:
        """Search the cases, most recently changed first (from the read views; no Part 2).

        A page of `limit` cases (at most 500) and `next`, the cursor of the next page (null
        on the last): pass it back as `cursor`, with the same filters, for the next page.
        """
        steps.check_dates(
            services,
            {
                "submitted_from": submitted_from,
                "submitted_to": submitted_to,
                "required_by_before": required_by_before,
            },
        )
        return await _read(
            queries.cases,
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

    @app.get("/cases/{case_id}", tags=["cases"])
    async def get_case(
        me: Me,
        case_id: str,
        version: Annotated[int | None, Query(ge=0, le=MAX_VERSION)] = None,
        as_of: datetime | None = None,
    ) -> dict[str, Any]:
        """The case now, or as of a version or an instant; Part 2 only if cleared."""
        if version is None and as_of is None:
            return steps.current_state(services, case_id, me)
        if as_of is not None and as_of.tzinfo is None:
            raise Refusal("invalid", "as_of: give a timezone, e.g. 2019-12-13T17:00:00Z")
        steps.check_dates(services, as_of, "as_of")
        history = services.journal.history(case_id, to_version=version, as_of=as_of)
        if history.state.version == 0:
            raise Refusal("not_found", f"case {quote_id(case_id)} had no events by then")
        full = services.journal.history(case_id)
        cleared = steps.shown_part2(services, me, full, "api", version=history.state.version)
        return case_view(history.state, part2=cleared)

    @app.get("/cases/{case_id}/events", tags=["audit"])
    async def case_events(me: Me, case_id: str) -> list[dict[str, Any]]:
        """Every stored event of a case, for auditors; Part 2 text only with clearance.

        Without clearance, the hashes that would confirm a guess of a withheld Part 2 are
        withheld too (`hash` and `prev_hash` null, `hash_withheld` says why).
        """
        audit_steps.require_auditor(me, "read a case's events")
        history = audit_steps.history_of(services, case_id)
        cleared = steps.shown_part2(services, me, history, "events")
        return [
            {
                "position": r.position,
                "version": r.version,
                "event_id": str(r.event_id),
                "type": r.event_type,
                "schema_version": r.schema_version,
                "occurred_at": r.occurred_at.isoformat(),
                "recorded_at": r.recorded_at.isoformat(),
                "actor": r.actor_id,
                "role": r.actor_role,
                "on_behalf_of": r.metadata.get("on_behalf_of"),
                "data": event_data_view(r.event_type, r.data, part2=cleared),
                **link,
            }
            for r, link in zip(
                history.records, chain_view(history.records, part2=cleared), strict=True
            )
        ]

    @app.get("/cases/{case_id}/timeline", tags=["audit"])
    async def case_timeline(me: Me, case_id: str) -> list[dict[str, Any]]:
        """Every event in plain words, revisions section by section (auditors)."""
        _, entries, _ = audit_steps.case_timeline(services, me, case_id, "timeline")
        return [e.model_dump(mode="json") for e in entries]

    @app.get("/cases/{ref}/bundle", tags=["audit"], response_class=Response)
    async def case_bundle(me: Me, ref: str) -> Response:
        """The case's evidence bundle (HTML with the evidence inside); the export is recorded.

        `ref` is a case id or a decision reference such as `PCD 679`.
        """
        evidence, content = audit_steps.export(services, me, ref, "api")
        name = (evidence.reference or evidence.case_id).replace(" ", "-")
        return Response(
            content,
            media_type="text/html; charset=utf-8",
            headers={
                "Content-Disposition": f'attachment; filename="evidence-{name}.html"',
                "Cache-Control": "no-store",
            },
        )

    @app.get("/cases/{case_id}/access", tags=["audit"])
    async def case_access(me: Me, case_id: str) -> list[dict[str, Any]]:
        """Who read the case's confidential Part 2, and who exported its evidence."""
        return [
            r.model_dump(mode="json") for r in audit_steps.access_records(services, me, case_id)
        ]

    @app.get("/audit/digest", tags=["audit"])
    async def audit_digest(me: Me) -> dict[str, Any]:
        """The store-wide digest now: keep it somewhere Ratify cannot write."""
        return audit_steps.store_digest(services, me).model_dump(mode="json")

    @app.get("/audit/reconcile", tags=["audit"])
    async def audit_reconcile(me: Me) -> dict[str, Any]:
        """Every live case's workflow against the fold of its events; orphans either way."""
        audit_steps.require_auditor(me, "reconcile the workflows with the record")
        report = await reconcile(services.client, services.store)
        return {**report.model_dump(mode="json"), "ok": report.ok}

    @app.get("/audit/replay", tags=["audit"])
    async def audit_replay(me: Me) -> dict[str, Any]:
        """Replay every decision's, review's and meeting's history against the current code."""
        audit_steps.require_auditor(me, "replay the workflows")
        meetings = sorted({m.meeting_id for m in queries.meetings(services.engine)})
        ids = workflow_ids(services.store, meetings)
        replayed, failures = await replay_workflows(services.client, ids)
        return {"replayed": replayed, "failures": failures, "ok": not failures}

    @app.post("/audit/verify", tags=["audit"])
    async def audit_verify(me: Me, body: VerifyBody) -> dict[str, Any]:
        """Check every hash chain; with `since`, prove nothing that digest covered changed."""
        return audit_steps.verify_store(services, me, body.since)

    @app.post("/cases/{case_id}/actions/{action}", tags=["tasks"])
    async def act(
        me: Me,
        case_id: str,
        action: str,
        body: ActionBody,
        idempotency_key: Annotated[
            str | None,
            Header(
                description="Any unique string (a UUID) naming this attempt: sending the "
                "step again with the same key returns the first attempt's outcome, and the "
                "step is never applied twice. Use it to retry after a timeout or a dropped "
                "connection."
            ),
        ] = None,
    ) -> dict[str, Any]:
        """Act on a case: submit, sign off, request changes, confirm, decide, ..."""
        fields = body.model_dump(exclude={"role", "on_behalf_of"})
        result = await steps.act(
            services,
            me,
            case_id,
            action,
            fields,
            role=body.role,
            on_behalf_of=body.on_behalf_of,
            idempotency_key=idempotency_key,
        )
        shown = result.model_dump(mode="json")
        # Anyone may record an irregularity: an actor not cleared for the case's Part 2 is
        # not given the new events' hashes, which cover it (see `views.chain_view`).
        history = services.journal.history(case_id)
        if not may_see_part2(steps.viewer(me), history.state, history.events):
            for event in shown["events"]:
                event.update(hash=None, hash_withheld=HASH_WITHHELD)
        return shown

    # -- out of office -------------------------------------------------------------------

    @app.post("/delegations", status_code=201, tags=["identity"])
    async def delegate(me: Me, body: NewDelegation) -> dict[str, Any]:
        """Let a named deputy act in one of my roles for a date range (out of office)."""
        steps.check_dates(services, body)
        made = await run_in_threadpool(
            delegations.delegate,
            services.directory,
            services.engine,
            me.user_id,
            body.deputy_id,
            body.role,
            body.starts_on,
            body.ends_on,
            body.reason,
        )
        return made.model_dump(mode="json")

    @app.get("/delegations", tags=["identity"])
    async def my_delegations(me: Me) -> list[dict[str, Any]]:
        """The delegations I made or received."""
        return [d.model_dump(mode="json") for d in services.directory.list_delegations(me.user_id)]

    @app.delete("/delegations/{delegation_id}", tags=["identity"])
    async def end_delegation(me: Me, delegation_id: str) -> dict[str, Any]:
        """End a delegation I made or received, at once (back from leave, or declined)."""
        if _DELEGATION_ID.fullmatch(delegation_id) is None:
            raise Refusal("invalid", "delegation_id: not a delegation id (del_ and 12 hex)")
        mine = await run_in_threadpool(services.directory.list_delegations, me.user_id)
        if not any(d.id == delegation_id for d in mine):
            raise Refusal("not_found", f"no delegation {delegation_id} made by or to you")
        ended = await run_in_threadpool(services.directory.revoke_delegation, delegation_id)
        return ended.model_dump(mode="json")

    # -- tasks ---------------------------------------------------------------------------

    @app.get("/tasks", tags=["tasks"])
    async def my_tasks(
        me: Me,
        limit: Annotated[int, Query(ge=1, le=queries.MAX_PAGE)] = queries.DEFAULT_PAGE,
        cursor: Cursor = None,
    ) -> queries.InboxPage:
        """My open tasks, including those I hold as a deputy: soonest due first (undated
        last), `limit` at a time (at most 200), with `total` (all of them), `more` (how
        many come after this page) and `next` (the cursor of the next page, or null). An
        officer's tasks (submit, revise) are listed only for the case's own officers."""
        who = steps.viewer(me)
        return await _read(
            queries.inbox,
            services.engine,
            who.roles,
            limit=limit,
            cursor=cursor,
            user_id=who.user_id,
            deputy_for=who.deputy_for,
        )

    # -- meetings ------------------------------------------------------------------------

    @app.post("/meetings", status_code=201, tags=["meetings"])
    async def create_meeting(me: Me, body: NewMeeting) -> dict[str, Any]:
        await steps.create_meeting(services, me, body.meeting_id, body.board, body.meeting_date)
        return {"meeting_id": body.meeting_id}

    @app.get("/meetings", tags=["meetings"])
    async def list_meetings(me: Me, from_date: date | None = None) -> list[dict[str, Any]]:
        """Meetings and their agendas (from the read view), by date."""
        steps.check_dates(services, from_date, "from_date")
        grouped: dict[str, dict[str, Any]] = {}
        for row in queries.meetings(services.engine, from_date=from_date):
            meeting = grouped.setdefault(
                row.meeting_id,
                {
                    "meeting_id": row.meeting_id,
                    "board": row.board,
                    "meeting_date": row.meeting_date.isoformat(),
                    "agenda": [],
                },
            )
            meeting["agenda"].append(
                {
                    "case_id": row.case_id,
                    "title": row.title,
                    "advice": row.advice,
                    "conditions": row.conditions,
                }
            )
        return list(grouped.values())

    @app.get("/meetings/{meeting_id}", tags=["meetings"])
    async def get_meeting(me: Me, meeting_id: str) -> dict[str, Any]:
        return (await steps.meeting_view(services, meeting_id)).model_dump(mode="json")

    @app.post("/meetings/{meeting_id}/{action}", tags=["meetings"])
    async def meeting_action(
        me: Me, meeting_id: str, action: str, body: MeetingAction
    ) -> dict[str, Any]:
        result = await steps.meeting_action(
            services, me, meeting_id, action, dict(body.model_extra or {})
        )
        return result if isinstance(result, dict) else {"result": result}

    # -- public register -----------------------------------------------------------------

    @app.get("/register", tags=["register"])
    async def register(
        limit: Annotated[int, Query(ge=1, le=queries.MAX_PAGE)] = queries.DEFAULT_PAGE,
        cursor: Cursor = None,
        reference: Annotated[
            str | None, Query(max_length=50, description="e.g. `PCD 679`: that one decision.")
        ] = None,
        title: Annotated[
            str | None,
            Query(max_length=200, description="Titles containing this (any letter case)."),
        ] = None,
        signed_from: Annotated[
            date | None, Query(description="Signed on or after this day.")
        ] = None,
        signed_to: Annotated[
            date | None, Query(description="Signed on or before this day.")
        ] = None,
    ) -> queries.RegisterPage:
        """Published decisions, most recently published first, `limit` at a time (at most
        200), each with its reference, title, date signed and decision maker; the papers
        are at `/register/{reference}`. `next` is the cursor of the next (older) page, or
        null on the last: decisions published meanwhile never shift the pages. Public."""
        steps.check_dates(services, {"signed_from": signed_from, "signed_to": signed_to})
        return await _read(
            queries.register,
            services.engine,
            limit=limit,
            cursor=cursor,
            reference=reference,
            title_contains=title,
            signed_from=signed_from,
            signed_to=signed_to,
        )

    @app.get("/register/{reference}", tags=["register"])
    async def register_entry(reference: str) -> queries.RegisterRow:
        """One published decision: Part 1 as published (executive summary,
        recommendations), and Part 2 once a review published it. Public."""
        try:
            row = await run_in_threadpool(queries.register_entry, services.engine, reference)
        except queries.QueryError:  # a NUL: no reference has one
            row = None
        if row is None:
            raise Refusal("not_found", f"no published decision {quote_id(reference)}")
        return row

    # -- health --------------------------------------------------------------------------

    @app.get("/healthz", tags=["health"])
    async def healthz() -> dict[str, str]:
        """Liveness: 200 while the process serves, whatever the database and Temporal do."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["health"])
    async def readyz() -> JSONResponse:
        """Readiness: 200 when the database and Temporal both answer; else 503 naming which
        is down, e.g. `{"database": "ok", "temporal": "down: RuntimeError"}`."""
        checks = await readiness(services.engine, services.client)
        ok = all(v == "ok" for v in checks.values())
        return JSONResponse(status_code=200 if ok else 503, content=checks)

    @app.get("/metrics", tags=["health"], response_class=Response)
    def prometheus_metrics() -> Response:  # sync: runs in a thread (it reads the SDK's page)
        """Prometheus metrics of this process (Ratify's, and the Temporal SDK's)."""
        return Response(metrics_text(), media_type=METRICS_CONTENT_TYPE)

    @app.exception_handler(IdentityError)
    async def _identity(request: Request, exc: IdentityError) -> JSONResponse:
        code = "wrong_role" if isinstance(exc, NotPermitted) else "invalid"
        return JSONResponse(status_code=exc.status_code, content={"code": code, "detail": str(exc)})

    # The web pages (server-rendered); imported here because they import this module.
    from ratify.web import router as web_router

    app.include_router(web_router)
    return app


#: Where a page starts: the `next` of the page before.
Cursor = Annotated[
    str | None,
    Query(
        max_length=queries.MAX_CURSOR,
        description="The `next` of the page before, unchanged; none for the first page.",
    ),
]


P = ParamSpec("P")
T = TypeVar("T")


async def _read(read: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """A read of the views, in a worker thread (a page is quick, but a search may read
    every title); a parameter it cannot use is a 422 naming it."""
    try:
        return await run_in_threadpool(read, *args, **kwargs)
    except ValueError as exc:  # QueryError names the parameter; an unknown stage says so
        raise Refusal("invalid", str(exc)) from None
