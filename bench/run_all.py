"""`make bench`: every benchmark, one results file, one table against the issue's targets.

Run: .venv/bin/python bench/run_all.py [--quick] [--out DIR]

Runs each script of bench/ in turn (each measures ours and its baseline in the same run,
on the same machine: only the ratios travel between machines), then writes

* `bench/results/<date>.json`: every script's figures, with the machine and the commit;
* `bench/results/<date>.md`: the table of ours, the baseline, the ratio and the target,
  also copied to `bench/results/latest.md` (which the README links to).

`--quick` runs every script at small sizes (a minute or two): to try the suite, not to
quote its figures.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent

#: script, full-size arguments, quick arguments
SCRIPTS: list[tuple[str, list[str], list[str]]] = [
    # Five rounds of the store workloads, medians: one round of 5,000 events is seconds long.
    ("eventstore_bench.py", ["--repeat", "5"], ["--events", "1000"]),
    ("fold_bench.py", [], ["--events", "5000"]),
    ("audit_bench.py", [], ["--events", "5000", "--repeat", "1"]),
    ("query_bench.py", [], ["--cases", "5000"]),
    ("lifecycle_bench.py", [], ["--lifecycles", "3", "--concurrency", "5"]),
    ("action_bench.py", [], ["--actions", "20"]),
    ("import_bench.py", [], ["--decisions", "500"]),
]


def commit() -> str:
    done = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True
    )
    return done.stdout.strip() or "unknown"


def run_script(name: str, args: list[str], out: Path) -> dict[str, Any]:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, str(BENCH / name), *args, "--json", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    print(done.stdout, end="")
    if done.returncode != 0:
        print(done.stderr[-3000:], file=sys.stderr)
        return {"error": f"exit {done.returncode}", "seconds": time.perf_counter() - started}
    figures: dict[str, Any] = json.loads(out.read_text("utf-8"))
    figures["seconds"] = round(time.perf_counter() - started, 1)
    return figures


def _fmt(value: float | None, unit: str = "") -> str:
    if value is None:
        return "–"
    if abs(value) >= 1000:
        return f"{value:,.0f}{unit}"
    return f"{value:.2f}{unit}" if abs(value) < 10 else f"{value:.1f}{unit}"


def _met(ok: bool | None) -> str:
    return "–" if ok is None else ("yes" if ok else "**no**")


def rows(results: dict[str, Any]) -> list[list[str]]:
    """The table's rows: what, ours, baseline, ratio, target, met."""
    table: list[list[str]] = []
    store = results.get("eventstore_bench.py", {}).get("results", {})
    for backend, figures in store.items():
        for workload in ("append_single", "append_batch100", "read_all", "read_stream"):
            row = figures.get(workload) or {}
            ratio = row.get("ratio")
            target = "≥ 1.5×" if workload.startswith("append") else "–"
            met = (ratio >= 1.5) if (ratio is not None and workload.startswith("append")) else None
            table.append(
                [
                    f"event store {workload.replace('_', ' ')} ({backend}), events/s",
                    _fmt(row.get("ours")),
                    _fmt(row.get("baseline")) + " (eventsourcing)",
                    _fmt(ratio, "×"),
                    target,
                    _met(met),
                ]
            )
    fold = results.get("fold_bench.py", {})
    if "ours_read_and_fold_ev_s" in fold:
        ours = fold["ours_read_and_fold_ev_s"]
        table.append(
            [
                f"read and fold {fold['events']:,} events, events/s",
                _fmt(ours),
                _fmt(fold["baseline_ev_s"]) + " (eventsourcing repository.get)",
                _fmt(fold["ratio"], "×"),
                "≥ 100,000 events/s",
                _met(ours >= 100_000),
            ]
        )
    if "ours_fold_alone_ev_s" in fold:
        alone = fold["ours_fold_alone_ev_s"]
        table.append(
            [
                "fold alone (the same events, already read and decoded), events/s",
                _fmt(alone),
                "–",
                "–",
                "≥ 100,000 events/s",
                _met(alone >= 100_000),
            ]
        )
    audit = results.get("audit_bench.py", {})
    for backend, figures in audit.items():
        if not isinstance(figures, dict) or "verify_all" not in figures:
            continue
        row = figures["verify_all"]
        rate = row["events"] / row["ours_s"]
        floor = row["events"] / row["baseline_s"]
        table.append(
            [
                f"verify the hash chains ({backend}), events/s",
                _fmt(rate),
                _fmt(floor) + " (read + raw SHA-256)",
                _fmt(rate / floor, "×"),
                "≥ 200,000 events/s",
                _met(rate >= 200_000),
            ]
        )
        for name, label in (("export_bundle", "export an evidence bundle"),):
            r = figures.get(name)
            if r:
                table.append(
                    [
                        f"{label} ({backend}), ms",
                        _fmt(r["ours_s"] * 1000),
                        _fmt(r["baseline_s"] * 1000) + " (read + JSON dump)",
                        _fmt(r["ours_s"] / r["baseline_s"], "× time"),
                        "–",
                        "–",
                    ]
                )
    life = results.get("lifecycle_bench.py", {})
    if "concurrent" in life:
        conc = life["concurrent"]
        table.append(
            [
                f"decision lifecycles, {conc['ours']['in_flight']} at once, decisions/min",
                _fmt(conc["ours"]["decisions_per_minute"]),
                _fmt(conc["baseline"]["decisions_per_minute"]) + " (bare workflow)",
                _fmt(conc["ratio"], "×"),
                "≥ 0.8×",
                _met(conc["ratio"] >= 0.8),
            ]
        )
    action = results.get("action_bench.py", {})
    for level, row in action.items():
        if not isinstance(row, dict) or "ours" not in row:
            continue
        ours, base = row["ours"], row["baseline"]
        target = "p99 ≤ 100 ms" if level == "20" else "–"
        table.append(
            [
                f"approver action, {level} at once, p50 / p99 ms",
                f"{_fmt(ours['p50_ms'])} / {_fmt(ours['p99_ms'])}",
                f"{_fmt(base['p50_ms'])} / {_fmt(base['p99_ms'])} (bare update)",
                _fmt(ours["p99_ms"] / base["p99_ms"], "× p99"),
                target,
                _met(ours["p99_ms"] <= 100) if level == "20" else "–",
            ]
        )
    imported = results.get("import_bench.py", {})
    if "ours_s" in imported:
        table.append(
            [
                f"import {imported['decisions']:,} historical decisions, s",
                _fmt(imported["ours_s"]),
                _fmt(imported["baseline_s"]) + " (append the same events raw)",
                _fmt(imported["ratio_time"], "× time"),
                "5,000 in minutes (≤ 300 s)",
                _met(imported["ours_s"] * 5000 / imported["decisions"] <= 300),
            ]
        )
    views = results.get("query_bench.py", {})
    for backend, figures in views.items():
        if not isinstance(figures, dict):
            continue
        for name, entry in figures.items():
            if not isinstance(entry, dict) or "ours" not in entry:
                continue
            ours = entry["ours"]
            others = [(k, v) for k, v in entry.items() if k != "ours" and isinstance(v, dict)]
            base_name, base = others[0] if others else ("", {})
            if not isinstance(ours, dict) or "p99_ms" not in ours:
                continue
            table.append(
                [
                    f"{name.replace('_', ' ')} at {figures.get('cases', 0):,} cases ({backend}), "
                    "p50 / p99 ms",
                    f"{_fmt(ours['p50_ms'])} / {_fmt(ours['p99_ms'])}",
                    f"{_fmt(base.get('p50_ms'))} / {_fmt(base.get('p99_ms'))} "
                    f"({base_name.replace('_', ' ')})",
                    _fmt(ours["p99_ms"] / base["p99_ms"], "× p99") if base.get("p99_ms") else "–",
                    "p99 ≤ 50 ms",
                    _met(ours["p99_ms"] <= 50),
                ]
            )
    return table


