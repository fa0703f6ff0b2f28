"""The published JSON Schema of the case-file format, generated from `domain.case.Case`.

`ratify/schemas/case.schema.json` is committed so that editors can validate and complete
hand-written case files (e.g. with a `# yaml-language-server: $schema=...` line). It must be
regenerated whenever the case model changes:

    python -m ratify.infra.case_schema          # rewrite the file
    python -m ratify.infra.case_schema --check  # exit 1 if the file is stale (CI)

The schema describes the input format (pydantic's validation mode). Amounts are `Pounds`:
the schema says what the loader accepts (a non-negative number with at most two decimal
places, up to the £10bn cap, or a string such as "788,000.00" or "£788,000"); the amounts of
a financial table are `SignedPounds`, which may also be negative ("-12,500" or "(12,500)").
Other decimals (a term in years) are numbers with their bounds. Cross-field rules
(numbering of recommendations, board or extremis, Part 2 dates, ...) are not expressible in
JSON Schema; the loader (`domain.casefile`) checks them.

Field descriptions: a field's `description=` if it has one, else the `#:` comment written
above it in `domain/case.py` (the model's own documentation, read from its source), so that
an editor shows the officer what each field means. An enumeration's description lists its
values with the docstring each value has there.
"""

from __future__ import annotations

import argparse
import ast
import inspect
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema

import domain.case
from domain.case import Case
from domain.money import MAX_AMOUNT, _check_signed_amount

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "schemas" / "case.schema.json"

#: The format version is part of the id: a version 1 file (no `schema_version`) is still read
#: and upgraded by the loader, but editors validate against this, the current one.
SCHEMA_ID = f"urn:ratify:schema:case-file:v{domain.case.CASE_SCHEMA_VERSION}"
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


#: The JSON form of an amount that may be negative (`domain.money.SignedPounds`: the
#: amounts of a financial table, where an underspend or a variance can be below zero).
SIGNED_POUNDS_SCHEMA: dict[str, Any] = {
    "description": (
        "An exact amount in pounds, to the penny, at most £10bn either way; may be negative "
        '(an overspend or a variance): -12500, "-12,500" or "(12,500)" as the papers write it.'
    ),
    "anyOf": [
        {"type": "number", "minimum": -int(MAX_AMOUNT), "maximum": int(MAX_AMOUNT)},
        {
            "type": "string",
            "pattern": (
                r"^\s*(?:\(\s*£?\s*[0-9][0-9,]*(?:\.[0-9]{1,2})?\s*\)"
                r"|(?:-\s*£?|£?\s*-?)\s*[0-9][0-9,]*(?:\.[0-9]{1,2})?)\s*$"
            ),
        },
    ],
}

_BOUNDS = {"gt": "exclusiveMinimum", "ge": "minimum", "lt": "exclusiveMaximum", "le": "maximum"}


class _CaseSchemaGenerator(GenerateJsonSchema):
    """Pydantic's generator, with `Pounds` as POUNDS_SCHEMA, `SignedPounds` as
    SIGNED_POUNDS_SCHEMA and any other decimal as a number with its bounds."""

    def decimal_schema(self, schema: core_schema.DecimalSchema) -> JsonSchemaValue:
        bounds = {_BOUNDS[key]: schema[key] for key in _BOUNDS if key in schema}  # type: ignore[literal-required]
        if bounds:
            # Not an amount: a bounded number such as a term in years (Decimal(3) -> 3).
            return {"type": "number", **{k: _plain_number(v) for k, v in bounds.items()}}
        return dict(POUNDS_SCHEMA)

    def function_after_schema(
        self, schema: core_schema.AfterValidatorFunctionSchema
    ) -> JsonSchemaValue:
        if schema["function"]["function"] is _check_signed_amount:
            return dict(SIGNED_POUNDS_SCHEMA)
        return super().function_after_schema(schema)


