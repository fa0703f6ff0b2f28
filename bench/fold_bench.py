"""Read and fold events into state: Ratify's fold against eventsourcing's aggregate rebuild.

Run: .venv/bin/python bench/fold_bench.py [--events N] [--json PATH]

Realistic data: the two example decisions (MetTrace and PCD 679), varied (titles, amounts,
dates) and multiplied into cases that each run a whole lifecycle: drafted, submitted (the
rules engine's routing), placed on an agenda, board advice, every required sign-off, the
chief executive, the declaration of interests, the approval with its PCD reference, Part 1
published with its register entry: 12 to 14 events a case, N events in all (default
100,000), stored in SQLite through the case journal.

Measured, in events per second:

* ours: `CaseJournal.history` of every case (read the stream, decode and upcast each event
  into its pydantic model, fold with `domain.fold.apply`); the decode and fold of the same
  records already read (`ratify.services.journal.replay`); and the fold alone (`apply`) of the
  same events already decoded;
* baseline, same run, same machine: eventsourcing's `Application.repository.get` of one
  aggregate per case with the same number of events carrying the same JSON payloads, in its
  SQLite recorder (read, deserialise, mutate).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from domain import events as ev
from domain.case import Case
from domain.casefile import parse_case
from domain.fold import apply
from domain.register import part1_entry
from domain.roles import Actor, Role
from domain.rules.delegation import route_case
from domain.state import CaseState
from eventstore import EventStore, migrate
from ratify.services.journal import CaseJournal, from_stored, replay

REPO = Path(__file__).resolve().parent.parent
ADVISERS = {
    "finance": Role.FINANCE_ADVISER,
    "legal": Role.LEGAL_ADVISER,
    "commercial": Role.COMMERCIAL_ADVISER,
    "equalities": Role.EQUALITIES_ADVISER,
    "information_assurance": Role.INFORMATION_ASSURANCE_ADVISER,
}


def examples() -> list[Case]:
    return [
        parse_case((REPO / "examples" / name).read_text("utf-8"), "yaml")
        for name in ("mettrace.yaml", "pcd-679-data-environment-solution.yaml")
    ]


def varied(base: Case, n: int) -> Case:
    """The example with its own title and amounts (±30%), so no two cases are alike."""
    factor = Decimal(70 + (n * 37) % 61) / 100
    lines = [
        line.model_copy(update={"amount": (line.amount * factor).quantize(Decimal("0.01"))})
        for line in base.money_lines
    ]
    return base.model_copy(update={"title": f"{base.title} ({n})", "money_lines": lines})


def lifecycle(case_id: str, case: Case, n: int) -> list[ev.Event]:
    clock = [datetime(2019, 11, 18, 8, tzinfo=UTC) + timedelta(days=n % 300)]
    day = clock[0].date()

    def mk(cls: type[ev.Event], actor: Actor, **fields: Any) -> ev.Event:
        clock[0] += timedelta(minutes=11)
        return cls(
            event_id=uuid.uuid4(), case_id=case_id, occurred_at=clock[0], actor=actor, **fields
        )

    officer = Actor(user_id=f"officer.{n % 40}", role=Role.ORIGINATING_OFFICER)
    secretariat = Actor(user_id="sam.sec", role=Role.BOARD_SECRETARIAT)
    routing = route_case(case, day)
    events = [
        mk(ev.CaseDrafted, officer, case=case),
        mk(ev.CaseSubmitted, officer, routing=routing),
        mk(ev.PlacedOnAgenda, secretariat, meeting_id=f"IAB-{n}", meeting_date=day, board="IAB"),
        mk(ev.BoardAdviceRecorded, secretariat, meeting_id=f"IAB-{n}", advice="supported"),
    ]
    for area in routing.required_signoffs:
        adviser = Actor(user_id=f"{area.value}.{n % 3}", role=ADVISERS[area.value])
        events.append(mk(ev.SignOffGiven, adviser, area=area, comment="Content."))
    dmpc = Actor(user_id="sl.dmpc", role=Role.DMPC)
    events += [
        mk(ev.ChiefExecutiveConsulted, Actor(user_id="rl.ceo", role=Role.CHIEF_EXECUTIVE)),
        mk(ev.InterestsDeclared, dmpc, has_interest=False),
        mk(ev.DecisionApproved, dmpc, reference=f"PCD {n + 1}"),
    ]
    state = CaseState(case_id=case_id)
    for e in events:
        state = apply(state, e)
    entry = part1_entry(state)
    events.append(mk(ev.Part1Published, Actor(user_id="ratify", role=Role.SYSTEM), entry=entry))
    return events


def build(store: EventStore, target: int) -> tuple[list[str], int]:
    journal = CaseJournal(store)
    bases = examples()
    case_ids: list[str] = []
    total, n = 0, 0
    while total < target:
        case_id = f"case-fold-{n:06d}"
        events = lifecycle(case_id, varied(bases[n % len(bases)], n), n)
        journal.record(case_id, events)
        case_ids.append(case_id)
        total += len(events)
        n += 1
    return case_ids, total


def bench_ours(store: EventStore, case_ids: list[str], total: int) -> dict[str, float]:
    journal = CaseJournal(store)
    start = time.perf_counter()
    for case_id in case_ids:
        journal.history(case_id)
    read_and_fold = time.perf_counter() - start
    records = {case_id: store.read_stream(case_id) for case_id in case_ids}
    start = time.perf_counter()
    for case_id, stream in records.items():
        replay(case_id, stream)
    decode_and_fold = time.perf_counter() - start
    decoded = {case_id: [from_stored(r) for r in stream] for case_id, stream in records.items()}
    start = time.perf_counter()
    for case_id, events in decoded.items():
        state = CaseState(case_id=case_id)
        for event in events:
            state = apply(state, event)
    fold_alone = time.perf_counter() - start
    return {
        "read_and_fold": total / read_and_fold,
        "decode_and_fold": total / decode_and_fold,
        "fold_alone": total / fold_alone,
    }


def bench_baseline(store: EventStore, case_ids: list[str], path: Path) -> float:
    """eventsourcing 9.x: one aggregate per case, the same payloads, rebuilt from SQLite."""
    os.environ["PERSISTENCE_MODULE"] = "eventsourcing.sqlite"
    os.environ["SQLITE_DBNAME"] = str(path)
    from eventsourcing.application import Application
    from eventsourcing.domain import Aggregate, event

    class Decision(Aggregate):
        def __init__(self) -> None:
            self.facts: dict[str, Any] = {}
            self.stage = "draft"

        @event("Recorded")
        def record(self, event_type: str, data: dict[str, Any]) -> None:
            self.stage = event_type
            self.facts.update(data)

    class Decisions(Application[uuid.UUID]):
        pass

    app = Decisions()
    ids = []
    for case_id in case_ids:
        decision = Decision()
        for record in store.read_stream(case_id):
            decision.record(record.event_type, record.data)
        app.save(decision)
        ids.append(decision.id)
    total = sum(len(store.read_stream(c)) + 1 for c in case_ids)  # + the created event
    start = time.perf_counter()
    for aggregate_id in ids:
        app.repository.get(aggregate_id)
    return total / (time.perf_counter() - start)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=100_000, help="events in all")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'fold.db'}"
        migrate(url)
        with EventStore.from_url(url) as store:
            case_ids, total = build(store, args.events)
            ours = bench_ours(store, case_ids, total)
            baseline = bench_baseline(store, case_ids, Path(tmp) / "baseline.db")
    figures = {
        "events": total,
        "cases": len(case_ids),
        "ours_read_and_fold_ev_s": ours["read_and_fold"],
        "ours_decode_and_fold_ev_s": ours["decode_and_fold"],
        "ours_fold_alone_ev_s": ours["fold_alone"],
        "baseline_ev_s": baseline,
        "ratio": ours["read_and_fold"] / baseline,
        "target_ev_s": 100_000,
        "date": date.today().isoformat(),
    }
    print(f"fold benchmark: {total:,} events in {len(case_ids):,} cases (SQLite)")
    print(f"  ours, read + decode + fold   {ours['read_and_fold']:>12,.0f} events/s")
    print(f"  ours, decode + fold only     {ours['decode_and_fold']:>12,.0f} events/s")
    print(f"  ours, fold alone (decoded)   {ours['fold_alone']:>12,.0f} events/s")
    print(f"  eventsourcing repository.get {baseline:>12,.0f} events/s")
    print(f"  ours/baseline                {figures['ratio']:>12.2f}   (target: 100,000 events/s)")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
