"""The published JSON Schema of the case-file format, generated from `domain.case.Case`.

`ratify/schemas/case.schema.json` is committed so that editors can validate and complete
hand-written case files (e.g. with a `# yaml-language-server: $schema=...` line). It must be
regenerated whenever the case model changes:

    python -m ratify.infra.case_schema          # rewrite the file
    python -m ratify.infra.case_schema --check  # exit 1 if the file is stale (CI)

The schema describes the input format (pydantic's validation mode). Amounts are `Pounds`:
the schema says what the loader accepts (a non-negative number with at most two decimal
places, up to the £10bn cap, or a string such as "788,000.00" or "£788,000"). Cross-field
rules (numbering of recommendations, board or extremis, Part 2 dates, ...) are not
expressible in JSON Schema; the loader (`domain.casefile`) checks them.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema

from domain.case import Case
from domain.money import MAX_AMOUNT

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "schemas" / "case.schema.json"

SCHEMA_ID = "urn:ratify:schema:case-file:v1"
SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_TITLE = "Ratify case file"
SCHEMA_DESCRIPTION = (
    "A business case for a formal decision of the Deputy Mayor for Policing and Crime "
    "(MOPAC), as written by the originating officer: every section of the decision paper, "
    "its money lines, procurements, Part 2 and officer declaration. Written as YAML or JSON; "
    "see examples/*.yaml. Generated from domain.case.Case by `python -m ratify.infra.case_schema`: "
    "do not edit by hand."
)

#: The JSON form of an amount in pounds (`domain.money.Pounds`).
POUNDS_SCHEMA: dict[str, Any] = {
    "description": (
        "An exact amount in pounds, 0 to £10bn, to the penny. Write an integer (788000) or a "
        'string ("788000.00", "788,000", "£788,000"); a number with pence also works (87000.5).'
    ),
    "anyOf": [
        {"type": "number", "minimum": 0, "maximum": int(MAX_AMOUNT)},
        {"type": "string", "pattern": r"^\s*£?\s*[0-9][0-9,]*(\.[0-9]{1,2})?\s*$"},
    ],
}


class _CaseSchemaGenerator(GenerateJsonSchema):
    """Pydantic's generator, with every Decimal (all of them are `Pounds`) as POUNDS_SCHEMA."""

    def decimal_schema(self, schema: core_schema.DecimalSchema) -> JsonSchemaValue:
        return dict(POUNDS_SCHEMA)


def build_schema() -> dict[str, Any]:
    """The JSON Schema of a case file, with $schema, $id, title and description."""
    generated = Case.model_json_schema(mode="validation", schema_generator=_CaseSchemaGenerator)
    generated.pop("title", None)
    generated.pop("description", None)
    return {
        "$schema": SCHEMA_DIALECT,
        "$id": SCHEMA_ID,
        "title": SCHEMA_TITLE,
        "description": SCHEMA_DESCRIPTION,
        **generated,
    }


def render_schema() -> str:
    """The schema as the committed file holds it: 2-space JSON, UTF-8, final newline."""
    return json.dumps(build_schema(), indent=2, ensure_ascii=False) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Write the schema to `--output` (default: the committed file), or `--check` it."""
    parser = argparse.ArgumentParser(
        prog="python -m ratify.infra.case_schema", description="Generate the case-file JSON Schema."
    )
    parser.add_argument("--output", type=Path, default=SCHEMA_PATH, help="file to write")
    parser.add_argument(
        "--check", action="store_true", help="do not write; exit 1 if the file is out of date"
    )
    args = parser.parse_args(argv)
    output: Path = args.output
    text = render_schema()
    if args.check:
        current = output.read_text(encoding="utf-8") if output.exists() else None
        if current != text:
            print(
                f"{output} is out of date: run python -m ratify.infra.case_schema", file=sys.stderr
            )
            return 1
        print(f"{output} is up to date")
        return 0
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text, encoding="utf-8")
    print(f"wrote {output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
