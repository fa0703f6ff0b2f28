"""The views the API reads: case search, stages, "my tasks" and the public register."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy.engine import Engine

from domain import events as ev
from domain.roles import AdviceArea, Role
from domain.state import Part1Status, Part2Status, Stage
from eventstore import EventStore
from ratify.services.projections import case_search, paging, public_register, task_list
from ratify.services.projections.case_search import CaseSummary
from ratify.services.projections.projector import Projector
from tests.factories import FINANCE, MPS, OFFICER, PUBLISHER, SYSTEM
from tests.published import published_register
from tests.services.projections.stories import (
    PART2,
    PART2_TEXT,
    Story,
    money,
    required_by,
    snapshot,
)


def tasks(
    engine: Engine, roles: Iterable[Role], user_id: str | None = None
) -> list[task_list.TaskRow]:
    """Every open task of the roles that `user_id` sees (one page holds them all here)."""
    page = task_list.inbox(engine, roles, limit=paging.MAX_PAGE, user_id=user_id)
    assert page.next is None and page.total == len(page.items)
    return page.items


def published(engine: Engine) -> list[public_register.RegisterItem]:
    """The whole register (one page holds it all here)."""
    page = public_register.register(engine, limit=paging.MAX_PAGE)
    assert page.next is None
    return page.items


def summary(engine: Engine, case_id: str) -> CaseSummary:
    found = case_search.case_summary(engine, case_id)
    assert found is not None, f"no summary of {case_id}"
    return found


# -- stages ----------------------------------------------------------------------------------


def test_the_summary_follows_the_case_from_draft_to_published(
    store: EventStore, engine: Engine, projector: Projector
):
    s = Story(
        store, "case-a", money_lines=money("600000"), time_sensitivity=required_by("2019-11-19")
    )
    s.draft()
    assert projector.catch_up() == 1
    view = summary(engine, "case-a")
    assert (view.stage, view.title, view.version) == (Stage.DRAFT, "Test Case", 1)
    assert (view.submitted_at, view.decision_maker, view.reference) == (None, None, None)
    assert view.total_amount == Decimal("600000.00")
    assert view.required_by == date(2019, 11, 19)
    assert view.updated_at == s.clock.now
    assert [
        (t.case_id, t.kind) for t in tasks(engine, [Role.ORIGINATING_OFFICER], OFFICER.user_id)
    ] == [("case-a", "submit")]

    s.submit()
    projector.catch_up()
    view = summary(engine, "case-a")
    assert view.stage is Stage.BOARD and view.submitted_at == s.clock.now
    assert view.decision_maker is Role.DMPC  # from the routing, before anyone decides
    assert tasks(engine, [Role.ORIGINATING_OFFICER], OFFICER.user_id) == []

    s.place_on_agenda().board_supports()
    projector.catch_up()
    assert summary(engine, "case-a").stage is Stage.ADVICE
    s.sign_all()
    projector.catch_up()
    assert summary(engine, "case-a").stage is Stage.CHIEF_EXECUTIVE
    assert [t.kind for t in tasks(engine, [Role.CHIEF_EXECUTIVE])] == ["consult_chief_executive"]

    s.clock.jump_to(date(2019, 11, 20))  # the day after it was required
    s.approve("PCD 679")
    projector.catch_up()
    view = summary(engine, "case-a")
    assert (view.stage, view.reference, view.late) == (Stage.APPROVED, "PCD 679", True)
    assert view.decided_at == s.clock.now and view.part1 is Part1Status.PENDING
    assert published(engine) == []

    s.publish_part1()
    assert projector.catch_up() == 1
    view = summary(engine, "case-a")
    assert view.part1 is Part1Status.PUBLISHED and view.version == 11
    assert [r.reference for r in published(engine)] == ["PCD 679"]


def test_a_withdrawn_case_and_an_mps_decision(
    store: EventStore, engine: Engine, projector: Projector
):
    Story(store, "gone").submit().do(ev.CaseWithdrawn, OFFICER, reason="No longer needed.")
    mps = Story(store, "mps", money_lines=money("120000"))
    mps.to_advice().sign_all().approve(by=MPS)
    projector.catch_up()
    assert summary(engine, "gone").stage is Stage.WITHDRAWN
    view = summary(engine, "mps")
    assert (view.stage, view.decision_maker, view.reference) == (
        Stage.APPROVED,
        Role.MPS_DECISION_MAKER,
        None,
    )
    assert view.part1 is Part1Status.NOT_DUE
    assert published(engine) == []  # MPS-delegated decisions are not on the register
    assert case_search.case_summary(engine, "nobody") is None


# -- search ----------------------------------------------------------------------------------


@pytest.fixture
def five_cases(store: EventStore, projector: Projector) -> None:
    """Five cases on different days, stages, deadlines and amounts."""
    day = lambda d: datetime.fromisoformat(d).replace(tzinfo=UTC)  # noqa: E731
    data = Story(
        store,
        "c-data",
        start=day("2019-11-18T10:00"),
        title="Data Environment Solution",
        money_lines=money("600000"),
        time_sensitivity=required_by("2019-12-13"),
    )
    data.to_advice().sign_all().approve("PCD 679").publish_part1()
    Story(
        store,
        "c-mettrace",
        start=day("2019-12-02T10:00"),
        title="MetTrace Expansion",
        money_lines=money("1200000"),
        time_sensitivity=required_by("2020-01-31"),
    ).to_advice()
    Story(
        store,
        "c-small",
        start=day("2020-01-06T10:00"),
        title="Small Works",
        money_lines=money("120000"),
    ).submit()
    Story(
        store,
        "c-draft",
        start=day("2020-02-03T10:00"),
        title="Data Retention Review",
        money_lines=money("700000"),
    ).draft()
    Story(
        store,
        "c-gone",
        start=day("2020-03-02T10:00"),
        title="100% Idea",
        money_lines=money("50000"),
    ).submit().do(ev.CaseWithdrawn, OFFICER, reason="Not needed.")
    projector.catch_up()


def ids(rows: list[CaseSummary]) -> list[str]:
    return [r.case_id for r in rows]


@pytest.mark.usefixtures("five_cases")
def test_each_search_filter_filters(engine: Engine):
    # most recently changed first
    assert ids(case_search.list_cases(engine)) == [
        "c-gone",
        "c-draft",
        "c-small",
        "c-mettrace",
        "c-data",
    ]
    assert ids(case_search.list_cases(engine, stage="advice")) == ["c-mettrace"]
    assert ids(case_search.list_cases(engine, stage=Stage.APPROVED)) == ["c-data"]
    assert ids(case_search.list_cases(engine, stage=Stage.DECLINED)) == []
    assert ids(case_search.list_cases(engine, reference="pcd  679")) == ["c-data"]
    assert ids(case_search.list_cases(engine, reference="PCD 680")) == []
    assert ids(case_search.list_cases(engine, title_contains="data")) == ["c-draft", "c-data"]
    assert ids(case_search.list_cases(engine, title_contains="DATA ENV")) == ["c-data"]
    assert ids(case_search.list_cases(engine, title_contains="100% i")) == ["c-gone"]
    assert ids(case_search.list_cases(engine, title_contains="1%I")) == []  # % is not a wildcard
    assert ids(case_search.list_cases(engine, title_contains="_")) == []
    # submission days, London days with both ends included; a draft has no submission
    assert ids(case_search.list_cases(engine, submitted_to=date(2019, 11, 18))) == ["c-data"]
    assert ids(case_search.list_cases(engine, submitted_from=date(2019, 12, 2))) == [
        "c-gone",
        "c-small",
        "c-mettrace",
    ]
    assert ids(
        case_search.list_cases(
            engine, submitted_from=date(2019, 12, 1), submitted_to=date(2019, 12, 31)
        )
    ) == ["c-mettrace"]
    instant = datetime(2019, 12, 2, 11, tzinfo=UTC)  # c-mettrace was submitted at 12:00
    assert ids(
        case_search.list_cases(engine, submitted_from=instant, submitted_to=date(2019, 12, 2))
    ) == ["c-mettrace"]
    assert ids(case_search.list_cases(engine, submitted_to=instant)) == ["c-data"]
    # required-by: on or before the day
    assert ids(case_search.list_cases(engine, required_by_before=date(2019, 12, 13))) == ["c-data"]
    assert ids(case_search.list_cases(engine, required_by_before=date(2020, 1, 31))) == [
        "c-mettrace",
        "c-data",
    ]
    # amounts, inclusive
    assert ids(case_search.list_cases(engine, min_amount=Decimal("600000"))) == [
        "c-draft",
        "c-mettrace",
        "c-data",
    ]
    assert ids(case_search.list_cases(engine, max_amount=Decimal("600000.00"))) == [
        "c-gone",
        "c-small",
        "c-data",
    ]
    assert ids(
        case_search.list_cases(
            engine, min_amount=Decimal("600000.01"), max_amount=Decimal("700000")
        )
    ) == ["c-draft"]
    # filters combine
    assert ids(case_search.list_cases(engine, title_contains="data", stage="draft")) == ["c-draft"]
    assert ids(
        case_search.list_cases(engine, title_contains="data", min_amount=Decimal("650000"))
    ) == ["c-draft"]
    # pages
    assert ids(case_search.list_cases(engine, limit=2)) == ["c-gone", "c-draft"]
    assert ids(case_search.list_cases(engine, limit=2, offset=2)) == ["c-small", "c-mettrace"]
    assert ids(case_search.list_cases(engine, limit=2, offset=4)) == ["c-data"]


def test_search_refuses_nonsense(engine: Engine):
    with pytest.raises(ValueError, match="unknown stage 'bogus'"):
        case_search.list_cases(engine, stage="bogus")
    with pytest.raises(ValueError, match="limit"):
        case_search.list_cases(engine, limit=0)
    with pytest.raises(ValueError, match="offset"):
        case_search.list_cases(engine, offset=-1)
    with pytest.raises(ValueError, match="timezone"):
        case_search.list_cases(engine, submitted_from=datetime(2019, 1, 1))


# -- tasks -----------------------------------------------------------------------------------


def test_tasks_by_role_sorted_by_due_date_undated_last(
    store: EventStore, engine: Engine, projector: Projector
):
    Story(store, "t-1", time_sensitivity=required_by("2020-01-31")).to_advice()
    Story(store, "t-3").to_advice()
    Story(store, "t-2", time_sensitivity=required_by("2019-12-13")).to_advice()
    Story(store, "t-4").draft()
    projector.catch_up()

    finance = tasks(engine, [Role.FINANCE_ADVISER])
    assert [(t.case_id, t.kind, t.area, t.due) for t in finance] == [
        ("t-2", "sign_off", AdviceArea.FINANCE, date(2019, 12, 13)),
        ("t-1", "sign_off", AdviceArea.FINANCE, date(2020, 1, 31)),
        ("t-3", "sign_off", AdviceArea.FINANCE, None),
    ]
    assert {t.role for t in finance} == {Role.FINANCE_ADVISER}
    first = finance[0]
    assert (first.title, first.stage, first.reference) == ("Test Case", Stage.ADVICE, None)
    assert "finance advice" in first.description

    # a person holding two roles (e.g. their own and one as a deputy) sees both, by due date
    both = tasks(engine, {Role.LEGAL_ADVISER, Role.FINANCE_ADVISER})
    assert [(t.case_id, t.role) for t in both] == [
        ("t-2", Role.FINANCE_ADVISER),
        ("t-2", Role.LEGAL_ADVISER),
        ("t-1", Role.FINANCE_ADVISER),
        ("t-1", Role.LEGAL_ADVISER),
        ("t-3", Role.FINANCE_ADVISER),
        ("t-3", Role.LEGAL_ADVISER),
    ]
    officer = tasks(engine, [Role.ORIGINATING_OFFICER], OFFICER.user_id)
    assert [(t.case_id, t.kind, t.area) for t in officer] == [("t-4", "submit", None)]
    assert tasks(engine, []) == []
    assert tasks(engine, [Role.AUDITOR]) == []

    # a task done leaves the list
    Story(store, "t-2").do(ev.SignOffGiven, FINANCE, area="finance")
    projector.catch_up()
    assert [t.case_id for t in tasks(engine, [Role.FINANCE_ADVISER])] == ["t-1", "t-3"]
    assert len(tasks(engine, [Role.LEGAL_ADVISER])) == 3


# -- the public register ---------------------------------------------------------------------


def test_register_shows_part1_only_until_a_review_publishes_part2(
    store: EventStore, engine: Engine, projector: Projector
):
    secret = Story(store, "secret", title="Covert Kit", part2=PART2)
    secret.to_advice().sign_all().approve("PCD 700").publish_part1()
    Story(store, "pending", title="Awaiting publication").to_advice().sign_all().approve("PCD 701")
    projector.catch_up()

    rows = published(engine)
    assert [r.reference for r in rows] == ["PCD 700"]  # PCD 701 is approved, not yet published
    listed = rows[0]
    assert (listed.title, listed.part2_published_at) == ("Covert Kit", None)
    assert listed.executive_summary == "A summary."  # the list shows the summary
    entry = public_register.register_entry(engine, "pcd 700")
    assert entry is not None
    assert (entry.title, entry.part2_text, entry.part2_published_at) == ("Covert Kit", None, None)
    assert entry.decision_maker == listed.decision_maker == "Deputy Mayor for Policing and Crime"
    assert entry.date_signed == listed.date_signed == secret.state.decided_at.date()  # type: ignore[union-attr]
    assert entry.published_at == listed.published_at
    assert entry.recommendations == secret.case.recommendations
    assert entry.executive_summary == "A summary."
    assert public_register.register_entry(engine, "PCD 701") is None
    assert summary(engine, "secret").part2 is Part2Status.EXEMPT
    # the Part 2 text is nowhere in the views
    assert PART2_TEXT not in repr(snapshot(engine))
    assert "unit prices" not in repr(case_search.list_cases(engine)) + repr(published(engine))

    secret.clock.jump_to(date(2024, 4, 1))
    secret.do(ev.Part2ReviewDue, SYSTEM, review_date=date(2024, 4, 1))
    projector.catch_up()
    review = tasks(engine, [Role.PUBLICATION_OFFICER])
    assert [(t.case_id, t.kind, t.due) for t in review] == [
        ("secret", "review_part2", date(2024, 4, 1))
    ]
    assert public_register.register_entry(engine, "PCD 700").part2_text is None  # type: ignore[union-attr]

    redacted = "The [REDACTED] are set out in the confidential annex."
    secret.do(
        ev.Part2PublishedRedacted,
        PUBLISHER,
        reason="The contract has ended.",
        content=redacted,
        redactions=[{"passage": "unit prices", "reason": "s43 still applies"}],
    )
    projector.catch_up()
    entry = public_register.register_entry(engine, "PCD 700")
    assert entry is not None
    assert (entry.part2_text, entry.part2_published_at) == (redacted, secret.clock.now)
    assert summary(engine, "secret").part2 is Part2Status.PUBLISHED_REDACTED
    assert tasks(engine, [Role.PUBLICATION_OFFICER]) == []
    assert PART2_TEXT not in repr(snapshot(engine))  # only the redacted text
    assert published(engine)[0].part2_published_at == secret.clock.now

    # the projection says what a direct read of the log says
    direct = {d.entry.case_id: (d.entry, d.part2) for d in published_register(store)}
    projected = {
        r.case_id: public_register.register_entry(engine, r.reference or "")
        for r in published(engine)
    }
    assert direct.keys() == projected.keys() == {"secret"}
    e, part2 = direct["secret"]
    row = projected["secret"]
    assert row is not None
    assert (row.reference, row.title, row.date_signed, row.decision_maker) == (
        e.reference,
        e.title,
        e.date_signed,
        e.decision_maker,
    )
    assert (row.executive_summary, row.recommendations, row.part2_text) == (
        e.executive_summary,
        e.recommendations,
        part2,
    )
