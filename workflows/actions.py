"""The catalogue of the steps a person takes on a case: one entry per action, one place.

Each entry names the action (as the API and the pages call it), the workflow update that
takes it, its message (`workflows.messages`), the event(s) it may record, the role it is done
in when the person does not say, and what the pages tell the person once it is accepted.
Its fields are the message's own (`Action.actor` and `expected_version` aside), so a field
added to a message is offered everywhere at once.

`DecisionWorkflow` takes every decision action through one implementation; the services
(`ratify.services.commands.ACTIONS`, `role_for`), the pages and the CLI read this catalogue
instead of keeping their own lists. The update names are in every history that ran them:
never rename one (docs/changing-workflows.md).
"""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pydantic import BaseModel

from domain import events as ev
from domain.roles import Role
from workflows import messages as m

#: The fields every action carries that are not the action's own.
ENVELOPE = frozenset(
    {
        "actor",
        "expected_version",
        "expected_revision",
        "expected_stage",
        "expected_task",
        "on_paper",
    }
)


class Workflow(StrEnum):
    """The workflow an action goes to."""

    #: The case's `DecisionWorkflow` (workflow id: the case id).
    DECISION = "decision"
    #: The case's `Part2ReviewWorkflow` (workflow id: `part2-review-<case id>`).
    PART2_REVIEW = "part2_review"


class RoleFrom(StrEnum):
    """Where the role of an action comes from when it has no default role."""

    #: The adviser of the action's `area` (finance, legal, ...).
    AREA = "area"
    #: The case's decision maker (the DMPC, the alternate, ...), from the case's state.
    DECISION_MAKER = "decision_maker"
    #: The role the disputed step was recorded in (a dispute of a step taken on paper).
    DISPUTED_STEP = "disputed_step"


@dataclass(frozen=True)
class ActionSpec:
    #: The action's name: `POST /cases/{id}/actions/{name}`, the pages' forms, `ratify act`.
    name: str
    #: The workflow update that takes it.
    update: str
    #: The message the update takes.
    message: type[m.Action]
    #: The events it may record (one of them per accepted step).
    events: tuple[type[ev.Event], ...]
    #: What the pages say once it is accepted.
    done: str
    #: The role it is done in when the person does not say; None: see `role_from`.
    role: Role | None = None
    role_from: RoleFrom | None = None
    workflow: Workflow = Workflow.DECISION
    #: Whether a person takes it on the case directly. False: only through another
    #: workflow (a board meeting places a case on its agenda and records its advice).
    direct: bool = True

    @property
    def event_types(self) -> tuple[str, ...]:
        """The stored names of its events (`case.withdrawn`, ...)."""
        return tuple(e.TYPE for e in self.events)

    @property
    def fields(self) -> tuple[str, ...]:
        """The message's own fields, in their order."""
        return tuple(f for f in self.message.model_fields if f not in ENVELOPE)

    @property
    def required(self) -> tuple[str, ...]:
        """The fields it cannot be taken without."""
        return tuple(f for f in self.fields if self.message.model_fields[f].is_required())

    @property
    def typed_fields(self) -> tuple[tuple[str, bool], ...]:
        """The fields a person types (see `typed_fields`)."""
        return typed_fields(self.message)


def typed_fields(message: type[m.Action]) -> tuple[tuple[str, bool], ...]:
    """The fields of an action's message a person types, each with whether it is a list (one
    item a line): every field but the envelope and a whole document (a revised case, Part 2
    redactions), which a form or the CLI builds on its own."""
    typed = []
    for name, info in message.model_fields.items():
        kind = None if name in ENVELOPE else _field_kind(info.annotation)
        if kind is not None:
            typed.append((name, kind))
    return tuple(typed)


