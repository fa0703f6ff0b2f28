"""PostgreSQL faults: the writer's connection killed under it, and text PostgreSQL cannot hold.

Connection loss. Two writer threads append batches (1 to 3 events, ids drawn once per
batch) to a handful of streams, the way the `record_events` activity does under Temporal's
retries: on any error, read the stream's version again and append the *same* batch, same
event ids, again. Meanwhile an admin connection terminates the writers' backends
(`pg_terminate_backend`, matched by `application_name`) every few milliseconds, whether they
are in the middle of an append, a read, or idle in the pool. Afterwards every batch is stored,
each event id exactly once, in order within its stream, versions and positions gap-free,
and every chain verifies. A kill between the commit and its acknowledgement is the case the
idempotent append exists for: the retry finds its ids stored and gets the stored records.

Then the pool itself: the writers' pooled connections are killed while idle, and the very
next append, with no retry, must succeed, because the store's engine pings a connection
before handing it out (`pool_pre_ping`, set by `eventstore.create_engine_for`). The same
with `pool_pre_ping=False` fails on the dead connection: the control that shows the test
can tell.

How it fails if a rule breaks: an append that is not idempotent on its ids stores a retried
batch twice (the id count catches it); one that is not atomic leaves half a batch (a gap in
the versions, or a partial-batch conflict that never resolves); one that wrote outside the
append lock leaves a gap in positions; `verify_all` catches an edited chain.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError

from domain.casefile import CaseFileError, parse_case
from domain.events import CaseDrafted
from domain.roles import Actor, Role
from eventstore import ConcurrencyConflict, EventStore, NewEvent, StoredEvent
from ratify.infra.db import migrate_app
from ratify.services.journal import CaseJournal
from ratify.services.projections.case_search import case_summary
from ratify.services.projections.projector import Projector
from tests.faults.helpers import METTRACE

pytestmark = pytest.mark.postgres

WRITER = "ratify-faults-writer"
THREADS = 2
BATCHES = 120  # per thread
STREAMS = 4  # per thread
KILL_EVERY = 0.015  # seconds
TIME_LIMIT = 60.0  # seconds, for the whole storm


def _admin(url: URL) -> sa.Engine:
    return sa.create_engine(url, isolation_level="AUTOCOMMIT", pool_size=1, max_overflow=0)


def _kill_writers(admin: sa.Engine, database: str) -> int:
    with admin.connect() as conn:
        return len(
            conn.execute(
                sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :db AND application_name = :app AND pid <> pg_backend_pid()"
                ),
                {"db": database, "app": WRITER},
            ).all()
        )


def _event(batch: int, n: int) -> NewEvent:
    return NewEvent(
        event_id=uuid.uuid4(),
        event_type="fault.appended",
        schema_version=1,
        occurred_at=datetime.now(UTC),
        actor_id="writer",
        actor_role="system",
        data={"batch": batch, "n": n, "text": "£ é ✓"},
    )


@pytest.fixture
def writer_store(pg_migrated_database: URL) -> Iterator[EventStore]:
    store = EventStore.from_url(
        pg_migrated_database,
        pool_size=THREADS,
        connect_args={"application_name": WRITER, "connect_timeout": 5},
    )
    yield store
    store.close()


def test_appends_survive_their_connections_being_killed(
    writer_store: EventStore, pg_migrated_database: URL
):
    store = writer_store
    admin = _admin(pg_migrated_database)
    database = str(pg_migrated_database.database)
    rng = random.Random(7)
    plans: list[list[tuple[str, list[NewEvent]]]] = [
        [
            (f"s{t}-{b % STREAMS}", [_event(b, n) for n in range(rng.randint(1, 3))])
            for b in range(BATCHES)
        ]
        for t in range(THREADS)
    ]
    errors: Counter[str] = Counter()
    lock = threading.Lock()
    deadline = time.monotonic() + TIME_LIMIT
    failures: list[BaseException] = []

    def append(stream: str, batch: list[NewEvent]) -> list[StoredEvent]:
        """As the activity under Temporal's retries: read where the stream is, append the
        same batch (same ids) again, until it goes through."""
        while True:
            assert time.monotonic() < deadline, "appends did not get through in time"
            try:
                return store.append(stream, store.stream_version(stream), batch)
            except (DBAPIError, ConcurrencyConflict) as exc:
                with lock:
                    errors[type(exc).__name__] += 1
                time.sleep(0.002)

    def write(plan: list[tuple[str, list[NewEvent]]]) -> None:
        try:
            for index, (stream, batch) in enumerate(plan):
                stored = append(stream, batch)
                if index % 4 == 0:
                    # The acknowledgement is lost (the worker died after the commit): the
                    # activity runs again with the same ids, and gets the stored records.
                    assert append(stream, batch) == stored
                    with lock:
                        errors["lost acknowledgement, retried"] += 1
        except BaseException as exc:
            failures.append(exc)

    writers = [threading.Thread(target=write, args=(plan,)) for plan in plans]
    for thread in writers:
        thread.start()
    kills = 0
    while any(thread.is_alive() for thread in writers) and time.monotonic() < deadline:
        kills += _kill_writers(admin, database)
        time.sleep(KILL_EVERY)
    for thread in writers:
        thread.join(timeout=max(1.0, deadline - time.monotonic()))
    assert not failures, failures
    assert kills > 10 and errors["OperationalError"] > 5, (kills, errors)
    assert errors["lost acknowledgement, retried"] == THREADS * len(range(0, BATCHES, 4))

    records = store.read_all()
    ids = Counter(r.event_id for r in records)
    assert max(ids.values()) == 1, "an event id is stored twice"
    wanted = [e.event_id for plan in plans for _, batch in plan for e in batch]
    assert set(ids) == set(wanted), "a batch is missing"
    assert [r.position for r in records] == list(range(1, len(records) + 1))
    for plan in plans:
        for stream in {s for s, _ in plan}:
            stored = store.read_stream(stream)
            assert [r.version for r in stored] == list(range(1, len(stored) + 1))
            assert [r.event_id for r in stored] == [
                e.event_id for s, batch in plan if s == stream for e in batch
            ]
    result = store.verify_all()
    assert result.ok and result.events_checked == len(wanted), str(result)

    # the pool never hands out a connection killed while it sat idle
    store.stream_version("s0-0")  # (a connection back in the pool)
    assert _kill_writers(admin, database) >= 1
    stored = store.append("after", 0, [_event(-1, 0)])  # no retry
    assert stored[0].version == 1
    admin.dispose()


def test_without_a_ping_the_pool_hands_out_a_dead_connection(pg_migrated_database: URL):
    """The control: what the store's engine would do without `pool_pre_ping`."""
    store = EventStore.from_url(
        pg_migrated_database,
        pool_pre_ping=False,
        connect_args={"application_name": WRITER, "connect_timeout": 5},
    )
    admin = _admin(pg_migrated_database)
    try:
        store.stream_version("s")
        assert _kill_writers(admin, str(pg_migrated_database.database)) >= 1
        with pytest.raises(DBAPIError):
            store.append("s", 0, [_event(0, 0)])
        assert store.read_all() == []
    finally:
        store.close()
        admin.dispose()


