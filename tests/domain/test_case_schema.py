"""The committed JSON Schema of case files is current, and says what the loader accepts."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import TypeAdapter

from domain.case import Case
from domain.money import SignedPounds
from ratify.infra.case_schema import (
    POUNDS_SCHEMA,
    SCHEMA_ID,
    SCHEMA_PATH,
    SIGNED_POUNDS_SCHEMA,
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


def test_schema_id_names_the_format_version() -> None:
    assert SCHEMA_ID == "urn:ratify:schema:case-file:v2"


def test_table_amounts_may_be_negative_as_the_papers_write_them() -> None:
    row = build_schema()["$defs"]["TableRow"]["properties"]["amounts"]["items"]
    [signed, _null] = row["anyOf"]
    assert signed["anyOf"] == SIGNED_POUNDS_SCHEMA["anyOf"]
    assert signed["anyOf"][0]["minimum"] == -10_000_000_000
    pattern = re.compile(signed["anyOf"][1]["pattern"])
    for good in ["98200", "-12500", "-12,500", "(12,500)", "£-12,500.50", "(£12,500)"]:
        assert pattern.match(good), good
        assert TypeAdapter(SignedPounds).validate_python(good) is not None  # the loader agrees
    for bad in ["--5", "1.005", "lots", "()", "1e6", "(12,500", "12,500)"]:
        assert not pattern.match(bad), bad


def test_a_term_in_years_is_a_bounded_number_not_an_amount() -> None:
    procurement = build_schema()["$defs"]["Procurement"]["properties"]
    [term, _null] = procurement["term_years"]["anyOf"]
    assert term == {"type": "number", "exclusiveMinimum": 0, "maximum": 50}
    [extension, _null] = procurement["extension_years"]["anyOf"]
    assert extension == {"type": "number", "minimum": 0, "maximum": 50}


def test_fields_carry_the_comment_written_above_them_in_the_model() -> None:
    defs = build_schema()["$defs"]
    assert defs["GrantLine"]["properties"]["group"]["description"].startswith(
        "The award or programme the line belongs to"
    )
    assert "largest single award" in defs["GrantBatch"]["properties"]["largest"]["description"]
    assert (
        "compares them with the routing"
        in (defs["Recommendation"]["properties"]["covers"]["description"])
    )
    assert (
        "Not applicable"
        in (build_schema()["properties"]["real_estate_implications"]["description"])
    )
    # A description given in the model wins over the comment.
    assert defs["Procurement"]["properties"]["vat_included"]["description"] == (
        'true (value includes VAT), false (net of VAT) or "unknown"'
    )


def test_enumerations_list_their_values_with_what_each_means() -> None:
    defs = build_schema()["$defs"]
    route = defs["ProcurementRoute"]["description"]
    assert "\n- negotiated_without_prior_publication: Negotiated procedure without prior " in route
    assert "reg 32(2)(b)" in route
    assert "\n- other" in route  # a value without a docstring is still listed
    assert "\n- dmpc-2021: The 2021 form" in defs["FormVersion"]["description"]


def test_every_version_2_example_validates_against_the_committed_schema() -> None:
    import yaml
    from jsonschema import Draft202012Validator  # type: ignore[import-untyped]

    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    validator = Draft202012Validator(schema)
    checked = 0
    for path in sorted((ROOT / "examples").glob("*.yaml")):
        data = json.loads(json.dumps(yaml.safe_load(path.read_text("utf-8")), default=str))
        if data.get("schema_version") != 2:
            continue  # a version 1 file is upgraded by the loader, not by the editor
        errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(data)]
        assert errors == [], path.name
        checked += 1
    assert checked >= 5
