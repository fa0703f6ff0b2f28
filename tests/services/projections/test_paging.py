"""The lists a page at a time: the register newest first, the inbox by due date, the cases;
searching the register; cursors and limits refused naming the parameter; and the query plans
the indexes give (both backends)."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from domain import events as ev
from domain.roles import Role
from eventstore import EventStore
from ratify.services.projections import case_search, paging, public_register, task_list
from ratify.services.projections.projector import Projector
from tests.factories import FINANCE, LEGAL
from tests.services.projections.stories import Story, required_by

FIRST_DAY = datetime(2020, 1, 6, 9, tzinfo=UTC)


def decide(store: EventStore, n: int, title: str | None = None, day: int | None = None) -> str:
    """Decision n published: its events start on day `day` (default n) after FIRST_DAY, so
    a higher n is signed and published later."""
    start = FIRST_DAY + timedelta(days=n if day is None else day)
    story = Story(store, f"d-{n:02}", start=start, title=title or f"Decision {n}")
    story.to_advice().sign_all().approve(f"PCD {700 + n}").publish_part1()
    return story.case_id


def walk(read: Callable[[str | None], Any]) -> list[list[Any]]:
    """Every page of a list, following `next` from the first page."""
    pages, cursor = [], None
    while True:
        page = read(cursor)
        pages.append(page.items)
        if page.next is None:
            return pages
        cursor = page.next


def ids(rows: list[Any]) -> list[str]:
    return [r.case_id for r in rows]


# -- the register ------------------------------------------------------------------------


def test_page_two_follows_page_one_while_decisions_are_published(
    store: EventStore, engine: Engine, projector: Projector
):
    for n in range(1, 6):
        decide(store, n)
    projector.catch_up()

    first = public_register.register(engine, limit=2)
    assert ids(first.items) == ["d-05", "d-04"] and first.next is not None
    # two decisions are published between the person's two requests
    decide(store, 6)
    decide(store, 7)
    projector.catch_up()
    second = public_register.register(engine, limit=2, cursor=first.next)
    assert ids(second.items) == ["d-03", "d-02"]  # no repeat of d-04, nothing skipped
    third = public_register.register(engine, limit=2, cursor=second.next)
    assert ids(third.items) == ["d-01"] and third.next is None
    # a fresh first page starts with what was published meanwhile
    assert ids(public_register.register(engine, limit=2).items) == ["d-07", "d-06"]
    # what OFFSET would have shown as page 2: d-05 again, d-04 again
    assert ids(public_register.register(engine, limit=4).items)[2:] == ["d-05", "d-04"]


def test_pages_of_any_size_cover_the_register_once_in_order(
    store: EventStore, engine: Engine, projector: Projector
):
    for n in range(1, 5):
        decide(store, n)
    for n in (5, 6, 7):  # published at the same instant: the case id breaks the tie
        decide(store, n, day=9)
    projector.catch_up()
    everything = public_register.register(engine, limit=paging.MAX_PAGE).items
    assert ids(everything) == ["d-07", "d-06", "d-05", "d-04", "d-03", "d-02", "d-01"]
    assert len({r.published_at for r in everything[:3]}) == 1
    for limit in (1, 2, 3, 6, 7, 8):

        def page(cursor: str | None, limit: int = limit) -> public_register.RegisterPage:
            return public_register.register(engine, limit=limit, cursor=cursor)

        pages = walk(page)
        assert [ids(p) for p in pages] == [
            ids(everything[i : i + limit]) for i in range(0, len(everything), limit)
        ]
    row = everything[0]
    assert (row.reference, row.title, row.decision_maker) == (
        "PCD 707",
        "Decision 7",
        "Deputy Mayor for Policing and Crime",
    )


def test_searching_the_register(store: EventStore, engine: Engine, projector: Projector):
    decide(store, 1, "Body Worn Video Renewal")
    decide(store, 2, "Data Environment Solution")
    decide(store, 3, "Body-worn video: docking stations")
    decide(store, 4, "A 100% Data Review")
    decide(store, 5, "Body Worn Video Training")
    projector.catch_up()

    def found(**filters: Any) -> list[str]:
        return [r.title for r in public_register.register(engine, **filters).items]

    assert found(title_contains="body worn video") == [
        "Body Worn Video Training",
        "Body Worn Video Renewal",
    ]
    assert found(title_contains="  VIDEO ") == [
        "Body Worn Video Training",
        "Body-worn video: docking stations",
        "Body Worn Video Renewal",
    ]
    assert found(title_contains="100%") == ["A 100% Data Review"]  # % is not a wildcard
    assert found(title_contains="1%D") == [] and found(title_contains="_") == []
    assert found(reference="pcd  702") == ["Data Environment Solution"]
    assert found(reference="PCD 799") == []
    signed = {r.case_id: r.date_signed for r in public_register.register(engine).items}
    assert found(signed_from=signed["d-02"], signed_to=signed["d-04"]) == [
        "A 100% Data Review",
        "Body-worn video: docking stations",
        "Data Environment Solution",
    ]
    assert found(signed_from=signed["d-05"]) == ["Body Worn Video Training"]
    assert found(signed_to=signed["d-01"]) == ["Body Worn Video Renewal"]
    assert found(title_contains="video", signed_to=signed["d-03"]) == [
        "Body-worn video: docking stations",
        "Body Worn Video Renewal",
    ]
    # a search comes a page at a time too
    pages = walk(
        lambda cursor: public_register.register(
            engine, limit=1, cursor=cursor, title_contains="vid"
        )
    )
    assert [ids(p) for p in pages] == [["d-05"], ["d-03"], ["d-01"]]
    with pytest.raises(paging.QueryError) as refused:
        public_register.register(engine, signed_from=date(2020, 2, 1), signed_to=date(2020, 1, 31))
    assert refused.value.param == "signed_to"
    with pytest.raises(paging.QueryError, match="title: must not contain NUL"):
        public_register.register(engine, title_contains="a\x00b")
    assert public_register.register_entry(engine, "PCD\x00701") is None


# -- the inbox ---------------------------------------------------------------------------


@pytest.fixture
def advice_cases(store: EventStore, projector: Projector) -> None:
    """Five cases waiting for advice: three with a required-by date, two without."""
    Story(store, "t-jan", time_sensitivity=required_by("2020-01-31")).to_advice()
    Story(store, "t-none-b").to_advice()
    Story(store, "t-dec", time_sensitivity=required_by("2019-12-13")).to_advice()
    Story(store, "t-none-a").to_advice()
    Story(store, "t-feb", time_sensitivity=required_by("2020-02-28")).to_advice()
    projector.catch_up()


@pytest.mark.usefixtures("advice_cases")
def test_the_inbox_shows_the_most_urgent_first_and_how_many_more(engine: Engine):
    finance = [Role.FINANCE_ADVISER]
    first = task_list.inbox(engine, finance, limit=2)
    assert [(t.case_id, t.due) for t in first.items] == [
        ("t-dec", date(2019, 12, 13)),
        ("t-jan", date(2020, 1, 31)),
    ]
    assert (first.total, first.more) == (5, 3) and first.next is not None
    second = task_list.inbox(engine, finance, limit=2, cursor=first.next)
    assert [(t.case_id, t.due) for t in second.items] == [
        ("t-feb", date(2020, 2, 28)),
        ("t-none-a", None),  # undated tasks come last
    ]
    assert (second.total, second.more) == (5, 1)
    third = task_list.inbox(engine, finance, limit=2, cursor=second.next)
    assert [t.case_id for t in third.items] == ["t-none-b"]
    assert (third.total, third.more, third.next) == (5, 0, None)
    whole = task_list.inbox(engine, finance)
    assert (len(whole.items), whole.total, whole.more, whole.next) == (5, 5, 0, None)
    assert (
        task_list.inbox(engine, []).items == []
        and task_list.inbox(engine, [Role.AUDITOR]).total == 0
    )


@pytest.mark.usefixtures("advice_cases")
def test_inbox_pages_of_two_roles_cover_every_task_once_in_order(engine: Engine):
    roles = {Role.LEGAL_ADVISER, Role.FINANCE_ADVISER}  # e.g. her own and one as a deputy
    everything = task_list.inbox(engine, roles, limit=paging.MAX_PAGE).items
    assert [(t.case_id, t.role) for t in everything[:4]] == [
        ("t-dec", Role.FINANCE_ADVISER),
        ("t-dec", Role.LEGAL_ADVISER),
        ("t-jan", Role.FINANCE_ADVISER),
        ("t-jan", Role.LEGAL_ADVISER),
    ]
    assert len(everything) == 10 and [t.due for t in everything[-4:]] == [None] * 4
    for limit in (1, 2, 3, 4, 7, 10):
        seen: list[task_list.TaskRow] = []
        cursor = None
        while True:
            page = task_list.inbox(engine, roles, limit=limit, cursor=cursor)
            seen += page.items
            assert (page.total, page.more) == (10, 10 - len(seen)), limit
            if page.next is None:
                break
            cursor = page.next
        assert seen == everything, limit


@pytest.mark.usefixtures("advice_cases")
def test_a_task_done_between_two_pages(store: EventStore, engine: Engine, projector: Projector):
    finance = [Role.FINANCE_ADVISER]
    first = task_list.inbox(engine, finance, limit=2)
    assert [t.case_id for t in first.items] == ["t-dec", "t-jan"]
    # meanwhile a task on the first page and one further on are done
    Story(store, "t-jan").do(ev.SignOffGiven, FINANCE, area="finance")
    Story(store, "t-none-a").do(ev.SignOffGiven, FINANCE, area="finance")
    Story(store, "t-dec").do(ev.SignOffGiven, LEGAL, area="legal")  # another role's
    projector.catch_up()
    second = task_list.inbox(engine, finance, limit=2, cursor=first.next)
    assert [t.case_id for t in second.items] == ["t-feb", "t-none-b"]
    assert (second.total, second.more, second.next) == (3, 0, None)


# -- the case list -----------------------------------------------------------------------


def test_the_case_list_pages(store: EventStore, engine: Engine, projector: Projector):
    for n in range(5):
        Story(store, f"c-{n}", start=FIRST_DAY + timedelta(days=n)).draft()
    projector.catch_up()
    newest = ["c-4", "c-3", "c-2", "c-1", "c-0"]
    assert [ids(p) for p in walk(lambda c: case_search.cases(engine, limit=2, cursor=c))] == [
        newest[:2],
        newest[2:4],
        newest[4:],
    ]
    assert ids(case_search.cases(engine, limit=2, offset=3).items) == newest[3:]
    assert ids(case_search.list_cases(engine, limit=2, offset=2)) == newest[2:4]
    page = case_search.cases(engine, limit=2, stage="draft", title_contains="test")
    assert ids(page.items) == newest[:2] and page.next is not None
    with pytest.raises(paging.QueryError, match="offset: give a cursor or an offset, not both"):
        case_search.cases(engine, cursor=page.next, offset=2)
    with pytest.raises(paging.QueryError, match=r"limit: must be between 1 and 500, not 501"):
        case_search.cases(engine, limit=501)


# -- cursors and limits ------------------------------------------------------------------


def _cursor(*values: Any) -> str:
    raw = json.dumps(list(values)).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def test_bad_cursors_and_limits_are_refused_naming_the_parameter(
    store: EventStore, engine: Engine, projector: Projector
):
    for n in range(1, 4):
        decide(store, n)
    projector.catch_up()
    register_next = public_register.register(engine, limit=1).next
    inbox_next = task_list.inbox(engine, [Role.DMPC, Role.FINANCE_ADVISER], limit=1).next
    assert register_next is not None
    bad = [
        "",
        "not a cursor!",
        "%%%",
        register_next[:-3],  # cut short
        register_next + "A" * paging.MAX_CURSOR,  # too long
        _cursor("r", "yesterday", "d-01"),  # not an instant
        _cursor("r", "2020-01-06T09:00:00", "d-01"),  # an instant without its timezone
        _cursor("r", "2020-01-06T09:00:00+00:00", 7),  # a case id that is not text
        _cursor("r", "2020-01-06T09:00:00+00:00", "d-\x00"),  # with a NUL
        _cursor("r", "2020-01-06T09:00:00+00:00"),  # too short
        _cursor("c", "2020-01-06T09:00:00+00:00", "d-01"),  # the case list's
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),  # not UTF-8
    ]
    for cursor in bad:
        with pytest.raises(paging.QueryError) as refused:
            public_register.register(engine, cursor=cursor)
        assert refused.value.param == "cursor", cursor
        assert str(refused.value).startswith("cursor: not a cursor of this list")
    for cursor in [
        register_next,  # the register's
        _cursor("t", "2020-01-31", "t-1", "sign_off", "wizard", "finance"),  # no such role
        _cursor("t", "31/01/2020", "t-1", "sign_off", "finance_adviser", "finance"),
    ]:
        with pytest.raises(paging.QueryError) as refused:
            task_list.inbox(engine, [Role.FINANCE_ADVISER], cursor=cursor)
        assert refused.value.param == "cursor"
    if inbox_next is not None:
        with pytest.raises(paging.QueryError, match=r"^cursor: "):
            case_search.cases(engine, cursor=inbox_next)
    for limit in (0, -1, paging.MAX_PAGE + 1):
        for read in (
            lambda limit=limit: public_register.register(engine, limit=limit),
            lambda limit=limit: task_list.inbox(engine, [Role.FINANCE_ADVISER], limit=limit),
        ):
            with pytest.raises(paging.QueryError) as refused:
                read()
            assert refused.value.param == "limit"
            assert f"must be between 1 and {paging.MAX_PAGE}, not {limit}" in str(refused.value)


# -- the plans ---------------------------------------------------------------------------


#: A sort node of a PostgreSQL plan (not its "Sort Key" line).
SORT = "Sort  (cost="


@contextmanager
def statements(engine: Engine) -> Iterator[list[tuple[str, Any]]]:
    """The SQL statements (and parameters) a block sends, except transaction control."""
    sent: list[tuple[str, Any]] = []

    def keep(conn: Any, cursor: Any, statement: str, parameters: Any, *rest: Any) -> None:
        if not statement.lstrip().upper().startswith(("BEGIN", "SET ", "COMMIT", "ROLLBACK")):
            sent.append((statement, parameters))

    sa.event.listen(engine, "before_cursor_execute", keep)
    try:
        yield sent
    finally:
        sa.event.remove(engine, "before_cursor_execute", keep)


def plans(
    engine: Engine, read: Callable[[], Any], off: tuple[str, ...] = ("seqscan", "sort")
) -> list[str]:
    """The query plan of each statement `read` sends. On PostgreSQL, the plans in `off`
    (sequential scans and sorts unless told) are priced out, as a large table does, so a
    plan shows what the indexes can do whatever the size of the test's tables."""
    with statements(engine) as sent:
        read()
    found = []
    with engine.connect() as conn, conn.begin():
        if engine.dialect.name == "sqlite":
            for statement, parameters in sent:
                rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
                found.append("\n".join(str(row[3]) for row in rows))
        else:
            for plan in off:
                conn.exec_driver_sql(f"SET LOCAL enable_{plan} = off")
            for statement, parameters in sent:
                rows = conn.exec_driver_sql(f"EXPLAIN {statement}", parameters)
                found.append("\n".join(str(row[0]) for row in rows))
    return found