def markdown(results: dict[str, Any], meta: dict[str, Any]) -> str:
    lines = [
        f"# Ratify benchmarks, {meta['date']}",
        "",
        f"Commit `{meta['commit']}`, {meta['machine']}, "
        f"{'quick sizes' if meta['quick'] else 'full sizes'}; "
        "every baseline measured in the same run on the same machine (shared and noisy: "
        "read the ratios). Produced by `make bench` (`bench/run_all.py`).",
        "",
        "| what | ours | baseline, same run | ratio | target | met |",
        "|---|---|---|---|---|---|",
    ]
    lines += ["| " + " | ".join(r) + " |" for r in rows(results)]
    failed = [name for name, figures in results.items() if "error" in figures]
    if failed:
        lines += ["", f"Failed to run: {', '.join(failed)} (see the console output)."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, to try the suite")
    parser.add_argument("--out", type=Path, default=BENCH / "results")
    parser.add_argument("--only", nargs="*", help="run only these scripts (names)")
    args = parser.parse_args(argv)
    meta = {
        "date": datetime.now(UTC).date().isoformat(),
        "commit": commit(),
        "machine": (
            f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
        ),
        "quick": args.quick,
    }
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, full, quick in SCRIPTS:
            if args.only and name not in args.only and name.removesuffix(".py") not in args.only:
                continue
            print(f"\n===== {name} =====", flush=True)
            results[name] = run_script(name, quick if args.quick else full, Path(tmp) / "out.json")
    args.out.mkdir(parents=True, exist_ok=True)
    stem = meta["date"] + ("-quick" if args.quick else "")
    (args.out / f"{stem}.json").write_text(
        json.dumps({"meta": meta, "results": results}, indent=2) + "\n", encoding="utf-8"
    )
    table = markdown(results, meta)
    (args.out / f"{stem}.md").write_text(table, encoding="utf-8")
    if not args.quick:
        (args.out / "latest.md").write_text(table, encoding="utf-8")
    print(f"\n{table}\nwritten to {args.out / stem}.json and .md")
    return 1 if any("error" in figures for figures in results.values()) else 0


if __name__ == "__main__":
    raise SystemExit(main())
