"""Evidence bundles: one file an auditor can hand to someone outside, and its offline check.

`export_bundle` writes a case's evidence as one HTML file that opens in any browser:

* a human-readable report (the timeline in plain words, with revisions section by section,
  the decision, the state it folds to, and every event's hash), and
* the evidence itself as JSON inside the page (`<script type="application/json"
  id="ratify-evidence">`): every stored column of every event of the case's stream, their
  hashes, the store-wide digest at the export, and the Merkle inclusion proof of the
  stream's head in that digest.

`check_bundle` needs no database and no server. It recomputes every row hash from the stored
columns, follows the chain from the genesis hash, checks the versions run 1, 2, 3, ... and
the positions rise, checks the last event is the head the inclusion proof proves, recomputes
the Merkle root, compares it with a digest the checker kept (`--digest`), and re-renders the
report from the evidence to show the human-readable part was not edited either. Every
problem found is reported, naming the event.

What the bundle proves: with a digest kept outside Ratify, that these are all the events of
the case up to the digest's position, unchanged. Without one, only that the file is
internally consistent (anyone able to re-hash everything could have made it).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, ConfigDict, ValidationError

from domain.events import Event
from domain.state import CaseState
from domain.timeline import decision_event, recorded_words, timeline
from domain.visibility import has_confidential_part2
from eventstore import EventStore, StoredEvent
from eventstore.digest import Digest, InclusionProof, inclusion_proof, verify_inclusion
from eventstore.hashing import GENESIS_HASH, HashInput, canonical_datetime, canonical_json, row_hash
from ratify.services.evidence_report import ENVIRONMENT
from ratify.services.journal import replay

BUNDLE_FORMAT = "ratify-evidence-v1"
_SCRIPT_OPEN = '<script type="application/json" id="ratify-evidence">'
_SCRIPT_RE = re.compile(re.escape(_SCRIPT_OPEN) + r"(.*?)</script>", re.DOTALL)


class BundleEvent(BaseModel):
    """One stored row, column by column, exactly as it was hashed."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    position: int
    event_id: str
    stream_id: str
    version: int
    event_type: str
    schema_version: int
    occurred_at: str
    recorded_at: str
    actor_id: str
    actor_role: str
    #: The stored canonical JSON text of the event's data and metadata.
    data: str
    metadata: str
    prev_hash: str
    hash: str

    @classmethod
    def of(cls, stored: StoredEvent) -> BundleEvent:
        return cls(
            position=stored.position,
            event_id=str(stored.event_id),
            stream_id=stored.stream_id,
            version=stored.version,
            event_type=stored.event_type,
            schema_version=stored.schema_version,
            occurred_at=canonical_datetime(stored.occurred_at),
            recorded_at=canonical_datetime(stored.recorded_at),
            actor_id=stored.actor_id,
            actor_role=stored.actor_role,
            data=canonical_json(stored.data),
            metadata=canonical_json(stored.metadata),
            prev_hash=stored.prev_hash,
            hash=stored.hash,
        )

    def recomputed_hash(self) -> str:
        """The row's hash from its columns, as the store computes it."""
        return row_hash(
            HashInput(
                position=self.position,
                event_id=UUID(self.event_id),
                stream_id=self.stream_id,
                version=self.version,
                event_type=self.event_type,
                schema_version=self.schema_version,
                occurred_at=datetime.fromisoformat(self.occurred_at),
                recorded_at=datetime.fromisoformat(self.recorded_at),
                actor_id=self.actor_id,
                actor_role=self.actor_role,
                data_text=self.data,
                metadata_text=self.metadata,
                prev_hash=self.prev_hash,
            )
        )

    def stored(self) -> StoredEvent:
        """Back to a stored record (for decoding through the journal's upcasters)."""
        return StoredEvent(
            position=self.position,
            event_id=UUID(self.event_id),
            stream_id=self.stream_id,
            version=self.version,
            event_type=self.event_type,
            schema_version=self.schema_version,
            occurred_at=datetime.fromisoformat(self.occurred_at),
            recorded_at=datetime.fromisoformat(self.recorded_at),
            actor_id=self.actor_id,
            actor_role=self.actor_role,
            data=json.loads(self.data),
            metadata=json.loads(self.metadata),
            prev_hash=self.prev_hash,
            hash=self.hash,
        )


