"""The inbox: the open tasks a person may act on, a page at a time, soonest due first.

Read from the projection tables only (`paging` has how a list pages); no Part 2 content is
in a `TaskRow`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Any

import sqlalchemy as sa
from pydantic import TypeAdapter
from sqlalchemy.engine import Connection, Engine

from domain.roles import AdviceArea, Role
from domain.state import Stage
from ratify.services.projections.paging import (
    DEFAULT_PAGE,
    MAX_PAGE,
    FrozenRow,
    check_limit,
    decode_cursor,
    encode_cursor,
    key_day_or_none,
    key_text,
    snapshot,
)
from ratify.services.projections.tables import case_summaries, case_task_people, case_tasks


class TaskRow(FrozenRow):
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


class InboxPage(FrozenRow):
    """A page of a person's open tasks, soonest due first (undated last)."""

    items: list[TaskRow]
    #: Every open task of the roles, this page's included.
    total: int
    #: How many open tasks come after this page.
    more: int
    #: The cursor of the next page; None on the last page.
    next: str | None


_TASK_ROWS = TypeAdapter(list[TaskRow])
_ROLES = frozenset(r.value for r in Role)


def _role_value(value: Any) -> str:
    if key_text(value) not in _ROLES:
        raise ValueError("not a role")
    return str(value)


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
    check_limit(limit, MAX_PAGE)
    key: TaskKey | None = None
    if cursor is not None:
        shape = (key_day_or_none, key_text, key_text, _role_value, key_text)
        key = decode_cursor("t", cursor, shape)
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
    with snapshot(engine) as conn:
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
    return InboxPage(items=items, total=total, more=more, next=encode_cursor("t", last))