ODD_TITLES = [
    "Met\x01Trace",
    "Met\x1fTrace",
    "Met\x7fTrace",
    "Met\u2028Trace",
    "\u202eMet",
    "Met 😀",
    "Met\ufeff",
]


def test_every_text_a_case_file_may_hold_fits_the_read_views(pg_migrated_database: URL):
    """What the case-file rules accept must be storable by PostgreSQL in the read views: a
    title with U+0000 was accepted, stored in its event as a JSON escape, and then stopped the
    projector on every catch-up, for every case (PostgreSQL refuses NUL in text)."""
    migrate_app(pg_migrated_database)
    store = EventStore.from_url(pg_migrated_database)
    engine = sa.create_engine(pg_migrated_database)
    officer = Actor(user_id="ollie.lane", role=Role.ORIGINATING_OFFICER)
    try:
        with pytest.raises(CaseFileError, match=r"title: text cannot contain the NUL"):
            parse_case(METTRACE.replace("title: Met Trace", 'title: "Met\\0Trace"'), "x.yaml")
        for i, title in enumerate(ODD_TITLES):
            case = parse_case(
                METTRACE.replace("title: Met Trace", "title: " + _yaml_string(title)), "x.yaml"
            )
            assert case.title == title.strip()
            event = CaseDrafted(
                event_id=uuid.uuid4(),
                case_id=f"odd-{i}",
                occurred_at=datetime.now(UTC),
                actor=officer,
                case=case,
            )
            CaseJournal(store).record(f"odd-{i}", [event])
        Projector(store, engine).catch_up()
        for i, title in enumerate(ODD_TITLES):
            summary = case_summary(engine, f"odd-{i}")
            assert summary is not None and summary.title == title.strip()
    finally:
        store.close()
        engine.dispose()


def _yaml_string(value: str) -> str:
    """A YAML double-quoted scalar for `value` (escapes for the control characters)."""
    escaped = "".join(c if c.isprintable() and c != '"' else f"\\u{ord(c):04x}" for c in value)
    return f'"{escaped}"'
