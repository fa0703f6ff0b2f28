"""Reads of the projected views: case search, the inbox, the public register, the lag.

Everything here reads the projection tables only (never Temporal, never a fold). The views
are as fresh as the projector's position; `lag` says how many stored events they do not show
yet. No Part 2 content is in a `CaseSummary`, a `TaskRow` or a `RegisterItem`; a `RegisterRow`
carries Part 2 text only once a Part 2 review has published it.

The lists (`register`, `inbox`, `cases`) come a page at a time, in a fixed order that an index
of `tables` holds, with keyset pagination: a page that is not the last carries `next`, an
opaque cursor naming its last row, and the next page is the rows after that row in the list's
order (`cursor=next`). So a page costs one short index range scan at any depth (there is no
OFFSET to skip), and rows added meanwhile never shift a page: a decision published between
two requests is newer than any already shown, so it comes before the cursor, and page 2
continues page 1 with no row repeated and none skipped. (The order is the publication
event's time: a publication projected late with a time older than a cursor's row would
land behind it, which takes a cursor taken within the seconds of clock skew between two
workers at the very top of the register.) A cursor holds only the last row's sort key; it is
not a secret and gives no access (the filters are the request's own).

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
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, TypeAdapter
from sqlalchemy.engine import Connection, Engine, RowMapping

from domain.case import Recommendation
from domain.clock import LONDON
from domain.roles import AdviceArea, Role
from domain.state import Part1Status, Part2Status, Stage
from eventstore import EventStore
from ratify.services.projections.tables import (
    CASE_VIEWS,
    agenda_items,
    case_participants,
    case_summaries,
    case_task_people,
    case_tasks,
    projection_positions,
    register_entries,
)

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


class _Row(BaseModel):
    model_config = ConfigDict(frozen=True)


class CaseSummary(_Row):
    """A case as the case list shows it (no Part 2 content)."""

    case_id: str
    title: str
    stage: Stage
    reference: str | None
    #: The role that decided; before the decision, the one that must decide (once known).
    decision_maker: Role | None
    #: The money lines' total, else the grants' total, else the virement.
    total_amount: Decimal
    required_by: date | None
    submitted_at: datetime | None
    decided_at: datetime | None
    late: bool
    part1: Part1Status
    part2: Part2Status
    #: The stream version the row reflects.
    version: int
    #: When the newest event of the case occurred.
    updated_at: datetime


class CasePage(_Row):
    """A page of the case list, most recently changed first."""

    items: list[CaseSummary]
    #: The cursor of the next page; None on the last page.
    next: str | None


class TaskRow(_Row):
    """An open task, with the case it is on (no Part 2 content)."""

    case_id: str
    title: str
    reference: str | None
    stage: Stage
    kind: str
    role: Role
    area: AdviceArea | None
    description: str
    due: date | None


class InboxPage(_Row):
    """A page of a person's open tasks, soonest due first (undated last)."""

    items: list[TaskRow]
    #: Every open task of the roles, this page's included.
    total: int
    #: How many open tasks come after this page.
    more: int
    #: The cursor of the next page; None on the last page.
    next: str | None


class RegisterItem(_Row):
    """A published decision as the register's list shows it (`register_entry` has the rest:
    the executive summary, the recommendations, Part 2 once published)."""

    case_id: str
    reference: str | None
    title: str
    date_signed: date
    decision_maker: str
    published_at: datetime
    #: When a Part 2 review published Part 2 (in full or redacted); else None.
    part2_published_at: datetime | None


class RegisterPage(_Row):
    """A page of the register, most recently published first."""

    items: list[RegisterItem]
    #: The cursor of the next page (older decisions); None on the last page.
    next: str | None


class RegisterRow(_Row):
    """A published decision: Part 1 as published, and Part 2 once a review published it."""

    case_id: str
    reference: str | None
    title: str
    date_signed: date
    decision_maker: str
    executive_summary: str
    recommendations: list[Recommendation]
    published_at: datetime
    #: The Part 2 text as a review published it (in full or redacted); else None.
    part2_text: str | None
    part2_published_at: datetime | None


