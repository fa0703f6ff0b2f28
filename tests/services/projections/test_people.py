"""The inbox by person, and who acted on which cases (`cases_acted_on`).

An officer's tasks (submit, revise) belong to the case's officers: the officer who drafted it
and the co-officers it names, and their deputies; no other originating officer sees them.
"""

from __future__ import annotations

from sqlalchemy.engine import Engine

from domain import events as ev
from domain.roles import Actor, Role
from eventstore import EventStore
from ratify.services.projections import case_search, paging, task_list
from ratify.services.projections.projector import Projector
from tests.factories import CEO, DMPC, FINANCE, OFFICER, SECRETARIAT
from tests.services.projections.stories import Story, snapshot

OO = Role.ORIGINATING_OFFICER


def officer_tasks(
    engine: Engine, user_id: str, deputy_for: list[tuple[Role, str]] | None = None
) -> list[tuple[str, str]]:
    page = task_list.inbox(
        engine, [OO], user_id=user_id, deputy_for=deputy_for or [], limit=paging.MAX_PAGE
    )
    # the counts agree with the rows shown
    assert page.total == len(page.items) and page.more == 0
    return [(t.case_id, t.kind) for t in page.items]


def test_an_officers_tasks_show_only_to_the_case_officers_and_their_deputies(
    store: EventStore, engine: Engine, projector: Projector
):
    Story(store, "ollies").draft()
    Story(store, "shared", co_officers=["officer.cora"]).draft()
    Story(store, "olgas").do(
        ev.CaseDrafted,
        Actor(user_id="officer.olga", role=OO),
        case=Story(store, "unused").case,
    )
    projector.catch_up()
    assert officer_tasks(engine, "officer.ollie") == [("ollies", "submit"), ("shared", "submit")]
    assert officer_tasks(engine, "officer.cora") == [("shared", "submit")]
    assert officer_tasks(engine, "officer.olga") == [("olgas", "submit")]
    assert officer_tasks(engine, "someone.else") == []
    # a deputy acting for ollie today sees ollie's tasks, besides their own
    assert officer_tasks(engine, "dep.dan", [(OO, "officer.ollie")]) == [
        ("ollies", "submit"),
        ("shared", "submit"),
    ]
    # a delegation of another role does not open an officer's tasks
    assert officer_tasks(engine, "dep.dan", [(Role.FINANCE_ADVISER, "officer.ollie")]) == []
    # without a person, no personal task is listed
    assert task_list.inbox(engine, [OO]).items == []


def test_paging_an_officers_inbox_counts_only_their_tasks(
    store: EventStore, engine: Engine, projector: Projector
):
    olga = Actor(user_id="officer.olga", role=OO)
    for n in range(3):
        Story(store, f"ollie-{n}").draft()
        story = Story(store, f"olga-{n}")
        story.do(ev.CaseDrafted, olga, case=story.case)
    projector.catch_up()
    first = task_list.inbox(engine, [OO], user_id="officer.ollie", limit=2)
    assert (first.total, first.more) == (3, 1)
    second = task_list.inbox(engine, [OO], user_id="officer.ollie", limit=2, cursor=first.next)
    assert [t.case_id for t in [*first.items, *second.items]] == [
        "ollie-0",
        "ollie-1",
        "ollie-2",
    ]
    assert (second.more, second.next) == (0, None)


def test_cases_acted_on_lists_open_cases_and_roles_for_deputies_and_principals(
    store: EventStore, engine: Engine, projector: Projector
):
    deputy = Actor(user_id="dep.dan", role=Role.FINANCE_ADVISER, on_behalf_of=FINANCE.user_id)
    open_case = Story(store, "open").to_advice()
    open_case.do(ev.SignOffGiven, deputy, area="finance")
    open_case.do(ev.IrregularityRecorded, CEO, description="Grants paid before referral.")
    Story(store, "done").to_advice().sign_all().approve("PCD 1")
    projector.catch_up()
    assert case_search.cases_acted_on(engine, "dep.dan") == [("open", Role.FINANCE_ADVISER)]
    assert case_search.cases_acted_on(engine, FINANCE.user_id) == [("open", Role.FINANCE_ADVISER)]
    assert case_search.cases_acted_on(engine, OFFICER.user_id) == [("open", OO)]
    assert case_search.cases_acted_on(engine, SECRETARIAT.user_id) == [
        ("open", Role.BOARD_SECRETARIAT)
    ]
    # the approved case is closed; recording an irregularity is not acting on a case
    assert case_search.cases_acted_on(engine, DMPC.user_id) == []
    assert case_search.cases_acted_on(engine, CEO.user_id) == []
    # and the views rebuild from zero to the same rows
    before = snapshot(engine)
    projector.rebuild()
    assert snapshot(engine) == before
