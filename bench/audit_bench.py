"""What auditing costs: replaying a case, verifying the store, exporting and checking evidence.

Run: .venv/bin/python bench/audit_bench.py [--sqlite-only] [--events N] [--json PATH]

For each backend (SQLite in a temporary file; PostgreSQL in a temporary database, dropped
afterwards) the store is filled with N events (default 100,000: 100-event streams) plus one
real case of about 50 events (MetTrace, drafted, revised 40 times, submitted, through the
board, every sign-off, the chief executive, the DMPC's approval). Then, each against a
baseline measured in the same run on the same data (the machines are shared and noisy, so
only the ratios mean much):

* replay one case: read, upcast and fold its events, and build the auditor's timeline with
  every revision diffed section by section; baseline: reading the same rows only;
* verify the whole store: recompute every row hash from its canonical columns and follow
  every chain; baseline: reading the same rows and SHA-256 over their raw column bytes
  (no canonical form, no chain: the floor any hash check pays);
* verify --since an older digest (taken half way): the chains plus the Merkle root then;
* export the case's evidence bundle (digest over every stream, inclusion proof, report)
  and check it offline; baseline: reading the case's rows and writing them out as JSON.

PostgreSQL URL: env RATIFY_TEST_PG_URL (default postgresql+psycopg://postgres@127.0.0.1:5432/test).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from eventstore_bench import DEFAULT_PG_URL, new_event, with_pg_database

from domain import events as ev
from domain.casefile import parse_case
from domain.roles import Actor, Role
from domain.rules.delegation import route_case
from domain.timeline import timeline
from eventstore import EventStore, migrate
from eventstore.digest import digest, verify_since
from eventstore.schema import events as events_table
from ratify.services.evidence import check_bundle, export_bundle
from ratify.services.journal import CaseJournal

REPO = Path(__file__).resolve().parent.parent
CASE = "case-mettrace-bench"
REVISIONS = 40
BATCH = 100


def _actor(user: str, role: Role) -> Actor:
    return Actor(user_id=user, role=role)


def build_case(store: EventStore) -> int:
    """MetTrace through to approval, with 40 revisions in draft: about 50 events."""
    case = parse_case((REPO / "examples" / "mettrace.yaml").read_text("utf-8"), "yaml")
    officer = _actor("ollie.lane", Role.ORIGINATING_OFFICER)
    secretariat = _actor("sam.sec", Role.BOARD_SECRETARIAT)
    clock = [datetime(2019, 11, 18, 8, tzinfo=UTC)]

    def mk(cls: type[ev.Event], actor: Actor, **fields: Any) -> ev.Event:
        clock[0] += timedelta(minutes=7)
        return cls(event_id=uuid.uuid4(), case_id=CASE, occurred_at=clock[0], actor=actor, **fields)

    events: list[ev.Event] = [mk(ev.CaseDrafted, officer, case=case)]
    for n in range(REVISIONS):
        words = case.executive_summary.split()
        words[n % len(words)] = f"{words[n % len(words)]}-{n}"
        case = case.model_copy(update={"executive_summary": " ".join(words)})
        events.append(mk(ev.CaseRevised, officer, case=case, note=f"revision {n + 1}"))
    routing = route_case(case, date(2019, 11, 18))
    events.append(mk(ev.CaseSubmitted, officer, routing=routing))
    events.append(
        mk(
            ev.PlacedOnAgenda,
            secretariat,
            meeting_id="IAB-1",
            meeting_date=date(2019, 11, 18),
            board="IAB",
        )
    )
    events.append(mk(ev.BoardAdviceRecorded, secretariat, meeting_id="IAB-1", advice="supported"))
    advisers = {
        "finance": Role.FINANCE_ADVISER,
        "legal": Role.LEGAL_ADVISER,
        "commercial": Role.COMMERCIAL_ADVISER,
        "equalities": Role.EQUALITIES_ADVISER,
        "information_assurance": Role.INFORMATION_ASSURANCE_ADVISER,
    }
    for area in routing.required_signoffs:
        adviser = _actor(f"{area.value}.adviser", advisers[area.value])
        events.append(mk(ev.SignOffGiven, adviser, area=area))
    events.append(mk(ev.ChiefExecutiveConsulted, _actor("rl.ceo", Role.CHIEF_EXECUTIVE)))
    dmpc = _actor("sl.dmpc", Role.DMPC)
    events.append(mk(ev.InterestsDeclared, dmpc, has_interest=False))
    events.append(mk(ev.DecisionApproved, dmpc, reference="PCD 1"))
    CaseJournal(store).record(CASE, events)
    return len(events)


def fill(store: EventStore, events: int) -> None:
    for b in range(events // BATCH):
        store.append(f"filler-{b}", 0, [new_event(b * BATCH + k) for k in range(BATCH)])


def best(action: Callable[[], Any], repeat: int) -> float:
    """The median of `repeat` runs, in seconds."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def raw_hash_all(store: EventStore) -> int:
    """The baseline of verification: every row read, its columns' bytes hashed."""
    e = events_table
    count = 0
    with store.engine.connect() as conn:
        result = conn.execution_options(stream_results=True, yield_per=5000).execute(
            sa.select(e).order_by(e.c.position)
        )
        for row in result:
            digest_ = hashlib.sha256()
            for value in row:
                digest_.update(str(value).encode())
            count += 1
    return count


