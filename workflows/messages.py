"""What goes in and out of the workflows: inputs, approver actions, results, views.

Every approver action is one pydantic model naming the actor. `expected_version`, when
given, is the case version the person was looking at: if the case has moved on since, the
action is refused as stale instead of being applied to something they have not seen.
"""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from domain.case import BoardName, Case
from domain.events import BoardAdvice, Redaction
from domain.roles import Actor, AdviceArea, Role
from domain.state import CaseState

TASK_QUEUE = "ratify"


class _Message(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Settings(_Message):
    """The workflow-relevant settings, fixed when a decision starts."""

    reminder_working_days: list[int] = Field(default_factory=lambda: [5, 1])
    alternate_decision_maker: str = "alternate.decision.maker"
    #: The first PCD number to allocate when none has been allocated yet.
    first_reference: int = 1


class DecisionInput(_Message):
    case_id: str
    officer: Actor
    case: Case
    settings: Settings = Settings()


class Action(_Message):
    actor: Actor
    expected_version: int | None = None


class Revise(Action):
    case: Case
    note: str | None = None


class Submit(Action):
    pass


class Withdraw(Action):
    reason: str


class PlaceOnAgenda(Action):
    meeting_id: str
    meeting_date: date
    board: BoardName


class RecordBoardAdvice(Action):
    meeting_id: str
    advice: BoardAdvice
    conditions: str | None = None
    comment: str | None = None


class AgreeExtremis(Action):
    reason: str


class SignOff(Action):
    area: AdviceArea
    comment: str | None = None


class RequestChanges(Action):
    area: AdviceArea
    reasons: list[str]
    sections: list[str] = Field(default_factory=list)


class AdviceNotRequired(Action):
    area: AdviceArea
    reason: str


class ConsultChiefExecutive(Action):
    comment: str | None = None


class ChiefExecutiveSendBack(Action):
    reasons: list[str]


class DeclareInterests(Action):
    has_interest: bool
    details: str | None = None


class Decide(Action):
    approve: bool
    comment: str | None = None


class ChangeRequiredBy(Action):
    required_by: date | None
    reason: str


class RecordIrregularity(Action):
    description: str


class Part2Outcome(Action):
    """The Part 2 review's outcome: publish in full, publish redacted, or extend."""

    outcome: str = Field(pattern="^(publish|redact|extend)$")
    reason: str
    redactions: list[Redaction] = Field(default_factory=list)
    new_review_date: date | None = None


class StoredRef(_Message):
    """An event as committed: where it is and its chain hash."""

    event_id: UUID
    event_type: str
    position: int
    version: int
    hash: str


class ActionResult(_Message):
    case_id: str
    version: int
    stage: str
    events: list[StoredRef]


class TaskView(_Message):
    kind: str
    role: Role
    description: str
    area: AdviceArea | None = None
    due: date | None = None
    #: A named person, where one is configured for the role (the alternate decision maker).
    assignee: str | None = None


class DecisionOutcome(_Message):
    case_id: str
    stage: str
    reference: str | None
    late: bool
    decided_at: datetime | None


class StateView(_Message):
    state: CaseState
    tasks: list[TaskView]
