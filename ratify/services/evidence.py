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

Bundles of format v2 also carry the store's event log (`eventstore.log`, an RFC 6962 tree over
every event in position order) from the case's first event to the export: the hashes of every
event of the store in that range and the frontier of the tree before it. So the checker can
compute the log root at *any* position from the case's first event to the export and compare
it with a digest kept then, even though the store's digest moved since (a Part 2 read is an
event): it then says which of the bundle's events that digest covers and which came after.
A digest kept after the export is checked with an RFC 6962 consistency proof from the export's
position to it (`ratify audit prove`), which only the store can give. Why the leaves and not a
consistency proof: the exporter does not know which digest the auditor kept, and a
consistency proof is for one pair of sizes; the leaves from the case's first event serve
every earlier digest that covers any of the case, at 64 characters per event of the store in
that range. v1 bundles (no log) still check, against the digest at their export only.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from domain.events import Event
from domain.state import CaseState
from domain.timeline import board_advice_event, decision_event, recorded_words, timeline
from domain.visibility import has_confidential_part2
from eventstore import EventStore, StoredEvent
from eventstore.digest import Digest, InclusionProof, inclusion_proof, verify_inclusion
from eventstore.hashing import GENESIS_HASH, HashInput, canonical_datetime, canonical_json, row_hash
from eventstore.log import (
    CannotCompute,
    consistency_problem,
    event_hashes,
    leaf_of,
    root_from,
    store_frontier,
)
from ratify.services.evidence_report import ENVIRONMENT
from ratify.services.journal import replay

BUNDLE_FORMAT = "ratify-evidence-v2"
BUNDLE_FORMATS = ("ratify-evidence-v1", BUNDLE_FORMAT)
CONSISTENCY_FORMAT = "ratify-consistency-v1"
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


class LogSegment(BaseModel):
    """The store's event log from the case's first event to the export (bundle v2).

    `start`: the events before the case's first, known only through `frontier`, the roots of
    the perfect subtrees of the RFC 6962 tree over them; `hashes`: the hash of every event of
    the store at positions start + 1 to the export's digest position, in order.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    start: int = Field(ge=0)
    frontier: list[str]
    hashes: list[str]


class ConsistencyProof(BaseModel):
    """RFC 6962's proof that the log of `old_size` events is a prefix of that of `new_size`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    format: str = CONSISTENCY_FORMAT
    old_size: int = Field(ge=0)
    new_size: int = Field(ge=0)
    proof: list[str] = Field(max_length=128)


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
    #: The event log from the case's first event to the export (v2; None in a v1 bundle).
    log: LogSegment | None = None


class NoSuchCase(LookupError):
    """There is no case with that id."""


def collect(
    store: EventStore,
    case_id: str,
    *,
    exported_by: str,
    exported_at: datetime,
    with_log: bool = True,
) -> Evidence:
    """The evidence of one case as the store holds it now.

    `with_log`: carry the store's event log from the case's first event (see the module's
    docstring). Those are the hashes of other cases' events too, which, to someone who can
    read an event's other columns, would confirm a guess of a withheld Part 2: only for an
    exporter cleared for Part 2 (the same rule as checking the store against a kept digest).
    """
    found, proof = inclusion_proof_or_none(store, case_id)
    if found is None or proof is None:
        raise NoSuchCase(case_id)
    records = [r for r in store.read_stream(case_id) if r.position <= found.position]
    events = [BundleEvent.of(r) for r in records]
    state, _ = _fold(events)
    log: LogSegment | None = None
    if with_log:
        start = records[0].position - 1
        log = LogSegment(
            start=start,
            frontier=[h.hex() for h in store_frontier(store, start)],
            hashes=event_hashes(store, start, found.position),
        )
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
        log=log,
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


def render(evidence: Evidence, *, reasons: bool = True) -> str:
    """The bundle file: the report, with the evidence as JSON inside it (`reasons=False`:
    the report as bundles exported before it showed reasons and comments)."""
    state, decoded = _fold(evidence.events)
    entries = timeline(evidence.case_id, decoded, reasons=reasons)
    decision = decision_event(decoded)
    dumped = evidence.model_dump(mode="json")
    if evidence.log is None:  # a v1 bundle: its evidence exactly as v1 wrote it
        del dumped["log"]
    if evidence.digest.log is None:
        del dumped["digest"]["log"]
    payload = json.dumps(dumped, sort_keys=True, indent=1, ensure_ascii=False).replace("</", "<\\/")
    report = ENVIRONMENT.get_template("evidence.html").render(
        evidence=evidence,
        state=state,
        entries=entries,
        decision_recorded=recorded_words(decision) if decision is not None else None,
        events=evidence.events,
        exported_at=datetime.fromisoformat(evidence.exported_at),
        reasons=reasons,
        board=board_advice_event(decoded) if reasons else None,
    )
    return report.replace("<!--EVIDENCE-->", f"{_SCRIPT_OPEN}{payload}</script>")


