"""The store as an append-only log: an RFC 6962 Merkle tree over every event, in position order.

Why a second tree beside the digest's root over stream heads (`eventstore.digest`): that root
changes shape as the store grows (a stream's leaf is replaced by its new head, new streams
are inserted in sorted order), so two of its roots cannot be related without the whole
store. A Merkle tree whose leaves are the events in position order only grows on the right:
the tree of the first *m* events is a prefix of the tree of the first *n*, and Certificate
Transparency's consistency proofs (RFC 6962 section 2.1.2, verified as RFC 9162 section
2.1.4.2 says) show that one root extends another. Positions have no gaps (`verify_all`
checks it), so the tree at position *P* has exactly *P* leaves, leaf *i* being the event at
position *i + 1*.

Hashes, as RFC 6962: a leaf is SHA-256(0x00 + the event's 32-byte hash), a node SHA-256(0x01
+ left + right), the tree of n > 1 leaves splits at the largest power of two below n, the
root of no leaves is SHA-256 of nothing. The event's hash already commits to every stored
column, its position and its stream's previous hash.

A *frontier* of the first m leaves is the roots of the perfect subtrees m decomposes into (one
per bit of m, largest first): every one is a node of every larger tree, so the frontier and
the leaves after it are enough to compute the root of the tree of any size from m upwards
(:func:`root_from`). An evidence bundle carries its case's frontier and the leaves from the
case's first event to the export, and so checks against a digest kept at any position in
between, with no database.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

import sqlalchemy as sa

from eventstore.schema import events as _events
from eventstore.store import EventStore

EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_of(event_hash: str) -> bytes:
    """The RFC 6962 leaf hash of one event: SHA-256(0x00 + its hash's 32 bytes)."""
    return hashlib.sha256(b"\x00" + bytes.fromhex(event_hash)).digest()


def node(left: bytes, right: bytes) -> bytes:
    """An interior node: SHA-256(0x01 + left + right)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two strictly below n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def mth(leaves: Sequence[bytes]) -> bytes:
    """RFC 6962's Merkle Tree Hash over leaf hashes (already leaf-hashed)."""
    if not leaves:
        return EMPTY_ROOT
    if len(leaves) == 1:
        return leaves[0]
    k = _split(len(leaves))
    return node(mth(leaves[:k]), mth(leaves[k:]))


def frontier(leaves: Iterable[bytes]) -> list[bytes]:
    """The roots of the perfect subtrees the leaves decompose into, left to right."""
    stack: list[tuple[int, bytes]] = []
    for leaf in leaves:
        size, top = 1, leaf
        while stack and stack[-1][0] == size:
            below = stack.pop()[1]
            size, top = size * 2, node(below, top)
        stack.append((size, top))
    return [h for _, h in stack]


def root_of_frontier(nodes: Sequence[bytes]) -> bytes:
    """The root of the tree whose frontier this is (the subtrees folded from the right)."""
    if not nodes:
        return EMPTY_ROOT
    root = nodes[-1]
    for left in reversed(nodes[:-1]):
        root = node(left, root)
    return root


def _blocks(start: int) -> list[tuple[int, int]]:
    """The (first leaf, end) of each perfect subtree of a frontier of `start` leaves."""
    blocks: list[tuple[int, int]] = []
    lo = 0
    for bit in reversed(range(start.bit_length())):
        if start & (1 << bit):
            blocks.append((lo, lo + (1 << bit)))
            lo += 1 << bit
    return blocks


class CannotCompute(ValueError):
    """The frontier and leaves given do not determine the root asked for."""


def root_from(start: int, nodes: Sequence[bytes], after: Sequence[bytes], size: int) -> bytes:
    """The root of the first `size` leaves, from the frontier of the first `start` (`nodes`)
    and the leaves that follow (`after`, leaves start, start + 1, ...).

    Raises :class:`CannotCompute` unless start <= size <= start + len(after) and the
    frontier has one node per bit of `start`.
    """
    blocks = _blocks(start)
    if len(nodes) != len(blocks):
        raise CannotCompute(
            f"a frontier of {start} leaves has {len(blocks)} nodes, not {len(nodes)}"
        )
    if not start <= size <= start + len(after):
        raise CannotCompute(
            f"the tree of {size} leaves is not between {start} and {start + len(after)}"
        )
    known = dict(zip(blocks, nodes, strict=True))

    def hash_of(lo: int, hi: int) -> bytes:
        found = known.get((lo, hi))
        if found is not None:
            return found
        if lo >= start:
            return mth(after[lo - start : hi - start])
        if hi - lo == 1:  # pragma: no cover - every leaf before start is in a frontier block
            raise CannotCompute(f"leaf {lo} is before the frontier's end")
        k = _split(hi - lo)
        return node(hash_of(lo, lo + k), hash_of(lo + k, hi))

    return EMPTY_ROOT if size == 0 else hash_of(0, size)


# -- consistency proofs (RFC 6962 2.1.2, verified as RFC 9162 2.1.4.2) ----------------------


def consistency_proof(leaves: Sequence[bytes], old_size: int) -> list[bytes]:
    """PROOF(m, D[n]): the nodes showing the tree of the first `old_size` leaves is a prefix
    of the tree of all of them (empty when the sizes are equal)."""
    if not 0 <= old_size <= len(leaves):
        raise ValueError(f"old size {old_size} is not between 0 and {len(leaves)}")
    if old_size in (0, len(leaves)):
        return []
    return _subproof(old_size, leaves, True)


def _subproof(m: int, leaves: Sequence[bytes], complete: bool) -> list[bytes]:
    n = len(leaves)
    if m == n:
        return [] if complete else [mth(leaves)]
    k = _split(n)
    if m <= k:
        return [*_subproof(m, leaves[:k], complete), mth(leaves[k:])]
    return [*_subproof(m - k, leaves[k:], False), mth(leaves[:k])]


def consistency_problem(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> str | None:
    """Why `proof` does not show the tree (old_size, old_root) is a prefix of (new_size,
    new_root), or None if it does (RFC 9162 section 2.1.4.2)."""
    if not 0 <= old_size <= new_size:
        return f"the older tree ({old_size} events) is larger than the newer ({new_size})"
    if old_size == new_size:
        if proof:
            return "a proof between trees of the same size must be empty"
        return None if old_root == new_root else "the two roots of the same size differ"
    if old_size == 0:
        return None if not proof and old_root == EMPTY_ROOT else "the empty tree's root is wrong"
    path = list(proof)
    if not path:
        return "the proof is empty"
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return "the proof is longer than the trees"
        if fn & 1 or fn == sn:
            fr, sr = node(c, fr), node(c, sr)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn, sn = fn >> 1, sn >> 1
        else:
            sr = node(sr, c)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        return "the proof is shorter than the trees"
    if fr != old_root:
        return "the proof does not lead to the older root"
    if sr != new_root:
        return "the proof does not lead to the newer root"
    return None


# -- over a store ----------------------------------------------------------------------------


def event_hashes(store: EventStore, after: int, upto: int) -> list[str]:
    """The hashes of the events at positions after < p <= upto, in position order."""
    e = _events
    query = (
        sa.select(e.c.hash).where(e.c.position > after, e.c.position <= upto).order_by(e.c.position)
    )
    with store.engine.connect() as conn:
        return [str(h) for (h,) in conn.execute(query)]


def store_frontier(store: EventStore, size: int) -> list[bytes]:
    """The frontier of the first `size` events (one pass, holding only the frontier)."""
    e = _events
    query = sa.select(e.c.hash).where(e.c.position <= size).order_by(e.c.position)
    with store.engine.connect() as conn:
        rows = conn.execution_options(yield_per=2000).execute(query)
        return frontier(leaf_of(str(h)) for (h,) in rows)


def store_root(store: EventStore, size: int) -> str:
    """The RFC 6962 root over the first `size` events, hex."""
    return root_of_frontier(store_frontier(store, size)).hex()


def store_consistency(store: EventStore, old_size: int, new_size: int) -> list[str]:
    """The consistency proof from the first `old_size` events to the first `new_size`, hex."""
    leaves = [leaf_of(h) for h in event_hashes(store, 0, new_size)]
    if len(leaves) != new_size:
        raise ValueError(f"the store holds {len(leaves)} events, not {new_size}")
    return [h.hex() for h in consistency_proof(leaves, old_size)]