_RECOMMENDATIONS = TypeAdapter(list[Recommendation])
_REGISTER_ITEMS = TypeAdapter(list[RegisterItem])
_TASK_ROWS = TypeAdapter(list[TaskRow])
_CASE_SUMMARIES = TypeAdapter(list[CaseSummary])
_ROLES = frozenset(r.value for r in Role)


def _rows(engine: Engine, query: sa.Select[Any]) -> list[RowMapping]:
    with engine.connect() as conn, conn.begin():
        return list(conn.execute(query).mappings().all())


@contextmanager
def _snapshot(engine: Engine) -> Iterator[Connection]:
    """One read transaction whose statements all see the same data: SQLite's transactions
    do (WAL); PostgreSQL's READ COMMITTED would not, so this one is REPEATABLE READ."""
    with engine.connect() as conn, conn.begin():
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        yield conn


def _london_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=LONDON)


def _aware(value: datetime, what: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise QueryError(what, "give a timezone-aware datetime, or a date")
    return value


def normalise_reference(reference: str) -> str:
    """`pcd  679` as stored: `PCD 679`."""
    return " ".join(reference.split()).upper()


def _stage(value: Stage | str) -> Stage:
    try:
        return Stage(value)
    except ValueError:
        allowed = ", ".join(s.value for s in Stage)
        raise ValueError(f"unknown stage {value!r}: one of {allowed}") from None


def _words(param: str, value: str | None) -> str | None:
    """Search text as given, None when blank; NUL, which no stored text holds (and
    PostgreSQL refuses in a parameter), is refused naming the parameter."""
    if value is None or not value.strip():
        return None
    if "\x00" in value:
        raise QueryError(param, "must not contain NUL characters")
    return value.strip()


def _limit(limit: int, maximum: int) -> int:
    if not 1 <= limit <= maximum:
        raise QueryError("limit", f"must be between 1 and {maximum}, not {limit}")
    return limit


# -- cursors -------------------------------------------------------------------------------

_BAD_CURSOR = "not a cursor of this list: pass the `next` of the page before, unchanged"


def _encode_cursor(kind: str, key: Sequence[Any]) -> str:
    """An opaque cursor: base64url of `[kind, *sort key]` (dates in ISO 8601)."""
    values = [v.isoformat() if isinstance(v, date) else v for v in key]
    raw = json.dumps([kind, *values], separators=(",", ":"), ensure_ascii=False)
    return base64.urlsafe_b64encode(raw.encode()).rstrip(b"=").decode("ascii")


def _decode_cursor(
    kind: str, cursor: str, shape: Sequence[Callable[[Any], Any]]
) -> tuple[Any, ...]:
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


def _text(value: Any) -> str:
    if not isinstance(value, str) or "\x00" in value:
        raise TypeError("not text (or with a NUL, which no key holds)")
    return value


def _instant(value: Any) -> datetime:
    when = datetime.fromisoformat(_text(value))
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError("no timezone")
    return when


def _role_value(value: Any) -> str:
    if _text(value) not in _ROLES:
        raise ValueError("not a role")
    return str(value)


def _day_or_none(value: Any) -> date | None:
    return None if value is None else date.fromisoformat(_text(value))


# -- cases ---------------------------------------------------------------------------------


def _case_query(
    *,
    stage: Stage | str | None = None,
    reference: str | None = None,
    title_contains: str | None = None,
    submitted_from: date | datetime | None = None,
    submitted_to: date | datetime | None = None,
    required_by_before: date | None = None,
    min_amount: Decimal | None = None,
    max_amount: Decimal | None = None,
) -> sa.Select[Any]:
    c = case_summaries.c
    query = sa.select(case_summaries)
    if stage is not None:
        query = query.where(c.stage == _stage(stage).value)
    if (reference := _words("reference", reference)) is not None:
        query = query.where(c.reference == normalise_reference(reference))
    if (title_contains := _words("title", title_contains)) is not None:
        query = query.where(c.title.icontains(title_contains, autoescape=True))
    if submitted_from is not None:
        if isinstance(submitted_from, datetime):
            query = query.where(c.submitted_at >= _aware(submitted_from, "submitted_from"))
        else:
            query = query.where(c.submitted_at >= _london_midnight(submitted_from))
    if submitted_to is not None:
        if isinstance(submitted_to, datetime):
            query = query.where(c.submitted_at <= _aware(submitted_to, "submitted_to"))
        else:
            next_day = _london_midnight(submitted_to + timedelta(days=1))
            query = query.where(c.submitted_at < next_day)
    if required_by_before is not None:
        query = query.where(c.required_by <= required_by_before)
    if min_amount is not None:
        query = query.where(c.total_amount >= min_amount)
    if max_amount is not None:
        query = query.where(c.total_amount <= max_amount)
    # Newest first, read backwards along ix_case_summaries_updated (or _stage_updated).
    return query.order_by(c.updated_at.desc(), c.case_id.desc())


def cases(
    engine: Engine,
    *,
    limit: int = DEFAULT_PAGE,
    cursor: str | None = None,
    offset: int = 0,
    stage: Stage | str | None = None,
    reference: str | None = None,
    title_contains: str | None = None,
    submitted_from: date | datetime | None = None,
    submitted_to: date | datetime | None = None,
    required_by_before: date | None = None,
    min_amount: Decimal | None = None,
    max_amount: Decimal | None = None,
) -> CasePage:
    """A page of the cases matching every filter given, most recently changed first.

    The filters are `list_cases`'s; `cursor` is the `next` of the page before. `offset`
    skips that many cases first (the API's old way to page, still taken: it costs as
    much as the rows it skips), and cannot be combined with a cursor.
    """
    _limit(limit, MAX_LIMIT)
    if offset < 0:
        raise QueryError("offset", f"cannot be negative, not {offset}")
    if offset and cursor is not None:
        raise QueryError("offset", "give a cursor or an offset, not both")
    query = _case_query(
        stage=stage,
        reference=reference,
        title_contains=title_contains,
        submitted_from=submitted_from,
        submitted_to=submitted_to,
        required_by_before=required_by_before,
        min_amount=min_amount,
        max_amount=max_amount,
    )
    if cursor is not None:
        updated_at, case_id = _decode_cursor("c", cursor, (_instant, _text))
        c = case_summaries.c
        query = query.where(sa.tuple_(c.updated_at, c.case_id) < (updated_at, case_id))
    rows = _rows(engine, query.limit(limit + 1).offset(offset or None))
    items = _CASE_SUMMARIES.validate_python(rows[:limit])
    after = None
    if len(rows) > limit:
        last = items[-1]
        after = _encode_cursor("c", (last.updated_at, last.case_id))
    return CasePage(items=items, next=after)


def list_cases(
    engine: Engine,
    *,
    stage: Stage | str | None = None,
    reference: str | None = None,
    title_contains: str | None = None,
    submitted_from: date | datetime | None = None,
    submitted_to: date | datetime | None = None,
    required_by_before: date | None = None,
    min_amount: Decimal | None = None,
    max_amount: Decimal | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[CaseSummary]:
    """Cases matching every filter given, most recently changed first.

    `reference` matches exactly (`pcd 679` finds `PCD 679`); `title_contains` is a
    case-insensitive substring. Submission dates are London days, both ends included (a
    datetime is taken as an instant). `required_by_before` keeps the cases required by
    that day or earlier; the amounts are inclusive bounds. Raises ValueError for an
    unknown stage or a limit outside 1..MAX_LIMIT. (`cases` pages with a cursor instead of
    an offset, which costs the same at any depth.)
    """
    return cases(
        engine,
        stage=stage,
        reference=reference,
        title_contains=title_contains,
        submitted_from=submitted_from,
        submitted_to=submitted_to,
        required_by_before=required_by_before,
        min_amount=min_amount,
        max_amount=max_amount,
        limit=limit,
        offset=offset,
    ).items


def case_summary(engine: Engine, case_id: str) -> CaseSummary | None:
    """One case's summary, or None if the views do not know it (yet)."""
    rows = _rows(engine, sa.select(case_summaries).where(case_summaries.c.case_id == case_id))
    return CaseSummary.model_validate(rows[0]) if rows else None


# -- the inbox -----------------------------------------------------------------------------

#: A task's place in the inbox: (due or None, case_id, kind, role, area ('' for none)).
TaskKey = tuple[date | None, str, str, str, str]
#: Where each role comes among a case's tasks due the same day: the order of the role
#: values as Python compares them, so Python's decisions in `_tasks_after` and the SQL's
#: ORDER BY agree whatever the database's collation.
_ROLE_RANK = {value: rank for rank, value in enumerate(sorted(r.value for r in Role))}


def _tasks_after(role: str, key: TaskKey | None) -> list[list[sa.ColumnElement[bool]]]:
    """The conditions of `role`'s tasks after `key` in the inbox's order, as ranges of
    ix_case_tasks_inbox (role, due, case_id, kind, area): one for the dated tasks and one
    for the undated ones (they come last), each one index range read in index order.

    The inbox's order is (due, case_id, kind, role, area). For one role, the tasks after
    (d, c, k, r, a) are: (due, case_id, kind, area) > (d, c, k, a) when the role is r;
    (due, case_id, kind) >= (d, c, k) when it comes after r; > when it comes before.
    """
    t = case_tasks.c
    same_role = t.role == role
    if key is None:
        return [[same_role, t.due.is_not(None)], [same_role, t.due.is_(None)]]
    due, case_id, kind, key_role, area = key
    lead: tuple[sa.ColumnElement[Any], ...] = (t.case_id, t.kind)
    values: tuple[Any, ...] = (case_id, kind)
    if due is not None:
        lead, values = (t.due, *lead), (due, *values)
    rank, key_rank = _ROLE_RANK[role], _ROLE_RANK[key_role]
    if rank == key_rank:
        beyond = sa.tuple_(*lead, t.area) > (*values, area)
    elif rank > key_rank:
        beyond = sa.tuple_(*lead) >= values
    else:
        beyond = sa.tuple_(*lead) > values
    if due is None:  # among the undated tasks: no dated task comes after it
        return [[same_role, t.due.is_(None), beyond]]
    return [[same_role, beyond], [same_role, t.due.is_(None)]]


def _visible(role: str, people: Sequence[str]) -> sa.ColumnElement[bool]:
    """Which of `role`'s tasks a person sees: those open to anyone in the role, and the
    personal ones (`case_task_people`) naming one of `people` (themself, and each principal
    who delegated the role to them)."""
    t, p = case_tasks.c, case_task_people.c
    anyone = sa.not_(t.personal)
    if not people:
        return anyone
    theirs = sa.exists().where(
        p.case_id == t.case_id,
        p.kind == t.kind,
        p.role == t.role,
        p.area == t.area,
        p.user_id.in_(list(people)),
    )
    return sa.or_(anyone, theirs)


def _ranges(
    role: str, key: TaskKey | None, people: Mapping[str, Sequence[str]]
) -> list[list[sa.ColumnElement[bool]]]:
    """`_tasks_after`, each range kept to the tasks the person sees."""
    seen = _visible(role, people.get(role, ()))
    return [[*where, seen] for where in _tasks_after(role, key)]


def _task_key(task: TaskRow) -> TaskKey:
    return (task.due, task.case_id, task.kind, task.role.value, task.area or "")


def _count_after(
    conn: Connection, roles: list[str], key: TaskKey | None, people: Mapping[str, Sequence[str]]
) -> int:
    parts = [
        sa.select(sa.literal(1).label("one")).select_from(case_tasks).where(*where)
        for role in roles
        for where in _ranges(role, key, people)
    ]
    counted = sa.select(sa.func.count()).select_from(sa.union_all(*parts).subquery())
    return int(conn.execute(counted).scalar_one())


def inbox(
    engine: Engine,
    roles: Iterable[Role],
    *,
    limit: int = DEFAULT_PAGE,
    cursor: str | None = None,
    user_id: str | None = None,
    deputy_for: Iterable[tuple[Role, str]] = (),
) -> InboxPage:
    """A page of the open tasks a person may act on: by due date (undated last), then case,
    kind, role and area; with how many there are in all and after this page.

    Pass every role the person holds, their own and those held as a deputy, their
    `user_id`, and for each delegated role the principal (`deputy_for`, (role, principal)
    pairs). A personal task (an officer's submit or revise) is shown only when it names the
    person or one of the principals of its role; without `user_id`, personal tasks are left
    out. Each role's tasks are one range of ix_case_tasks_inbox read in order, `limit` rows
    at most, so a page costs the same however many tasks wait.
    """
    _limit(limit, MAX_PAGE)
    key: TaskKey | None = None
    if cursor is not None:
        key = _decode_cursor("t", cursor, (_day_or_none, _text, _text, _role_value, _text))
    wanted = sorted({Role(r).value for r in roles})
    if not wanted:
        return InboxPage(items=[], total=0, more=0, next=None)
    people: dict[str, list[str]] = {}
    for role in wanted:
        found_people = {user_id} if user_id else set()
        found_people |= {p for r, p in deputy_for if Role(r).value == role}
        people[role] = sorted(found_people)
    t, c = case_tasks.c, case_summaries.c
    # Each role's next tasks in index order (two ranges: dated, then undated), merged.
    parts = [
        sa.select(
            sa.select(t.case_id, t.kind, t.role, t.area, t.description, t.due)
            .where(*where)
            .order_by(t.due, t.case_id, t.kind, t.area)
            .limit(limit + 1)
            .subquery()
        )
        for role in wanted
        for where in _ranges(role, key, people)
    ]
    found = sa.union_all(*parts).subquery("found")
    f = found.c
    role_rank = sa.case({role: _ROLE_RANK[role] for role in wanted}, value=f.role)
    query = (
        sa.select(
            f.case_id,
            c.title,
            c.reference,
            c.stage,
            f.kind,
            f.role,
            sa.func.nullif(f.area, "").label("area"),  # '' in the key: no advice area
            f.description,
            f.due,
        )
        .join_from(found, case_summaries, f.case_id == c.case_id)
        .order_by(f.due.is_(None), f.due, f.case_id, f.kind, role_rank, f.area)
        .limit(limit + 1)
    )
    with _snapshot(engine) as conn:
        rows = conn.execute(query).mappings().all()
        items = _TASK_ROWS.validate_python(rows[:limit])
        if key is None and len(rows) <= limit:  # all of them, on this one page
            return InboxPage(items=items, total=len(items), more=0, next=None)
        seen = sa.or_(*(sa.and_(t.role == r, _visible(r, people[r])) for r in wanted))
        mine = sa.select(sa.func.count()).select_from(case_tasks).where(seen)
        total = int(conn.execute(mine).scalar_one())
        if len(rows) <= limit:
            return InboxPage(items=items, total=total, more=0, next=None)
        last = _task_key(items[-1])
        # On the first page the rest is the total less this page; deeper, it is counted.
        more = total - len(items) if key is None else _count_after(conn, wanted, last, people)
    return InboxPage(items=items, total=total, more=more, next=_encode_cursor("t", last))


# -- the public register -------------------------------------------------------------------


def register(
    engine: Engine,
    *,
    limit: int = DEFAULT_PAGE,
    cursor: str | None = None,
    reference: str | None = None,
    title_contains: str | None = None,
    signed_from: date | None = None,
    signed_to: date | None = None,
) -> RegisterPage:
    """A page of the public register, most recently published first, matching every filter
    given: `reference` exactly (`pcd 679` finds `PCD 679`), `title_contains` as a
    case-insensitive substring, the date signed between `signed_from` and `signed_to` (both
    included). `cursor` is the `next` of the page before.

    The rows are read backwards along ix_register_entries_published (published_at,
    case_id, title), `limit` + 1 at most; a title search filters that index's entries on
    SQLite, and asks the trigram index ix_register_entries_title_trgm on PostgreSQL.
    """
    _limit(limit, MAX_PAGE)
    if signed_from is not None and signed_to is not None and signed_to < signed_from:
        raise QueryError("signed_to", f"{signed_to} is before signed_from {signed_from}")
    r = register_entries.c
    query = sa.select(
        r.case_id,
        r.reference,
        r.title,
        r.date_signed,
        r.decision_maker,
        r.published_at,
        r.part2_published_at,
    )
    if (reference := _words("reference", reference)) is not None:
        query = query.where(r.reference == normalise_reference(reference))
    if (title_contains := _words("title", title_contains)) is not None:
        query = query.where(r.title.icontains(title_contains, autoescape=True))
    if signed_from is not None:
        query = query.where(r.date_signed >= signed_from)
    if signed_to is not None:
        query = query.where(r.date_signed <= signed_to)
    if cursor is not None:
        published_at, case_id = _decode_cursor("r", cursor, (_instant, _text))
        query = query.where(sa.tuple_(r.published_at, r.case_id) < (published_at, case_id))
    query = query.order_by(r.published_at.desc(), r.case_id.desc()).limit(limit + 1)
    rows = _rows(engine, query)
    items = _REGISTER_ITEMS.validate_python(rows[:limit])
    after = None
    if len(rows) > limit:
        last = items[-1]
        after = _encode_cursor("r", (last.published_at, last.case_id))
    return RegisterPage(items=items, next=after)


def register_entry(engine: Engine, reference: str) -> RegisterRow | None:
    """The published decision with this reference (`PCD 679`), or None."""
    if "\x00" in reference:
        return None
    query = sa.select(register_entries).where(
        register_entries.c.reference == normalise_reference(reference)
    )
    rows = _rows(engine, query)
    return _register_row(rows[0]) if rows else None


def _register_row(row: RowMapping) -> RegisterRow:
    data = dict(row)
    data["recommendations"] = _RECOMMENDATIONS.validate_json(data["recommendations"])
    return RegisterRow.model_validate(data)


def projection_position(engine: Engine, name: str = CASE_VIEWS) -> int:
    """The position of the last event a projection has applied (0 before any)."""
    query = sa.select(projection_positions.c.position).where(projection_positions.c.name == name)
    with engine.connect() as conn, conn.begin():
        position = conn.execute(query).scalar_one_or_none()
    return int(position or 0)


def lag(engine: Engine, store: EventStore, name: str = CASE_VIEWS) -> int:
    """How many stored events the views do not show yet (0 when they are up to date)."""
    return max(store.last_position() - projection_position(engine, name), 0)


class AgendaRow(BaseModel):
    model_config = ConfigDict(frozen=True)

    meeting_id: str
    board: str
    meeting_date: date
    case_id: str
    title: str
    advice: str | None
    conditions: str | None


def meetings(engine: Engine, *, from_date: date | None = None) -> list[AgendaRow]:
    """Every agenda item of every meeting (from `from_date` on), by date then meeting."""
    t = agenda_items
    query = sa.select(t).order_by(t.c.meeting_date, t.c.meeting_id, t.c.case_id)
    if from_date is not None:
        query = query.where(t.c.meeting_date >= from_date)
    with engine.connect() as conn:
        return [AgendaRow.model_validate(dict(r)) for r in conn.execute(query).mappings()]


# -- who acted on which cases --------------------------------------------------------------


def cases_acted_on(engine: Engine, user_id: str) -> list[tuple[str, Role]]:
    """The cases not yet closed (not approved, declined or withdrawn) on which `user_id`
    took a step, in person or through a deputy, or as a deputy for someone else, with each
    role they acted in: (case_id, role) pairs ordered by case and role.

    Every step counts (drafting, a board's advice, a sign-off, ...) except recording an
    irregularity or moving the required-by date, which anyone may: the same steps that keep
    Part 2 open to whoever took them (`domain.visibility.part2_clearance`). From
    `case_participants`, as fresh as the projector.
    """
    p, c = case_participants.c, case_summaries.c
    closed = [stage.value for stage in Stage if stage.is_closed]
    query = (
        sa.select(p.case_id, p.role)
        .join_from(case_participants, case_summaries, p.case_id == c.case_id)
        .where(p.user_id == user_id, c.stage.not_in(closed))
        .order_by(p.case_id, p.role)
    )
    return [(row.case_id, Role(row.role)) for row in _rows(engine, query)]
