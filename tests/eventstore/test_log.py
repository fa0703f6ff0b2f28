"""The store as an RFC 6962 log: roots and consistency proofs as Certificate Transparency's,
and the frontier that lets a bundle compute the root at any position after it."""

from __future__ import annotations

import hashlib

import pytest

from eventstore import EventStore
from eventstore.digest import digest
from eventstore.log import (
    CannotCompute,
    consistency_problem,
    consistency_proof,
    event_hashes,
    frontier,
    leaf_of,
    mth,
    root_from,
    store_consistency,
    store_frontier,
    store_root,
)
from tests.eventstore.helpers import new_event, populate

# The test data of RFC 6962's reference implementation (certificate-transparency-go).
DATA = ["", "00", "10", "2021", "3031", "40414243", "5051525354555657",
        "606162636465666768696a6b6c6d6e6f"]  # fmt: skip
ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
RFC_LEAVES = [hashlib.sha256(b"\x00" + bytes.fromhex(d)).digest() for d in DATA]


def _leaves(n: int) -> list[bytes]:
    return [leaf_of(hashlib.sha256(str(i).encode()).hexdigest()) for i in range(n)]


def test_roots_and_consistency_proofs_are_those_of_rfc_6962() -> None:
    assert [mth(RFC_LEAVES[:n]).hex() for n in range(1, 9)] == ROOTS
    assert [h.hex() for h in consistency_proof(RFC_LEAVES, 1)] == [
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ]
    assert [h.hex() for h in consistency_proof(RFC_LEAVES, 6)] == [
        "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ]
    assert mth([]) == hashlib.sha256(b"").digest()


def test_every_consistency_proof_of_trees_up_to_40_verifies_and_no_altered_one_does() -> None:
    leaves = _leaves(41)
    for n in range(41):
        for m in range(n + 1):
            proof = consistency_proof(leaves[:n], m)
            old, new = mth(leaves[:m]), mth(leaves[:n])
            assert consistency_problem(m, n, old, new, proof) is None, (m, n)
            if not 0 < m < n:
                continue
            # another old tree, another new tree, a proof cut short or with a node flipped
            assert consistency_problem(m, n, mth(leaves[1 : m + 1]), new, proof)
            assert consistency_problem(m, n, old, mth(leaves[1 : n + 1]), proof)
            assert consistency_problem(m, n, old, new, proof[:-1])
            flipped = [bytes([proof[0][0] ^ 1]) + proof[0][1:], *proof[1:]]
            assert consistency_problem(m, n, old, new, flipped)
            assert consistency_problem(n, m, new, old, proof)


def test_a_frontier_and_the_leaves_after_it_give_the_root_at_every_later_size() -> None:
    leaves = _leaves(70)
    for n in range(70):
        assert mth(leaves[:n]) == root_from(0, [], leaves[:n], n)
        for start in range(n + 1):
            nodes = frontier(leaves[:start])
            assert len(nodes) == bin(start).count("1")
            assert root_from(start, nodes, leaves[start:n], n) == mth(leaves[:n]), (start, n)
    with pytest.raises(CannotCompute):
        root_from(8, frontier(leaves[:8]), leaves[8:10], 7)  # before the frontier's end
    with pytest.raises(CannotCompute):
        root_from(8, frontier(leaves[:8]), leaves[8:10], 11)  # past the leaves given
    with pytest.raises(CannotCompute):
        root_from(7, frontier(leaves[:8]), leaves[7:10], 9)  # not the frontier of 7


def test_the_store_log_is_the_rfc_6962_tree_over_the_events_in_position_order(
    store: EventStore,
) -> None:
    populate(store, streams=3, per_stream=5)
    hashes = event_hashes(store, 0, store.last_position())
    assert len(hashes) == store.last_position() == 15
    leaves = [leaf_of(h) for h in hashes]
    for size in range(16):
        assert store_root(store, size) == mth(leaves[:size]).hex()
        assert store_frontier(store, size) == frontier(leaves[:size])
    assert digest(store).log == mth(leaves).hex()
    proof = [bytes.fromhex(h) for h in store_consistency(store, 6, 15)]
    assert consistency_problem(6, 15, mth(leaves[:6]), mth(leaves), proof) is None
    # the log only grows: an earlier root stays provable after more appends
    kept = digest(store, 9)
    store.append("another", 0, [new_event()])
    proof = [bytes.fromhex(h) for h in store_consistency(store, 9, 16)]
    assert kept.log is not None and digest(store).log is not None
    assert (
        consistency_problem(
            9, 16, bytes.fromhex(kept.log), bytes.fromhex(digest(store).log or ""), proof
        )
        is None
    )
