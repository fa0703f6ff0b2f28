"""The auditors' steps the front doors share: clearance, the access log, timelines, exports.

Used by the HTTP API and the pages alike, so both refuse the same people for the same
reasons and both record the same reads. Who is an auditor comes from the signed-in
principal; whether they see Part 2 comes from `domain.visibility.part2_clearance`, and every time
confidential Part 2 is shown, `shown_part2` appends it to the case's access log first: a
read that cannot be recorded is refused, not served.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from domain.bounds import quote_id
from domain.roles import Role
from domain.timeline import TimelineEntry, timeline, without_part2
from domain.visibility import has_confidential_part2, part2_clearance
from eventstore.digest import Digest, digest, verify_since
from eventstore.log import store_consistency
from ratify.services.accesslog import EVIDENCE_EXPORTED, AccessLog, AccessRecord
from ratify.services.commands import Refusal, Services, shown_part2, viewer
from ratify.services.evidence import ConsistencyProof, Evidence, bundle_sha256, export_bundle
from ratify.services.identity.values import Principal
from ratify.services.journal import CaseHistory
from ratify.services.projections import case_search, paging


def require_auditor(me: Principal, what: str) -> None:
    """Refuse (403) anyone who is not an auditor today."""
    if Role.AUDITOR not in viewer(me).roles:
        raise Refusal("wrong_role", f"only auditors may {what}")


def resolve_case(services: Services, ref: str) -> str:
    """A case id from a case id or a decision reference such as `PCD 679` (404 if neither)."""
    if services.store.stream_version(ref) > 0:
        return ref
    try:
        found = case_search.list_cases(services.engine, reference=ref, limit=2)
    except paging.QueryError:  # a NUL: no reference has one
        found = []
    if len(found) == 1:
        return found[0].case_id
    raise Refusal("not_found", f"there is no case or decision reference '{quote_id(ref)}'")


def history_of(services: Services, case_id: str) -> CaseHistory:
    history = services.journal.history(case_id)
    if history.state.version == 0:
        raise Refusal("not_found", f"there is no case {quote_id(case_id)}")
    return history


def case_timeline(
    services: Services, me: Principal, case_id: str, via: str
) -> tuple[CaseHistory, list[TimelineEntry], bool]:
    """The auditor's timeline; revisions of Part 2 only with clearance (and then recorded)."""
    require_auditor(me, "read a case's timeline")
    history = history_of(services, case_id)
    entries = timeline(case_id, history.events)
    touches_part2 = any(s.is_part2 for e in entries for s in e.changes)
    cleared = shown_part2(services, me, history, via) if touches_part2 else False
    return history, entries if cleared else without_part2(entries), cleared


def export(services: Services, me: Principal, ref: str, via: str) -> tuple[Evidence, bytes]:
    """An evidence bundle of a case, recorded in its access log with the file's SHA-256.

    A case whose Part 2 is still confidential is exported only to an auditor with Part 2
    clearance: the bundle must hold every stored column to be checkable, Part 2 included.
    """
    require_auditor(me, "export evidence")
    case_id = resolve_case(services, ref)
    history = history_of(services, case_id)
    basis = "auditor"
    if has_confidential_part2(history.state):
        cleared = part2_clearance(viewer(me), history.state, history.events)
        if cleared is None or Role.PART2_CLEARANCE not in viewer(me).roles:
            raise Refusal(
                "wrong_role",
                f"case {quote_id(case_id)} has a confidential Part 2: exporting its evidence "
                "needs the part2_clearance role as well as auditor",
            )
        basis = cleared
    evidence, content = export_bundle(
        services.store,
        case_id,
        exported_by=me.user_id,
        exported_at=datetime.now(UTC),
        # the event log from the case's first event holds other cases' hashes
        with_log=Role.PART2_CLEARANCE in viewer(me).roles,
    )
    AccessLog(services.store).record(
        case_id,
        EVIDENCE_EXPORTED,
        user_id=me.user_id,
        basis=basis,
        via=via,
        case_version=evidence.events[-1].version,
        details={
            "bundle_sha256": bundle_sha256(content),
            "digest_position": evidence.digest.position,
            "digest_root": evidence.digest.root,
            # the whole digest at the export, for an auditor to keep (the history page shows it)
            "digest": evidence.digest.model_dump(mode="json"),
            "contains_confidential_part2": evidence.contains_confidential_part2,
        },
    )
    return evidence, content


def access_records(services: Services, me: Principal, case_id: str) -> list[AccessRecord]:
    """Who read the case's confidential Part 2 and who exported its evidence."""
    require_auditor(me, "read the access log")
    history_of(services, case_id)
    return AccessLog(services.store).records(case_id)


def store_digest(services: Services, me: Principal) -> Digest:
    require_auditor(me, "take the store's digest")
    return digest(services.store)


def consistency(services: Services, me: Principal, old: int, new: int) -> ConsistencyProof:
    """The RFC 6962 proof that the store's log at position `old` is a prefix of that at
    `new`: what checks a bundle exported at `old` against a digest kept at `new`."""
    require_auditor(me, "prove one digest extends another")
    # A node over a single event is that event's hash, which would confirm a guess of a
    # withheld Part 2 to someone who can read the event's other columns.
    if Role.PART2_CLEARANCE not in viewer(me).roles:
        raise Refusal(
            "wrong_role",
            "a consistency proof holds events' hashes: it needs the part2_clearance role",
        )
    last = services.store.last_position()
    if not 0 <= old <= new <= last:
        raise Refusal(
            "invalid",
            f"positions: from one position to the same or a later one, both at most {last} "
            f"(the store's last); got {old} and {new}",
        )
    return ConsistencyProof(
        old_size=old, new_size=new, proof=store_consistency(services.store, old, new)
    )


def verify_store(services: Services, me: Principal, since: Digest | None) -> dict[str, Any]:
    """Every hash chain, and consistency with an older digest when one is given."""
    require_auditor(me, "verify the store")
    chains = services.store.verify_all()
    problem = chains.first_problem
    result: dict[str, Any] = {
        "ok": chains.ok,
        "events_checked": chains.events_checked,
        "first_problem": None
        if problem is None
        else {
            "kind": problem.kind.value,
            "stream_id": problem.stream_id,
            "version": problem.version,
            "position": problem.position,
            "event_id": problem.event_id,
            "detail": problem.detail,
        },
    }
    if since is not None:
        # A digest is a root over every stream's head, each a hash over the whole event,
        # Part 2 included: checking one the caller made up would tell whether a guess of an
        # unpublished Part 2 was right. Only auditors cleared for Part 2 may ask.
        if Role.PART2_CLEARANCE not in viewer(me).roles:
            raise Refusal(
                "wrong_role",
                "since: checking the store against a kept digest needs the part2_clearance "
                "role (a digest built from guessed contents would confirm a guess of Part 2); "
                "without it, verify the chains alone",
            )
        found = verify_since(services.store, since)
        result["since"] = {"ok": found.ok, "detail": found.detail}
        result["ok"] = result["ok"] and found.ok
    return result