class Evidence(BaseModel):
    """What a bundle proves, and to whom it was given."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    format: str = BUNDLE_FORMAT
    case_id: str
    reference: str | None
    title: str
    exported_at: str
    exported_by: str
    #: Whether the events include a Part 2 that had not been published at the export.
    contains_confidential_part2: bool
    digest: Digest
    proof: InclusionProof
    events: list[BundleEvent]


class NoSuchCase(LookupError):
    """There is no case with that id."""


def collect(
    store: EventStore, case_id: str, *, exported_by: str, exported_at: datetime
) -> Evidence:
    """The evidence of one case as the store holds it now."""
    found, proof = inclusion_proof_or_none(store, case_id)
    if found is None or proof is None:
        raise NoSuchCase(case_id)
    records = [r for r in store.read_stream(case_id) if r.position <= found.position]
    events = [BundleEvent.of(r) for r in records]
    state, _ = _fold(events)
    return Evidence(
        case_id=case_id,
        reference=state.reference,
        title=state.title or case_id,
        exported_at=canonical_datetime(exported_at),
        exported_by=exported_by,
        contains_confidential_part2=has_confidential_part2(state),
        digest=found,
        proof=proof,
        events=events,
    )


def inclusion_proof_or_none(
    store: EventStore, case_id: str
) -> tuple[Digest | None, InclusionProof | None]:
    """The current digest and the proof of the case stream's head in it; (None, None)."""
    if store.stream_version(case_id) == 0:
        return None, None
    return inclusion_proof(store, case_id)


def _fold(events: list[BundleEvent]) -> tuple[CaseState, list[Event]]:
    return replay(events[0].stream_id, [e.stored() for e in events])


def render(evidence: Evidence) -> str:
    """The bundle file: the report, with the evidence as JSON inside it."""
    state, decoded = _fold(evidence.events)
    entries = timeline(evidence.case_id, decoded)
    decision = decision_event(decoded)
    payload = json.dumps(
        evidence.model_dump(mode="json"), sort_keys=True, indent=1, ensure_ascii=False
    ).replace("</", "<\\/")
    report = ENVIRONMENT.get_template("evidence.html").render(
        evidence=evidence,
        state=state,
        entries=entries,
        decision_recorded=recorded_words(decision) if decision is not None else None,
        events=evidence.events,
        exported_at=datetime.fromisoformat(evidence.exported_at),
    )
    return report.replace("<!--EVIDENCE-->", f"{_SCRIPT_OPEN}{payload}</script>")


def export_bundle(
    store: EventStore, case_id: str, *, exported_by: str, exported_at: datetime
) -> tuple[Evidence, bytes]:
    """The evidence and the bundle file's bytes (UTF-8 HTML)."""
    evidence = collect(store, case_id, exported_by=exported_by, exported_at=exported_at)
    return evidence, render(evidence).encode("utf-8")


# -- checking, offline ------------------------------------------------------------------------


@dataclass
class CheckResult:
    """The outcome of checking a bundle: every problem found, in the order checked."""

    problems: list[str] = field(default_factory=list)
    evidence: Evidence | None = None
    #: What was proven, in plain words, when there is no problem.
    proven: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def read_evidence(document: str) -> Evidence:
    """The evidence inside a bundle file; ValueError saying what is wrong with the file."""
    found = _SCRIPT_RE.search(document)
    if found is None:
        raise ValueError("this is not a Ratify evidence bundle: it holds no evidence block")
    try:
        data = json.loads(found.group(1))
    except json.JSONDecodeError as exc:
        raise ValueError(f"the evidence block is not valid JSON: {exc.msg}") from None
    if isinstance(data, dict) and data.get("format") != BUNDLE_FORMAT:
        raise ValueError(f"unknown bundle format {data.get('format')!r}; expected {BUNDLE_FORMAT}")
    try:
        return Evidence.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ValueError(f"the evidence is malformed at {where}: {first['msg']}") from None


