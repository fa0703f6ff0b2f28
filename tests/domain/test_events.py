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


def _payloads() -> dict[type[ev.Event], dict]:
    """A payload for every event type; a new type without one fails the test below."""
    case = make_case()
    entry = {
        "case_id": "c-1",
        "reference": "PCD 1",
        "title": "T",
        "date_signed": "2019-12-01",
        "decision_maker": "DMPC",
        "executive_summary": "S",
        "recommendations": [],
    }
    when = date(2019, 12, 13)
    return {
        ev.CaseDrafted: {"case": case},
        ev.CaseRevised: {"case": case, "note": "Legal comments"},
        ev.CaseSubmitted: {"routing": route_case(case, date(2019, 11, 20))},
        ev.CaseWithdrawn: {"reason": "No longer needed"},
        ev.CheckAcknowledged: {
            "check": "figures:0123456789ab",
            "reason": "The paper's table rounds to the nearest thousand",
            "subject": "table 1 (Budget), row 3 (Total), column 2019/20",
            "message": "In table 1 (Budget), row 3 (Total) states £1,000 ...",
        },
        ev.PlacedOnAgenda: {"meeting_id": "IAM-1", "meeting_date": when, "board": "IAM"},
        ev.BoardAdviceRecorded: {
            "meeting_id": "IAM-1",
            "advice": "supported_with_conditions",
            "conditions": "Report back",
        },
        ev.ExtremisAgreed: {"reason": "Funding lapses"},
        ev.SignOffGiven: {"area": "finance", "comment": "Funded."},
        ev.ChangesRequested: {
            "area": "legal",
            "reasons": ["Cite 4.13"],
            "sections": ["legal_comments"],
        },
        ev.AdviceNotRequired: {"area": "legal", "reason": "Not required"},
        ev.ChiefExecutiveConsulted: {"comment": "Content"},
        ev.ChiefExecutiveSentBack: {"reasons": ["Equality impact"]},
        ev.InterestsDeclared: {"has_interest": True, "details": "Trustee"},
        ev.DecisionApproved: {"reference": "PCD 679", "comment": "Approved"},
        ev.DecisionDeclined: {"comment": "Not affordable"},
        ev.Part1Published: {"entry": entry},
        ev.Part1Deferred: {"until": when, "reason": "Tender open"},
        ev.Part2ReviewDue: {"review_date": when},
        ev.Part2Published: {"reason": "No longer sensitive", "content": "Prices"},
        ev.Part2PublishedRedacted: {
            "redactions": [{"passage": "prices", "reason": "s43"}],
            "reason": "Contract ended",
            "content": "[REDACTED]",
        },
        ev.Part2ExemptionExtended: {"new_review_date": when, "reasons": ["MPS asks"]},
        ev.RequiredByChanged: {"required_by": None, "reason": "No longer urgent"},
        ev.DeadlineReminderSent: {"required_by": when, "working_days_before": 5},
        ev.DeadlineEscalated: {"required_by": when},
        ev.DeadlineMissed: {"required_by": when},
        ev.IrregularityRecorded: {"description": "Grants paid before referral"},
        ev.StepDisputed: {
            "disputed_event_id": "00000000-0000-0000-0000-000000000009",
            "disputed_version": 9,
            "disputed_type": "decision.approved",
            "reason": "I signed on 15 March, not 14 March",
        },
    }


def test_every_event_type_survives_the_round_trip_through_json():
    payloads = _payloads()
    assert {cls.TYPE for cls in payloads} == set(ev.EVENT_TYPES)
    for cls, payload in payloads.items():
        event = cls(**payload, **_envelope())
        back = _through_json(event)
        assert back == event, cls.TYPE
        assert type(back) is cls


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
