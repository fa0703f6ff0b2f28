"""The bounds of everything a person can send: dates, identifiers, texts, lists, sizes.

Pure (no settings, no I/O): the services and the front doors (`ratify.http.limits`, the API,
the web pages, the CLI) check what people send against these rules before anything reaches
Temporal or the store, and answer with the field and the rule. The workflows and the fold do
not enforce them: a case stored before a rule existed must keep loading and replaying.

- **Dates**: every date a person writes lies in a window, by default 1990-01-01 to
  2100-12-31 (`RATIFY_EARLIEST_DATE`, `RATIFY_LATEST_DATE` change it at the edge). A date of
  9999-12-31 once wedged a case: its deadline arithmetic overflowed inside the workflow.
- **Identifiers** a person chooses (a case id, a meeting id): one rule, `IDENTIFIER_RULE`.
  No `/` (a case id with one could never be reached again through a URL), no NUL or other
  control character (PostgreSQL cannot store NUL, so the read views would stop on it),
  at most 80 characters.
- **Texts and lists**: the case file's texts are bounded in `domain.case` (`Text`, 20,000
  characters; `ShortText`, 500); the steps' texts and lists (`workflows.messages`) use
  `BoundedText`, `BoundedShortText`, `BoundedId` and `bounded_list` below.
- **Sizes**: a case file takes at most `MAX_CASE_FILE_BYTES`, a case written as JSON at most
  `MAX_CASE_JSON_BYTES` (what Temporal can carry).
- **Ids quoted back**: a message that names an id someone sent quotes it through `quote_id`
  (cut short, every character that is not printable escaped).

The steps' bounds hold *at the edge only*: a message validated with `EDGE` as its pydantic
validation context (`model_validate(data, context=EDGE)`, as the API does) is refused
beyond them; the same message decoded by a workflow (no context) is not. So a step a
workflow accepted before a bound existed still loads when its history is replayed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ValidationInfo
from pydantic_core import PydanticCustomError

from domain.clock import LONDON

#: The default window of the dates a person can write (both ends included).
EARLIEST_DATE = date(1990, 1, 1)
LATEST_DATE = date(2100, 12, 31)

#: The longest identifier a person can choose.
MAX_IDENTIFIER = 80
IDENTIFIER = re.compile(rf"^[A-Za-z0-9][A-Za-z0-9._-]{{0,{MAX_IDENTIFIER - 1}}}$")
IDENTIFIER_RULE = (
    f"1 to {MAX_IDENTIFIER} letters, digits or . _ - (starting with a letter or a digit; "
    "no /, spaces or control characters)"
)

#: The longest text of a step (a reason, a comment, conditions, a description).
MAX_TEXT = 20_000
#: The longest short text of a step (a section name).
MAX_SHORT_TEXT = 500
#: The most items of a list a person sends in one step (reasons, sections, redactions).
MAX_ITEMS = 100
#: The longest id that names a case or a meeting in a step (a stream id's longest).
MAX_ID_IN_STEP = 200

#: The validation context under which the steps' bounds are enforced (the front doors').
EDGE: dict[str, bool] = {"ratify.edge": True}


def at_edge(info: ValidationInfo) -> bool:
    """Whether this validation runs at the edge (`EDGE`), where the bounds hold."""
    context = info.context
    return isinstance(context, dict) and context.get("ratify.edge") is True


def check_identifier(value: str, field: str) -> str:
    """`value` if it is an identifier a person may choose, else ValueError naming `field`."""
    if IDENTIFIER.match(value) is None:
        shown = repr(value) if len(value) <= MAX_IDENTIFIER and value.isprintable() else None
        what = f"{shown} is not" if shown else f"a {len(value)}-character id is not"
        raise ValueError(f"{field}: {what} a valid id: {IDENTIFIER_RULE}")
    return value


def _text_bound(limit: int) -> AfterValidator:
    def check(value: str, info: ValidationInfo) -> str:
        if at_edge(info):
            if len(value) > limit:
                raise PydanticCustomError(
                    "string_too_long",
                    "String should have at most {max_length} characters",
                    {"max_length": limit},
                )
            if "\x00" in value:
                raise PydanticCustomError(
                    "nul_character", "text cannot contain the NUL character (U+0000)"
                )
        return value

    return AfterValidator(check)


def bounded_list(limit: int = MAX_ITEMS) -> AfterValidator:
    """At the edge, a list of at most `limit` items (use in `Annotated[list[...], ...]`)."""

    def check(value: list[Any], info: ValidationInfo) -> list[Any]:
        if at_edge(info) and len(value) > limit:
            raise PydanticCustomError(
                "too_long", "List should have at most {max_length} items", {"max_length": limit}
            )
        return value

    return AfterValidator(check)


#: A text of a step: at the edge, at most `MAX_TEXT` characters and no NUL.
BoundedText = Annotated[str, _text_bound(MAX_TEXT)]
#: A short text of a step: at the edge, at most `MAX_SHORT_TEXT` characters and no NUL.
BoundedShortText = Annotated[str, _text_bound(MAX_SHORT_TEXT)]
#: The id of a case or a meeting named in a step: at the edge, at most 200 characters.
BoundedId = Annotated[str, _text_bound(MAX_ID_IN_STEP)]


def describe_window(earliest: date, latest: date) -> str:
    return f"{earliest.isoformat()} to {latest.isoformat()}"


def _dates(value: Any, path: str) -> Iterator[tuple[str, date]]:
    def at(key: object) -> str:
        return f"{path}.{key}" if path else str(key)

    if isinstance(value, datetime):
        yield path, value.date()
    elif isinstance(value, date):
        yield path, value
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            yield from _dates(getattr(value, name), at(name))
        for name, extra in (value.model_extra or {}).items():
            yield from _dates(extra, at(name))
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _dates(item, at(key))
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            yield from _dates(item, at(i))


def date_problems(
    value: Any, earliest: date = EARLIEST_DATE, latest: date = LATEST_DATE, *, path: str = ""
) -> list[tuple[str, str]]:
    """Every date in `value` (a model, dict or list, walked through) outside the window:
    (its dotted path, the rule it breaks). Empty when every date is inside."""
    window = describe_window(earliest, latest)
    return [
        (where or "date", f"{day.isoformat()} is outside the dates Ratify accepts ({window})")
        for where, day in _dates(value, path)
        if not earliest <= day <= latest
    ]


def dates_outside(
    value: Any, earliest: date = EARLIEST_DATE, latest: date = LATEST_DATE, *, path: str = ""
) -> list[str]:
    """`date_problems` as messages naming the field: `time_sensitivity.required_by:
    9999-12-31 is outside the dates Ratify accepts (1990-01-01 to 2100-12-31)`."""
    return [f"{where}: {rule}" for where, rule in date_problems(value, earliest, latest, path=path)]


def moment_in_window(value: date | datetime) -> date | datetime:
    """A day or an instant inside the default window (`EARLIEST_DATE` to `LATEST_DATE`),
    or ValueError naming the rule: a pydantic validator for dates people send. An instant at
    the very edge of the calendar (year 1 with an offset east of Greenwich) would overflow
    on conversion and make whatever holds it unreadable: it is refused here, at the edge."""
    window = describe_window(EARLIEST_DATE, LATEST_DATE)
    try:
        day = value.astimezone(UTC).date() if isinstance(value, datetime) else value
        if isinstance(value, datetime):
            value.astimezone(LONDON)
    except (OverflowError, ValueError):
        raise ValueError(f"the date is outside the dates Ratify accepts ({window})") from None
    if not EARLIEST_DATE <= day <= LATEST_DATE:
        raise ValueError(f"{day.isoformat()} is outside the dates Ratify accepts ({window})")
    return value


# -- sizes -----------------------------------------------------------------------------------

KIB = 1024
MIB = 1024 * KIB
#: The largest case file `POST /cases/upload` (and the web page's new case form) takes.
MAX_CASE_FILE_BYTES = 2 * MIB
#: The largest case once written as JSON, as Temporal carries it (its payload limit is
#: 2 MB, and the workflow input, the drafted event and the state all hold the case).
MAX_CASE_JSON_BYTES = 1 * MIB


# -- ids quoted back -------------------------------------------------------------------------

#: The most characters of an id that a message quotes back.
MAX_QUOTED_ID = 80


def quote_id(value: str, limit: int = MAX_QUOTED_ID) -> str:
    """An id someone sent (a path, a field), as a message may quote it back: at most
    `limit` characters, then `…` and its length; each character that is not printable
    (control, format and bidirectional characters such as U+202E, NUL, line breaks) escaped
    as `\\xNN`, `\\uNNNN` or `\\UNNNNNNNN`, so that an answer, a page or a log line shows
    what was sent and cannot be reordered or cut by it. Every message that names an id it
    was given goes through here."""
    shown = "".join(_printable(char) for char in value[:limit])
    return shown if len(value) <= limit else f"{shown}… ({len(value)} characters)"


def _printable(char: str) -> str:
    if char.isprintable():
        return char
    code = ord(char)
    return (
        f"\\x{code:02x}"
        if code < 0x100
        else f"\\u{code:04x}"
        if code < 0x10000
        else f"\\U{code:08x}"
    )
