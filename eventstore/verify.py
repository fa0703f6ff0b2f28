"""Integrity verification of stored events (hash chains and global positions).

Rows are read *raw* (no type conversion), because a tampered row may no longer
convert: a verifier must report such a row, not crash on it. Each raw value must
be exactly the stored form the store itself writes (for example SQLite datetimes
as ``YYYY-MM-DD HH:MM:SS.ffffff``, UUIDs as 32 lower-case hex digits), so even an
edit that keeps the meaning but changes the stored bytes is reported. Those forms,
the columns selected and the fast row hash are each backend's
(:mod:`eventstore.backends`); the rules below are the same for every backend.

One pass in global position order looks for three kinds of problem:

1. *row problems*: a row whose own hash does not match its columns
   (:attr:`ProblemKind.HASH_MISMATCH`) or cannot be read at all
   (:attr:`ProblemKind.MALFORMED_ROW`). Every stored column is hashed, so an
   edit of any column of a row is reported against that row;
2. *link problems* within a stream: versions must run 1, 2, 3, ... in position
   order (:attr:`ProblemKind.VERSION_SEQUENCE`: deletion, insertion, reordering)
   and each ``prev_hash`` must equal the previous event's ``hash``
   (:attr:`ProblemKind.PREV_HASH_MISMATCH`: forged or spliced rows);
3. *position gaps* (only when verifying everything): positions must run
   1, 2, 3, ... (:attr:`ProblemKind.POSITION_SEQUENCE`), which also reveals the
   deletion of the last event of any stream except the last event overall.

The first row problem in position order is reported if there is one, otherwise
the first link problem, otherwise the first position problem: a tampered row
explains the broken links around it, not the other way round.

Not detected without an external digest (a later issue): removal of the newest
events of a stream when verifying that stream alone, removal of the newest
events of the whole log, and rows appended by someone who can write to the
database and recomputes the hashes (the chain proves order and integrity, not
authorship).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from uuid import UUID

from eventstore.backends import BACKENDS
from eventstore.backends.base import Backend, Malformed
from eventstore.hashing import GENESIS_HASH, HashInput, row_hash
from eventstore.rawdb import EVENTS
from eventstore.schema import COLUMN_NAMES

_HEX64 = re.compile(r"[0-9a-f]{64}")


class ProblemKind(StrEnum):
    """What is wrong with the event named in a :class:`VerificationProblem`."""

    MALFORMED_ROW = "malformed_row"
    HASH_MISMATCH = "hash_mismatch"
    VERSION_SEQUENCE = "version_sequence"
    PREV_HASH_MISMATCH = "prev_hash_mismatch"
    POSITION_SEQUENCE = "position_sequence"


@dataclass(frozen=True)
class VerificationProblem:
    """The first broken link found, naming the stored row where it was seen.

    ``event_id``, ``stream_id`` and ``version`` are given as stored (``version``
    is ``None`` if the stored value is not an integer).
    """

    kind: ProblemKind
    position: int
    event_id: str
    stream_id: str
    version: int | None
    detail: str

    def __str__(self) -> str:
        return (
            f"event {self.event_id} (stream {self.stream_id!r}, version {self.version}, "
            f"position {self.position}): {self.kind.value}: {self.detail}"
        )


@dataclass(frozen=True)
class VerificationResult:
    """Outcome of a verification. ``events_checked`` counts the rows examined."""

    ok: bool
    events_checked: int
    first_problem: VerificationProblem | None

    def __str__(self) -> str:
        if self.ok:
            return f"ok: {self.events_checked} events verified"
        return f"BROKEN after {self.events_checked} events checked: {self.first_problem}"


@dataclass(frozen=True, slots=True)
class _Decoded:
    hash_input: HashInput
    stored_hash: str


def verify_stream(backend: Backend, stream_id: str) -> VerificationResult:
    """Verify one stream's rows: each row's hash, versions 1..n, the prev_hash chain."""
    query = f"SELECT {backend.verify_columns} FROM {EVENTS} WHERE stream_id = {backend.db.param} "
    with backend.db.transaction(write=False) as tx:
        rows = backend.fetch(tx, query + 'ORDER BY "position"', (stream_id,))
        return check_rows(rows, backend.dialect_name, check_positions=False)


def verify_all(backend: Backend) -> VerificationResult:
    """Verify every stream, and that global positions run 1, 2, 3, ... without gaps."""
    query = f'SELECT {backend.verify_columns} FROM {EVENTS} ORDER BY "position"'
    with backend.db.transaction(write=False) as tx:
        rows = backend.fetch(tx, query, ())
        return check_rows(rows, backend.dialect_name, check_positions=True)


def check_rows(
    rows: Iterable[Sequence[Any]], dialect_name: str, *, check_positions: bool
) -> VerificationResult:
    """Check raw rows (columns in table order, as the backend of ``dialect_name``
    selects them for verification) given in position order.

    See the module docstring. A row whose values all have exactly the stored form is
    hashed straight from them (the backend's ``row_hash``); if that matches its stored
    hash the row is intact (and its stored hash, equal to a SHA-256 hex digest, well
    formed). Any other row goes through :func:`decode` and
    :func:`~eventstore.hashing.row_hash`, which say what is wrong with it.
    """
    backend = BACKENDS[dialect_name]
    fast_hash = backend.row_hash
    link_problem: VerificationProblem | None = None
    position_problem: VerificationProblem | None = None
    streams: dict[str, tuple[int, str]] = {}
    expected_position = 1
    checked = 0
    genesis = (0, GENESIS_HASH)

    for raw in rows:
        checked += 1
        stored_hash = raw[13]
        recomputed = fast_hash(raw)
        if recomputed is not None and recomputed == stored_hash:
            position, stream_id, version, prev_hash = raw[0], raw[2], raw[3], raw[12]
            last_version, last_hash = streams.get(stream_id, genesis)
            # The fast path hashes prev_hash as any text: it must still be 64 hex digits,
            # which it is if it equals the (well-formed) hash it links to.
            if prev_hash != last_hash and not _HEX64.fullmatch(prev_hash):
                return _malformed(raw, backend, checked)
        else:
            try:
                decoded = decode(raw, backend)
            except Malformed as exc:
                return VerificationResult(
                    False, checked, _problem(ProblemKind.MALFORMED_ROW, raw, str(exc))
                )
            row = decoded.hash_input
            position, stream_id, version = row.position, row.stream_id, row.version
            prev_hash, stored_hash = row.prev_hash, decoded.stored_hash
            recomputed = row_hash(row)
            if recomputed != stored_hash:
                return VerificationResult(
                    False,
                    checked,
                    _problem(
                        ProblemKind.HASH_MISMATCH,
                        raw,
                        f"stored hash {stored_hash} but the row's columns hash to "
                        f"{recomputed}: the row was modified",
                    ),
                )
            last_version, last_hash = streams.get(stream_id, genesis)

        if link_problem is None:
            if version != last_version + 1:
                if last_version == 0:
                    what = "the stream's first stored event"
                else:
                    what = f"it follows version {last_version}"
                link_problem = _problem(
                    ProblemKind.VERSION_SEQUENCE,
                    raw,
                    f"expected version {last_version + 1} but found {version} ({what}): "
                    "events were deleted, inserted or reordered",
                )
            elif prev_hash != last_hash:
                link_problem = _problem(
                    ProblemKind.PREV_HASH_MISMATCH,
                    raw,
                    f"prev_hash {prev_hash} does not match the hash {last_hash} of "
                    + (
                        f"version {last_version}"
                        if last_version
                        else "the genesis (version 1 must follow 64 zeros)"
                    )
                    + ": the chain was spliced",
                )
        streams[stream_id] = (version, stored_hash)

        if check_positions and position_problem is None and position != expected_position:
            if position > expected_position:
                detail = (
                    f"expected position {expected_position} but found {position}: "
                    f"positions {expected_position}..{position - 1} are missing "
                    "(events were deleted)"
                )
            else:
                detail = f"expected position {expected_position} but found {position}"
            position_problem = _problem(ProblemKind.POSITION_SEQUENCE, raw, detail)
        expected_position = position + 1

    first = link_problem or position_problem
    return VerificationResult(first is None, checked, first)


def _malformed(raw: Sequence[Any], backend: type[Backend], checked: int) -> VerificationResult:
    """The result for a row :func:`decode` refuses."""
    try:
        decode(raw, backend)
    except Malformed as exc:
        return VerificationResult(
            False, checked, _problem(ProblemKind.MALFORMED_ROW, raw, str(exc))
        )
    raise AssertionError(f"row {raw!r} is not malformed")  # pragma: no cover


def _problem(kind: ProblemKind, row: Sequence[Any], detail: str) -> VerificationProblem:
    raw = _mapping(row)
    event_id = raw["event_id"]
    if isinstance(event_id, str):
        with contextlib.suppress(ValueError):
            event_id = UUID(event_id)
    version = raw["version"]
    return VerificationProblem(
        kind=kind,
        position=int(raw["position"]),
        event_id=str(event_id),
        stream_id=str(raw["stream_id"]),
        version=version if _is_int(version) else None,
        detail=detail,
    )


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _mapping(row: Sequence[Any]) -> Mapping[str, Any]:
    return dict(zip(COLUMN_NAMES, row, strict=True))


def decode(row: Sequence[Any], backend: type[Backend]) -> _Decoded:
    """Turn a raw row into the values that are hashed, or raise
    :class:`~eventstore.backends.base.Malformed`."""
    raw = _mapping(row)

    def integer(name: str) -> int:
        value = raw[name]
        if not _is_int(value):
            raise Malformed(f"{name} is {value!r}, not an integer")
        return int(value)

    def text(name: str) -> str:
        value = raw[name]
        if not isinstance(value, str):
            raise Malformed(f"{name} is {value!r}, not text")
        return value

    def digest(name: str) -> str:
        value = text(name)
        if not _HEX64.fullmatch(value):
            raise Malformed(f"{name} is {value!r}, not 64 lower-case hex digits")
        return value

    timestamp = backend.timestamp
    hash_input = HashInput(
        position=integer("position"),
        event_id=backend.event_id(raw["event_id"]),
        stream_id=text("stream_id"),
        version=integer("version"),
        event_type=text("event_type"),
        schema_version=integer("schema_version"),
        occurred_at=timestamp("occurred_at", raw["occurred_at"]),
        recorded_at=timestamp("recorded_at", raw["recorded_at"]),
        actor_id=text("actor_id"),
        actor_role=text("actor_role"),
        data_text=text("data"),
        metadata_text=text("metadata"),
        prev_hash=digest("prev_hash"),
    )
    return _Decoded(hash_input=hash_input, stored_hash=digest("hash"))
