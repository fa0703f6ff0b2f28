"""The store-wide digest: kept outside, it proves later that nothing it covered changed."""

from __future__ import annotations

import hashlib

import pytest
import sqlalchemy as sa

from eventstore import EventStore
from eventstore.digest import (
    Digest,
    InclusionProof,
    NotInDigest,
    ProofStep,
    digest,
    inclusion_problem,
    inclusion_proof,
    leaf_hash,
    merkle_path,
    merkle_root,
    verify_inclusion,
    verify_since,
)
from eventstore.hashing import HashInput, canonical_json, row_hash
from eventstore.schema import events as events_table
from tests.eventstore.helpers import execute, new_event, populate


def _rehash_stream_from(store: EventStore, stream_id: str, version: int, data: dict) -> None:
    """Edit one event and re-chain its stream so that the stream alone still verifies:
    what a tamperer with database access and the hashing code could do."""
    records = store.read_stream(stream_id)
    prev = records[version - 2].hash if version > 1 else "0" * 64
    with store.engine.begin() as conn:
        for record in records[version - 1 :]:
            new_data = data if record.version == version else record.data
            hashed = HashInput(
                position=record.position,
                event_id=record.event_id,
                stream_id=stream_id,
                version=record.version,
                event_type=record.event_type,
                schema_version=record.schema_version,
                occurred_at=record.occurred_at,
                recorded_at=record.recorded_at,
                actor_id=record.actor_id,
                actor_role=record.actor_role,
                data_text=canonical_json(new_data),
                metadata_text=canonical_json(record.metadata),
                prev_hash=prev,
            )
            prev = row_hash(hashed)
            conn.execute(
                sa.update(events_table)
                .where(events_table.c.position == record.position)
                .values(data=hashed.data_text, prev_hash=hashed.prev_hash, hash=prev)
            )


def test_a_digest_still_verifies_after_appends(store: EventStore):
    populate(store, streams=3, per_stream=4)
    kept = Digest.model_validate_json(digest(store).model_dump_json())  # stored outside
    assert (kept.position, kept.streams) == (12, 3)
    store.append("stream-0", 4, [new_event()])
    store.append("stream-9", 0, [new_event()])
    result = verify_since(store, kept)
    assert result.ok and "2 events appended since" in result.detail
    assert digest(store, kept.position) == kept
    assert digest(store).root != kept.root


def test_an_edit_re_hashed_into_its_stream_is_caught(store: EventStore):
    populate(store, streams=3, per_stream=4)
    kept = digest(store)
    _rehash_stream_from(store, "stream-1", 2, {"n": 99, "forged": True})
    assert store.verify_all().ok  # the re-hashed chain alone looks fine
    result = verify_since(store, kept)
    assert not result.ok and "not those the digest covered" in result.detail


def test_truncating_a_stream_or_the_log_is_caught(store: EventStore):
    populate(store, streams=3, per_stream=4)
    kept = digest(store)
    last = store.read_stream("stream-2")[-1]
    execute(store, "DELETE FROM events WHERE position = :p", {"p": last.position})
    result = verify_since(store, kept)
    assert not result.ok and "before the digest's 12" in result.detail


def test_deleting_the_newest_event_of_a_stream_mid_log_is_caught(store: EventStore):
    populate(store, streams=3, per_stream=4)
    store.append("stream-0", 4, [new_event()])  # so stream-1's newest is not the log's newest
    kept = digest(store)
    newest = store.read_stream("stream-1")[-1]
    execute(store, "DELETE FROM events WHERE position = :p", {"p": newest.position})
    assert not verify_since(store, kept).ok


def test_the_merkle_root_depends_on_every_leaf_and_its_place():
    leaves = [bytes([i]) * 32 for i in range(5)]
    root = merkle_root(leaves)
    assert root != merkle_root(leaves[:4]) and root != merkle_root(leaves[::-1])
    assert merkle_root([]) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def test_the_tree_carries_an_odd_node_up_unchanged_and_a_proof_skips_that_level():
    a, b, c, d, e = (leaf_hash(f"s-{i}", 1, f"{i:x}" * 64) for i in range(5))
    assert merkle_root([a, b, c]) == _node(_node(a, b), c).hex()
    top = _node(_node(a, b), _node(c, d))
    assert merkle_root([a, b, c, d, e]) == _node(top, e).hex()
    assert merkle_path([a, b, c, d, e], 4) == (ProofStep(side="left", hash=top.hex()),)
    assert merkle_path([a, b, c, d, e], 2) == (
        ProofStep(side="right", hash=d.hex()),
        ProofStep(side="left", hash=_node(a, b).hex()),
        ProofStep(side="right", hash=e.hex()),
    )
    assert merkle_path([a], 0) == ()
    with pytest.raises(IndexError):
        merkle_path([a, b], 2)


