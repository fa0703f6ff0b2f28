"""Auditing: a case's events, timeline, evidence bundle and access log; the store's digest,
verification, reconciliation with the workflows, and the replay of their histories."""

from __future__ import annotations

from fastapi import APIRouter, Response
from starlette.concurrency import run_in_threadpool

from domain.timeline import TimelineEntry
from eventstore.digest import Digest
from ratify.api.deps import Me, SignedInFirst, Svc
from ratify.api.schemas import REFUSED, CaseEvent, Reconciled, Replayed, Verified, VerifyBody
from ratify.http.services import HttpServices
from ratify.services import auditing, commands
from ratify.services.accesslog import AccessRecord
from ratify.services.projections import agenda
from ratify.services.reconcile import reconcile
from ratify.services.replay import replay_workflows, workflow_ids
from ratify.services.views import chain_view, event_data_view

router = APIRouter(tags=["audit"], route_class=SignedInFirst, responses=REFUSED)


@router.get("/cases/{case_id}/events")
def case_events(me: Me, services: Svc, case_id: str) -> list[CaseEvent]:
    """Every stored event of a case, for auditors; Part 2 text only with clearance.

    Without clearance, the hashes that would confirm a guess of a withheld Part 2 are
    withheld too (`hash` and `prev_hash` null, `hash_withheld` says why).
    """
    auditing.require_auditor(me, "read a case's events")
    history = auditing.history_of(services, case_id)
    cleared = commands.shown_part2(services, me, history, "events")
    return [
        CaseEvent(
            position=r.position,
            version=r.version,
            event_id=str(r.event_id),
            type=r.event_type,
            schema_version=r.schema_version,
            occurred_at=r.occurred_at.isoformat(),
            recorded_at=r.recorded_at.isoformat(),
            actor=r.actor_id,
            role=r.actor_role,
            on_behalf_of=r.metadata.get("on_behalf_of"),
            data=event_data_view(r.event_type, r.data, part2=cleared),
            **link,
        )
        for r, link in zip(history.records, chain_view(history.records, part2=cleared), strict=True)
    ]


@router.get("/cases/{case_id}/timeline")
def case_timeline(me: Me, services: Svc, case_id: str) -> list[TimelineEntry]:
    """Every event in plain words, revisions section by section (auditors)."""
    _, entries, _ = auditing.case_timeline(services, me, case_id, "timeline")
    return entries


@router.get("/cases/{ref}/bundle", response_class=Response)
def case_bundle(me: Me, services: Svc, ref: str) -> Response:
    """The case's evidence bundle (HTML with the evidence inside); the export is recorded.

    `ref` is a case id or a decision reference such as `PCD 679`.
    """
    evidence, content = auditing.export(services, me, ref, "api")
    name = (evidence.reference or evidence.case_id).replace(" ", "-")
    return Response(
        content,
        media_type="text/html; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="evidence-{name}.html"',
            "Cache-Control": "no-store",
        },
    )


@router.get("/cases/{case_id}/access")
def case_access(me: Me, services: Svc, case_id: str) -> list[AccessRecord]:
    """Who read the case's confidential Part 2, and who exported its evidence."""
    return auditing.access_records(services, me, case_id)


@router.get("/audit/digest")
def audit_digest(me: Me, services: Svc) -> Digest:
    """The store-wide digest now: keep it somewhere Ratify cannot write."""
    return auditing.store_digest(services, me)


@router.get("/audit/reconcile")
async def audit_reconcile(me: Me, services: Svc) -> Reconciled:
    """Every live case's workflow against the fold of its events; orphans either way."""
    auditing.require_auditor(me, "reconcile the workflows with the record")
    report = await reconcile(services.client, services.store)
    return Reconciled.model_validate(report.model_dump())


def _workflow_ids(services: HttpServices) -> list[str]:
    """Every decision's, review's and meeting's workflow id (reads the store and views)."""
    meetings = sorted({m.meeting_id for m in agenda.meetings(services.engine)})
    return workflow_ids(services.store, meetings)


@router.get("/audit/replay")
async def audit_replay(me: Me, services: Svc) -> Replayed:
    """Replay every decision's, review's and meeting's history against the current code."""
    auditing.require_auditor(me, "replay the workflows")
    ids = await run_in_threadpool(_workflow_ids, services)
    replayed, failures = await replay_workflows(services.client, ids)
    return Replayed(replayed=replayed, failures=failures, ok=not failures)


@router.post("/audit/verify")
def audit_verify(me: Me, services: Svc, body: VerifyBody) -> Verified:
    """Check every hash chain; with `since`, prove nothing that digest covered changed."""
    return Verified.model_validate(auditing.verify_store(services, me, body.since))
