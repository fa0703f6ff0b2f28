"""The published JSON Schema of history files (`domain.history.HistoryFile`), the format
`ratify import` reads: a case file and what happened to it in an earlier register.

`ratify/schemas/history.schema.json` is committed, for editors (a
`# yaml-language-server: $schema=...` line), and regenerated whenever the model changes:

    python -m ratify.infra.history_schema          # rewrite the file
    python -m ratify.infra.history_schema --check  # exit 1 if the file is stale (CI)

Generated as the case file's schema is (`ratify.infra.case_schema`: amounts, bounded
numbers, each field's `#:` comment as its description), the case's definitions included.
Rules across fields (the steps an outcome needs, their order) are the importer's.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import domain.history
from domain.history import HISTORY_FORMAT_VERSION, HistoryFile
from ratify.infra.case_schema import (
    SCHEMA_DIALECT,
    _CaseSchemaGenerator,
    _describe,
    write_or_check,
)

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "schemas" / "history.schema.json"
SCHEMA_ID = f"urn:ratify:schema:history-file:v{HISTORY_FORMAT_VERSION}"
SCHEMA_TITLE = "Ratify history file"
SCHEMA_DESCRIPTION = (
    "One decision taken before Ratify, for `ratify import`: its business case (inline as "
    "`case`, or a case file beside it named by `case_file`) and its `history`: the reference, "
    "the date of each step taken, the outcome. See docs/import.md and examples/import/. "
    "Generated from domain.history.HistoryFile by `python -m ratify.infra.history_schema`: "
    "do not edit by hand."
)


def build_schema() -> dict[str, Any]:
    """The JSON Schema of a history file, with $schema, $id, title and description."""
    generated = HistoryFile.model_json_schema(
        mode="validation", schema_generator=_CaseSchemaGenerator
    )
    generated.pop("title", None)
    generated.pop("description", None)
    _describe(generated)  # the case's own definitions
    _describe(generated, "HistoryFile", domain.history)
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
    return write_or_check(
        render_schema, SCHEMA_PATH, "ratify.infra.history_schema", "history-file", argv
    )


if __name__ == "__main__":
    raise SystemExit(main())
