"""A store-wide digest, kept outside the system, and the proof that nothing it covered changed.

The digest of the store at a global position P is the Merkle root of every stream's head
at P: the (stream id, version, hash) of each stream's last event with a position <= P,
sorted by stream id. Because each head hash chains all the stream's earlier events, the
root commits to every event up to P.

The tree: each head is a leaf ``leaf_hash(stream_id, version, head)`` = SHA-256(0x00 +
the compact JSON ``[stream_id, version, head]``); a node is SHA-256(0x01 + left + right);
at each level the nodes are paired left to right and an odd last node is carried up to
the next level unchanged (not hashed). The root of no leaves is SHA-256 of nothing.

`verify_since(store, old)` recomputes the root at the old digest's position from the store
as it is now and checks the whole store's chains: it fails if any event the old digest
covered was edited (even with the stream re-hashed), deleted, reordered or truncated away,
while events appended since are allowed. Export a digest (`Digest.model_dump_json()`) and
keep it somewhere Ratify cannot write: append-only consistency is only as good as that.

`inclusion_proof(store, stream_id, position)` gives the digest at a position and an
`InclusionProof` that one stream's head at that position is a leaf of it: the leaf's
index, the number of leaves, and the sibling hashes from the leaf up to the root.
`verify_inclusion(proof, root_or_digest)` checks a proof against a kept digest with no
database, so whoever holds a digest can check one stream's head (and, given that stream's
events, its whole chain up to that version) without the rest of the store. A proof shows
that head was in the root; it says nothing about other streams, and only the chain shows
that the stream's earlier events are those the head covers.

A v2 digest also holds `log`, the RFC 6962 root over every event up to P in position order
(`eventstore.log`): unlike the root over heads, it only grows on the right, so a digest kept
at one position can be related to a bundle or digest at another by a consistency proof.
"""

from __future__ import annotations

import hashlib
import json
from typing import Literal

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field

from eventstore.log import store_root
from eventstore.schema import events as _events
from eventstore.store import EventStore

DIGEST_FORMAT = "ratify-digest-v2"
DIGEST_FORMATS = ("ratify-digest-v1", DIGEST_FORMAT)
"""v1 has the root over stream heads only; v2 adds `log`, the RFC 6962 root over every event
(`eventstore.log`), which relates digests taken at different positions."""

_HEX64 = r"^[0-9a-f]{64}$"


class Digest(BaseModel):
    """What an auditor keeps: the root, the position it covers, and how many streams."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    format: str = DIGEST_FORMAT
    position: int = Field(ge=0)
    streams: int = Field(ge=0)
    root: str = Field(pattern=_HEX64)
    #: The RFC 6962 root over the first `position` events (v2; None in a v1 digest).
    log: str | None = Field(default=None, pattern=_HEX64)


class SinceResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    ok: bool
    detail: str


class ProofStep(BaseModel):
    """One level of an inclusion proof: the sibling's hash and the side it is on."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    side: Literal["left", "right"]
    hash: str = Field(pattern=_HEX64)


