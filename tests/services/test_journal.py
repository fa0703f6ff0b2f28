"""The case journal: domain events through the real event store, on both backends."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import pytest

from domain import events as ev
from domain.errors import DomainError
from domain.roles import AdviceArea
from domain.rules.delegation import route_case
from domain.state import SignOffStatus, Stage
from eventstore import EventIdConflict, EventStore, NewEvent
from ratify.services.journal import CaseJournal, from_stored
from tests.factories import FINANCE, LEGAL, OFFICER, SECRETARIAT, Clock, make_case

CASE = "case-journal-1"


def _submitted_case(journal: CaseJournal, clock: Clock) -> list[ev.Event]:
    case = make_case()

    def mk(cls, actor, **kw):
        return cls(event_id=uuid.uuid4(), case_id=CASE, occurred_at=clock.tick(), actor=actor, **kw)

    events = [
        mk(ev.CaseDrafted, OFFICER, case=case),
        mk(ev.CaseSubmitted, OFFICER, routing=route_case(case, date(2019, 11, 18))),
        mk(
            ev.PlacedOnAgenda,
            SECRETARIAT,
            meeting_id="IAM-1",
            meeting_date=date(2019, 11, 18),
            board="IAM",
        ),
        mk(ev.BoardAdviceRecorded, SECRETARIAT, meeting_id="IAM-1", advice="supported"),
    ]
    journal.record(CASE, events)
    return events


def test_a_stored_v1_event_still_loads_and_folds(store: EventStore):
    journal = CaseJournal(store)
    clock = Clock()
    _submitted_case(journal, clock)
    # A request for changes stored by an older Ratify, under schema v1 (one `reason` string).
    v1 = NewEvent(
        event_id=uuid.uuid4(),
        event_type="advice.changes_requested",
        schema_version=1,
        occurred_at=clock.tick(),
        actor_id=LEGAL.user_id,
        actor_role=LEGAL.role.value,
        data={"area": "legal", "reason": "Please cite paragraph 4.13."},
    )
    store.append(CASE, 4, [v1])
    history = journal.history(CASE)
    changes = history.events[-1]
    assert isinstance(changes, ev.ChangesRequested)
    assert changes.reasons == ["Please cite paragraph 4.13."]
    assert history.state.stage is Stage.REVISION
    assert history.records[-1].schema_version == 1  # the stored row is never rewritten


def test_an_illegal_step_writes_nothing_and_a_retry_stores_nothing_twice(store: EventStore):
    journal = CaseJournal(store)
    clock = Clock()
    _submitted_case(journal, clock)
    wrong = ev.SignOffGiven(
        event_id=uuid.uuid4(), case_id=CASE, occurred_at=clock.tick(), actor=LEGAL, area="finance"
    )
    with pytest.raises(DomainError, match="only the finance adviser"):
        journal.record(CASE, [wrong])
    assert store.stream_version(CASE) == 4
    sign = ev.SignOffGiven(
        event_id=uuid.uuid4(), case_id=CASE, occurred_at=clock.tick(), actor=FINANCE, area="finance"
    )
    first = journal.record(CASE, [sign])
    again = journal.record(CASE, [sign])  # an activity retried after a lost reply
    assert first == again and store.stream_version(CASE) == 5
    reused = sign.model_copy(update={"comment": "changed my mind"})
    with pytest.raises(EventIdConflict):
        journal.record(CASE, [reused])
    stored = journal.load(CASE).signoffs[AdviceArea.FINANCE]
    assert (stored.status, stored.note) == (SignOffStatus.SIGNED_OFF, None)


def test_deputy_and_principal_survive_the_store(store: EventStore):
    from domain.roles import Actor, Role

    journal = CaseJournal(store)
    clock = Clock()
    _submitted_case(journal, clock)
    deputy = Actor(user_id="dep.dan", role=Role.FINANCE_ADVISER, on_behalf_of="fin.fran")
    journal.record(
        CASE,
        [
            ev.SignOffGiven(
                event_id=uuid.uuid4(),
                case_id=CASE,
                occurred_at=clock.tick(),
                actor=deputy,
                area="finance",
            )
        ],
    )
    record = store.read_stream(CASE)[-1]
    assert (record.actor_id, record.metadata) == ("dep.dan", {"on_behalf_of": "fin.fran"})
    assert from_stored(record).actor == deputy


def test_history_as_of_a_version_and_an_instant(store: EventStore):
    journal = CaseJournal(store)
    clock = Clock(datetime(2019, 11, 18, 10, tzinfo=UTC))
    events = _submitted_case(journal, clock)
    assert journal.history(CASE, to_version=1).state.stage is Stage.DRAFT
    assert journal.history(CASE, as_of=events[1].occurred_at).state.stage is Stage.BOARD
    assert journal.history(CASE).state.stage is Stage.ADVICE
