"""Real case streams for the projection tests, written through `CaseJournal.record`."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from domain import events as ev
from domain.register import part1_entry
from domain.roles import Actor, Role
from domain.rules.delegation import route_case
from domain.state import CaseState
from eventstore import EventStore, NewEvent
from ratify.services.journal import CaseJournal
from ratify.services.projections.tables import VIEW_TABLES, projection_positions
from tests.factories import (
    CEO,
    DMPC,
    EQUALITIES,
    FINANCE,
    LEGAL,
    OFFICER,
    SECRETARIAT,
    SYSTEM,
    Clock,
    make_case,
)

PART2_TEXT = "The unit prices are set out in the confidential annex."
PART2: dict[str, Any] = {
    "security_marking": "OFFICIAL-SENSITIVE [COMMERCIAL]",
    "foi_sections": ["s43 Commercial interests"],
    "review_on": "2024-04-01",
    "content": PART2_TEXT,
}


def money(amount: str) -> list[dict[str, Any]]:
    return [
        {
            "kind": "revenue",
            "amount": amount,
            "financial_years": ["2019/20"],
            "funding_source": "MOPAC approved revenue budget",
        }
    ]


def required_by(day: str) -> dict[str, str]:
    return {"required_by": day, "reason": "The contract ends."}


class Story:
    """One case told event by event into the store; each step is recorded at once."""

    def __init__(
        self,
        store: EventStore,
        case_id: str,
        *,
        start: datetime = datetime(2019, 11, 18, 10, tzinfo=UTC),
        **case_overrides: Any,
    ) -> None:
        self.journal = CaseJournal(store)
        self.case_id = case_id
        self.clock = Clock(start)
        self.case = make_case(**case_overrides)

    @property
    def state(self) -> CaseState:
        return self.journal.load(self.case_id)

    def do(self, cls: type[ev.Event], actor: Actor, **fields: Any) -> Story:
        event = cls(
            event_id=uuid.uuid4(),
            case_id=self.case_id,
            occurred_at=self.clock.tick(),
            actor=actor,
            **fields,
        )
        self.journal.record(self.case_id, [event])
        return self

    def draft(self) -> Story:
        return self.do(ev.CaseDrafted, OFFICER, case=self.case)

    def submit(self) -> Story:
        if self.journal.store.stream_version(self.case_id) == 0:
            self.draft()
        routing = route_case(self.case, self.clock.now.date())
        return self.do(ev.CaseSubmitted, OFFICER, routing=routing)

    def place_on_agenda(self) -> Story:
        return self.do(
            ev.PlacedOnAgenda,
            SECRETARIAT,
            meeting_id=f"IAM-{self.case_id}",
            board="IAM",
            meeting_date=self.clock.now.date(),
        )

    def board_supports(self) -> Story:
        return self.do(
            ev.BoardAdviceRecorded,
            SECRETARIAT,
            meeting_id=f"IAM-{self.case_id}",
            advice="supported",
        )

    def to_advice(self) -> Story:
        return self.submit().place_on_agenda().board_supports()

    def sign_all(self) -> Story:
        for actor, area in ((FINANCE, "finance"), (LEGAL, "legal"), (EQUALITIES, "equalities")):
            self.do(ev.SignOffGiven, actor, area=area)
        return self

    def approve(self, reference: str | None = None, *, by: Actor = DMPC) -> Story:
        """From the chief executive's stage (DMPC) or the decision stage (MPS) to approved."""
        if by is DMPC:
            self.do(ev.ChiefExecutiveConsulted, CEO)
            self.do(ev.InterestsDeclared, DMPC, has_interest=False)
        return self.do(ev.DecisionApproved, by, reference=reference)

    def publish_part1(self) -> Story:
        return self.do(ev.Part1Published, SYSTEM, entry=part1_entry(self.state))


def notification(case_id: str, store: EventStore) -> None:
    """A notification, as the notify activity records it (not a case event)."""
    stream = f"notifications-{case_id}"
    store.append(
        stream,
        store.stream_version(stream),
        [
            NewEvent(
                event_id=uuid.uuid4(),
                event_type="notification.sent",
                schema_version=1,
                occurred_at=datetime(2019, 11, 18, 9, tzinfo=UTC),
                actor_id="ratify",
                actor_role="system",
                data={"subject": "A task for you", "to_role": "finance_adviser"},
            )
        ],
    )


def snapshot(engine: Engine) -> dict[str, list[dict[str, Any]]]:
    """Every row of the views and the positions, in a stable order, for comparisons."""
    out: dict[str, list[dict[str, Any]]] = {}
    with engine.connect() as conn, conn.begin():
        for table in (*VIEW_TABLES, projection_positions):
            key = list(table.primary_key.columns)
            rows = conn.execute(sa.select(table).order_by(*key)).mappings().all()
            out[table.name] = [dict(r) for r in rows]
    return out


def mid_day(day: str) -> datetime:
    d = date.fromisoformat(day)
    return datetime(d.year, d.month, d.day, 10, tzinfo=UTC)


#: The records officer who recorded the paper signature, and the form it came from.
PAPER_RECORDED_BY = "rec.rita"
PAPER_FORM = "DMPC form 512"


def paper_decision(store: EventStore, case_id: str = "paper-512") -> Story:
    """A case required by 9 March 2022, signed by the DMPC on paper on 14 March (five days
    late) and recorded on 17 March by a records officer from the signed form; Part 1
    published. Built from events directly, as a paper recording or an import writes them."""
    story = Story(
        store,
        case_id,
        start=datetime(2022, 3, 1, 10, tzinfo=UTC),
        time_sensitivity=required_by("2022-03-09"),
    )
    story.to_advice().sign_all()
    story.do(ev.ChiefExecutiveConsulted, CEO)
    story.do(ev.InterestsDeclared, DMPC, has_interest=False)
    story.clock.jump_to(date(2022, 3, 17))
    story.do(
        ev.DecisionApproved,
        DMPC,
        reference="PCD 512",
        effective_at=datetime(2022, 3, 14, 12, tzinfo=UTC),
        provenance=ev.Provenance(
            how="on_paper",
            recorded_by=PAPER_RECORDED_BY,
            evidence=ev.Evidence(kind=ev.EvidenceKind.SIGNED_FORM, reference=PAPER_FORM),
        ),
    )
    return story.publish_part1()


def declined_with_conditions(story: Story) -> None:
    """Drafted by ollie.lane (an officer the API's tests sign in as), the board's support
    with two conditions on two lines and a comment, declined with a reason."""
    ollie = Actor(user_id="ollie.lane", role=Role.ORIGINATING_OFFICER)
    story.do(ev.CaseDrafted, ollie, case=story.case)
    story.do(ev.CaseSubmitted, ollie, routing=route_case(story.case, story.clock.now.date()))
    story.place_on_agenda()
    story.do(
        ev.BoardAdviceRecorded,
        SECRETARIAT,
        meeting_id=f"IAM-{story.case_id}",
        advice="supported_with_conditions",
        conditions="Report the uptake each quarter\nReturn to the board before year 2",
        comment="A pilot first.",
    )
    story.sign_all()
    story.do(ev.ChiefExecutiveConsulted, CEO)
    story.do(ev.InterestsDeclared, DMPC, has_interest=False)
    story.do(ev.DecisionDeclined, DMPC, comment="Not value for money at this price.")