def test_a_proof_from_every_leaf_of_trees_of_1_to_40_leaves_leads_to_the_root():
    heads = [(f"s-{i:02}", i + 1, hashlib.sha256(str(i).encode()).hexdigest()) for i in range(40)]
    for size in range(1, 41):
        leaves = [leaf_hash(*head) for head in heads[:size]]
        root = merkle_root(leaves)
        for index, (stream_id, version, head) in enumerate(heads[:size]):
            path = merkle_path(leaves, index)
            assert len(path) <= (size - 1).bit_length()
            proof = InclusionProof(
                stream_id=stream_id,
                version=version,
                head=head,
                index=index,
                leaves=size,
                path=path,
            )
            assert inclusion_problem(proof, root) is None, (size, index)
            assert verify_inclusion(proof, root)
            if size > 1:
                assert not verify_inclusion(proof, merkle_root(leaves[:-1]))


def test_every_streams_proof_verifies_in_trees_of_1_to_20_streams(store: EventStore):
    heads: dict[str, tuple[int, str]] = {}
    for n in range(20):
        # New streams come in out of id order, and some streams grow between digests.
        stream_id = f"s-{(n * 7) % 20:02}"
        (record,) = store.append(stream_id, 0, [new_event()])
        heads[stream_id] = (record.version, record.hash)
        if n % 3 == 0:
            grown = sorted(heads)[n // 2]
            (record,) = store.append(grown, heads[grown][0], [new_event()])
            heads[grown] = (record.version, record.hash)
        now = digest(store)
        assert now.streams == len(heads) == n + 1
        for stream_id, (version, head) in heads.items():
            at, proof = inclusion_proof(store, stream_id)
            assert at == now
            assert (proof.stream_id, proof.version, proof.head) == (stream_id, version, head)
            assert proof.leaves == now.streams and proof.index == sorted(heads).index(stream_id)
            assert verify_inclusion(proof, now.root), (n, stream_id)
            assert InclusionProof.model_validate_json(proof.model_dump_json()) == proof


def _changed(proof: InclusionProof) -> dict[str, InclusionProof]:
    """Every way of altering one part of a proof."""
    other = "f" * 64 if proof.head != "f" * 64 else "e" * 64
    flipped = {"left": "right", "right": "left"}
    changes = {
        "head": proof.model_copy(update={"head": other}),
        "version up": proof.model_copy(update={"version": proof.version + 1}),
        "version down": proof.model_copy(update={"version": proof.version - 1}),
        "stream id": proof.model_copy(update={"stream_id": proof.stream_id + "x"}),
        "index": proof.model_copy(update={"index": proof.index ^ 1}),
        "a step added": proof.model_copy(
            update={"path": (*proof.path, ProofStep(side="right", hash=other))}
        ),
    }
    for level, step in enumerate(proof.path):
        path = list(proof.path)
        path[level] = step.model_copy(update={"hash": other})
        changes[f"sibling {level}"] = proof.model_copy(update={"path": tuple(path)})
        path[level] = step.model_copy(update={"side": flipped[step.side]})
        changes[f"side {level}"] = proof.model_copy(update={"path": tuple(path)})
        del path[level]
        changes[f"step {level} dropped"] = proof.model_copy(update={"path": tuple(path)})
    return changes


def test_a_proof_fails_if_any_part_of_it_or_the_root_is_changed(store: EventStore):
    populate(store, streams=7, per_stream=2)
    store.append("stream-3", 2, [new_event()])
    now = digest(store)
    for s in range(7):
        at, proof = inclusion_proof(store, f"stream-{s}")
        assert at == now and verify_inclusion(proof, now.root)
        assert proof.path, "a tree of 7 leaves has a step for every leaf"
        for what, changed in _changed(proof).items():
            assert not verify_inclusion(changed, now.root), (s, what)
            assert not verify_inclusion(changed, now), (s, what)
            assert inclusion_problem(changed, now.root), (s, what)
        for wrong in (digest(store, now.position - 1).root, "0" * 64, now.root.upper()):
            assert not verify_inclusion(proof, wrong), (s, wrong)
        # The root alone does not fix the number of leaves (leaf 0 has the same path in
        # trees of 6, 7 and 8 leaves); the kept digest's number of streams does.
        assert verify_inclusion(proof, now)
        for leaves in (6, 8):
            other_size = proof.model_copy(update={"leaves": leaves})
            if s == 0:
                assert verify_inclusion(other_size, now.root)
            assert not verify_inclusion(other_size, now)
            problem = inclusion_problem(other_size, now)
            assert problem == f"the proof is for {leaves} leaves, the digest has 7 streams"


def test_a_proof_at_an_earlier_position_verifies_only_against_that_digest(store: EventStore):
    populate(store, streams=3, per_stream=4)
    early, early_proof = inclusion_proof(store, "stream-1", 5)
    assert (early.position, early.streams, early_proof.version) == (5, 3, 2)
    kept, proof = inclusion_proof(store, "stream-1")
    assert (kept.position, proof.version) == (12, 4)
    assert verify_inclusion(proof, kept.root) and verify_inclusion(early_proof, early.root)
    assert not verify_inclusion(early_proof, kept.root)

    store.append("stream-1", 4, [new_event()])
    store.append("stream-9", 0, [new_event()])
    now, fresh = inclusion_proof(store, "stream-1")
    assert (now.position, now.streams, fresh.version) == (14, 4, 5)
    assert inclusion_proof(store, "stream-1", 12) == (kept, proof)
    assert inclusion_proof(store, "stream-1", 5) == (early, early_proof)
    assert verify_inclusion(proof, kept.root) and not verify_inclusion(proof, now.root)
    assert verify_inclusion(fresh, now.root) and not verify_inclusion(fresh, kept.root)


def test_a_proof_of_a_stream_without_an_event_at_the_position_is_refused(store: EventStore):
    with pytest.raises(NotInDigest, match="'stream-0' has no event at or before position 0"):
        inclusion_proof(store, "stream-0")
    populate(store, streams=3, per_stream=2)
    with pytest.raises(ValueError, match="'stream-2' has no event at or before position 2"):
        inclusion_proof(store, "stream-2", 2)  # its first event is at position 3
    with pytest.raises(NotInDigest, match="'nope' has no event at or before position 6"):
        inclusion_proof(store, "nope")
    assert inclusion_proof(store, "stream-2", 3)[1].version == 1


def test_the_audit_commands_export_a_digest_and_prove_against_it(store: EventStore, tmp_path):
    from typer.testing import CliRunner

    from ratify.cli.main import app

    populate(store, streams=2, per_stream=3)
    url = store.engine.url.render_as_string(hide_password=False)
    runner = CliRunner()
    exported = runner.invoke(app, ["--database-url", url, "audit", "digest", "--json"])
    assert exported.exit_code == 0, exported.output
    kept = tmp_path / "digest.json"
    kept.write_text(exported.stdout)
    store.append("stream-0", 3, [new_event()])
    ok = runner.invoke(app, ["--database-url", url, "audit", "verify", "--since", str(kept)])
    assert ok.exit_code == 0 and "1 events appended since" in ok.stdout
    _rehash_stream_from(store, "stream-1", 1, {"forged": True})
    bad = runner.invoke(app, ["--database-url", url, "audit", "verify", "--since", str(kept)])
    assert bad.exit_code == 1 and "not consistent with the digest" in bad.stderr
    missing = runner.invoke(app, ["--database-url", url, "audit", "verify", "--since", "nope.json"])
    assert missing.exit_code == 2 and "--since: nope.json" in missing.stderr


def test_the_leaves_are_ordered_by_the_stream_ids_bytes_whatever_the_database_collation(
    store: EventStore,
):
    # A locale-aware collation would put "a" before "B" and "é" beside "e"; UTF-8 bytes do not.
    ids = ["b-1", "B-2", "é-3", "a-4", "e-5", "Z-6"]
    for stream_id in ids:
        store.append(stream_id, 0, [new_event()])
    heads = {s: (store.stream_version(s), store.read_stream(s)[-1].hash) for s in ids}
    in_byte_order = sorted(ids, key=lambda s: s.encode("utf-8"))
    assert in_byte_order == ["B-2", "Z-6", "a-4", "b-1", "e-5", "é-3"]
    expected = merkle_root([leaf_hash(s, *heads[s]) for s in in_byte_order])
    assert digest(store).root == expected