def export_bundle(
    store: EventStore,
    case_id: str,
    *,
    exported_by: str,
    exported_at: datetime,
    with_log: bool = True,
) -> tuple[Evidence, bytes]:
    """The evidence and the bundle file's bytes (UTF-8 HTML)."""
    evidence = collect(
        store, case_id, exported_by=exported_by, exported_at=exported_at, with_log=with_log
    )
    return evidence, render(evidence).encode("utf-8")


# -- checking, offline ------------------------------------------------------------------------


@dataclass
class CheckResult:
    """The outcome of checking a bundle: every problem found, in the order checked."""

    problems: list[str] = field(default_factory=list)
    evidence: Evidence | None = None
    #: What was proven, in plain words, when there is no problem.
    proven: list[str] = field(default_factory=list)
    #: With a kept digest: the versions of the bundle's events it covers, and those after it.
    covered: list[int] = field(default_factory=list)
    after: list[int] = field(default_factory=list)

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
    if isinstance(data, dict) and data.get("format") not in BUNDLE_FORMATS:
        raise ValueError(
            f"unknown bundle format {str(data.get('format'))[:40]!r}; expected one of "
            f"{', '.join(BUNDLE_FORMATS)}"
        )
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


def _versions(events: list[BundleEvent]) -> str:
    if not events:
        return "none"
    first, last = events[0].version, events[-1].version
    return f"v{first}" if first == last else f"v{first} to v{last}"


@dataclass
class _Log:
    """A v2 bundle's log, decoded: the leaves after `start` and the frontier before."""

    start: int
    frontier: list[bytes]
    leaves: list[bytes]

    def root(self, size: int) -> bytes:
        return root_from(self.start, self.frontier, self.leaves, size)


def _check_log(evidence: Evidence, log: LogSegment) -> tuple[list[str], _Log | None]:
    """The carried log holds the bundle's events where they stand and leads to the digest."""
    export = evidence.digest
    if export.log is None:
        return ["the bundle carries an event log but its digest has no log root"], None
    if len(log.hashes) != export.position - log.start:
        return [
            f"the carried log holds {len(log.hashes)} events, not the "
            f"{export.position - log.start} from position {log.start + 1} to the digest's "
            f"{export.position}"
        ], None
    problems: list[str] = []
    for e in evidence.events:
        at = e.position - log.start - 1
        if not 0 <= at < len(log.hashes) or log.hashes[at] != e.hash:
            problems.append(f"{_name(e)} is not in the carried log at its position")
    try:
        decoded = _Log(
            start=log.start,
            frontier=[bytes.fromhex(h) for h in log.frontier],
            leaves=[leaf_of(h) for h in log.hashes],
        )
        root = decoded.root(export.position)
    except (ValueError, CannotCompute) as exc:
        return [*problems, f"the carried log cannot be read: {exc}"], None
    if root.hex() != export.log:
        problems.append(
            "the carried log does not lead to the digest's log root: events of the store "
            "were changed, removed or added"
        )
    return problems, decoded


