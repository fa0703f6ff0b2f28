"""The API's request bodies and response models: what each route takes and answers.

The response models describe the JSON each route has always answered, field for field (the
OpenAPI schema at `/openapi.json` is built from them). Where an answer is the services' own
model (a page of the read views, an access record, a digest, a delegation, a meeting), the
route answers that model. Where a body is open-ended (a case as folded from its events) the
model names the fields every answer has and allows the rest. A key that only some answers
carry (a withheld hash's reason, a kept digest's check) is left out when absent, as before,
rather than answered as null.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, computed_field

from domain.bounds import MAX_IDENTIFIER
from domain.case import Case
from domain.roles import Role
from domain.state import Stage
from eventstore.digest import Digest, SinceResult
from ratify.services.reconcile import ReconcileReport

# -- request bodies ------------------------------------------------------------------------


#: The largest version number a read takes (a larger one is a 422, not a database error).
MAX_VERSION = 2**31 - 1


class NewCase(BaseModel):
    case: Case
    case_id: str | None = Field(default=None, max_length=MAX_IDENTIFIER)


class ActionBody(BaseModel):
    """The fields of an action; the actor comes from the signed-in user, never the body."""

    model_config = {"extra": "allow"}

    #: The role to act in, when the user holds several (own or delegated).
    role: Role | None = None
    #: The principal, when acting as a deputy and several people delegated the role.
    on_behalf_of: str | None = Field(default=None, max_length=200)
    #: Strict: refused as stale if anything happened on the case since this version.
    expected_version: int | None = Field(default=None, ge=0, le=MAX_VERSION)
    #: Loose: the papers' revision (`case_revision`) read; refused as stale only if the
    #: papers were revised since, the stage moved on from `expected_stage`, or the task
    #: `expected_task` (`kind` or `kind:area`, e.g. `sign_off:legal`) was done or withdrawn.
    expected_revision: int | None = Field(default=None, ge=0, le=MAX_VERSION)
    expected_stage: Stage | None = None
    expected_task: str | None = Field(default=None, max_length=100)


class NewMeeting(BaseModel):
    meeting_id: str = Field(max_length=MAX_IDENTIFIER)
    board: str = Field(max_length=10)
    meeting_date: date


class NewDelegation(BaseModel):
    deputy_id: str = Field(max_length=200)
    role: Role
    starts_on: date
    ends_on: date
    reason: str = Field(max_length=2000)


class VerifyBody(BaseModel):
    #: A digest kept earlier (`GET /audit/digest`).
    since: Digest | None = None


class MeetingAction(BaseModel):
    model_config = {"extra": "allow"}


# -- responses -----------------------------------------------------------------------------


def _absent(value: Any) -> bool:
    return value is None


class Problem(BaseModel):
    """A refusal: the rule it names (`code`) and what was wrong (`detail`); a stale action
    also carries `state`, the case as it is now."""

    code: str
    detail: str
    state: Any = Field(default=None, exclude_if=_absent)


#: What every API route may answer besides its own result: a refusal of the rules or the
#: input, in the shape `ratify.api.errors` gives it (not FastAPI's default error list).
REFUSED: dict[int | str, dict[str, Any]] = {
    422: {"model": Problem, "description": "Refused: the input breaks a rule"},
}


class SignedInUser(BaseModel):
    id: str
    name: str


class HeldRole(BaseModel):
    role: str
    #: Who delegated it; null for a role of one's own.
    on_behalf_of: str | None


class WhoAmI(BaseModel):
    """Who is signed in (`GET /session`, and `POST /session` on success)."""

    user: SignedInUser
    #: The roles held today: own, then delegated.
    roles: list[HeldRole]
    #: "token", "oidc" or "session".
    signed_in_with: str
    #: The session's CSRF token (signed in by cookie); null otherwise.
    csrf_token: str | None
    #: When the session ends (ISO 8601); null when not signed in by cookie.
    session_expires_at: str | None


class CaseCreated(BaseModel):
    case_id: str
    version: int


class CaseView(BaseModel):
    """A case as folded from its events: its state, `part2_visible` (whether Part 2's text
    is shown), once drafted `part2_exists`, and whether it was decided late."""

    model_config = ConfigDict(extra="allow")

    case_id: str
    version: int
    stage: str
    #: Decided after its required-by date.
    late: bool = False
    #: The same in words, as the timeline, the case page and the register say it ("late:
    #: required by 13 December 2019, decided 16 December 2019", or "on time (required by
    #: ...)"); null before the decision or without a required-by date.
    timeliness: str | None = None
    #: When the decision was recorded, where that is not when it was taken (signed on
    #: paper, imported): "recorded 17 March 2022 by rec.rita, from the signed form (DMPC
    #: form 512)"; null otherwise.
    decision_recorded: str | None = None


class CaseEvent(BaseModel):
    """A stored event as an auditor reads it."""

    position: int
    version: int
    event_id: str
    type: str
    schema_version: int
    #: ISO 8601, as stored.
    occurred_at: str
    recorded_at: str
    actor: str
    role: str
    on_behalf_of: str | None
    #: The event's data; Part 2 text withheld without clearance.
    data: dict[str, Any]
    #: Null when withheld (it would confirm a guess of a withheld Part 2).
    hash: str | None
    prev_hash: str | None
    #: Why the hashes are withheld, when they are.
    hash_withheld: str | None


class Reconciled(ReconcileReport):
    """What reconciling found, and `ok` when the workflows and the store agree."""

    @computed_field  # type: ignore[prop-decorator]
    @property
    def ok(self) -> bool:
        return super().ok


class Replayed(BaseModel):
    #: How many workflow histories were replayed.
    replayed: int
    #: The workflows whose history no longer replays, with why.
    failures: dict[str, str]
    ok: bool


class ChainProblem(BaseModel):
    kind: str
    stream_id: str
    #: Null when the stored version is not an integer.
    version: int | None
    position: int
    event_id: str
    detail: str


class Verified(BaseModel):
    """Every hash chain checked; with a kept digest, `since` says whether it still holds."""

    ok: bool
    events_checked: int
    first_problem: ChainProblem | None
    #: Present when a kept digest was given.
    since: SinceResult | None = Field(default=None, exclude_if=_absent)


class StepEvent(BaseModel):
    """An event an action appended: where it is and its chain hash."""

    event_id: UUID
    event_type: str
    position: int
    version: int
    #: Null when withheld: the actor is not cleared for the case's Part 2, which it covers.
    hash: str | None
    #: Why the hash is withheld, when it is.
    hash_withheld: str | None = Field(default=None, exclude_if=_absent)


class StepTaken(BaseModel):
    """An accepted action: the case's version and stage after it, and its events."""

    case_id: str
    version: int
    stage: str
    events: list[StepEvent]


class MeetingCreated(BaseModel):
    meeting_id: str


class AgendaEntry(BaseModel):
    case_id: str
    title: str
    advice: str | None
    conditions: str | None


class MeetingAgenda(BaseModel):
    meeting_id: str
    board: str
    meeting_date: date
    agenda: list[AgendaEntry]


class MeetingStepResult(BaseModel):
    """What a meeting step answers: adding a case or advice, the step's result (case,
    version, stage, events); closing, the meeting (`GET /meetings/{meeting_id}`)."""

    model_config = ConfigDict(extra="allow")


class Health(BaseModel):
    status: str
