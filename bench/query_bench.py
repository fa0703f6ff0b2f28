"""Read views at scale: 100k cases loaded, the inbox and the register queried.

Run: .venv/bin/python bench/query_bench.py [--cases N] [--sqlite-only] [--json PATH]

Realistic rows: the two example decisions are taken through their lifecycle in memory and
cut at every step (draft, board, advice with its five sign-off tasks, chief executive,
decision, approved and published), and the view rows of each cut are made by the projector's
own pure function (`case_rows`). Those rows are multiplied into N cases (default 100,000)
with their own ids, titles, references, due dates and publication times, in the stage mix of
a working office (most cases closed and published, some in flight), and bulk-loaded into the
projection tables (SQLite file; PostgreSQL temporary database).

Measured, p50 / p99 over repeated calls, against the same query written in raw SQL and run
through the same connection pool (the floor: no models, no validation):

* an adviser's inbox: `queries.tasks_for(engine, [finance adviser])`;
* the public register's first page and one entry by reference.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from eventstore_bench import DEFAULT_PG_URL, with_pg_database
from fold_bench import examples, lifecycle, varied

from domain.roles import Role
from eventstore import create_engine_for, migrate
from ratify.db import migrate_all
from ratify.journal import CaseHistory, replay, to_new_event
from ratify.projections import queries
from ratify.projections.projector import case_rows
from ratify.projections.tables import case_summaries, case_tasks, register_entries

REPEAT = 200


def templates() -> list[Any]:
    """The view rows of the examples cut at every step of their lifecycle."""
    from eventstore.records import StoredEvent

    cuts = []
    for n, base in enumerate(examples()):
        case_id = f"template-{n}"
        events = lifecycle(case_id, varied(base, n), n)
        stored = []
        for version, e in enumerate(events, start=1):
            new = to_new_event(e)
            stored.append(
                StoredEvent(
                    position=version,
                    event_id=new.event_id,
                    stream_id=case_id,
                    version=version,
                    event_type=new.event_type,
                    schema_version=new.schema_version,
                    occurred_at=new.occurred_at,
                    recorded_at=new.occurred_at,
                    actor_id=new.actor_id,
                    actor_role=new.actor_role,
                    data=json.loads(json.dumps(new.data)),
                    metadata=new.metadata,
                    prev_hash="0" * 64,
                    hash="0" * 64,
                )
            )
        for cut in range(1, len(stored) + 1):
            state, decoded = replay(case_id, stored[:cut])
            cuts.append(case_rows(CaseHistory(state=state, events=decoded, records=stored[:cut])))
    return cuts


def load(url: str | URL, cases: int) -> None:
    migrate(url)
    migrate_all(url)
    cuts = templates()
    published = [c for c in cuts if c.register is not None]
    in_flight = [c for c in cuts if c.register is None]
    engine = create_engine_for(url)
    start = datetime(2019, 1, 1, tzinfo=UTC)
    summaries: list[dict[str, Any]] = []
    tasks: list[dict[str, Any]] = []
    register: list[dict[str, Any]] = []

    def flush() -> None:
        with engine.begin() as conn:
            if summaries:
                conn.execute(case_summaries.insert(), summaries)
            if tasks:
                conn.execute(case_tasks.insert(), tasks)
            if register:
                conn.execute(register_entries.insert(), register)
        summaries.clear()
        tasks.clear()
        register.clear()

    for n in range(cases):
        # 85% closed and published, 15% in flight at one of their steps
        cut = published[n % len(published)] if n % 100 < 85 else in_flight[n % len(in_flight)]
        case_id = f"case-{n:07d}"
        title = f"{cut.summary['title']} / {n}"
        summaries.append({**cut.summary, "case_id": case_id, "title": title,
                          "reference": f"PCD {n + 1}" if cut.register else None})  # fmt: skip
        due = (start + timedelta(days=n % 900)).date()
        tasks.extend({**t, "case_id": case_id, "due": due} for t in cut.tasks)
        if cut.register is not None:
            register.append({**cut.register, "case_id": case_id, "reference": f"PCD {n + 1}",
                             "title": title,
                             "published_at": start + timedelta(minutes=n)})  # fmt: skip
        if len(summaries) >= 5000:
            flush()
    flush()
    engine.dispose()


def percentiles(action: Callable[[], Any], repeat: int = REPEAT) -> dict[str, float]:
    action()  # warm the caches and the pool
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    times.sort()
    return {
        "p50_ms": statistics.median(times) * 1000,
        "p99_ms": times[max(0, int(len(times) * 0.99) - 1)] * 1000,
    }


def run(url: str | URL, cases: int) -> dict[str, Any]:
    load(url, cases)
    engine = create_engine_for(url)
    try:
        with engine.connect() as conn:
            tasks = conn.execute(sa.select(sa.func.count()).select_from(case_tasks)).scalar_one()
            published = conn.execute(
                sa.select(sa.func.count()).select_from(register_entries)
            ).scalar_one()
        inbox_sql = sa.text(
            "SELECT t.case_id, s.title, s.reference, s.stage, t.kind, t.role, t.area, "
            "t.description, t.due FROM case_tasks t JOIN case_summaries s "
            "ON s.case_id = t.case_id WHERE t.role IN ('finance_adviser') "
            "ORDER BY t.due IS NULL, t.due, t.case_id, t.kind, t.role, t.area"
        )
        register_sql = sa.text(
            "SELECT * FROM register_entries ORDER BY published_at DESC, case_id LIMIT 50"
        )
        entry_sql = sa.text("SELECT * FROM register_entries WHERE reference = 'PCD 4242'")

        def raw(query: sa.TextClause) -> Callable[[], Any]:
            def go() -> Any:
                with engine.connect() as conn:
                    return conn.execute(query).all()

            return go

        inbox_rows = len(queries.tasks_for(engine, [Role.FINANCE_ADVISER]))
        register_rows = len(queries.register(engine))
        results = {
            "cases": cases,
            "task_rows": tasks,
            "published": published,
            "inbox_rows_returned": inbox_rows,
            "register_rows_returned": register_rows,
            "inbox": {
                "ours": percentiles(lambda: queries.tasks_for(engine, [Role.FINANCE_ADVISER])),
                "raw_sql": percentiles(raw(inbox_sql)),
            },
            "register": {
                "ours": percentiles(lambda: queries.register(engine), repeat=20),
                "raw_sql_first_page": percentiles(raw(register_sql)),
            },
            "register_entry": {
                "ours": percentiles(lambda: queries.register_entry(engine, "PCD 4242")),
                "raw_sql": percentiles(raw(entry_sql)),
            },
        }
        return results
    finally:
        engine.dispose()


def report(title: str, r: dict[str, Any]) -> None:
    print(f"\n{title}: {r['cases']:,} cases, {r['task_rows']:,} open tasks, "
          f"{r['published']:,} published")  # fmt: skip
    print(f"  inbox returns {r['inbox_rows_returned']:,} rows; register returns "
          f"{r['register_rows_returned']:,} rows")  # fmt: skip
    for name in ("inbox", "register", "register_entry"):
        ours, *rest = r[name].items()
        base_name, base = rest[0]
        print(
            f"  {name:<16} ours p50 {ours[1]['p50_ms']:>8.1f} ms p99 {ours[1]['p99_ms']:>8.1f} ms"
            f"   {base_name} p50 {base['p50_ms']:>7.1f} ms p99 {base['p99_ms']:>7.1f} ms"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--sqlite-only", action="store_true")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    figures: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        figures["sqlite"] = run(f"sqlite:///{Path(tmp) / 'views.db'}", args.cases)
    report("SQLite (temporary file)", figures["sqlite"])
    if not args.sqlite_only:
        admin = make_url(os.environ.get("RATIFY_TEST_PG_URL", DEFAULT_PG_URL))
        name = f"ratify_query_bench_{os.getpid()}"
        figures["postgresql"] = with_pg_database(admin, name, lambda url: run(url, args.cases))
        report("PostgreSQL (temporary database)", figures["postgresql"])
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