class InclusionProof(BaseModel):
    """The proof that a stream's head (`version`, `head` hash) is a leaf of a digest's root.

    `index` is the leaf's place among the `leaves` (the digest's streams, sorted by stream
    id); `path` the sibling of each level from the leaf up, skipping the levels where the
    node is the odd one out and is carried up unchanged.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    stream_id: str
    version: int = Field(ge=1)
    head: str = Field(pattern=_HEX64)
    index: int = Field(ge=0)
    leaves: int = Field(ge=1)
    path: tuple[ProofStep, ...]


class NotInDigest(ValueError):
    """The stream has no event at or before the position, so it has no leaf to prove."""

    def __init__(self, stream_id: str, position: int) -> None:
        super().__init__(f"stream {stream_id!r} has no event at or before position {position}")
        self.stream_id = stream_id
        self.position = position


def leaf_hash(stream_id: str, version: int, head: str) -> bytes:
    """The leaf of one stream's head: SHA-256(0x00 + compact JSON [stream_id, version, head])."""
    data = json.dumps([stream_id, version, head], separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(b"\x00" + data.encode()).digest()


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def merkle_root(leaves: list[bytes]) -> str:
    """The root over leaf hashes (an odd node is carried up unchanged); empty: SHA-256('')."""
    if not leaves:
        return hashlib.sha256(b"").hexdigest()
    level = leaves
    while len(level) > 1:
        paired = [_node(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0].hex()


def merkle_path(leaves: list[bytes], index: int) -> tuple[ProofStep, ...]:
    """The siblings from leaf `index` up to the root of :func:`merkle_root` over `leaves`."""
    if not 0 <= index < len(leaves):
        raise IndexError(f"leaf index {index} is not in a tree of {len(leaves)} leaves")
    path: list[ProofStep] = []
    level = leaves
    while len(level) > 1:
        if index % 2:
            path.append(ProofStep(side="left", hash=level[index - 1].hex()))
        elif index + 1 < len(level):
            path.append(ProofStep(side="right", hash=level[index + 1].hex()))
        # else: the odd last node, carried up unchanged: no step at this level.
        paired = [_node(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
        index //= 2
    return tuple(path)


def _expected_sides(index: int, leaves: int) -> list[Literal["left", "right"]]:
    """The side of the sibling at each level of a proof, from the leaf's place in the tree."""
    sides: list[Literal["left", "right"]] = []
    while leaves > 1:
        if index % 2:
            sides.append("left")
        elif index + 1 < leaves:
            sides.append("right")
        index //= 2
        leaves = (leaves + 1) // 2
    return sides


def inclusion_problem(proof: InclusionProof, root: str | Digest) -> str | None:
    """Why `proof` does not lead to `root`, or None if it does (see :func:`verify_inclusion`)."""
    if isinstance(root, Digest):
        if root.streams != proof.leaves:
            return f"the proof is for {proof.leaves} leaves, the digest has {root.streams} streams"
        root = root.root
    if proof.index >= proof.leaves:
        return f"leaf index {proof.index} is not in a tree of {proof.leaves} leaves"
    sides = _expected_sides(proof.index, proof.leaves)
    if [step.side for step in proof.path] != sides:
        return (
            f"the path's sides {[step.side for step in proof.path]} are not those of leaf "
            f"{proof.index} of {proof.leaves}: {sides}"
        )
    node = leaf_hash(proof.stream_id, proof.version, proof.head)
    for step in proof.path:
        try:
            sibling = bytes.fromhex(step.hash)
        except ValueError:
            return f"the path's hash {step.hash!r} is not hex"
        node = _node(sibling, node) if step.side == "left" else _node(node, sibling)
    if node.hex() != root:
        return (
            f"{proof.stream_id!r} v{proof.version} ({proof.head}) leads to root {node.hex()}, "
            f"not {root}"
        )
    return None


def verify_inclusion(proof: InclusionProof, root: str | Digest) -> bool:
    """Whether the proof's stream head is a leaf of the tree with this root (no database).

    Recomputes the leaf from (stream id, version, head) and the nodes up the path, and
    checks that the path's shape is the one of leaf `index` in a tree of `leaves` leaves.
    The root does not commit to the number of leaves (leaf 0 has the same path in trees of
    7 and 8 leaves): given a kept :class:`Digest` rather than its root, `leaves` is also
    checked against the digest's number of streams.
    """
    return inclusion_problem(proof, root) is None


def stream_heads(store: EventStore, position: int) -> list[tuple[str, int, str]]:
    """(stream id, version, hash) of every stream's last event at or before `position`,
    ordered by the stream id's UTF-8 bytes (in Python: a database's collation would make
    the root depend on its locale)."""
    e = _events
    last = (
        sa.select(e.c.stream_id, sa.func.max(e.c.version).label("version"))
        .where(e.c.position <= position)
        .group_by(e.c.stream_id)
        .subquery()
    )
    query = sa.select(e.c.stream_id, e.c.version, e.c.hash).join(
        last, sa.and_(e.c.stream_id == last.c.stream_id, e.c.version == last.c.version)
    )
    with store.engine.connect() as conn:
        heads = [(r.stream_id, int(r.version), str(r.hash)) for r in conn.execute(query)]
    return sorted(heads, key=lambda head: head[0].encode("utf-8"))


def digest(store: EventStore, position: int | None = None) -> Digest:
    """The digest of the store now, or as it stood at a global position."""
    at = store.last_position() if position is None else position
    heads = stream_heads(store, at)
    return Digest(
        position=at,
        streams=len(heads),
        root=merkle_root([leaf_hash(*head) for head in heads]),
        log=store_root(store, at),
    )


def inclusion_proof(
    store: EventStore, stream_id: str, position: int | None = None
) -> tuple[Digest, InclusionProof]:
    """The digest at `position` (default: the last) and the proof of the stream's head in it.

    Raises :class:`NotInDigest` if the stream has no event at or before the position.
    """
    at = store.last_position() if position is None else position
    heads = stream_heads(store, at)
    # The leaves are in the order the digest hashes them (the database's), so look the
    # stream up rather than bisect.
    index = next((i for i, head in enumerate(heads) if head[0] == stream_id), None)
    if index is None:
        raise NotInDigest(stream_id, at)
    leaves = [leaf_hash(*head) for head in heads]
    found = Digest(
        position=at, streams=len(heads), root=merkle_root(leaves), log=store_root(store, at)
    )
    _, version, head = heads[index]
    proof = InclusionProof(
        stream_id=stream_id,
        version=version,
        head=head,
        index=index,
        leaves=len(leaves),
        path=merkle_path(leaves, index),
    )
    return found, proof


def verify_since(store: EventStore, old: Digest) -> SinceResult:
    """Prove the store still holds, unchanged, everything an older digest covered."""
    if old.format not in DIGEST_FORMATS:
        return SinceResult(ok=False, detail=f"unknown digest format {old.format!r}")
    last = store.last_position()
    if last < old.position:
        return SinceResult(
            ok=False,
            detail=f"the store ends at position {last}, before the digest's {old.position}: "
            "events it covered are gone",
        )
    chains = store.verify_all()
    if not chains.ok:
        problem = chains.first_problem
        where = (
            f" at {problem.stream_id} v{problem.version} (position {problem.position})"
            if problem
            else ""
        )
        return SinceResult(ok=False, detail=f"a hash chain is broken{where}")
    now = digest(store, old.position)
    if (
        now.root != old.root
        or now.streams != old.streams
        or (old.log is not None and now.log != old.log)
    ):
        return SinceResult(
            ok=False,
            detail=f"the events up to position {old.position} are not those the digest "
            "covered (edited, removed or re-hashed since)",
        )
    return SinceResult(
        ok=True,
        detail=f"everything up to position {old.position} is unchanged; "
        f"{last - old.position} events appended since",
    )
