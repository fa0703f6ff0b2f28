"""`ratify import`: the report people read, --check writing nothing, and who may import."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from typer.testing import CliRunner

from eventstore import EventStore
from ratify.cli.main import app

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "import"


def _database(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'ratify.db'}"
    runner = CliRunner()
    assert runner.invoke(app, ["--database-url", url, "db", "upgrade"]).exit_code == 0
    added = runner.invoke(
        app,
        ["--database-url", url, "users", "add", "admin.ada", "--name", "Ada", "--role", "admin"],
    )
    assert added.exit_code == 0, added.output
    return url


def test_import_check_then_import_then_again(tmp_path: Path) -> None:
    url = _database(tmp_path)
    runner = CliRunner()
    folder = tmp_path / "register"
    shutil.copytree(EXAMPLES, folder)
    # a dry run reports everything and writes nothing
    dry = runner.invoke(
        app, ["--database-url", url, "import", str(folder), "--by", "admin.ada", "--check"]
    )
    assert dry.exit_code == 0, dry.output
    assert "4 would import" in dry.stdout and "dry run" in dry.stdout
    with EventStore.from_url(url) as store:
        assert store.last_position() == 0
    # a refused case is named with its field and rule; the others are imported
    bad = (folder / "withdrawn-2020-cctv-upgrade.history.yaml").read_text()
    (folder / "withdrawn-2020-cctv-upgrade.history.yaml").write_text(
        bad.replace("drafted_on: 2020-02-03", "drafted_on: 2020-02-09")
    )
    done = runner.invoke(
        app, ["--database-url", url, "import", str(folder), "--by", "admin.ada", "--json"]
    )
    assert done.exit_code == 1, done.output
    report = json.loads(done.stdout)
    by_file = {c["source"]: c for c in report["cases"]}
    assert by_file["pcd-512.history.yaml"]["status"] == "imported"
    refused = by_file["withdrawn-2020-cctv-upgrade.history.yaml"]
    assert refused["status"] == "refused"
    assert refused["problems"][0]["field"] == "history.submitted_on"
    assert "before the step it follows" in refused["problems"][0]["rule"]
    # no Temporal here: the import stands, the Part 2 review is named as not started
    assert report["part2_reviews_not_started"]
    again = runner.invoke(app, ["--database-url", url, "import", str(folder), "--by", "admin.ada"])
    assert "3 skipped (already imported)" in again.stdout
    assert "history.submitted_on:" in again.stdout


def test_only_an_administrator_imports(tmp_path: Path) -> None:
    url = _database(tmp_path)
    result = CliRunner().invoke(
        app, ["--database-url", url, "import", str(EXAMPLES), "--by", "someone.else"]
    )
    assert result.exit_code == 2 and "--by:" in result.stderr