def _check_kept(
    evidence: Evidence,
    log: _Log | None,
    kept: Digest,
    later: ConsistencyProof | None,
    result: CheckResult,
) -> None:
    """Check the bundle against a digest kept outside Ratify, at the export or not."""
    export = evidence.digest
    events = evidence.events
    if kept.position == export.position or kept.log is None or log is None:
        if kept.position != export.position:
            result.problems.append(
                f"the digest you kept covers position {kept.position}; this bundle was proven "
                f"against position {export.position}"
                + (
                    " and carries no event log (an older bundle, or exported without Part 2 "
                    "clearance): check it against the digest taken at its export"
                    if log is None
                    else ": your digest (an older format) has no log root to compare; "
                    "take a digest with `ratify audit digest`"
                )
            )
        elif (kept.root, kept.streams) != (export.root, export.streams) or (
            kept.log is not None and kept.log != export.log
        ):
            result.problems.append(
                "the bundle's digest is not the digest you kept: the store it came from is not "
                "the store your digest covers (or the bundle was rebuilt)"
            )
        else:
            result.proven.append("that digest is the one you kept")
        return
    if kept.position < export.position:
        if kept.position < log.start:
            result.problems.append(
                f"the digest you kept (position {kept.position}) was taken before the case's "
                f"first event (position {log.start + 1}): it covers none of this bundle's "
                "events, so it cannot vouch for them"
            )
            return
        if log.root(kept.position).hex() != kept.log:
            result.problems.append(
                f"the digest you kept is not the store's log at position {kept.position} as "
                "this bundle carries it: the digest was forged or is from another store, or "
                "the events were changed since"
            )
            return
    else:
        if later is None:
            result.problems.append(
                f"the digest you kept (position {kept.position}) was taken after this bundle's "
                f"export (position {export.position}): give the consistency proof between "
                f"them with --proof (`ratify audit prove {export.position} --to "
                f"{kept.position}`)"
            )
            return
        if (later.old_size, later.new_size) != (export.position, kept.position):
            result.problems.append(
                f"the consistency proof is from position {later.old_size} to "
                f"{later.new_size}, not from the export's {export.position} to your digest's "
                f"{kept.position}"
            )
            return
        try:
            path = [bytes.fromhex(h) for h in later.proof]
        except ValueError:
            result.problems.append("the consistency proof holds a hash that is not hex")
            return
        assert export.log is not None  # checked with the carried log
        problem = consistency_problem(
            export.position,
            kept.position,
            bytes.fromhex(export.log),
            bytes.fromhex(kept.log),
            path,
        )
        if problem is not None:
            result.problems.append(
                f"the digest you kept does not extend the bundle's export digest: {problem}"
            )
            return
    covered = [e for e in events if e.position <= kept.position]
    after = [e for e in events if e.position > kept.position]
    result.covered = [e.version for e in covered]
    result.after = [e.version for e in after]
    if kept.position < export.position:
        result.proven.append(
            f"the digest you kept (position {kept.position}) is the store's log as this bundle "
            f"carries it: it covers {_versions(covered)} of the case; "
            + (
                f"{_versions(after)} came after it (up to the export at position {export.position})"
                if after
                else f"none of the case's events came after it (up to the export at position "
                f"{export.position})"
            )
        )
    else:
        result.proven.append(
            f"the digest you kept (position {kept.position}) extends the export's (position "
            f"{export.position}), by the consistency proof: it covers every event of this "
            f"bundle ({_versions(covered)}); events after the export are not in this bundle"
        )


def check_bundle(
    document: str, kept: Digest | None = None, later: ConsistencyProof | None = None
) -> CheckResult:
    """Check a bundle file with no database or server; `kept` is a digest kept outside, taken
    at the export, before it (from the case's first event on) or after it (with `later`, the
    consistency proof from the export's position to the kept digest's)."""
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
    log: _Log | None = None
    if evidence.log is not None:
        log_problems, log = _check_log(evidence, evidence.log)
        result.problems += log_problems
    if not result.problems:
        try:
            again = render(evidence)
        except Exception as exc:  # the events themselves no longer decode
            result.problems.append(f"the events cannot be read back into a case: {exc}")
        else:
            # A bundle exported before the report showed reasons and comments.
            if again != document and render(evidence, reasons=False) != document:
                result.problems.append(
                    "the human-readable report was edited: it is not what the evidence says"
                )
    if result.problems:
        return result
    result.proven.append(
        f"{len(evidence.events)} events of {evidence.case_id}, every hash recomputed and "
        "chained from the first"
    )
    result.proven.append(
        f"the case's head is in the store digest at position {evidence.digest.position} "
        f"(root {evidence.digest.root})"
    )
    if log is not None:
        result.proven.append(
            f"the store's event log from position {log.start + 1} to "
            f"{evidence.digest.position} leads to the digest's log root {evidence.digest.log}"
        )
    if kept is not None:
        _check_kept(evidence, log, kept, later, result)
        if result.problems:
            result.proven.clear()
    else:
        result.proven.append(
            "no kept digest was given: this proves the file is consistent, not that it "
            "matches the store; pass --digest with a digest kept outside Ratify"
        )
    return result


def bundle_sha256(content: bytes) -> str:
    """The SHA-256 of a bundle file, recorded in the access log with its export."""
    return hashlib.sha256(content).hexdigest()
