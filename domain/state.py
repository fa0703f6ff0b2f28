"""The state of one case, as rebuilt from its events.

`CaseState` is what the fold (`domain.fold.apply`) produces: the stage, the case as last
revised, the routing fixed at submission, each sign-off with its round, the decision and
its reference, publication and Part 2 status, and the deadline. `open_tasks` derives from
it what is outstanding and who may act on each task. Nothing here is stored: it is always
the fold of the stored events.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from enum import StrEnum
from typing import Any, TypeVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from domain.case import BoardAdvice, Case
from domain.clock import london_date
from domain.roles import Actor, AdviceArea, Role
from domain.rules.delegation import DecisionMaker, Route, Routing


class Stage(StrEnum):
    DRAFT = "draft"
    BOARD = "board"
    ADVICE = "advice"
    REVISION = "revision"
    CHIEF_EXECUTIVE = "chief_executive"
    DECISION = "decision"
    APPROVED = "approved"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"

    @property
    def label(self) -> str:
        return _STAGE_LABELS[self]

    @property
    def is_closed(self) -> bool:
        """Decided or withdrawn: no more lifecycle steps before the decision."""
        return self in (Stage.APPROVED, Stage.DECLINED, Stage.WITHDRAWN)


_STAGE_LABELS = {
    Stage.DRAFT: "in draft",
    Stage.BOARD: "with the board",
    Stage.ADVICE: "collecting advice and sign-offs",
    Stage.REVISION: "sent back to the officer for changes",
    Stage.CHIEF_EXECUTIVE: "awaiting the chief executive",
    Stage.DECISION: "awaiting the decision",
    Stage.APPROVED: "approved",
    Stage.DECLINED: "declined",
    Stage.WITHDRAWN: "withdrawn",
}


class SignOffStatus(StrEnum):
    PENDING = "pending"
    SIGNED_OFF = "signed_off"
    NOT_REQUIRED = "not_required"
    CHANGES_REQUESTED = "changes_requested"

    @property
    def is_done(self) -> bool:
        return self in (SignOffStatus.SIGNED_OFF, SignOffStatus.NOT_REQUIRED)


class _State(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


_S = TypeVar("_S", bound=_State)
_set = object.__setattr__


def evolve(state: _S, update: Mapping[str, Any]) -> _S:
    """A copy of a state with some fields changed: `state.model_copy(update=update)`, which
    it equals, without pydantic's general copying machinery.

    The fold copies the state twice for every event, and `model_copy` was half of the
    fold's time (profiled). Like `model_copy(update=...)` it does not validate: the fold's
    handlers build the values from validated events.
    """
    cls = type(state)
    new = cls.__new__(cls)
    fields = state.__dict__.copy()
    fields.update(update)
    _set(new, "__dict__", fields)
    _set(new, "__pydantic_fields_set__", state.__pydantic_fields_set__ | update.keys())
    _set(new, "__pydantic_extra__", None)  # extra="forbid": never any
    _set(new, "__pydantic_private__", None)  # no private attributes
    return new


class SignOff(_State):
    area: AdviceArea
    status: SignOffStatus = SignOffStatus.PENDING
    #: 1 for the first round; +1 each time a revision makes it be taken again.
    round: int = 1
    by: Actor | None = None
    at: datetime | None = None
    note: str | None = None


class Return(_State):
    """Why and by whom the case was sent back to the officer, and where it resumes."""

    by: Actor
    on: datetime
    reasons: list[str]
    #: The area whose adviser asked for changes; None for the board or the chief executive.
    area: AdviceArea | None
    resume_stage: Stage


class Part1Status(StrEnum):
    NOT_DUE = "not_due"
    PENDING = "pending"
    DEFERRED = "deferred"
    PUBLISHED = "published"


class Part2Status(StrEnum):
    NONE = "none"
    EXEMPT = "exempt"
    REVIEW_DUE = "review_due"
    PUBLISHED = "published"
    PUBLISHED_REDACTED = "published_redacted"


class Task(_State):
    """Something outstanding, the role that may act on it, and who in that role.

    `people` is empty when anyone holding the role may act (an adviser's sign-off, the
    decision); a personal task (the officer's submit and revise) names the user ids that may:
    the case's officers. A deputy holds a personal task when they act for one of them.
    """

    kind: str
    role: Role
    description: str
    area: AdviceArea | None = None
    due: date | None = None
    people: tuple[str, ...] = ()

    def held_by(self, user_id: str, own_roles: Iterable[Role], deputy_for: Iterable[str]) -> bool:
        """Whether a person may act on the task: `own_roles` are the roles they hold in their
        own right, `deputy_for` the people who delegate this task's role to them today."""
        principals = list(deputy_for)
        if self.role not in set(own_roles) and not principals:
            return False
        # As the fold judges it: a person is the deputy and the principal they act for.
        return not self.people or any(p in self.people for p in [user_id, *principals])


class Capacity(StrEnum):
    """In which capacity someone acted on a case, for the separation of duties."""

    OFFICER = "officer"
    ADVISER = "adviser"
    CHIEF_EXECUTIVE = "chief_executive"
    DECISION_MAKER = "decision_maker"
    BOARD_CHAIR = "board_chair"


class Participation(_State):
    """One lifecycle step a person took on the case: who (the deputy and the principal),
    in which capacity (and advice area), which step (the event type), and when."""

    actor: Actor
    capacity: Capacity
    step: str
    at: datetime
    area: AdviceArea | None = None

    @property
    def people(self) -> frozenset[str]:
        return persons(self.actor)


def persons(actor: Actor) -> frozenset[str]:
    """The people behind an actor: the user who acted and, for a deputy, their principal."""
    return frozenset(p for p in (actor.user_id, actor.on_behalf_of) if p)


class PaperStep(_State):
    """A step recorded by a records officer for the person who took it on paper: which
    event (id, version, type), who it is recorded for, by whom, and when it happened."""

    event_id: UUID
    version: int
    step: str
    actor: Actor
    recorded_by: str
    at: datetime


class Dispute(_State):
    """The person a paper step was recorded for disputes it: which step, when, why."""

    event_id: UUID
    version: int
    step: str
    by: Actor
    at: datetime
    reason: str


class Acknowledgement(_State):
    """A check the officer acknowledged instead of fixing: who, when, why, and the check as
    they saw it. Kept by the check's key; a revision that changes the facts gives the check
    a new key, so the acknowledgement stops matching and stays only as history."""

    check: str
    by: Actor
    at: datetime
    reason: str
    subject: str
    message: str


class CaseState(_State):
    case_id: str
    #: How many events have been folded (the stream version).
    version: int = 0
    stage: Stage = Stage.DRAFT
    case: Case | None = None
    #: 1 when drafted, +1 for each revision: the version of the documents.
    case_revision: int = 0
    drafted_by: Actor | None = None
    drafted_at: datetime | None = None
    submitted_by: Actor | None = None
    submitted_at: datetime | None = None
    routing: Routing | None = None

    meeting_id: str | None = None
    meeting_date: date | None = None
    board_advice: BoardAdvice | None = None
    board_conditions: str | None = None
    extremis_agreed_by: Actor | None = None

    signoffs: dict[AdviceArea, SignOff] = Field(default_factory=dict)
    returned: Return | None = None
    #: How many times the case was sent back for changes after submission.
    returns: int = 0

    ceo_consulted_by: Actor | None = None
    ceo_consulted_at: datetime | None = None

    #: Who must take the decision now: the DMPC, the alternate after a recusal, or the MPS.
    decision_maker_role: Role | None = None
    interests_declared_by: Actor | None = None
    recused: list[Actor] = Field(default_factory=list)

    decided_by: Actor | None = None
    decided_at: datetime | None = None
    reference: str | None = None
    decision_comment: str | None = None
    withdrawn_reason: str | None = None

    required_by: date | None = None
    reminders_sent: list[int] = Field(default_factory=list)
    escalated: bool = False
    deadline_missed: bool = False

    part1: Part1Status = Part1Status.NOT_DUE
    part1_deferred_until: date | None = None
    part1_published_at: datetime | None = None

    part2: Part2Status = Part2Status.NONE
    part2_review_date: date | None = None
    part2_extensions: int = 0

    irregularities: list[str] = Field(default_factory=list)
    #: Who recorded each irregularity (the accountable person), in the same order.
    irregularities_by: list[str] = Field(default_factory=list)

    #: The checks acknowledged with a reason, by key (`domain.rules.checks`), in order.
    acknowledgements: dict[str, Acknowledgement] = Field(default_factory=dict)

    #: Every step a person took in a capacity the separation of duties weighs (officer,
    #: board chair agreeing an extremis case, adviser, chief executive, decision maker), in
    #: order: the record `domain.fold.check_people` judges new steps on.
    participants: list[Participation] = Field(default_factory=list)

    #: When the case's latest step happened (its `at`), Ratify's own timer events
    #: (reminders, escalation, deadline missed) and disputes aside: a step recorded on paper
    #: may not be dated before it.
    last_step_at: datetime | None = None
    #: The steps recorded on paper by a records officer, in order.
    paper_steps: list[PaperStep] = Field(default_factory=list)
    #: The disputes of those steps by the people they were recorded for, in order.
    disputes: list[Dispute] = Field(default_factory=list)

    @property
    def title(self) -> str:
        return self.case.title if self.case else ""

    @property
    def case_officers(self) -> tuple[str, ...]:
        """The case's own officers: who drafted it (the principal, and the deputy who drafted
        it for them), then the co-officers the case names."""
        found: list[str] = []
        if self.drafted_by is not None:
            found += [self.drafted_by.accountable_user, self.drafted_by.user_id]
        if self.case is not None:
            found += self.case.co_officers
        return tuple(dict.fromkeys(found))

    @property
    def late(self) -> bool:
        """Decided after the required-by date."""
        return bool(
            self.decided_at is not None
            and self.required_by is not None
            and london_date(self.decided_at) > self.required_by
        )

    @property
    def outstanding_signoffs(self) -> list[AdviceArea]:
        return [a for a, s in self.signoffs.items() if not s.status.is_done]

    @property
    def is_dmpc_decision(self) -> bool:
        return bool(self.routing and self.routing.decision_maker is DecisionMaker.DMPC)


def open_tasks(state: CaseState) -> list[Task]:
    """What is outstanding on a case, the role that may act on each, and for the officer's
    tasks the people (the case's officers)."""
    due = state.required_by
    if state.stage is Stage.DRAFT:
        if state.case is None:
            return []
        return [
            Task(
                kind="submit",
                role=Role.ORIGINATING_OFFICER,
                description="Submit the case",
                people=state.case_officers,
            )
        ]
    if state.stage is Stage.REVISION:
        reasons = "; ".join(state.returned.reasons) if state.returned else ""
        return [
            Task(
                kind="revise",
                role=Role.ORIGINATING_OFFICER,
                description=f"Revise the case: {reasons}",
                due=due,
                people=state.case_officers,
            )
        ]
    if state.stage is Stage.BOARD:
        if state.routing and state.routing.route is Route.EXTREMIS:
            return [
                Task(
                    kind="agree_extremis",
                    role=Role.BOARD_CHAIR,
                    description="Agree the extremis submission",
                    due=due,
                )
            ]
        if state.meeting_id is None:
            return [
                Task(
                    kind="place_on_agenda",
                    role=Role.BOARD_SECRETARIAT,
                    description="Place the case on a board meeting's agenda",
                    due=due,
                )
            ]
        return [
            Task(
                kind="record_board_advice",
                role=Role.BOARD_SECRETARIAT,
                description=f"Record the board's advice (meeting {state.meeting_id})",
                due=state.meeting_date,
            )
        ]
    if state.stage is Stage.ADVICE:
        return [
            Task(
                kind="sign_off",
                role=area.adviser_role,
                area=area,
                description=f"Give or decline {area.label} advice (round {s.round})",
                due=due,
            )
            for area, s in state.signoffs.items()
            if not s.status.is_done
        ]
    if state.stage is Stage.CHIEF_EXECUTIVE:
        return [
            Task(
                kind="consult_chief_executive",
                role=Role.CHIEF_EXECUTIVE,
                description="Confirm the advice was taken into account",
                due=due,
            )
        ]
    if state.stage is Stage.DECISION and state.decision_maker_role is not None:
        if state.interests_declared_by is None and state.decision_maker_role is not (
            Role.MPS_DECISION_MAKER
        ):
            return [
                Task(
                    kind="declare_interests",
                    role=state.decision_maker_role,
                    description="Declare any personal or prejudicial interest",
                    due=due,
                )
            ]
        return [
            Task(
                kind="decide",
                role=state.decision_maker_role,
                description="Approve or decline the request",
                due=due,
            )
        ]
    if state.stage is Stage.APPROVED:
        # Part 1 is published by Ratify itself (at once, or on the deferral date): no task.
        tasks: list[Task] = []
        if state.part2 is Part2Status.REVIEW_DUE:
            tasks.append(
                Task(
                    kind="review_part2",
                    role=Role.PUBLICATION_OFFICER,
                    description="Review the Part 2 exemption: publish, redact or extend",
                    due=state.part2_review_date,
                )
            )
        return tasks
    return []
