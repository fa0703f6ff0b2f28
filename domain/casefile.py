"""Case files: read a `Case` from YAML or JSON text, and write one back.

Pure: no file I/O. The caller passes the text and a format name ("yaml", "json") or a
filename hint ("examples/mettrace.yaml"); `parse_case` returns a validated `Case` or raises
`CaseFileError`, whose message lists every problem as `<dotted.field.path>: <rule in plain
words>`, e.g.

    money_lines.0.amount: an amount cannot be negative
    recommendations: recommendations must be numbered 1, 2, 3, ... in order; got [1, 3]
    (top level): extra field 'foo' is not allowed

Paths count list items from 0, as JSON Pointer and pydantic do.

Reading rules:

* YAML goes through `yaml.safe_load` only (no Python tags, no arbitrary objects). Dates may
  be YAML dates (`2019-12-13`) or ISO strings (`"2019-12-13"`). A key given twice in one
  mapping is an error (PyYAML would silently keep the last one).
* JSON is read with `Decimal` for non-integer numbers, so no amount passes through a float.
  Duplicate keys are an error here too.
* The top level must be a mapping of field names to values.
* Amounts stay exact: write them as integers (`788000`) or strings (`"788,000.00"`,
  `"£788,000"`). A YAML number with a fraction (`87000.50`) is read by PyYAML as a float;
  `domain.money` turns it back into the decimal written (exact for the 15 significant digits
  an amount up to the £10bn cap can have) and refuses fractions of a penny.

`dump_case` writes YAML or JSON that `parse_case` reads back into an equal `Case`: amounts
as strings with pence ("788000.00"), dates as ISO dates, optional fields left out when empty.
"""

from __future__ import annotations

import difflib
import json
import re
import types
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import Enum, StrEnum
from pathlib import PurePath
from typing import Annotated, Any, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError
from yaml.constructor import ConstructorError

from domain.case import Case

#: Refuse texts longer than this before parsing: a real case file is a few tens of kB.
MAX_CASE_FILE_CHARS = 2_000_000

#: The path shown for a problem with the document as a whole.
TOP_LEVEL = "(top level)"

_TOO_DEEP_MESSAGE = "the file is nested too deeply to be a case file"


class CaseFormat(StrEnum):
    """The serialisations a case file can have."""

    YAML = "yaml"
    JSON = "json"


_FORMAT_NAMES: dict[str, CaseFormat] = {
    "yaml": CaseFormat.YAML,
    "yml": CaseFormat.YAML,
    "json": CaseFormat.JSON,
}


def case_format(hint: str | CaseFormat) -> CaseFormat:
    """The format named by `hint`: a format name ("yaml", "yml", "json", any case) or a
    filename whose suffix is one (".yaml", ".yml", ".json").

    Raises ValueError for anything else.
    """
    if isinstance(hint, CaseFormat):
        return hint
    name = hint.strip().lower()
    if name in _FORMAT_NAMES:
        return _FORMAT_NAMES[name]
    suffix = PurePath(name).suffix.lstrip(".")
    if suffix in _FORMAT_NAMES:
        return _FORMAT_NAMES[suffix]
    raise ValueError(
        f"cannot tell the case file format from {hint!r}: use yaml or json, "
        "or a filename ending in .yaml, .yml or .json"
    )


