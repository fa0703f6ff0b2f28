"""What every list of the read views shares: pages, cursors, limits and parameter checks.

The lists (`public_register.register`, `task_list.inbox`, `case_search.cases`) come a page at a
time, in a fixed order that an index of `tables` holds, with keyset pagination: a page that
is not the last carries `next`, an opaque cursor naming its last row, and the next page is
the rows after that row in the list's order (`cursor=next`). So a page costs one short index
range scan at any depth (there is no OFFSET to skip), and rows added meanwhile never shift a
page: a decision published between two requests is newer than any already shown, so it
comes before the cursor, and page 2 continues page 1 with no row repeated and none skipped.
(The order is the publication event's time: a publication projected late with a time older
than a cursor's row would land behind it, which takes a cursor taken within the seconds of
clock skew between two workers at the very top of the register.) A cursor holds only the
last row's sort key; it is not a secret and gives no access (the filters are the request's
own).

A parameter a query cannot use raises `QueryError` (a ValueError) naming it: `limit` out of
range, a `cursor` that is not one of this list's, dates the wrong way round.

A page's rows are validated in one `TypeAdapter` call straight from the result rows: in
pydantic-core that costs about 3 µs a row (0.15 ms a page of 50), less than `model_construct`,
which runs in Python; the list views select only the columns they show.
`bench/query_bench.py` measures each list against raw SQL.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime, time
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict
from sqlalchemy.engine import Connection, Engine, RowMapping

from domain.clock import LONDON

#: The most rows a page of the case list holds.
MAX_LIMIT = 500
#: The most rows a page of the register or the inbox holds.
MAX_PAGE = 200
#: Rows a page holds unless asked otherwise.
DEFAULT_PAGE = 50
#: No cursor of ours is longer; a longer one is refused before it is decoded.
MAX_CURSOR = 1024


class QueryError(ValueError):
    """A parameter a query cannot use; `param` names it (`limit`, `cursor`, ...)."""

    def __init__(self, param: str, problem: str) -> None:
        super().__init__(f"{param}: {problem}")
        self.param = param
        self.problem = problem


class FrozenRow(BaseModel):
    """A row of a read view, as a query returns it (immutable)."""

    model_config = ConfigDict(frozen=True)


def read_rows(engine: Engine, query: sa.Select[Any]) -> list[RowMapping]:
    """Every row `query` finds, read in one short transaction."""
    with engine.connect() as conn, conn.begin():
        return list(conn.execute(query).mappings().all())


@contextmanager
def snapshot(engine: Engine) -> Iterator[Connection]:
    """One read transaction whose statements all see the same data: SQLite's transactions
    do (WAL); PostgreSQL's READ COMMITTED would not, so this one is REPEATABLE READ."""
    with engine.connect() as conn, conn.begin():
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        yield conn


def london_midnight(day: date) -> datetime:
    """The instant a London day begins."""
    return datetime.combine(day, time(0), tzinfo=LONDON)


def aware(value: datetime, what: str) -> datetime:
    """`value` if it names an instant (has a timezone); else QueryError naming `what`."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise QueryError(what, "give a timezone-aware datetime, or a date")
    return value


def normalise_reference(reference: str) -> str:
    """`pcd  679` as stored: `PCD 679`."""
    return " ".join(reference.split()).upper()


def search_text(param: str, value: str | None) -> str | None:
    """Search text as given, None when blank; NUL, which no stored text holds (and
    PostgreSQL refuses in a parameter), is refused naming the parameter."""
    if value is None or not value.strip():
        return None
    if "\x00" in value:
        raise QueryError(param, "must not contain NUL characters")
    return value.strip()


def check_limit(limit: int, maximum: int) -> int:
    """`limit` if a page may hold that many rows (1..`maximum`); else QueryError."""
    if not 1 <= limit <= maximum:
        raise QueryError("limit", f"must be between 1 and {maximum}, not {limit}")
    return limit


# -- cursors -------------------------------------------------------------------------------

_BAD_CURSOR = "not a cursor of this list: pass the `next` of the page before, unchanged"


def encode_cursor(kind: str, key: Sequence[Any]) -> str:
    """An opaque cursor: base64url of `[kind, *sort key]` (dates in ISO 8601)."""
    values = [v.isoformat() if isinstance(v, date) else v for v in key]
    raw = json.dumps([kind, *values], separators=(",", ":"), ensure_ascii=False)
    return base64.urlsafe_b64encode(raw.encode()).rstrip(b"=").decode("ascii")


def decode_cursor(kind: str, cursor: str, shape: Sequence[Callable[[Any], Any]]) -> tuple[Any, ...]:
    """The sort key in a cursor of list `kind`, each value read by `shape`; else QueryError."""
    if not cursor or len(cursor) > MAX_CURSOR:
        raise QueryError("cursor", _BAD_CURSOR)
    try:
        raw = base64.b64decode(cursor + "=" * (-len(cursor) % 4), altchars=b"-_", validate=True)
        data = json.loads(raw)
        if not (isinstance(data, list) and len(data) == len(shape) + 1 and data[0] == kind):
            raise ValueError("another list's cursor")
        return tuple(read(value) for read, value in zip(shape, data[1:], strict=True))
    except (ValueError, TypeError, binascii.Error):
        raise QueryError("cursor", _BAD_CURSOR) from None


def key_text(value: Any) -> str:
    """A cursor's text value (a `decode_cursor` shape)."""
    if not isinstance(value, str) or "\x00" in value:
        raise TypeError("not text (or with a NUL, which no key holds)")
    return value


def key_instant(value: Any) -> datetime:
    """A cursor's timezone-aware instant (a `decode_cursor` shape)."""
    when = datetime.fromisoformat(key_text(value))
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError("no timezone")
    return when


def key_day_or_none(value: Any) -> date | None:
    """A cursor's day, or None (a `decode_cursor` shape)."""
    return None if value is None else date.fromisoformat(key_text(value))
