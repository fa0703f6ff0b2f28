"""The public register: what is published of a decision, and nothing more.

A register entry holds Part 1 only: reference, title, date signed, decision maker,
executive summary and recommendations. It is built from the case state when Part 1 is
published and stored in the publication event, so the register shows exactly what was
published on the day. Part 2 text reaches the register only through a Part 2 review that
publishes it, in full or redacted.
"""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict

from domain.case import Recommendation
from domain.clock import london_date
from domain.roles import Role
from domain.state import CaseState

DECISION_MAKER_TITLES = {
    Role.DMPC: "Deputy Mayor for Policing and Crime",
    Role.ALTERNATE_DECISION_MAKER: "Alternate decision maker (the DMPC declared an interest)",
    Role.MPS_DECISION_MAKER: "Metropolitan Police Service (delegated authority)",
}


class RegisterEntry(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    case_id: str
    reference: str | None
    title: str
    date_signed: date
    decision_maker: str
    executive_summary: str
    recommendations: list[Recommendation]


def part1_entry(state: CaseState) -> RegisterEntry:
    """The Part 1 register entry of an approved decision."""
    if state.case is None or state.decided_at is None or state.decided_by is None:
        raise ValueError(f"case {state.case_id} has no decision to publish")
    return RegisterEntry(
        case_id=state.case_id,
        reference=state.reference,
        title=state.case.title,
        date_signed=london_date(state.decided_at),
        decision_maker=DECISION_MAKER_TITLES.get(
            state.decided_by.role, state.decided_by.role.value
        ),
        executive_summary=state.case.executive_summary,
        recommendations=state.case.recommendations,
    )


REDACTED = "[REDACTED]"


def redact(text: str, passages: list[str]) -> str:
    """Part 2 text with each passage replaced by [REDACTED]; a passage not found is an error."""
    for passage in passages:
        if passage not in text:
            raise ValueError(f"the passage to redact {passage!r} is not in Part 2")
        text = text.replace(passage, REDACTED)
    return text