def _plain_number(value: Any) -> int | float:
    number = float(value)
    return int(number) if number.is_integer() else number


def _source_documentation(
    module: ModuleType = domain.case,
) -> tuple[dict[str, dict[str, str]], dict[str, dict[str, str]]]:
    """From the source of `module` (`domain.case`): for each class, the `#:` comment above
    each field, and the docstring below each enumeration value (class name -> name -> text)."""
    source = inspect.getsource(module)
    lines = source.splitlines()
    fields: dict[str, dict[str, str]] = {}
    values: dict[str, dict[str, str]] = {}
    for node in ast.parse(source).body:
        if not isinstance(node, ast.ClassDef):
            continue
        body = node.body
        for index, statement in enumerate(body):
            if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
                comment: list[str] = []
                row = statement.lineno - 2  # the line above, 0-based
                while row >= 0 and lines[row].strip().startswith("#:"):
                    comment.insert(0, lines[row].strip()[2:].strip())
                    row -= 1
                if comment:
                    fields.setdefault(node.name, {})[statement.target.id] = " ".join(comment)
            elif (
                isinstance(statement, ast.Assign)
                and len(statement.targets) == 1
                and isinstance(statement.targets[0], ast.Name)
                and isinstance(statement.value, ast.Constant)
                and index + 1 < len(body)
            ):
                following = body[index + 1]
                if isinstance(following, ast.Expr) and isinstance(following.value, ast.Constant):
                    text = inspect.cleandoc(str(following.value.value))
                    values.setdefault(node.name, {})[str(statement.value.value)] = " ".join(
                        text.split()
                    )
    return fields, values


def _describe(schema: dict[str, Any], root: str = "Case", module: ModuleType = domain.case) -> None:
    """Give fields without a description their `#:` comment, and enumerations their values'
    docstrings (from the source of `module`; the schema's own top level is class `root`)."""
    fields, values = _source_documentation(module)
    definitions: dict[str, dict[str, Any]] = schema.get("$defs", {})
    for name, definition in [(root, schema), *definitions.items()]:
        for field, text in fields.get(name, {}).items():
            prop = definition.get("properties", {}).get(field)
            if prop is not None and "description" not in prop:
                prop["description"] = text
        documented = values.get(name)
        if documented and "enum" in definition:
            listed = "".join(
                f"\n- {value}: {documented[value]}" if value in documented else f"\n- {value}"
                for value in definition["enum"]
            )
            head = definition.get("description", "").rstrip()
            definition["description"] = f"{head}\n\nValues:{listed}".strip()


def build_schema() -> dict[str, Any]:
    """The JSON Schema of a case file, with $schema, $id, title and description."""
    generated = Case.model_json_schema(mode="validation", schema_generator=_CaseSchemaGenerator)
    generated.pop("title", None)
    generated.pop("description", None)
    _describe(generated)
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
    return write_or_check(render_schema, SCHEMA_PATH, "ratify.infra.case_schema", "case-file", argv)


def write_or_check(
    render: Callable[[], str],
    default: Path,
    module: str,
    what: str,
    argv: Sequence[str] | None = None,
) -> int:
    """The command line of a committed schema generated by `module` (`render` gives its
    text): write it to `--output` (default: `default`), or `--check` that it is current."""
    parser = argparse.ArgumentParser(
        prog=f"python -m {module}", description=f"Generate the {what} JSON Schema."
    )
    parser.add_argument("--output", type=Path, default=default, help="file to write")
    parser.add_argument(
        "--check", action="store_true", help="do not write; exit 1 if the file is out of date"
    )
    args = parser.parse_args(argv)
    output: Path = args.output
    text = render()
    if args.check:
        current = output.read_text(encoding="utf-8") if output.exists() else None
        if current != text:
            print(f"{output} is out of date: run python -m {module}", file=sys.stderr)
            return 1
        print(f"{output} is up to date")
        return 0
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text, encoding="utf-8")
    print(f"wrote {output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