@pytest.mark.usefixtures("advice_cases")
def test_each_page_is_read_along_its_index(store: EventStore, engine: Engine, projector: Projector):
    for n in range(1, 4):
        decide(store, n)
    projector.catch_up()
    sqlite = engine.dialect.name == "sqlite"
    after = public_register.register(engine, limit=1).next

    [first] = plans(engine, lambda: public_register.register(engine))
    [deeper] = plans(engine, lambda: public_register.register(engine, cursor=after))
    for plan in (first, deeper):
        if sqlite:
            assert "ix_register_entries_published" in plan and "TEMP B-TREE" not in plan, plan
        else:
            assert "Index Scan Backward using ix_register_entries_published" in plan, plan
            assert SORT not in plan and "Seq Scan" not in plan, plan
    assert ("(published_at,case_id)<(?,?)" if sqlite else "Index Cond: (ROW(published_at") in (
        deeper
    )

    bitmaps_only = ("seqscan", "indexscan", "indexonlyscan")
    [titles] = plans(
        engine, lambda: public_register.register(engine, title_contains="video"), bitmaps_only
    )
    assert ("ix_register_entries_published" if sqlite else "ix_register_entries_title_trgm") in (
        titles
    ), titles
    [signed] = plans(engine, lambda: public_register.register(engine, signed_from=date(2020, 1, 1)))
    assert "ix_register_entries_date_signed" in signed or "ix_register_entries_published" in (
        signed
    ), signed
    [one] = plans(
        engine, lambda: public_register.register(engine, reference="PCD 702"), ("seqscan",)
    )
    assert "ix_register_entries_reference" in one, one

    roles = [Role.FINANCE_ADVISER, Role.LEGAL_ADVISER]
    middle = task_list.inbox(engine, roles, limit=3).next
    page, total = plans(engine, lambda: task_list.inbox(engine, roles, limit=3))
    deeper_page, _, rest = plans(
        engine, lambda: task_list.inbox(engine, roles, limit=3, cursor=middle)
    )
    for plan in (page, deeper_page, total, rest):
        assert "ix_case_tasks_inbox" in plan and "Seq Scan" not in plan, plan
    # each role's range is read in the index's order: one sort, of the merged few rows
    for plan in (page, deeper_page):
        sorts = plan.count("TEMP B-TREE FOR ORDER BY" if sqlite else SORT)
        assert sorts == 1, plan
    assert ("(due,case_id,kind,area)>(?,?,?,?)" if sqlite else "ROW(due, ") in deeper_page

    [cases] = plans(engine, lambda: case_search.cases(engine))
    [staged] = plans(engine, lambda: case_search.cases(engine, stage="advice"))
    assert "ix_case_summaries_updated" in cases and "ix_case_summaries_stage_updated" in staged
    for plan in (cases, staged):
        assert ("TEMP B-TREE" if sqlite else SORT) not in plan, plan
