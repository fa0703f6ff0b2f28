"""The committed JSON Schema of history files is current and describes the examples."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from domain.history import HistoryFile
from ratify.infra.history_schema import SCHEMA_ID, SCHEMA_PATH, main, render_schema

ROOT = Path(__file__).resolve().parents[2]


def test_committed_schema_is_current() -> None:
    assert SCHEMA_PATH == ROOT / "ratify" / "schemas" / "history.schema.json"
    assert SCHEMA_PATH.read_text(encoding="utf-8") == render_schema(), (
        "ratify/schemas/history.schema.json is stale: run `python -m ratify.infra.history_schema`"
    )


def test_check_mode(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--check"]) == 0
    stale = tmp_path / "history.schema.json"
    stale.write_text("{}\n", encoding="utf-8")
    assert main(["--check", "--output", str(stale)]) == 1
    assert "out of date" in capsys.readouterr().err


def test_schema_names_the_format_and_documents_its_fields() -> None:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    assert schema["$id"] == SCHEMA_ID
    assert list(schema["properties"]) == list(HistoryFile.model_fields)
    history = schema["$defs"]["History"]
    assert "reference" in history["properties"]
    assert "noon London" not in history["properties"]["reference"].get("description", "")
    assert history["properties"]["case_id"]["description"].startswith("The case id in Ratify")
    assert "Case" in schema["$defs"]  # the case file's own definitions


def test_every_example_history_follows_the_schema() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    examples = sorted((ROOT / "examples" / "import").glob("*.history.yaml"))
    assert len(examples) >= 4
    for path in examples:
        data = json.loads(json.dumps(yaml.safe_load(path.read_text()), default=str))
        jsonschema.validate(data, schema)
