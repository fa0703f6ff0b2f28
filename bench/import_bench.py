"""Import a register: N historical decisions through `ratify import`'s service, against
appending the same events raw.

Run: .venv/bin/python bench/import_bench.py [--decisions N] [--json PATH]

Data: N history files (default 5,000), each a copy of examples/import/pcd-512 (approved,
signed late, published: 12 events with the missed deadline) with its own reference and title,
the case inline, written as YAML to a temporary directory.

Measured, in SQLite in a temporary file:

* ours: `read_sources` + `import_histories`: read each file, parse and validate it (the case
  file's rules), judge it by the rules in force on its submission date, build and fold its
  events, check the reference, claim it in the PCD sequence and append the case in one batch;
* baseline, same run, same machine: `EventStore.append` of the very same events (already
  built), one batch per case, into a fresh store: the cost of writing alone.

Printed: decisions per second and seconds for each, and the ratio of the times (ours /
baseline: what reading, judging and folding a history adds to writing it).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from eventstore import EventStore, migrate
from ratify.services.importing import import_histories, load, plan_case, read_sources
from ratify.services.journal import to_new_event

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "import"
NOW = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)


def write_histories(folder: Path, count: int) -> None:
    history = (EXAMPLES / "pcd-512.history.yaml").read_text("utf-8")
    case = (EXAMPLES / "pcd-512.case.yaml").read_text("utf-8")
    inline = "case:\n" + "".join(
        f"  {line}\n" if line.strip() else "\n"
        for line in case.splitlines()
        if not line.startswith("#")
    )
    body = history.replace("case_file: pcd-512.case.yaml\n", "")
    for i in range(count):
        number = 1000 + i
        text = body.replace("PCD 512", f"PCD {number}") + inline.replace(
            "title: Custody Estate Strategy", f"title: Decision {number} - Custody Estate Strategy"
        )
        (folder / f"pcd-{number}.history.yaml").write_text(text, "utf-8")


def fresh_store(folder: Path, name: str) -> EventStore:
    url = f"sqlite:///{folder / name}"
    migrate(url)
    return EventStore.from_url(url)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--decisions", type=int, default=5000, help="history files to import")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="ratify-import-bench-") as tmp:
        root = Path(tmp)
        register = root / "register"
        register.mkdir()
        write_histories(register, args.decisions)

        ours_store = fresh_store(root, "ours.db")
        started = time.perf_counter()
        histories, beside = read_sources(register)
        report = import_histories(
            ours_store, histories, beside=beside, importer="admin.bench", now=NOW
        )
        ours_s = time.perf_counter() - started
        imported = len(report.with_status("imported"))
        if imported != args.decisions:
            refused = report.with_status("refused")[:3]
            print(f"only {imported} of {args.decisions} imported: {refused}", file=sys.stderr)
            return 1
        events = ours_store.last_position()
        ours_store.close()

        # The same events, built outside the timing, appended raw.
        files = {s.name: s for s in histories}
        batches = []
        for source in histories:
            history, case, sha = load(source, files)
            plan = plan_case(
                history,
                case,
                source=source.name,
                source_sha256=sha,
                importer="admin.bench",
                now=NOW,
            )
            batches.append((plan.case_id, [to_new_event(e) for e in plan.events]))
        base_store = fresh_store(root, "baseline.db")
        started = time.perf_counter()
        for case_id, batch in batches:
            base_store.append(case_id, 0, batch)
        baseline_s = time.perf_counter() - started
        base_store.close()

    figures: dict[str, Any] = {
        "decisions": args.decisions,
        "events": events,
        "ours_s": round(ours_s, 2),
        "baseline_s": round(baseline_s, 2),
        "ours_decisions_per_s": round(args.decisions / ours_s, 1),
        "baseline_decisions_per_s": round(args.decisions / baseline_s, 1),
        "ratio_time": round(ours_s / baseline_s, 2),
    }
    print(f"import {args.decisions:,} decisions ({events:,} events), SQLite")
    print(
        f"  ours (read, validate, judge, fold, claim, append): {ours_s:8.2f} s "
        f"{figures['ours_decisions_per_s']:>9,.1f} decisions/s"
    )
    print(
        f"  baseline (append the same events raw):             {baseline_s:8.2f} s "
        f"{figures['baseline_decisions_per_s']:>9,.1f} decisions/s"
    )
    print(f"  ratio (ours / baseline time): {figures['ratio_time']:.2f}x")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