def _name(e: BundleEvent) -> str:
    return f"v{e.version} ({e.event_type}, event {e.event_id}, position {e.position})"


def _check_chain(evidence: Evidence) -> list[str]:
    problems: list[str] = []
    prev = GENESIS_HASH
    last_position = 0
    for expected_version, e in enumerate(evidence.events, start=1):
        if e.stream_id != evidence.case_id:
            problems.append(f"{_name(e)} belongs to stream {e.stream_id}, not the case")
        if e.version != expected_version:
            problems.append(
                f"{_name(e)}: expected version {expected_version} here: an event is missing, "
                "added or out of order"
            )
        if e.position <= last_position:
            problems.append(f"{_name(e)}: its position does not follow the one before")
        if e.prev_hash != prev:
            problems.append(f"{_name(e)}: it does not link to the event before it")
        try:
            recomputed = e.recomputed_hash()
        except ValueError as exc:
            problems.append(f"{_name(e)}: a column cannot be read ({exc})")
        else:
            if recomputed != e.hash:
                problems.append(f"{_name(e)}: its content does not match its hash (edited)")
        prev, last_position = e.hash, e.position
    return problems


def check_bundle(document: str, kept: Digest | None = None) -> CheckResult:
    """Check a bundle file with no database or server; `kept` is a digest kept outside."""
    result = CheckResult()
    try:
        evidence = read_evidence(document)
    except ValueError as exc:
        result.problems.append(str(exc))
        return result
    result.evidence = evidence
    if not evidence.events:
        result.problems.append("the bundle holds no events")
        return result
    result.problems += _check_chain(evidence)
    head, proof = evidence.events[-1], evidence.proof
    if (proof.stream_id, proof.version, proof.head) != (
        evidence.case_id,
        head.version,
        head.hash,
    ):
        result.problems.append(
            f"the inclusion proof is for {proof.stream_id} v{proof.version}, not the bundle's "
            f"last event {_name(head)}: events were removed or added at the end"
        )
    if not verify_inclusion(proof, evidence.digest):
        result.problems.append(
            "the inclusion proof does not lead to the digest's root: the case's head is not "
            "in that digest"
        )
    if head.position > evidence.digest.position:
        result.problems.append(f"{_name(head)} is after the digest's position")
    if kept is not None:
        if kept.position != evidence.digest.position:
            result.problems.append(
                f"the digest you kept covers position {kept.position}; this bundle was proven "
                f"against position {evidence.digest.position}: export the bundle again with "
                "that digest, or check it against the digest taken at its export"
            )
        elif (kept.root, kept.streams) != (evidence.digest.root, evidence.digest.streams):
            result.problems.append(
                "the bundle's digest is not the digest you kept: the store it came from is not "
                "the store your digest covers (or the bundle was rebuilt)"
            )
    if not result.problems:
        try:
            again = render(evidence)
        except Exception as exc:  # the events themselves no longer decode
            result.problems.append(f"the events cannot be read back into a case: {exc}")
        else:
            if again != document:
                result.problems.append(
                    "the human-readable report was edited: it is not what the evidence says"
                )
    if not result.problems:
        result.proven.append(
            f"{len(evidence.events)} events of {evidence.case_id}, every hash recomputed and "
            "chained from the first"
        )
        result.proven.append(
            f"the case's head is in the store digest at position {evidence.digest.position} "
            f"(root {evidence.digest.root})"
        )
        if kept is not None:
            result.proven.append("that digest is the one you kept")
        else:
            result.proven.append(
                "no kept digest was given: this proves the file is consistent, not that it "
                "matches the store; pass --digest with a digest kept outside Ratify"
            )
    return result


def bundle_sha256(content: bytes) -> str:
    """The SHA-256 of a bundle file, recorded in the access log with its export."""
    return hashlib.sha256(content).hexdigest()
