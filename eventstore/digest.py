"""A store-wide digest, kept outside the system, and the proof that nothing it covered changed.

The digest of the store at a global position P is the Merkle root of every stream's head
at P: the (stream id, version, hash) of each stream's last event with a position <= P,
sorted by stream id. Because each head hash chains all the stream's earlier events, the
root commits to every event up to P.

`verify_since(store, old)` recomputes the root at the old digest's position from the store
as it is now and checks the whole store's chains: it fails if any event the old digest
covered was edited (even with the stream re-hashed), deleted, reordered or truncated away,
while events appended since are allowed. Export a digest (`Digest.model_dump_json()`) and
keep it somewhere Ratify cannot write: append-only consistency is only as good as that.
"""

from __future__ import annotations

import hashlib
import json

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field

from eventstore.schema import events as _events
from eventstore.store import EventStore

DIGEST_FORMAT = "ratify-digest-v1"


class Digest(BaseModel):
    """What an auditor keeps: the root, the position it covers, and how many streams."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    format: str = DIGEST_FORMAT
    position: int = Field(ge=0)
    streams: int = Field(ge=0)
    root: str = Field(pattern=r"^[0-9a-f]{64}$")


class SinceResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    ok: bool
    detail: str


def _leaf(stream_id: str, version: int, head: str) -> bytes:
    data = json.dumps([stream_id, version, head], separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(b"\x00" + data.encode()).digest()


def merkle_root(leaves: list[bytes]) -> str:
    """The root over leaf hashes (an odd node is carried up unchanged); empty: SHA-256('')."""
    if not leaves:
        return hashlib.sha256(b"").hexdigest()
    level = leaves
    while len(level) > 1:
        paired = [
            hashlib.sha256(b"\x01" + level[i] + level[i + 1]).digest()
            for i in range(0, len(level) - 1, 2)
        ]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0].hex()


def stream_heads(store: EventStore, position: int) -> list[tuple[str, int, str]]:
    """(stream id, version, hash) of every stream's last event at or before `position`."""
    e = _events
    last = (
        sa.select(e.c.stream_id, sa.func.max(e.c.version).label("version"))
        .where(e.c.position <= position)
        .group_by(e.c.stream_id)
        .subquery()
    )
    query = (
        sa.select(e.c.stream_id, e.c.version, e.c.hash)
        .join(last, sa.and_(e.c.stream_id == last.c.stream_id, e.c.version == last.c.version))
        .order_by(e.c.stream_id)
    )
    with store.engine.connect() as conn:
        return [(r.stream_id, int(r.version), str(r.hash)) for r in conn.execute(query)]


def digest(store: EventStore, position: int | None = None) -> Digest:
    """The digest of the store now, or as it stood at a global position."""
    at = store.last_position() if position is None else position
    heads = stream_heads(store, at)
    return Digest(
        position=at,
        streams=len(heads),
        root=merkle_root([_leaf(*head) for head in heads]),
    )


def verify_since(store: EventStore, old: Digest) -> SinceResult:
    """Prove the store still holds, unchanged, everything an older digest covered."""
    if old.format != DIGEST_FORMAT:
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
    if now.root != old.root or now.streams != old.streams:
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
