"""Throughput benchmark of the event store against the `eventsourcing` library's recorders.

Run: .venv/bin/python bench/eventstore_bench.py [--sqlite-only] [--events N] [--repeat N]
[--json PATH]

For each backend (SQLite in a temporary file; PostgreSQL in a temporary database,
dropped afterwards) it measures, for our EventStore and for eventsourcing 9.x's
application recorder (the baseline, run in the same process on the same server):

* append, one event per transaction (N events over 100 streams),
* append, 100-event batches (N events, one stream per batch),
* read_all, paging through the whole log 1,000 events at a time,
* read_stream, reading every stream in full,

and prints events/s and the ratio ours/baseline (above 1: ours is faster). With
``--repeat N`` each backend is measured N times, ours and the baseline one after the
other each time (on fresh databases), and the medians are printed: the events/s of
each side and the ratio of each round, so that one noisy moment on a shared machine
does not decide a figure.

The workloads are the same, but the work is not: our store validates events,
canonicalises JSON, hash-chains every row and checks expected versions and
event ids, under a global writer lock; the baseline stores an opaque blob per
event. Its SQLite recorder also runs with ``synchronous=FULL`` (SQLite's default)
where ours uses ``NORMAL``. Treat the ratios as "cost of our guarantees".

PostgreSQL URL: env RATIFY_TEST_PG_URL (default postgresql+psycopg://postgres@127.0.0.1:5432/test);
the database named there is used only to create and drop the temporary ones.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import NullPool

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from eventstore import EventStore, NewEvent, migrate

DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
STREAMS = 100
BATCH = 100
PAGE = 1000
OCCURRED = datetime(2024, 4, 1, 9, 30, tzinfo=UTC)


def payload(i: int) -> dict[str, Any]:
    return {
        "title": f"Decision {i}: approve the grant – Überprüfung",
        "amount": f"{1000 + i}.50",
        "approver": "director-of-finance",
        "conditions": ["report quarterly", "publish on the website"],
    }


def new_event(i: int) -> NewEvent:
    return NewEvent(
        event_id=uuid.uuid4(),
        event_type="DecisionApproved",
        schema_version=1,
        occurred_at=OCCURRED,
        actor_id="user-17",
        actor_role="director",
        data=payload(i),
        metadata={"correlation_id": str(i)},
    )


def timed(action: Callable[[], int]) -> tuple[float, int]:
    start = time.perf_counter()
    count = action()
    return time.perf_counter() - start, count


# --------------------------------------------------------------------------- ours


def bench_ours(url: str | URL, events: int) -> dict[str, float]:
    migrate(url)
    store = EventStore.from_url(url)
    try:
        return _workload_ours(store, events)
    finally:
        store.close()


def _workload_ours(store: EventStore, events: int) -> dict[str, float]:
    results: dict[str, float] = {}

    def singles() -> int:
        versions = [0] * STREAMS
        for i in range(events):
            s = i % STREAMS
            store.append(f"single-{s}", versions[s], [new_event(i)])
            versions[s] += 1
        return events

    def batches() -> int:
        for b in range(events // BATCH):
            store.append(f"batch-{b}", 0, [new_event(b * BATCH + k) for k in range(BATCH)])
        return (events // BATCH) * BATCH

    def read_all() -> int:
        count, after = 0, 0
        while page := store.read_all(after=after, limit=PAGE):
            count += len(page)
            after = page[-1].position
        return count

    def read_streams() -> int:
        count = 0
        for s in range(STREAMS):
            count += len(store.read_stream(f"single-{s}"))
        for b in range(events // BATCH):
            count += len(store.read_stream(f"batch-{b}"))
        return count

    for name, action in [
        ("append_single", singles),
        ("append_batch100", batches),
        ("read_all", read_all),
        ("read_stream", read_streams),
    ]:
        seconds, count = timed(action)
        results[name] = count / seconds
    seconds, _ = timed(lambda: int(store.verify_all().ok))
    results["verify_all"] = (events + (events // BATCH) * BATCH) / seconds
    return results


# --------------------------------------------------------------------- baseline


def _baseline_workload(recorder: Any, events: int) -> dict[str, float]:
    from eventsourcing.persistence import StoredEvent as EsStoredEvent

    streams = [uuid.uuid5(uuid.NAMESPACE_URL, f"single-{s}") for s in range(STREAMS)]
    batch_ids = [uuid.uuid5(uuid.NAMESPACE_URL, f"batch-{b}") for b in range(events // BATCH)]

    def state(i: int) -> bytes:
        document = {
            "data": payload(i),
            "metadata": {"correlation_id": str(i)},
            "occurred_at": OCCURRED.isoformat(),
            "actor_id": "user-17",
            "actor_role": "director",
            "schema_version": 1,
            "event_id": str(uuid.uuid4()),
        }
        return json.dumps(document, sort_keys=True, separators=(",", ":")).encode()

    def singles() -> int:
        versions = [0] * STREAMS
        for i in range(events):
            s = i % STREAMS
            versions[s] += 1
            recorder.insert_events(
                [EsStoredEvent(streams[s], versions[s], "ratify:DecisionApproved", state(i))]
            )
        return events

    def batches() -> int:
        for b, originator in enumerate(batch_ids):
            recorder.insert_events(
                [
                    EsStoredEvent(
                        originator, k + 1, "ratify:DecisionApproved", state(b * BATCH + k)
                    )
                    for k in range(BATCH)
                ]
            )
        return len(batch_ids) * BATCH

    def read_all() -> int:
        count, start = 0, 1
        while page := recorder.select_notifications(start=start, limit=PAGE):
            count += len(page)
            start = page[-1].id + 1
        return count

    def read_streams() -> int:
        count = 0
        for originator in streams + batch_ids:
            count += len(recorder.select_events(originator))
        return count

    results: dict[str, float] = {}
    for name, action in [
        ("append_single", singles),
        ("append_batch100", batches),
        ("read_all", read_all),
        ("read_stream", read_streams),
    ]:
        seconds, count = timed(action)
        results[name] = count / seconds
    return results


def bench_baseline_sqlite(path: Path, events: int) -> dict[str, float]:
    from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteDatastore

    datastore = SQLiteDatastore(db_name=str(path))
    try:
        recorder = SQLiteApplicationRecorder(datastore)
        recorder.create_table()
        return _baseline_workload(recorder, events)
    finally:
        datastore.close()


def bench_baseline_postgres(url: URL, events: int) -> dict[str, float]:
    from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore

    datastore = PostgresDatastore(
        dbname=url.database or "",
        host=url.host or "127.0.0.1",
        port=url.port or 5432,
        user=url.username or "postgres",
        password=url.password or "",
    )
    try:
        recorder = PostgresApplicationRecorder(datastore)
        recorder.create_table()
        return _baseline_workload(recorder, events)
    finally:
        datastore.close()


# --------------------------------------------------------------------- postgres


def _admin(url: URL) -> sa.Engine:
    return sa.create_engine(url, poolclass=NullPool, isolation_level="AUTOCOMMIT")


def with_pg_database(admin_url: URL, name: str, action: Callable[[URL], dict[str, float]]) -> Any:
    engine = _admin(admin_url)
    try:
        with engine.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        try:
            return action(admin_url.set(database=name))
        finally:
            with engine.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        engine.dispose()


# ------------------------------------------------------------------------ main


def report(title: str, rounds: list[tuple[dict[str, float], dict[str, float]]]) -> dict[str, Any]:
    """Print (and return) the medians over the rounds of (ours, baseline) figures."""
    suffix = f" (median of {len(rounds)} runs)" if len(rounds) > 1 else ""
    print(f"\n{title}{suffix}")
    print(f"  {'workload':<18}{'ours ev/s':>12}{'baseline ev/s':>16}{'ours/baseline':>15}")
    rows: dict[str, Any] = {}
    for name in rounds[0][0]:
        value = statistics.median(ours[name] for ours, _ in rounds)
        bases = [baseline[name] for _, baseline in rounds if baseline.get(name)]
        base = statistics.median(bases) if bases else None
        ratios = [ours[name] / baseline[name] for ours, baseline in rounds if baseline.get(name)]
        ratio = statistics.median(ratios) if ratios else None
        base_text = f"{base:>16,.0f}" if base else f"{'-':>16}"
        ratio_text = f"{ratio:>15.2f}" if ratio else f"{'-':>15}"
        print(f"  {name:<18}{value:>12,.0f}{base_text}{ratio_text}")
        rows[name] = {"ours": value, "baseline": base, "ratio": ratio}
        if len(rounds) > 1:
            rows[name]["runs"] = {
                "ours": [ours[name] for ours, _ in rounds],
                "baseline": [baseline.get(name) for _, baseline in rounds],
            }
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sqlite-only", action="store_true", help="skip PostgreSQL")
    parser.add_argument(
        "--events", type=int, default=5000, help="events per append workload (default 5000)"
    )
    parser.add_argument(
        "--repeat", type=int, default=1, help="runs per backend; medians are reported"
    )
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    events = max(BATCH, args.events)
    repeat = max(1, args.repeat)

    figures: dict[str, Any] = {
        "events": events,
        "repeat": repeat,
        "baseline": f"eventsourcing {importlib.metadata.version('eventsourcing')}",
        "results": {},
    }
    print(f"event store benchmark: {events} events per append workload")
    print(f"baseline: {figures['baseline']} application recorders")

    rounds = []
    for _ in range(repeat):
        with tempfile.TemporaryDirectory() as tmp:
            ours = bench_ours(f"sqlite:///{Path(tmp) / 'ours.db'}", events)
            baseline = bench_baseline_sqlite(Path(tmp) / "baseline.db", events)
        rounds.append((ours, baseline))
    figures["results"]["sqlite"] = report("SQLite (temporary file)", rounds)

    if not args.sqlite_only:
        admin = make_url(os.environ.get("RATIFY_TEST_PG_URL", DEFAULT_PG_URL))
        if admin.drivername == "postgresql":
            admin = admin.set(drivername="postgresql+psycopg")
        prefix = f"ratify_bench_{os.getpid()}"
        rounds = []
        for _ in range(repeat):
            ours = with_pg_database(admin, f"{prefix}_ours", lambda url: bench_ours(url, events))
            baseline = with_pg_database(
                admin, f"{prefix}_baseline", lambda url: bench_baseline_postgres(url, events)
            )
            rounds.append((ours, baseline))
        figures["results"]["postgresql"] = report("PostgreSQL (temporary database)", rounds)

    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
        print(f"\nfigures written to {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
