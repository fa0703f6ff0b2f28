"""Tampering with stored events by direct SQL, and what an auditor then sees.

Each test takes a store of three interleaved streams (``populate``: stream-N's version v is
at position 3(v-1)+N+1), has an auditor keep a digest and an inclusion proof of every
stream's head, tampers as someone with write access to the database would, and checks:

* ``verify_all`` / ``verify_stream``: the first broken link, naming the stream, version,
  position and event id, where a hash chain can show the tamper at all;
* ``verify_since`` against the digest kept before: fails for every kind of tamper;
* the inclusion proofs kept before, against the digest computed after: they stop verifying
  when the tamper changed a stream's head. Edits, deletions and swaps behind an intact
  head leave the root as it was (it covers the stored head hashes); the chain check in
  ``verify_since`` is what catches those.

Every test runs on SQLite and on PostgreSQL (the ``store`` fixture).
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from eventstore import EventStore, ProblemKind, StoredEvent, VerificationResult
from eventstore.digest import (
    Digest,
    InclusionProof,
    digest,
    inclusion_proof,
    verify_inclusion,
    verify_since,
)
from eventstore.hashing import HashInput, canonical_json, row_hash
from tests.eventstore.helpers import execute, new_event, populate
from tests.eventstore.test_digest import _rehash_stream_from

STREAMS = ("stream-0", "stream-1", "stream-2")


@dataclass(frozen=True)
class Kept:
    """What the auditor kept before the tamper: a digest and a proof of each stream's head."""

    digest: Digest
    proofs: dict[str, InclusionProof]


def _keep(store: EventStore) -> Kept:
    """The auditor's digest and proofs, after checking that the untampered store verifies."""
    kept = digest(store)
    proofs = {}
    for stream_id in STREAMS:
        at, proofs[stream_id] = inclusion_proof(store, stream_id)
        assert at == kept and verify_inclusion(proofs[stream_id], kept)
        assert store.verify_stream(stream_id).ok
    assert store.verify_all().ok
    result = verify_since(store, kept)
    assert result.ok, result.detail
    return Kept(kept, proofs)


def _event(store: EventStore, stream_id: str, version: int) -> StoredEvent:
    return store.read_stream(stream_id)[version - 1]


def _assert_first_problem(
    result: VerificationResult, kind: ProblemKind, event: StoredEvent, detail: str
) -> None:
    """The result is broken first at ``event`` (as it is stored now), for this reason."""
    assert not result.ok
    problem = result.first_problem
    assert problem is not None
    assert problem.kind is kind, problem
    assert (problem.stream_id, problem.version, problem.position, problem.event_id) == (
        event.stream_id,
        event.version,
        event.position,
        str(event.event_id),
    ), problem
    assert detail in problem.detail, problem.detail
    assert str(event.event_id) in str(result)


def _assert_since_fails(store: EventStore, kept: Kept, detail: str) -> None:
    result = verify_since(store, kept.digest)
    assert not result.ok
    assert detail in result.detail, result.detail


def _assert_kept_proofs(store: EventStore, kept: Kept, *, still_verify: bool) -> None:
    """Whether the proofs kept before the tamper verify against the digest computed now."""
    now = digest(store, kept.digest.position)
    # the heads root, which the inclusion proofs lead to (the log root over every event's
    # stored hash is another matter: a deleted or moved row changes it)
    assert ((now.root, now.streams) == (kept.digest.root, kept.digest.streams)) is still_verify
    for stream_id, proof in kept.proofs.items():
        assert verify_inclusion(proof, now) is still_verify, stream_id


@pytest.fixture
def kept(store: EventStore) -> Kept:
    populate(store, streams=3, per_stream=4)
    return _keep(store)


def test_edit_a_field(store: EventStore, kept: Kept) -> None:
    victim = _event(store, "stream-1", 2)
    execute(
        store,
        "UPDATE events SET data = :data WHERE position = :p",
        {"data": '{"n":1,"s":1,"text":"approved"}', "p": victim.position},
    )

    for result in (store.verify_all(), store.verify_stream("stream-1")):
        _assert_first_problem(result, ProblemKind.HASH_MISMATCH, victim, "the row was modified")
    assert store.verify_stream("stream-0").ok
    _assert_since_fails(
        store, kept, f"a hash chain is broken at stream-1 v2 (position {victim.position})"
    )
    _assert_kept_proofs(store, kept, still_verify=True)  # the stored head hashes are intact


def test_delete_a_row(store: EventStore, kept: Kept) -> None:
    victim, successor = _event(store, "stream-1", 2), _event(store, "stream-1", 3)
    execute(store, "DELETE FROM events WHERE position = :p", {"p": victim.position})

    for result in (store.verify_all(), store.verify_stream("stream-1")):
        _assert_first_problem(
            result, ProblemKind.VERSION_SEQUENCE, successor, "expected version 2 but found 3"
        )
    _assert_since_fails(
        store, kept, f"a hash chain is broken at stream-1 v3 (position {successor.position})"
    )
    _assert_kept_proofs(store, kept, still_verify=True)  # stream-1's head (v4) is intact