def run(url: str | URL, events: int, repeat: int) -> dict[str, Any]:
    migrate(url)
    store = EventStore.from_url(url)
    try:
        fill(store, events // 2)
        case_events = build_case(store)
        half = digest(store)
        fill_more = events - (events // 2) // BATCH * BATCH
        for b in range(fill_more // BATCH):
            store.append(f"later-{b}", 0, [new_event(b * BATCH + k) for k in range(BATCH)])
        total = store.last_position()
        journal = CaseJournal(store)

        def replay() -> None:
            history = journal.history(CASE)
            timeline(CASE, history.events)

        replay_s = best(replay, repeat * 5)
        read_s = best(lambda: store.read_stream(CASE), repeat * 5)
        verify_s = best(lambda: store.verify_all(), repeat)
        raw_s = best(lambda: raw_hash_all(store), repeat)
        since_s = best(lambda: verify_since(store, half), repeat)
        stamp = datetime(2026, 1, 1, tzinfo=UTC)
        content = export_bundle(store, CASE, exported_by="bench", exported_at=stamp)[1]
        export_s = best(
            lambda: export_bundle(store, CASE, exported_by="bench", exported_at=stamp), repeat
        )
        document = content.decode()
        check_s = best(lambda: check_bundle(document), repeat)
        assert check_bundle(document).ok

        def dump_rows() -> None:
            rows = store.read_stream(CASE)
            json.dumps([r.data for r in rows])

        dump_s = best(dump_rows, repeat * 5)
        return {
            "events_in_store": total,
            "case_events": case_events,
            "bundle_bytes": len(content),
            "replay_case": {"ours_s": replay_s, "baseline_s": read_s},
            "verify_all": {"ours_s": verify_s, "baseline_s": raw_s, "events": total},
            "verify_since": {"ours_s": since_s, "baseline_s": raw_s, "events": total},
            "export_bundle": {"ours_s": export_s, "baseline_s": dump_s},
            "check_bundle": {"ours_s": check_s, "baseline_s": dump_s},
        }
    finally:
        store.close()


def report(title: str, figures: dict[str, Any]) -> None:
    print(
        f"\n{title}: {figures['events_in_store']:,} events in the store; the case has "
        f"{figures['case_events']} events; its bundle is {figures['bundle_bytes']:,} bytes"
    )
    print(f"  {'operation':<16}{'ours':>12}{'baseline':>12}{'ours/baseline (time)':>24}")
    for name in ("replay_case", "verify_all", "verify_since", "export_bundle", "check_bundle"):
        row = figures[name]
        ratio = row["ours_s"] / row["baseline_s"]
        row["ratio_time"] = ratio
        extra = ""
        if "events" in row:
            extra = f"   ({row['events'] / row['ours_s']:,.0f} events/s)"
        print(
            f"  {name:<16}{row['ours_s'] * 1000:>10.1f}ms{row['baseline_s'] * 1000:>10.1f}ms"
            f"{ratio:>24.2f}{extra}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sqlite-only", action="store_true", help="skip PostgreSQL")
    parser.add_argument("--events", type=int, default=100_000, help="events in the store")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    events = max(2 * BATCH, args.events)
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        results["sqlite"] = run(f"sqlite:///{Path(tmp) / 'audit.db'}", events, args.repeat)
    report("SQLite (temporary file)", results["sqlite"])
    if not args.sqlite_only:
        admin = make_url(os.environ.get("RATIFY_TEST_PG_URL", DEFAULT_PG_URL))
        if admin.drivername == "postgresql":
            admin = admin.set(drivername="postgresql+psycopg")
        name = f"ratify_audit_bench_{os.getpid()}"
        results["postgresql"] = with_pg_database(
            admin, name, lambda url: run(url, events, args.repeat)
        )
        report("PostgreSQL (temporary database)", results["postgresql"])
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
        print(f"\nfigures written to {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
