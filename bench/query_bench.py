"""Read views at scale: 100k cases loaded, the inbox and the register read a page at a time.

Run: .venv/bin/python bench/query_bench.py [--cases N] [--sqlite-only] [--json PATH]

Realistic rows: the two example decisions are taken through their lifecycle in memory and
cut at every step (draft, board, advice with its five sign-off tasks, chief executive,
decision, approved and published), and the view rows of each cut are made by the projector's
own pure function (`case_rows`). Those rows are multiplied into N cases (default 100,000)
with their own ids, titles, references, due dates (a quarter of the tasks undated), dates
signed and publication times (one decision every 40 minutes, so 85k decisions span six
years), in the stage mix of a working office (85% closed and published, the rest in flight),
and bulk-loaded into the projection tables, migrated to head with their indexes (SQLite
file; PostgreSQL temporary database, then VACUUM ANALYZE as autovacuum would do).

Measured, p50 / p99 over repeated calls, each against raw SQL that returns the same rows run
through the same connection pool (the floor: no query building, no models), written the way
one would without keyset pagination (ORDER BY ... LIMIT, and OFFSET for a deep page):

* the register's first page, its 100th page (following `next` 99 times), one entry;
* register searches: a reference, a rare title word (0.1% of titles), a title no decision
  has (every entry examined), a common title word, a month of dates signed;
* an adviser's inbox: the first page, with the count of the rest, of one role and of two
  (a deputy), and its 10th page;
* the case list's first page.
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
from sqlalchemy.engine import URL, Engine, make_url

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from eventstore_bench import DEFAULT_PG_URL, with_pg_database
from fold_bench import examples, lifecycle, varied

from domain.roles import Role
from eventstore import create_engine_for, migrate
from eventstore.records import StoredEvent
from ratify.infra.db import migrate_all
from ratify.services.journal import CaseHistory, replay, to_new_event
from ratify.services.projections import case_search, public_register, task_list
from ratify.services.projections.projector import case_rows
from ratify.services.projections.tables import case_summaries, case_tasks, register_entries

REPEAT = 200


def templates() -> list[Any]:
    """The view rows of the examples cut at every step of their lifecycle."""
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


#: Every this-many-th case has this phrase in its title: a rare search term.
RARE_EVERY, RARE = 1000, "Body Worn Video"
START = datetime(2019, 1, 1, tzinfo=UTC)


def load(url: str | URL, cases: int) -> None:
    migrate(url)
    migrate_all(url)
    cuts = templates()
    published = [c for c in cuts if c.register is not None]
    in_flight = [c for c in cuts if c.register is None]
    engine = create_engine_for(url)
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
        if n % RARE_EVERY == 7:
            title = f"{title} ({RARE})"
        changed = START + timedelta(minutes=40 * n)
        summaries.append({**cut.summary, "case_id": case_id, "title": title,
                          "reference": f"PCD {n + 1}" if cut.register else None,
                          "updated_at": changed})  # fmt: skip
        due = None if n % 4 == 0 else (START + timedelta(days=n % 900)).date()
        tasks.extend({**t, "case_id": case_id, "due": due} for t in cut.tasks)
        if cut.register is not None:
            register.append({**cut.register, "case_id": case_id, "reference": f"PCD {n + 1}",
                             "title": title, "published_at": changed,
                             "date_signed": (changed - timedelta(days=n % 3)).date()})  # fmt: skip
        if len(summaries) >= 5000:
            flush()
    flush()
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("VACUUM ANALYZE"))
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


def _cursor_at(page: int, next_of: Callable[[str | None], str | None]) -> tuple[int, str | None]:
    """The cursor of page `page`, following `next` from the first page; or of the last page
    if there are fewer: (its number, its cursor, None for the first page)."""
    cursor: str | None = None
    for reached in range(1, page):
        following = next_of(cursor)
        if following is None:
            return reached, cursor
        cursor = following
    return page, cursor


def run(url: str | URL, cases: int) -> dict[str, Any]:
    load(url, cases)
    engine = create_engine_for(url)
    try:
        return measure(engine, cases)
    finally:
        engine.dispose()


def measure(engine: Engine, cases: int) -> dict[str, Any]:
    with engine.connect() as conn:
        tasks = conn.execute(sa.select(sa.func.count()).select_from(case_tasks)).scalar_one()
        published = conn.execute(
            sa.select(sa.func.count()).select_from(register_entries)
        ).scalar_one()

    def raw(sql: str, **params: Any) -> Callable[[], Any]:
        statements = [sa.text(s) for s in sql.split(";")]

        def go() -> Any:
            with engine.connect() as conn:
                return [conn.execute(s, params).all() for s in statements]

        return go

    finance, legal = [Role.FINANCE_ADVISER], [Role.FINANCE_ADVISER, Role.LEGAL_ADVISER]
    items = "case_id, reference, title, date_signed, decision_maker, published_at, " \
        "part2_published_at FROM register_entries"  # fmt: skip
    newest = "ORDER BY published_at DESC, case_id DESC LIMIT 51"
    deep_page, deep = _cursor_at(100, lambda c: public_register.register(engine, cursor=c).next)
    inbox_page, inbox_deep = _cursor_at(
        10, lambda c: task_list.inbox(engine, finance, cursor=c).next
    )
    # a decision on the deep page: its reference, and the month it was signed in
    sample = public_register.register(engine, cursor=deep).items[0]
    reference = sample.reference or ""
    first_day = sample.date_signed.replace(day=1)
    month = (first_day, (first_day + timedelta(days=31)).replace(day=1) - timedelta(days=1))
    like = "lower(title) LIKE lower(:term)" if engine.dialect.name == "sqlite" else (
        "title ILIKE :term")  # fmt: skip
    task_cols = (
        "t.case_id, s.title, s.reference, s.stage, t.kind, t.role, t.area, t.description, t.due "
        "FROM case_tasks t JOIN case_summaries s ON s.case_id = t.case_id"
    )
    by_due = "ORDER BY t.due IS NULL, t.due, t.case_id, t.kind, t.role, t.area"

    def inbox_sql(roles: str, offset: int = 0) -> str:
        return (
            f"SELECT {task_cols} WHERE t.role IN ({roles}) {by_due} LIMIT 51 OFFSET {offset};"
            f"SELECT count(*) FROM case_tasks WHERE role IN ({roles})"
        )

    workloads: dict[str, tuple[Callable[[], Any], Callable[[], Any], int]] = {
        "register": (
            lambda: public_register.register(engine),
            raw(f"SELECT {items} {newest}"),
            REPEAT,
        ),
        f"register_page_{deep_page}": (
            lambda: public_register.register(engine, cursor=deep),
            raw(f"SELECT {items} {newest} OFFSET {(deep_page - 1) * 50}"),
            REPEAT,
        ),
        "register_entry": (
            lambda: public_register.register_entry(engine, reference),
            raw("SELECT * FROM register_entries WHERE reference = :r", r=reference),
            REPEAT,
        ),
        "search_reference": (
            lambda: public_register.register(engine, reference=reference.lower()),
            raw(f"SELECT {items} WHERE reference = :r {newest}", r=reference),
            REPEAT,
        ),
        "search_title_rare": (
            lambda: public_register.register(engine, title_contains=RARE.lower()),
            raw(f"SELECT {items} WHERE {like} {newest}", term=f"%{RARE.lower()}%"),
            50,
        ),
        "search_title_absent": (
            lambda: public_register.register(engine, title_contains="zebra crossing"),
            raw(f"SELECT {items} WHERE {like} {newest}", term="%zebra crossing%"),
            50,
        ),
        "search_title_common": (
            lambda: public_register.register(engine, title_contains="trace"),
            raw(f"SELECT {items} WHERE {like} {newest}", term="%trace%"),
            REPEAT,
        ),
        "search_signed_month": (
            lambda: public_register.register(engine, signed_from=month[0], signed_to=month[1]),
            raw(
                f"SELECT {items} WHERE date_signed BETWEEN :a AND :b {newest}",
                a=month[0],
                b=month[1],
            ),
            REPEAT,
        ),
        "inbox": (
            lambda: task_list.inbox(engine, finance),
            raw(inbox_sql("'finance_adviser'")),
            REPEAT,
        ),
        "inbox_two_roles": (
            lambda: task_list.inbox(engine, legal),
            raw(inbox_sql("'finance_adviser', 'legal_adviser'")),
            REPEAT,
        ),
        f"inbox_page_{inbox_page}": (
            lambda: task_list.inbox(engine, finance, cursor=inbox_deep),
            raw(inbox_sql("'finance_adviser'", offset=(inbox_page - 1) * 50)),
            REPEAT,
        ),
        "case_list": (
            lambda: case_search.cases(engine),
            raw("SELECT * FROM case_summaries ORDER BY updated_at DESC, case_id DESC LIMIT 51"),
            REPEAT,
        ),
    }
    results: dict[str, Any] = {"cases": cases, "task_rows": tasks, "published": published}
    for name, (ours, baseline, repeat) in workloads.items():
        page = ours()
        rows = len(page.items) if hasattr(page, "items") else int(page is not None)
        results[name] = {
            "rows": rows,
            "ours": percentiles(ours, repeat),
            "raw_sql": percentiles(baseline, repeat),
        }
    first = task_list.inbox(engine, finance)
    results["inbox"]["total"], results["inbox"]["more"] = first.total, first.more
    return results


def report(title: str, r: dict[str, Any]) -> None:
    print(f"\n{title}: {r['cases']:,} cases, {r['task_rows']:,} open tasks, "
          f"{r['published']:,} published")  # fmt: skip
    print(f"  the finance adviser's inbox: {r['inbox']['total']:,} open tasks, "
          f"{r['inbox']['more']:,} after the first page")  # fmt: skip
    print(f"  {'workload':<22}{'rows':>5}   {'ours p50':>9} {'p99':>8}   "
          f"{'raw SQL p50':>11} {'p99':>8}   (ms)")  # fmt: skip
    for name, figures in r.items():
        if not isinstance(figures, dict):
            continue
        ours, base = figures["ours"], figures["raw_sql"]
        print(
            f"  {name:<22}{figures['rows']:>5}   {ours['p50_ms']:>9.2f} {ours['p99_ms']:>8.2f}   "
            f"{base['p50_ms']:>11.2f} {base['p99_ms']:>8.2f}"
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
