"""The auditors' pages: a case's history as of a version or an instant, its evidence
bundle, and the checks of the whole store (digest, hash chains, reconciliation, replay).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import Query, Request, Response
from pydantic import ValidationError

from domain.bounds import quote_id
from domain.clock import LONDON
from domain.roles import Role
from eventstore.digest import Digest
from ratify.http.services import HttpServices
from ratify.services import auditing, commands
from ratify.services.accesslog import AccessLog
from ratify.services.commands import Refusal
from ratify.services.projections import agenda
from ratify.services.reconcile import reconcile
from ratify.services.replay import replay_workflows, workflow_ids
from ratify.web.pages.cases import load_history, timeline_rows
from ratify.web.pages.common import Visitor, Who, page_context, read_form, router, services_of
from ratify.web.render import page

# -- an auditor's history ------------------------------------------------------------------


def _as_of(services: HttpServices, value: str) -> datetime:
    try:
        instant = datetime.fromisoformat(value.strip())
    except ValueError:
        raise Refusal(
            "invalid", "as_of: a date and time, e.g. 2019-07-19T10:00 (London time)"
        ) from None
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=LONDON)
    commands.check_dates(services, instant, "as_of")
    return instant


@router.get("/cases/{case_id}/history")
async def case_history(
    request: Request,
    who: Who,
    case_id: str,
    version: str = "",
    as_of: str = "",
) -> Response:
    """The case as it stood at a version or an instant, with its events: auditors only."""
    if not who.holds(Role.AUDITOR):
        raise Refusal("wrong_role", "only auditors may read a case's history")
    services = services_of(request)
    full = load_history(services, case_id)
    at_version: int | None = None
    instant: datetime | None = None
    error = None
    if version.strip():
        try:
            at_version = int(version)
        except ValueError:
            error = "version: a whole number"
        else:
            if not 1 <= at_version <= full.state.version:
                error = f"version: between 1 and {full.state.version}"
    elif as_of.strip():
        try:
            instant = _as_of(services, as_of)
        except Refusal as exc:
            error = exc.message
    shown = full
    if error is None and (at_version is not None or instant is not None):
        shown = services.journal.history(case_id, to_version=at_version, as_of=instant)
        if shown.state.version == 0:
            error = f"case {quote_id(case_id)} had no events by then"
            shown = full
    cleared = commands.shown_part2(
        services, who.principal, full, "history", version=shown.state.version
    )
    context = page_context(
        request,
        f"History of {full.state.title or case_id}",
        error=error,
        case_id=case_id,
        state=shown.state,
        case=shown.state.case,
        part2_visible=cleared,
        timeline=timeline_rows(full, cleared),
        access=AccessLog(services.store).records(case_id),
        shown_version=shown.state.version,
        latest=full.state.version,
        version=version,
        as_of=as_of,
    )
    return page("history.html", context, 422 if error else 200)


@router.get("/cases/{ref}/bundle")
async def case_bundle(request: Request, who: Who, ref: str) -> Response:
    """Download the case's evidence bundle (auditors); the export is recorded."""
    evidence, content = auditing.export(services_of(request), who.principal, ref, "page")
    name = (evidence.reference or evidence.case_id).replace(" ", "-")
    return Response(
        content,
        media_type="text/html; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="evidence-{name}.html"',
            "Cache-Control": "no-store",
        },
    )


@router.get("/audit/consistency")
async def consistency_proof(
    request: Request, who: Who, old: int = Query(ge=0), new: int = Query(ge=0)
) -> Response:
    """Download the consistency proof from one position of the store's log to a later one
    (auditors cleared for Part 2): `ratify audit check BUNDLE --digest D --proof FILE`
    checks a bundle exported at `old` against a digest kept at `new`."""
    proof = auditing.consistency(services_of(request), who.principal, old, new)
    return Response(
        proof.model_dump_json(),
        media_type="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="consistency-{old}-{new}.json"',
            "Cache-Control": "no-store",
        },
    )


# -- the whole store, for auditors ------------------------------------------------------------


def _audit_page(request: Request, who: Visitor, status: int = 200, **values: Any) -> Response:
    services = services_of(request)
    kept = auditing.store_digest(services, who.principal)
    context = page_context(
        request,
        "Audit",
        digest=kept,
        digest_json=kept.model_dump_json(),
        since_text=values.pop("since_text", ""),
        verified=values.pop("verified", None),
        reconciled=values.pop("reconciled", None),
        replayed=values.pop("replayed", None),
        error=values.pop("error", None),
    )
    return page("audit.html", context, status)


@router.get("/audit")
async def audit_home(request: Request, who: Who) -> Response:
    """The store's digest to keep, and the checks of the whole store (auditors)."""
    return _audit_page(request, who)


@router.post("/audit/verify")
async def audit_verify(request: Request, who: Who) -> Response:
    """Check every hash chain, and consistency with a digest kept earlier (pasted in)."""
    form = await read_form(request)
    since_text = str(form.get("since") or "").strip()
    since: Digest | None = None
    if since_text:
        try:
            since = Digest.model_validate_json(since_text)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "digest"
            return _audit_page(
                request,
                who,
                422,
                since_text=since_text,
                error=f"since: not a digest ({where}: {first['msg']})",
            )
    verified = auditing.verify_store(services_of(request), who.principal, since)
    return _audit_page(request, who, since_text=since_text, verified=verified)


@router.get("/audit/reconcile")
async def audit_reconcile(request: Request, who: Who) -> Response:
    """Every live case's workflow against its stored events, and orphans either way."""
    auditing.require_auditor(who.principal, "reconcile the workflows with the record")
    services = services_of(request)
    return _audit_page(request, who, reconciled=await reconcile(services.client, services.store))


@router.get("/audit/replay")
async def audit_replay(request: Request, who: Who) -> Response:
    """Replay every workflow's history against the current code."""
    auditing.require_auditor(who.principal, "replay the workflows")
    services = services_of(request)
    meetings = sorted({m.meeting_id for m in agenda.meetings(services.engine)})
    replayed, failures = await replay_workflows(
        services.client, workflow_ids(services.store, meetings)
    )
    return _audit_page(request, who, replayed={"count": replayed, "failures": failures})