def _field_kind(annotation: Any) -> bool | None:
    """False for a scalar (text, date, number, choice), True for a list of scalars, None
    for a document (a model, or a list of models)."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _field_kind(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        kinds = {_field_kind(a) for a in typing.get_args(annotation) if a is not type(None)}
        return kinds.pop() if len(kinds) == 1 else None
    if origin is list:
        return True if _field_kind(typing.get_args(annotation)[0]) is False else None
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return None
    return False


_OFFICER = Role.ORIGINATING_OFFICER

ALL: tuple[ActionSpec, ...] = (
    # -- drafting ------------------------------------------------------------------------
    ActionSpec("revise", "revise", m.Revise, (ev.CaseRevised,), "The case was revised.", _OFFICER),
    ActionSpec(
        "submit", "submit", m.Submit, (ev.CaseSubmitted,), "The case was submitted.", _OFFICER
    ),
    ActionSpec(
        "withdraw", "withdraw", m.Withdraw, (ev.CaseWithdrawn,), "The case was withdrawn.", _OFFICER
    ),
    ActionSpec(
        "change_required_by",
        "change_required_by",
        m.ChangeRequiredBy,
        (ev.RequiredByChanged,),
        "The required-by date was changed.",
        _OFFICER,
    ),
    ActionSpec(
        "acknowledge_check",
        "acknowledge_check",
        m.AcknowledgeCheck,
        (ev.CheckAcknowledged,),
        "The check was acknowledged.",
        _OFFICER,
    ),
    ActionSpec(
        "record_irregularity",
        "record_irregularity",
        m.RecordIrregularity,
        (ev.IrregularityRecorded,),
        "The irregularity was recorded.",
    ),
    # -- board ---------------------------------------------------------------------------
    ActionSpec(
        "place_on_agenda",
        "place_on_agenda",
        m.PlaceOnAgenda,
        (ev.PlacedOnAgenda,),
        "The case was added to the agenda.",
        Role.BOARD_SECRETARIAT,
        direct=False,
    ),
    ActionSpec(
        "record_board_advice",
        "record_board_advice",
        m.RecordBoardAdvice,
        (ev.BoardAdviceRecorded,),
        "The board's advice was recorded.",
        Role.BOARD_SECRETARIAT,
        direct=False,
    ),
    ActionSpec(
        "agree_extremis",
        "agree_extremis",
        m.AgreeExtremis,
        (ev.ExtremisAgreed,),
        "The extremis submission was agreed.",
        Role.BOARD_CHAIR,
    ),
    # -- advice --------------------------------------------------------------------------
    ActionSpec(
        "sign_off",
        "sign_off",
        m.SignOff,
        (ev.SignOffGiven,),
        "Your sign-off was recorded.",
        role_from=RoleFrom.AREA,
    ),
    ActionSpec(
        "advice_not_required",
        "advice_not_required",
        m.AdviceNotRequired,
        (ev.AdviceNotRequired,),
        "Recorded: advice not required.",
        role_from=RoleFrom.AREA,
    ),
    ActionSpec(
        "request_changes",
        "request_changes",
        m.RequestChanges,
        (ev.ChangesRequested,),
        "The case was sent back to the officer with your reasons.",
        role_from=RoleFrom.AREA,
    ),
    # -- chief executive and decision ----------------------------------------------------
    ActionSpec(
        "consult_chief_executive",
        "consult_chief_executive",
        m.ConsultChiefExecutive,
        (ev.ChiefExecutiveConsulted,),
        "Your confirmation was recorded.",
        Role.CHIEF_EXECUTIVE,
    ),
    ActionSpec(
        "chief_executive_send_back",
        "chief_executive_send_back",
        m.ChiefExecutiveSendBack,
        (ev.ChiefExecutiveSentBack,),
        "The case was sent back to the officer.",
        Role.CHIEF_EXECUTIVE,
    ),
    ActionSpec(
        "declare_interests",
        "declare_interests",
        m.DeclareInterests,
        (ev.InterestsDeclared,),
        "Your declaration of interests was recorded.",
        role_from=RoleFrom.DECISION_MAKER,
    ),
    ActionSpec(
        "decide",
        "decide",
        m.Decide,
        (ev.DecisionApproved, ev.DecisionDeclined),
        "Your decision was recorded.",
        role_from=RoleFrom.DECISION_MAKER,
    ),
    # -- steps recorded on paper ---------------------------------------------------------
    ActionSpec(
        "dispute",
        "dispute",
        m.Dispute,
        (ev.StepDisputed,),
        "Your dispute was recorded: the auditors see it beside the step.",
        role_from=RoleFrom.DISPUTED_STEP,
    ),
    # -- Part 2 review -------------------------------------------------------------------
    ActionSpec(
        "review_part2",
        "review",
        m.Part2Outcome,
        (ev.Part2Published, ev.Part2PublishedRedacted, ev.Part2ExemptionExtended),
        "The Part 2 review outcome was recorded.",
        Role.PUBLICATION_OFFICER,
        workflow=Workflow.PART2_REVIEW,
    ),
)

#: Every action by its name.
CATALOGUE: dict[str, ActionSpec] = {spec.name: spec for spec in ALL}
#: The decision workflow's actions by their message type (what its handlers are given).
BY_MESSAGE: dict[type[m.Action], ActionSpec] = {
    spec.message: spec for spec in ALL if spec.workflow is Workflow.DECISION
}
