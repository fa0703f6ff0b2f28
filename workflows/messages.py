"""What goes in and out of the workflows: inputs, approver actions, results, views.

Every approver action is one pydantic model naming the actor. `expected_version`, when
given, is the case version the person was looking at: if the case has moved on since, the
action is refused as stale instead of being applied to something they have not seen.
`expected_revision` (with `expected_stage` and `expected_task`) is the looser check: stale
only when what the step depends on changed (the papers, the stage, the person's own task).

Every text and list a person sends in a step is bounded here (`domain.bounds`), and the
API validates each step with the `EDGE` context, so it refuses an oversized step (422 naming
the field) before it reaches Temporal. A workflow decodes its steps without that context:
every step a workflow ever accepted still loads when its history is replayed.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Annotated, Any
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from domain.bounds import BoundedId, BoundedShortText, BoundedText, bounded_list, moment_in_window
from domain.case import BoardAdvice, BoardName, Case
from domain.clock import LONDON
from domain.events import CHECK_KEY_PATTERN, Event, Evidence, Redaction, decode, encode
from domain.roles import Actor, AdviceArea, Role
from domain.state import CaseState, Stage

#: The id of a candidate event built only to be validated (no id is drawn for it).
PLACEHOLDER_ID = UUID(int=0)


class _Message(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)


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


#: The London time a step dated only by its day is taken to have happened at.
PAPER_NOON = time(12, 0)


def effective_moment(value: Any) -> Any:
    """A step's date as the moment it happened: a date (or "2022-03-14") is noon London
    that day; a datetime without a zone is London time; anything else is left to pydantic."""
    if isinstance(value, str) and len(value) == 10:
        try:
            value = date.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=LONDON)
    if isinstance(value, date):
        return datetime.combine(value, PAPER_NOON, tzinfo=LONDON)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return value
        return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=LONDON)
    return value


class OnPaper(_Message):
    """A step taken on paper, recorded by a records officer for the person who took it
    (the action's actor): when it happened, who recorded it, from which evidence."""

    effective_at: AwareDatetime
    #: The records officer who recorded it (set by the services, never by the body).
    recorded_by: BoundedId
    evidence: Evidence

    @field_validator("effective_at", mode="before")
    @classmethod
    def _day_or_moment(cls, value: Any) -> Any:
        return effective_moment(value)

    @field_validator("effective_at")
    @classmethod
    def _in_window(cls, value: datetime) -> datetime:
        moment_in_window(value)
        return value


class Action(_Message):
    actor: Actor
    #: The case's version the person saw: refused as stale if anything happened since.
    expected_version: int | None = None
    #: The papers' revision (`CaseState.case_revision`) the person read: the looser check
    #: the pages use, refused as stale only if the papers were revised since, the stage
    #: moved on from `expected_stage`, or the task `expected_task` was done or withdrawn.
    #: Another person's step in between (a second adviser's sign-off) is not a change.
    #: Histories recorded before these existed decode without them.
    expected_revision: int | None = None
    #: With `expected_revision`: the stage the person saw.
    expected_stage: Stage | None = None
    #: With `expected_revision`: the task the person acts on, `kind` or `kind:area`
    #: (`sign_off:legal`).
    expected_task: BoundedId | None = None
    #: A step taken on paper, recorded for the actor by a records officer (None: the actor
    #: takes it now, in Ratify). Histories recorded before it existed decode without it.
    on_paper: OnPaper | None = None


class Revise(Action):
    case: Case
    note: BoundedText | None = None


class Submit(Action):
    pass


class Withdraw(Action):
    reason: BoundedText


class PlaceOnAgenda(Action):
    meeting_id: BoundedId
    meeting_date: date
    board: BoardName


class RecordBoardAdvice(Action):
    meeting_id: BoundedId
    advice: BoardAdvice
    conditions: BoundedText | None = None
    comment: BoundedText | None = None


class AgreeExtremis(Action):
    reason: BoundedText


class SignOff(Action):
    area: AdviceArea
    comment: BoundedText | None = None


class RequestChanges(Action):
    area: AdviceArea
    reasons: Annotated[list[BoundedText], bounded_list()]
    sections: Annotated[list[BoundedShortText], bounded_list()] = Field(default_factory=list)


class AdviceNotRequired(Action):
    area: AdviceArea
    reason: BoundedText


class ConsultChiefExecutive(Action):
    comment: BoundedText | None = None


class ChiefExecutiveSendBack(Action):
    reasons: Annotated[list[BoundedText], bounded_list()]


class DeclareInterests(Action):
    has_interest: bool
    details: BoundedText | None = None


class Decide(Action):
    approve: bool
    comment: BoundedText | None = None


class ChangeRequiredBy(Action):
    required_by: date | None
    reason: BoundedText


class RecordIrregularity(Action):
    description: BoundedText


class AcknowledgeCheck(Action):
    """Acknowledge a check with a reason instead of fixing it (the officer, before
    submission). The workflow adds the check's subject and message as they stand."""

    check: str = Field(min_length=1, max_length=100, pattern=CHECK_KEY_PATTERN)
    reason: BoundedText


class Dispute(Action):
    """The person a step was recorded for on paper disputes it: the step by its event id or
    its version on the case (one of the two), and why."""

    event_id: UUID | None = None
    version: int | None = Field(default=None, ge=1)
    reason: BoundedText


class Part2Outcome(Action):
    """The Part 2 review's outcome: publish in full, publish redacted, or extend."""

    outcome: str = Field(pattern="^(publish|redact|extend)$")
    reason: BoundedText
    redactions: Annotated[list[Redaction], bounded_list()] = Field(default_factory=list)
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


# -- between workflows and activities ------------------------------------------------------


class EncodedEvent(_Message):
    """A domain event on its way to the store: its type, schema version and JSON payload."""

    event_id: UUID
    case_id: str
    event_type: str
    schema_version: int
    occurred_at: datetime
    actor: Actor
    payload: dict[str, Any]

    @classmethod
    def of(cls, event: Event) -> EncodedEvent:
        event_type, version, payload = encode(event)
        return cls(
            event_id=event.event_id,
            case_id=event.case_id,
            event_type=event_type,
            schema_version=version,
            occurred_at=event.occurred_at,
            actor=event.actor,
            payload=payload,
        )

    def decode(self) -> Event:
        return decode(
            self.event_type,
            self.schema_version,
            self.payload,
            event_id=self.event_id,
            case_id=self.case_id,
            occurred_at=self.occurred_at,
            actor=self.actor,
        )


class RecordRequest(_Message):
    case_id: str
    events: list[EncodedEvent]


class AllocateRequest(_Message):
    sequence: str
    owner: str
    first: int = 1


class Notification(_Message):
    """A message to the people holding a role (or one named person) about a case."""

    notification_id: UUID
    case_id: str
    kind: str
    to_role: Role
    to_user: str | None = None
    subject: str
    body: str
    occurred_at: datetime


# -- Part 2 review -----------------------------------------------------------------------


class Part2ReviewInput(_Message):
    case_id: str
    review_date: date
    #: How many times the exemption has been extended before this run.
    extensions: int = 0


class Part2ReviewResult(_Message):
    case_id: str
    outcome: str
    extensions: int


# -- board meetings --------------------------------------------------------------------


class MeetingInput(_Message):
    meeting_id: str
    board: BoardName
    meeting_date: date
    created_by: Actor


class AddToAgenda(Action):
    case_id: BoundedId


class RecordCaseAdvice(Action):
    case_id: BoundedId
    advice: BoardAdvice
    conditions: BoundedText | None = None
    comment: BoundedText | None = None


class CloseMeeting(Action):
    pass


class AgendaItem(_Message):
    case_id: str
    advice: BoardAdvice | None = None
    conditions: str | None = None


class MeetingView(_Message):
    meeting_id: str
    board: BoardName
    meeting_date: date
    agenda: list[AgendaItem]
    closed: bool


class CaseUpdateRequest(_Message):
    """Run an update on a decision workflow, from another workflow (via an activity)."""

    case_id: str
    update: str
    update_id: str
    action: dict[str, Any]
