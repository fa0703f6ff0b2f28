"""The benchmarks still run: each script once, at a tiny size, as a subprocess.

Not a measurement (the figures of a tiny run mean nothing): the scripts must exit 0, print
their tables and write their JSON, so that `make bench` keeps working as the code moves.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def run_script(args: list[str], timeout: float) -> str:
    done = subprocess.run(
        [sys.executable, *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, (
        f"{' '.join(args)} exited {done.returncode}\n"
        f"--- stdout ---\n{done.stdout}\n--- stderr ---\n{done.stderr}"
    )
    return done.stdout


def test_the_event_store_bench_runs(tmp_path: Path):
    out = tmp_path / "eventstore.json"
    stdout = run_script(
        ["bench/eventstore_bench.py", "--sqlite-only", "--events", "200", "--json", str(out)],
        timeout=120,
    )
    assert "SQLite (temporary file)" in stdout
    figures = json.loads(out.read_text("utf-8"))
    sqlite = figures["results"]["sqlite"]
    for workload in ("append_single", "append_batch100", "read_all", "read_stream"):
        assert workload in stdout
        assert sqlite[workload]["ours"] > 0
        assert sqlite[workload]["baseline"] > 0
    assert sqlite["verify_all"]["ours"] > 0


def test_the_audit_bench_runs(tmp_path: Path):
    out = tmp_path / "audit.json"
    stdout = run_script(
        ["bench/audit_bench.py", "--sqlite-only", "--events", "400", "--repeat", "1",
         "--json", str(out)],
        timeout=120,
    )  # fmt: skip
    assert "ours/baseline (time)" in stdout
    sqlite = json.loads(out.read_text("utf-8"))["sqlite"]
    assert sqlite["case_events"] >= 50 and sqlite["events_in_store"] >= 400
    for name in ("replay_case", "verify_all", "verify_since", "export_bundle", "check_bundle"):
        assert sqlite[name]["ours_s"] > 0 and sqlite[name]["ratio_time"] > 0


def test_the_fold_and_query_benches_run(tmp_path: Path):
    fold = tmp_path / "fold.json"
    stdout = run_script(["bench/fold_bench.py", "--events", "300", "--json", str(fold)], 120)
    assert "eventsourcing repository.get" in stdout
    figures = json.loads(fold.read_text("utf-8"))
    assert figures["events"] >= 300 and figures["ours_read_and_fold_ev_s"] > 0
    assert figures["ours_fold_alone_ev_s"] > 0 and figures["baseline_ev_s"] > 0
    views = tmp_path / "views.json"
    stdout = run_script(
        ["bench/query_bench.py", "--cases", "300", "--sqlite-only", "--json", str(views)], 120
    )
    sqlite = json.loads(views.read_text("utf-8"))["sqlite"]
    assert sqlite["cases"] == 300 and sqlite["published"] > 0 and sqlite["task_rows"] > 0
    assert sqlite["inbox"]["ours"]["p99_ms"] >= sqlite["inbox"]["ours"]["p50_ms"] > 0
    deep = [name for name in sqlite if name.startswith("register_page_")]
    assert len(deep) == 1 and sqlite[deep[0]]["rows"] > 0  # 300 cases: fewer than 100 pages
    for name in ("register", "search_title_rare", "search_signed_month", "inbox_two_roles"):
        assert sqlite[name]["rows"] > 0, name
        assert sqlite[name]["ours"]["p50_ms"] > 0 and sqlite[name]["raw_sql"]["p50_ms"] > 0
    assert "register_page_" in stdout and "search_title_absent" in stdout


def test_make_bench_writes_the_results_and_the_table(tmp_path: Path):
    stdout = run_script(
        ["bench/run_all.py", "--quick", "--only", "fold_bench", "--out", str(tmp_path)], 180
    )
    assert "===== fold_bench.py =====" in stdout
    (results,) = tmp_path.glob("*-quick.json")
    assert results.with_suffix(".md").exists()
    fold = json.loads(results.read_text("utf-8"))["results"]["fold_bench.py"]
    table = results.with_suffix(".md").read_text("utf-8")
    assert f"read and fold {fold['events']:,} events" in table
    assert "fold alone (the same events, already read and decoded)" in table
    assert "≥ 100,000 events/s" in table


@pytest.mark.slow
def test_the_lifecycle_bench_runs(tmp_path: Path):
    out = tmp_path / "lifecycle.json"
    stdout = run_script(
        [
            "bench/lifecycle_bench.py",
            "--lifecycles",
            "1",
            "--concurrency",
            "2",
            "--json",
            str(out),
        ],
        timeout=180,
    )
    assert "ours/baseline" in stdout
    assert "event store verified" in stdout
    figures = json.loads(out.read_text("utf-8"))
    sequential, concurrent = figures["sequential"], figures["concurrent"]
    for name in ("ours", "baseline"):
        assert sequential[name]["median_s"] > 0
        assert sequential[name]["p90_s"] >= sequential[name]["median_s"]
        assert len(sequential[name]["runs_s"]) == 1
        assert concurrent[name]["lifecycles"] == 2
        assert concurrent[name]["decisions_per_minute"] > 0
    assert sequential["ratio_median"] > 0
    assert concurrent["ratio"] > 0


def test_the_import_bench_runs(tmp_path: Path):
    out = tmp_path / "import.json"
    stdout = run_script(["bench/import_bench.py", "--decisions", "20", "--json", str(out)], 120)
    assert "import 20 decisions" in stdout
    figures = json.loads(out.read_text("utf-8"))
    assert figures["decisions"] == 20 and figures["events"] == 240
