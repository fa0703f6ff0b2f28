"""Builders of valid cases and events for tests: override only what a test is about."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from domain.case import Case
from domain.roles import Actor, Role

OFFICER = Actor(user_id="officer.ollie", role=Role.ORIGINATING_OFFICER)
SECRETARIAT = Actor(user_id="sec.sam", role=Role.BOARD_SECRETARIAT)
CHAIR = Actor(user_id="chair.chris", role=Role.BOARD_CHAIR)
FINANCE = Actor(user_id="fin.fran", role=Role.FINANCE_ADVISER)
LEGAL = Actor(user_id="legal.lee", role=Role.LEGAL_ADVISER)
COMMERCIAL = Actor(user_id="com.cat", role=Role.COMMERCIAL_ADVISER)
EQUALITIES = Actor(user_id="eq.eve", role=Role.EQUALITIES_ADVISER)
IA = Actor(user_id="ia.ian", role=Role.INFORMATION_ASSURANCE_ADVISER)
CEO = Actor(user_id="ceo.rl", role=Role.CHIEF_EXECUTIVE)
DMPC = Actor(user_id="dmpc.sl", role=Role.DMPC)
ALTERNATE = Actor(user_id="alt.al", role=Role.ALTERNATE_DECISION_MAKER)
MPS = Actor(user_id="mps.mo", role=Role.MPS_DECISION_MAKER)
PUBLISHER = Actor(user_id="pub.pat", role=Role.PUBLICATION_OFFICER)
SYSTEM = Actor(user_id="ratify", role=Role.SYSTEM)

_TICK = {"confirmed": True, "statement": "Covered in the body of the report."}


def case_data(**overrides: Any) -> dict[str, Any]:
    """The plain data of a small valid case (£600,000 revenue, a tender, no Part 2)."""
    data: dict[str, Any] = {
        "title": "Test Case",
        "executive_summary": "A summary.",
        "recommendations": [{"number": 1, "text": "Approve the expenditure."}],
        "approval_sought": ["expenditure"],
        "introduction_and_background": "Background.",
        "issues_for_consideration": "Issues.",
        "financial_comments": "Funded from the approved budget.",
        "legal_comments": "No legal implications.",
        "equality_comments": "No equality implications.",
        "privacy_comments": {
            "text": "No personal data.",
            "personal_data": False,
            "dpia": "not_required",
        },
        "real_estate_implications": "None.",
        "environmental_implications": "None.",
        "report_author": {
            "name": "Ollie Lane",
            "role": "Business Engagement Manager",
            "on_behalf_of": "the Chief of Corporate Services",
        },
        "board": {"board": "IAM"},
        "money_lines": [
            {
                "kind": "revenue",
                "amount": "600000",
                "financial_years": ["2019/20"],
                "funding_source": "MOPAC approved revenue budget",
            }
        ],
        "officer_declaration": {
            k: _TICK
            for k in (
                "financial_advice",
                "legal_advice",
                "equalities_advice",
                "commercial_issues",
                "gdpr_data_privacy",
                "director_head_of_service",
            )
        },
    }
    data.update(overrides)
    return data


def make_case(**overrides: Any) -> Case:
    return Case.model_validate(case_data(**overrides))


class Clock:
    """Hands out increasing instants, an hour apart, from a start."""

    def __init__(self, start: datetime = datetime(2019, 11, 18, 10, 0, tzinfo=UTC)) -> None:
        self.now = start

    def tick(self, hours: float = 1) -> datetime:
        self.now += timedelta(hours=hours)
        return self.now

    def jump_to(self, day: date, hour: int = 10) -> datetime:
        self.now = datetime(day.year, day.month, day.day, hour, tzinfo=UTC)
        return self.now


def pounds(value: str) -> Decimal:
    return Decimal(value)


def new_id() -> uuid.UUID:
    return uuid.uuid4()