def test_swap_two_rows(store: EventStore, kept: Kept) -> None:
    first, second = _event(store, "stream-1", 2), _event(store, "stream-1", 3)
    moves = [(first.position, 1000), (second.position, first.position), (1000, second.position)]
    for old, new in moves:
        execute(
            store, "UPDATE events SET position = :to WHERE position = :at", {"at": old, "to": new}
        )
    moved = _event(store, "stream-1", 3)
    assert (moved.event_id, moved.position) == (second.event_id, first.position)

    for result in (store.verify_all(), store.verify_stream("stream-1")):
        # v3's hash covers its old position: the first row out of place is the one reported.
        _assert_first_problem(result, ProblemKind.HASH_MISMATCH, moved, "the row was modified")
    _assert_since_fails(
        store, kept, f"a hash chain is broken at stream-1 v3 (position {first.position})"
    )
    _assert_kept_proofs(store, kept, still_verify=True)  # the set of heads is unchanged


def test_truncate_a_stream_at_the_end_of_the_log(store: EventStore) -> None:
    populate(store, streams=3, per_stream=4)
    store.append("stream-1", 4, [new_event(), new_event()])  # positions 13 and 14
    kept = _keep(store)
    execute(store, "DELETE FROM events WHERE stream_id = 'stream-1' AND version > 4")

    # What a chain check alone cannot see: what is left is a valid chain without gaps.
    assert store.verify_stream("stream-1").ok and store.verify_all().ok
    _assert_since_fails(store, kept, "the store ends at position 12, before the digest's 14")
    now = digest(store, kept.digest.position)
    assert now.root != kept.digest.root
    assert not verify_inclusion(kept.proofs["stream-1"], now)
    assert not verify_inclusion(kept.proofs["stream-0"], now)  # the root changed for all

    # Hidden by new appends, so the log reaches the digest's position again: the root differs.
    store.append("stream-0", 4, [new_event(), new_event()])
    assert store.last_position() == kept.digest.position and store.verify_all().ok
    _assert_since_fails(store, kept, "are not those the digest covered")
    _assert_kept_proofs(store, kept, still_verify=False)


def test_truncate_a_stream_in_the_middle_of_the_log(store: EventStore, kept: Kept) -> None:
    removed = [_event(store, "stream-1", v) for v in (3, 4)]  # positions 8 and 11
    execute(store, "DELETE FROM events WHERE stream_id = 'stream-1' AND version > 2")

    # stream-1 alone is a valid chain of 2 events; the log shows the first missing position.
    assert store.verify_stream("stream-1").ok
    after_gap = _event(store, "stream-2", 3)  # position 9
    _assert_first_problem(
        store.verify_all(),
        ProblemKind.POSITION_SEQUENCE,
        after_gap,
        f"positions {removed[0].position}..{removed[0].position} are missing",
    )
    _assert_since_fails(
        store, kept, f"a hash chain is broken at stream-2 v3 (position {after_gap.position})"
    )
    _assert_kept_proofs(store, kept, still_verify=False)


def test_rehash_a_modified_stream_without_its_later_neighbours(
    store: EventStore, kept: Kept
) -> None:
    """Edit stream-1 v2 and re-chain stream-1 from there: every chain is valid again."""
    others = {s: store.read_stream(s) for s in ("stream-0", "stream-2")}
    _rehash_stream_from(store, "stream-1", 2, {"n": 1, "s": 1, "text": "approved"})
    assert {s: store.read_stream(s) for s in others} == others  # untouched

    # What a chain check alone cannot see.
    assert store.verify_all().ok
    assert all(store.verify_stream(s).ok for s in STREAMS)
    _assert_since_fails(store, kept, "are not those the digest covered")
    _assert_kept_proofs(store, kept, still_verify=False)
    for stream_id in STREAMS:
        now, proof = inclusion_proof(store, stream_id)
        assert verify_inclusion(proof, now) and not verify_inclusion(proof, kept.digest)
    # stream-0's head is as it was, but its path passes through stream-1's new leaf.
    before, after = kept.proofs["stream-0"], inclusion_proof(store, "stream-0")[1]
    assert (after.version, after.head) == (before.version, before.head)
    assert after.path != before.path
    assert inclusion_proof(store, "stream-1")[1].head != kept.proofs["stream-1"].head


def test_rehash_only_the_modified_row(store: EventStore, kept: Kept) -> None:
    """Edit stream-1 v2 and fix its own hash, but not the prev_hash of v3 that follows it."""
    victim, follower = _event(store, "stream-1", 2), _event(store, "stream-1", 3)
    forged = HashInput(
        position=victim.position,
        event_id=victim.event_id,
        stream_id=victim.stream_id,
        version=victim.version,
        event_type=victim.event_type,
        schema_version=victim.schema_version,
        occurred_at=victim.occurred_at,
        recorded_at=victim.recorded_at,
        actor_id=victim.actor_id,
        actor_role=victim.actor_role,
        data_text=canonical_json({"n": 1, "s": 1, "text": "approved"}),
        metadata_text=canonical_json(victim.metadata),
        prev_hash=victim.prev_hash,
    )
    execute(
        store,
        "UPDATE events SET data = :data, hash = :hash WHERE position = :p",
        {"data": forged.data_text, "hash": row_hash(forged), "p": victim.position},
    )

    for result in (store.verify_all(), store.verify_stream("stream-1")):
        _assert_first_problem(
            result, ProblemKind.PREV_HASH_MISMATCH, follower, "the chain was spliced"
        )
    _assert_since_fails(
        store, kept, f"a hash chain is broken at stream-1 v3 (position {follower.position})"
    )
    _assert_kept_proofs(store, kept, still_verify=True)  # stream-1's head (v4) is intact
