"""Events encode to JSON and load back, including payloads stored under an older schema."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime

import pytest

from domain import events as ev
from domain.errors import UnknownEventError
from domain.rules.delegation import route_case
from tests.factories import FINANCE, LEGAL, OFFICER, make_case

AT = datetime(2019, 11, 18, 10, 30, 15, 123456, tzinfo=UTC)


def _envelope(actor=OFFICER):
    return {"event_id": uuid.uuid4(), "case_id": "c-1", "occurred_at": AT, "actor": actor}


def _through_json(event: ev.Event) -> ev.Event:
    kind, version, payload = ev.encode(event)
    stored = json.loads(json.dumps(payload))  # what the store keeps
    return ev.decode(
        kind,
        version,
        stored,
        event_id=event.event_id,
        case_id=event.case_id,
        occurred_at=event.occurred_at,
        actor=event.actor,
    )


def test_a_drafted_case_survives_the_round_trip_to_the_penny():
    case = make_case(
        money_lines=[
            {
                "kind": "capital",
                "amount": "353000.01",
                "financial_years": ["2019/20"],
                "funding_source": "Home Office",
            }
        ]
    )
    event = ev.CaseDrafted(case=case, **_envelope())
    back = _through_json(event)
    assert back == event
    assert str(back.case.money_lines[0].amount) == "353000.01"


def test_a_submission_keeps_its_routing_and_rule_set_version():
    routing = route_case(make_case(), date(2019, 11, 20))
    back = _through_json(ev.CaseSubmitted(routing=routing, **_envelope()))
    assert back.routing == routing  # type: ignore[attr-defined]
    assert back.routing.rule_set.digest == routing.rule_set.digest  # type: ignore[attr-defined]


def test_every_event_type_has_a_stable_unique_name_and_loads_back():
    assert len(ev.EVENT_TYPES) == len(set(ev.EVENT_TYPES)) >= 26
    samples = [
        ev.SignOffGiven(area="finance", comment="Funded.", **_envelope(FINANCE)),
        ev.ChangesRequested(
            area="legal", reasons=["Cite 4.13"], sections=["legal_comments"], **_envelope(LEGAL)
        ),
        ev.Part2PublishedRedacted(
            redactions=[{"passage": "prices", "reason": "s43"}],
            reason="Contract ended",
            content="Unit [REDACTED] apply.",
            **_envelope(),
        ),
        ev.RequiredByChanged(required_by=None, reason="No longer urgent", **_envelope()),
    ]
    for event in samples:
        assert _through_json(event) == event


def test_a_v1_changes_requested_payload_is_upcast_to_v2():
    stored_v1 = {"area": "legal", "reason": "Please cite paragraph 4.13."}
    event = ev.decode(
        "advice.changes_requested",
        1,
        stored_v1,
        event_id=uuid.uuid4(),
        case_id="c-1",
        occurred_at=AT,
        actor=LEGAL,
    )
    assert isinstance(event, ev.ChangesRequested)
    assert event.reasons == ["Please cite paragraph 4.13."]
    assert event.sections == []
    # and it is written back at the current version
    assert ev.encode(event)[1] == ev.ChangesRequested.VERSION == 2


def test_unknown_or_future_events_are_refused_clearly():
    with pytest.raises(UnknownEventError, match=r"unknown event type 'case\.teleported'"):
        ev.upcast("case.teleported", 1, {})
    with pytest.raises(UnknownEventError, match="newer than this code"):
        ev.upcast("advice.signed_off", 7, {"area": "finance"})
    with pytest.raises(UnknownEventError, match="does not load"):
        ev.decode(
            "advice.signed_off",
            1,
            {"area": "astrology"},
            event_id=uuid.uuid4(),
            case_id="c-1",
            occurred_at=AT,
            actor=FINANCE,
        )


def test_naive_times_are_refused():
    with pytest.raises(ValueError, match="timezone"):
        ev.SignOffGiven(
            area="finance",
            event_id=uuid.uuid4(),
            case_id="c",
            actor=FINANCE,
            occurred_at=datetime(2019, 1, 1),
        )
