"""The committed JSON Schema of case files is current, and says what the loader accepts."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from domain.case import Case
from ratify.infra.case_schema import (
    POUNDS_SCHEMA,
    SCHEMA_ID,
    SCHEMA_PATH,
    build_schema,
    main,
    render_schema,
)

ROOT = Path(__file__).resolve().parents[2]


def test_committed_schema_is_current() -> None:
    assert SCHEMA_PATH == ROOT / "ratify" / "schemas" / "case.schema.json"
    assert SCHEMA_PATH.read_text(encoding="utf-8") == render_schema(), (
        "ratify/schemas/case.schema.json is stale: run `python -m ratify.infra.case_schema`"
    )


def test_check_mode(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--check"]) == 0
    stale = tmp_path / "case.schema.json"
    stale.write_text("{}\n", encoding="utf-8")
    assert main(["--check", "--output", str(stale)]) == 1
    assert "out of date" in capsys.readouterr().err
    assert main(["--check", "--output", str(tmp_path / "missing.json")]) == 1


def test_generator_writes_the_same_file(tmp_path: Path) -> None:
    output = tmp_path / "schemas" / "case.schema.json"
    assert main(["--output", str(output)]) == 0
    assert output.read_text(encoding="utf-8") == SCHEMA_PATH.read_text(encoding="utf-8")


def test_runs_as_a_module() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ratify.infra.case_schema", "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_schema_header_and_fields() -> None:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == SCHEMA_ID
    assert schema["title"] == "Ratify case file"
    assert "python -m ratify.infra.case_schema" in schema["description"]
    assert schema["type"] == "object"
    assert schema["additionalProperties"] is False
    assert list(schema["properties"]) == list(Case.model_fields)
    required = {name for name, field in Case.model_fields.items() if field.is_required()}
    assert set(schema["required"]) == required
    assert schema["$defs"]["Part2"]["additionalProperties"] is False


def test_amounts_are_described_as_pounds() -> None:
    schema = build_schema()
    money_line = schema["$defs"]["MoneyLine"]["properties"]["amount"]
    assert money_line["anyOf"] == POUNDS_SCHEMA["anyOf"]
    assert money_line["anyOf"][0]["maximum"] == 10_000_000_000
    pattern = re.compile(money_line["anyOf"][1]["pattern"])
    for good in ["788000", "788000.00", "788,000", "£788,000", "£353,000.5"]:
        assert pattern.match(good), good
    for bad in ["-5", "1.005", "lots", "£", "1e6"]:
        assert not pattern.match(bad), bad