@dataclass(frozen=True)
class CaseFileProblem:
    """One problem in a case file: where (a dotted field path) and which rule it breaks."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


_TOO_DEEP = CaseFileProblem(TOP_LEVEL, _TOO_DEEP_MESSAGE)


class CaseFileError(ValueError):
    """A case file that cannot be read or does not describe a valid case."""

    def __init__(self, problems: Sequence[CaseFileProblem], source: str | None = None) -> None:
        if not problems:
            raise ValueError("a CaseFileError needs at least one problem")
        self.problems: tuple[CaseFileProblem, ...] = tuple(problems)
        self.source = source
        super().__init__(self._render())

    def _render(self) -> str:
        where = f"case file {self.source!r}" if self.source else "case file"
        count = len(self.problems)
        head = f"{where} is not valid ({count} problem{'s' if count != 1 else ''}):"
        return "\n".join([head, *(f"  {problem}" for problem in self.problems)])

    @property
    def paths(self) -> list[str]:
        """The field path of each problem, in order."""
        return [problem.path for problem in self.problems]


def parse_case(text: str, hint: str | CaseFormat) -> Case:
    """Parse and validate a case file.

    `hint` is a format name or a filename (only its suffix is used; the name also appears in
    error messages). Raises `CaseFileError` listing every problem found.
    """
    fmt = case_format(hint)
    source = None if isinstance(hint, CaseFormat) or hint.lower() in _FORMAT_NAMES else hint
    if len(text) > MAX_CASE_FILE_CHARS:
        raise CaseFileError(
            [
                CaseFileProblem(
                    TOP_LEVEL,
                    f"the file is too long ({len(text):,} characters; "
                    f"the limit is {MAX_CASE_FILE_CHARS:,})",
                )
            ],
            source,
        )
    data = _load_yaml(text, source) if fmt is CaseFormat.YAML else _load_json(text, source)
    return case_from_data(data, source)


def load_document(text: str, hint: str | CaseFormat) -> object:
    """The data of a YAML or JSON document read by the case file's rules (safe YAML, exact
    decimals in JSON, no key twice, bounded length), not yet validated: for documents that
    hold a case file (a history file, `domain.history`). Raises `CaseFileError`."""
    fmt = case_format(hint)
    source = None if isinstance(hint, CaseFormat) or hint.lower() in _FORMAT_NAMES else hint
    if len(text) > MAX_CASE_FILE_CHARS:
        raise CaseFileError(
            [
                CaseFileProblem(
                    TOP_LEVEL,
                    f"the file is too long ({len(text):,} characters; "
                    f"the limit is {MAX_CASE_FILE_CHARS:,})",
                )
            ],
            source,
        )
    if fmt is CaseFormat.JSON:
        return _load_json(text, source)
    fast = _load_yaml_once(text, source)
    return _load_yaml(text, source) if fast is _SLOW_PATH else fast


#: `_load_yaml_once` could not read the text: read it again the usual way for its problems.
_SLOW_PATH = object()


def _load_yaml_once(text: str, source: str | None) -> object:
    """YAML parsed once, with libyaml when PyYAML has it (an import reads thousands of
    files): the node tree is checked for keys given twice, then built into data by the safe
    constructor. On any error the caller reads the text again with `_load_yaml`, whose
    problems name the line and column as for a case file."""
    loader_class = getattr(yaml, "CSafeLoader", None)
    if loader_class is None:
        return _SLOW_PATH
    loader = loader_class(text)
    try:
        root = loader.get_single_node()
        if root is None:
            return None
        if next(_yaml_duplicate_keys(root, (), set()), None) is not None:
            return _SLOW_PATH
        return loader.construct_document(root)
    except (yaml.YAMLError, RecursionError):
        return _SLOW_PATH
    finally:
        loader.dispose()


def case_from_data(data: object, source: str | None = None) -> Case:
    """Validate already-parsed data (e.g. a JSON request body) as a `Case`.

    Raises `CaseFileError` with one problem per broken rule.
    """
    if data is None:
        raise CaseFileError([CaseFileProblem(TOP_LEVEL, "the case file is empty")], source)
    if not isinstance(data, dict):
        raise CaseFileError(
            [
                CaseFileProblem(
                    TOP_LEVEL,
                    "the case file must be a mapping of field names to values, "
                    f"not {_describe_type(data)}",
                )
            ],
            source,
        )
    try:
        return Case.model_validate(data)
    except ValidationError as exc:
        raise CaseFileError(problems_from_validation_error(exc, Case), source) from None


def dump_case(case: Case, fmt: str | CaseFormat) -> str:
    """Serialise `case` as YAML or JSON text that `parse_case` reads back equal.

    Amounts are written as strings with pence ("788000.00") so they never pass through a
    float; dates as ISO dates; fields that are None are left out. Multi-line text is written
    as a YAML literal block.
    """
    chosen = case_format(fmt)
    if chosen is CaseFormat.JSON:
        return case.model_dump_json(indent=2, exclude_none=True) + "\n"
    data = case.model_dump(mode="python", exclude_none=True)
    return yaml.dump(
        data,
        Dumper=_CaseDumper,
        sort_keys=False,
        allow_unicode=True,
        width=100,
        default_flow_style=False,
    )


# --- reading ---------------------------------------------------------------------------


def _load_yaml(text: str, source: str | None) -> object:
    try:
        data = yaml.safe_load(text)
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        raise CaseFileError([_yaml_problem(exc)], source) from None
    except RecursionError:
        raise CaseFileError([_TOO_DEEP], source) from None
    except yaml.YAMLError as exc:
        raise CaseFileError(
            [CaseFileProblem(TOP_LEVEL, f"not valid YAML: {exc}")], source
        ) from None
    if root is not None:
        duplicates = list(_yaml_duplicate_keys(root, (), set()))
        if duplicates:
            raise CaseFileError(duplicates, source)
    return data


_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")


def _yaml_problem(exc: yaml.MarkedYAMLError) -> CaseFileProblem:
    mark = exc.problem_mark or exc.context_mark
    where = f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else TOP_LEVEL
    # PyYAML quotes what it found ("found undefined alias 'TenderPrice...'"): that can be
    # the text of the file (Part 2 among it), and a refusal reaches the logs. Keep the rule
    # and the place, never the text.
    parts = [_QUOTED.sub("'…'", part) for part in (exc.context, exc.problem) if part]
    if isinstance(exc, ConstructorError):
        parts.append("only plain YAML (mappings, lists, text, numbers, dates) is allowed")
    return CaseFileProblem(where, "not valid YAML: " + ", ".join(parts))


def _yaml_duplicate_keys(
    node: yaml.Node, path: tuple[str | int, ...], seen: set[int]
) -> Iterator[CaseFileProblem]:
    if id(node) in seen:  # an alias: already checked where it was defined
        return
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        first_line: dict[str, int] = {}
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.tag != "tag:yaml.org,2002:merge":
                key = str(key_node.value)
                line = key_node.start_mark.line + 1
                if key in first_line:
                    yield CaseFileProblem(
                        _dotted((*path, key)),
                        f"the key {key!r} is given twice (lines {first_line[key]} and {line})",
                    )
                else:
                    first_line[key] = line
                yield from _yaml_duplicate_keys(value_node, (*path, key), seen)
            else:
                yield from _yaml_duplicate_keys(value_node, path, seen)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            yield from _yaml_duplicate_keys(item, (*path, index), seen)


class _JsonObject(dict[str, Any]):
    """A JSON object that remembers the keys it saw more than once."""

    duplicates: list[str]


def _json_object(pairs: list[tuple[str, Any]]) -> _JsonObject:
    obj = _JsonObject()
    obj.duplicates = []
    for key, value in pairs:
        if key in obj and key not in obj.duplicates:
            obj.duplicates.append(key)
        obj[key] = value
    return obj


def _json_duplicate_keys(value: object, path: tuple[str | int, ...]) -> Iterator[CaseFileProblem]:
    if isinstance(value, _JsonObject):
        for key in value.duplicates:
            yield CaseFileProblem(_dotted((*path, key)), f"the key {key!r} is given twice")
        for key, item in value.items():
            yield from _json_duplicate_keys(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _json_duplicate_keys(item, (*path, index))


def _load_json(text: str, source: str | None) -> object:
    try:
        data = json.loads(text, parse_float=Decimal, object_pairs_hook=_json_object)
    except RecursionError:
        raise CaseFileError([_TOO_DEEP], source) from None
    except json.JSONDecodeError as exc:
        raise CaseFileError(
            [
                CaseFileProblem(
                    f"line {exc.lineno}, column {exc.colno}", f"not valid JSON: {exc.msg}"
                )
            ],
            source,
        ) from None
    duplicates = list(_json_duplicate_keys(data, ()))
    if duplicates:
        raise CaseFileError(duplicates, source)
    return data


def _describe_type(value: object) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a piece of text"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float | Decimal):
        return "a number"
    if isinstance(value, date):
        return "a date"
    return f"a {type(value).__name__}"


# --- turning pydantic errors into plain words ---------------------------------------------

#: Words in a model-level message that name a field other than by its own name.
_PHRASE_FIELDS: dict[str, str] = {"financial year": "financial_years"}

_FIELD_TOKEN = re.compile(r"[a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)*")

_DATE_RULE = "must be a date written YYYY-MM-DD, e.g. 2019-12-13"
_AMOUNT_RULE = 'must be an amount in pounds, e.g. 788000, "788000.00" or "£788,000"'

_PLAIN_RULES: dict[str, str] = {
    "missing": "this field is required",
    "date_type": _DATE_RULE,
    "date_parsing": _DATE_RULE,
    "date_from_datetime_parsing": _DATE_RULE,
    "date_from_datetime_inexact": "must be a date written YYYY-MM-DD, without a time of day",
    "decimal_type": _AMOUNT_RULE,
    "decimal_parsing": _AMOUNT_RULE,
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "string_type": "must be text",
    "list_type": "must be a list",
    "model_type": "must be a mapping of field names to values",
    "model_attributes_type": "must be a mapping of field names to values",
    "dict_type": "must be a mapping of field names to values",
}


def problems_from_validation_error(
    exc: ValidationError, model: type[BaseModel] = Case
) -> list[CaseFileProblem]:
    """One `CaseFileProblem` per error of `exc`, raised while validating `model`.

    A rule checked on a whole model (e.g. "recommendations must be numbered 1, 2, 3") is
    reported at the field its message names first, so that the path points at what to fix.
    """
    problems: list[CaseFileProblem] = []
    for error in exc.errors(include_url=False, include_input=False):
        loc = tuple(error["loc"])
        kind = error["type"]
        ctx = error.get("ctx") or {}
        message = str(error["msg"])
        if kind == "extra_forbidden":
            *parent, extra = loc
            problem = CaseFileProblem(
                _dotted(tuple(parent)), _extra_message(str(extra), _model_at(model, parent))
            )
        elif kind in ("value_error", "assertion_error"):
            message = re.sub(r"^(Value|Assertion) error, ", "", message)
            at = _model_at(model, loc)
            if at is not None:
                loc = (*loc, *_named_field(message, at))
            problem = CaseFileProblem(_dotted(loc), message)
        else:
            problem = CaseFileProblem(_dotted(loc), _plain_rule(kind, message, ctx))
        if problem not in problems:
            problems.append(problem)
    return problems


def _plain_rule(kind: str, message: str, ctx: dict[str, Any]) -> str:
    if kind in _PLAIN_RULES:
        return _PLAIN_RULES[kind]
    if kind == "string_too_short":
        minimum = ctx.get("min_length", 1)
        return "must not be empty" if minimum == 1 else f"must have at least {minimum} characters"
    if kind == "string_too_long":
        return f"must have at most {ctx.get('max_length')} characters"
    if kind == "too_short":
        minimum = ctx.get("min_length", 1)
        return f"must list at least {minimum} item{'s' if minimum != 1 else ''}"
    if kind == "too_long":
        return f"must list at most {ctx.get('max_length')} items"
    if kind in ("enum", "literal_error"):
        return f"must be one of {ctx.get('expected')}"
    if kind == "greater_than_equal":
        return f"must be at least {ctx.get('ge')}"
    if kind == "less_than_equal":
        return f"must be at most {ctx.get('le')}"
    return re.sub(r"^Input should be", "must be", message)


def _extra_message(name: str, parent: type[BaseModel] | None) -> str:
    message = f"extra field {name!r} is not allowed"
    if parent is not None:
        close = difflib.get_close_matches(name, list(parent.model_fields), n=1, cutoff=0.75)
        if close:
            message += f" (did you mean {close[0]!r}?)"
    return message


def _named_field(message: str, model: type[BaseModel]) -> tuple[str, ...]:
    """The field path (relative to `model`) that a model-level message names first."""
    for token in _FIELD_TOKEN.findall(message):
        parts = tuple(token.split("."))
        if parts[0] in model.model_fields:
            return parts
    lowered = message.lower()
    for phrase, field in _PHRASE_FIELDS.items():
        if phrase in lowered and field in model.model_fields:
            return (field,)
    return ()


def _model_at(root: type[BaseModel], loc: Sequence[str | int]) -> type[BaseModel] | None:
    """The model class found at `loc` inside `root`, or None if `loc` is not a model."""
    current: Any = root
    for step in loc:
        current = _unwrap(current)
        if isinstance(step, int):
            if get_origin(current) is not list:
                return None
            current = get_args(current)[0]
        else:
            if not (isinstance(current, type) and issubclass(current, BaseModel)):
                return None
            field = current.model_fields.get(step)
            if field is None:
                return None
            current = field.annotation
    current = _unwrap(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return current
    return None


def _unwrap(annotation: Any) -> Any:
    """Strip `Annotated[...]` and `X | None` down to X."""
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin is Union or origin is types.UnionType:
            members = [arg for arg in get_args(annotation) if arg is not type(None)]
            if len(members) != 1:
                return annotation
            annotation = members[0]
        else:
            return annotation


def _dotted(loc: Sequence[str | int]) -> str:
    return ".".join(str(part) for part in loc) if loc else TOP_LEVEL


# --- writing --------------------------------------------------------------------------


class _CaseDumper(yaml.SafeDumper):
    """SafeDumper that writes amounts as quoted strings, enums by value, long text as blocks."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        # Indent list items under their key, as the hand-written examples do.
        super().increase_indent(flow, False)


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


def _represent_decimal(dumper: yaml.SafeDumper, value: Decimal) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", f"{value:.2f}", style="'")


def _represent_enum(dumper: yaml.SafeDumper, value: Enum) -> yaml.Node:
    return dumper.represent_data(value.value)


_CaseDumper.add_representer(str, _represent_str)
_CaseDumper.add_representer(Decimal, _represent_decimal)
_CaseDumper.add_multi_representer(Enum, _represent_enum)
