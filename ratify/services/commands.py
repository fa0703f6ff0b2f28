"""The steps the front doors share: who acts, running a workflow update, and refusals.

The HTTP API (`ratify.api.routes`) and the web pages (`ratify.web.pages`) take every step through
these functions (a board meeting's through `ratify.services.meetings`, built on them): the
actor from the signed-in principal (`acting`, own or delegated role), the action validated
by its workflow message (`ACTIONS`), the workflow update run and its refusal raised as a
`Refusal` (a code; `ratify.http.errors` maps it to an HTTP status), the read views woken
after a write (`Services.after_write`). Nothing here holds a business rule: the workflows
and the domain do.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import structlog
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy import Engine
from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowExecutionStatus,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from domain.bounds import EDGE, MAX_CASE_JSON_BYTES, check_identifier, moment_in_window, quote_id
from domain.case import Case
from domain.clock import london_date, long_date
from domain.errors import DomainError
from domain.events import Evidence, StepDisputed
from domain.ids import PART2_REVIEW_PREFIX, part2_review_id, reserved_prefix
from domain.roles import ADVISER_ROLES, Actor, AdviceArea, Role
from domain.state import PaperStep, Part2Status
from domain.visibility import Viewer, has_confidential_part2, part2_clearance
from eventstore import EventStore, InvalidEvent
from eventstore.records import check_stream_id
from ratify.services.accesslog import PART2_READ, AccessLog
from ratify.services.dates import DateWindow, default_window
from ratify.services.identity.directory import Directory
from ratify.services.identity.errors import IdentityError, UnknownUser
from ratify.services.identity.values import Principal
from ratify.services.journal import CaseHistory, CaseJournal
from ratify.services.reconcile import ENDED_OUTSIDE_RATIFY
from ratify.services.views import case_view
from workflows import messages as m
from workflows.actions import CATALOGUE, ActionSpec, RoleFrom, Workflow
from workflows.decision import DecisionWorkflow

log = structlog.get_logger("ratify.api")

#: The workflows' refusals of a step that came too late (a stale version, a task someone
#: else has just done): the refusal carries the case as it is now.
TOO_LATE = frozenset({"stale", "already_done"})


@dataclass
class Services:
    """What every front door's steps run on (the HTTP ones: `ratify.http.services`)."""

    store: EventStore
    engine: Engine
    client: Client
    directory: Directory
    workflow_settings: m.Settings
    task_queue: str = "ratify"
    #: Called after an accepted action, so the read views catch up at once.
    after_write: Callable[[], None] | None = None
    #: The dates a person can write. Default: from the environment's settings.
    window: DateWindow = field(default_factory=default_window)

    @property
    def journal(self) -> CaseJournal:
        return _Journal(self.store)


class Refusal(Exception):
    """A step refused: its code (`not_found`, `invalid`, `wrong_stage`, ...; the front doors
    answer with `ratify.http.errors.status_of`), a message naming the rule, and the case's
    state when a step came too late."""

    def __init__(
        self,
        code: str,
        message: str,
        state: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.code, self.message, self.state = code, message, state
        #: Response headers the refusal needs (e.g. `Retry-After` on a 429).
        self.headers = headers


class _Journal(CaseJournal):
    """The journal as the front doors read it: a read the store refuses as malformed (a
    negative version, from a query string) is the person's mistake, a 422, not a 500; and a
    stream that is not a case (a case's access log or notifications, named with a reserved
    prefix) is no case at all, a 404, never folded as one."""

    def history(
        self, case_id: str, *, to_version: int | None = None, as_of: datetime | None = None
    ) -> CaseHistory:
        if reserved_prefix(case_id) is not None:
            raise Refusal("not_found", f"there is no case {quote_id(case_id)}")
        try:
            return super().history(case_id, to_version=to_version, as_of=as_of)
        except InvalidEvent as exc:
            raise Refusal("invalid", str(exc).replace("to_version", "version")) from None


#: The actions a person takes on a case (`POST /cases/{id}/actions/{name}`), by name: the
#: workflows' catalogue, less the steps only a board meeting takes.
ACTIONS: dict[str, ActionSpec] = {name: spec for name, spec in CATALOGUE.items() if spec.direct}


def role_for(
    action: str,
    fields: dict[str, Any],
    services: Services,
    case_id: str,
    me: Principal | None = None,
) -> Role:
    """The role an action is done in, when the body does not say and it has no default.

    An adviser's step without an `area` is in the area of the one adviser role `me` holds
    (set in `fields`): a finance adviser signs off with no `area` and no `role`."""
    role_from = ACTIONS[action].role_from
    if role_from is RoleFrom.AREA:
        if fields.get("area") is None and me is not None:
            held = [area for area, role in ADVISER_ROLES.items() if role in me.roles]
            if len(held) == 1:
                fields["area"] = held[0].value
        try:
            return AdviceArea(str(fields.get("area"))).adviser_role
        except ValueError:
            areas = ", ".join(a.value for a in AdviceArea)
            raise Refusal("invalid", f"area: one of {areas}") from None
    if role_from is RoleFrom.DISPUTED_STEP:
        return disputed_step(services, case_id, fields).actor.role
    if role_from is RoleFrom.DECISION_MAKER:
        state = services.journal.load(case_id)
        if state.decision_maker_role is None:
            raise Refusal("wrong_stage", "the case is not awaiting a decision")
        return state.decision_maker_role
    raise Refusal("invalid", "role: say which of your roles you act in")


def check_dates(services: Services, value: Any, path: str = "") -> None:
    """The API's refusal (422) of any date in `value` outside the window, naming each."""
    found = services.window.problems(value, path)
    if found:
        raise Refusal("invalid", "; ".join(found))


def check_case_size(case: Case, field: str = "case") -> None:
    """The API's refusal (422) of a case too large for Temporal to carry."""
    size = len(case.model_dump_json().encode())
    if size > MAX_CASE_JSON_BYTES:
        raise Refusal(
            "invalid",
            f"{field}: {size} bytes once written as JSON; a case takes at most "
            f"{MAX_CASE_JSON_BYTES} (shorten its texts or lists, or attach papers by name)",
        )


def problems(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in err['loc']) or 'body'}: {err['msg']}" for err in exc.errors()
    )


def today() -> date:
    """Today in London (the day roles and delegations are judged on)."""
    return london_date(datetime.now(UTC))


def viewer(me: Principal) -> Viewer:
    """Who is looking, with the roles they hold today (own or delegated) and the principals
    they deputise for today."""
    held = me.roles_today(today())
    return Viewer(
        user_id=me.user_id,
        roles=frozenset(r for r, _ in held),
        own_roles=frozenset(r for r, p in held if p is None),
        deputy_for=frozenset((r, p) for r, p in held if p is not None),
    )


def acting(me: Principal, role: Role, on_behalf_of: str | None) -> Actor:
    """The actor for one step, or the API's refusal (403 without the role)."""
    try:
        return me.acting_as(role, on_behalf_of, today())
    except IdentityError as exc:
        raise Refusal(exc.code, str(exc)) from None


def notify_written(services: Services) -> None:
    """Wake the read views after a write (`Services.after_write`), if anyone listens."""
    if services.after_write is not None:
        services.after_write()


def refusal_of(exc: WorkflowUpdateFailedError) -> Refusal | None:
    """The `Refusal` a workflow update failed with, or None if it failed otherwise."""
    cause = exc.cause
    if isinstance(cause, ApplicationError):
        code = cause.type or "refused"
        if code == "unsigned_action":
            log.error("a workflow refused the API's proof", detail=cause.message)
            return Refusal(
                code,
                "the step was not accepted: Ratify's API and workers are not configured with "
                "the same action-signing key (RATIFY_ACTION_SIGNING_KEY), or it waited more "
                "than 10 minutes for a worker; look at the case, then tell the operators",
            )
        return Refusal(code, cause.message)
    return None


#: What an idempotency key may hold: it becomes part of a Temporal update id.
IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9._:-]{1,100}$")


def update_id(action: m.Action, update: str, idempotency_key: str | None) -> str | None:
    """The Temporal update id for a step sent with an idempotency key (None without one).

    Temporal runs an update id once per workflow run: a retry with the same key (after a
    timeout, a dropped connection, a double click) gets the first attempt's outcome instead
    of being applied again or refused as out of stage. The id is scoped to the person and
    the step, so nobody can collect another person's outcome by guessing their key, and
    carries a digest of the action: the same key sent with a different action (decline
    after approve) is a new attempt, judged on its own, never answered with the first's
    outcome.
    """
    if idempotency_key is None:
        return None
    if not IDEMPOTENCY_KEY.match(idempotency_key):
        raise Refusal(
            "invalid",
            "Idempotency-Key: must be 1 to 100 letters, digits or . _ : - (a UUID is a good key)",
        )
    digest = hashlib.sha256(action.model_dump_json().encode()).hexdigest()[:16]
    return f"{update}/{action.actor.user_id}/{idempotency_key}/{digest}"


#: The answers of a Temporal frontend that is down, overloaded or too slow: the API answers
#: 503 (JSON) naming what to do, not a plain-text 500.
TEMPORAL_DOWN = frozenset(
    {RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED, RPCStatusCode.RESOURCE_EXHAUSTED}
)
#: `Retry-After` (seconds) on a 503 of an unavailable Temporal.
TEMPORAL_RETRY_AFTER = 10


def temporal_down(exc: RPCError) -> bool:
    """Whether an RPC error means Temporal did not answer (not that it refused)."""
    return exc.status in TEMPORAL_DOWN


def not_started(what: str, check: str) -> Refusal:
    """The refusal (503) when Temporal did not answer a start: `check` says what to do."""
    return Refusal(
        "temporal_unavailable",
        f"Temporal (the workflow service) did not answer, so {what} may not have started: "
        f"{check}, and if not, send it again once Temporal is back (operators: see /readyz)",
        headers={"Retry-After": str(TEMPORAL_RETRY_AFTER)},
    )


#: How long the API waits for a step's outcome before answering 503 outcome_unknown:
#: less than a client's own timeout (the CLI waits 60 s), so the client hears why.
UPDATE_WAIT_SECONDS = 45.0


async def run_update(
    services: Services,
    workflow_id: str,
    update: str,
    action: m.Action,
    *,
    idempotency_key: str | None = None,
) -> m.ActionResult:
    """Run a decision workflow's update: its result, or its refusal as a `Refusal`."""
    handle = services.client.get_workflow_handle(workflow_id)
    the_id = update_id(action, update, idempotency_key)
    try:
        async with asyncio.timeout(UPDATE_WAIT_SECONDS):
            result: m.ActionResult = await handle.execute_update(
                update, action, result_type=m.ActionResult, id=the_id
            )
    except (WorkflowUpdateRPCTimeoutOrCancelledError, TimeoutError):
        raise Refusal(
            "outcome_unknown",
            f"the {update.replace('_', ' ')} step was sent to case {quote_id(workflow_id)} but its "
            "outcome did not come back in time"
            + (
                ": send it again with the same Idempotency-Key to learn it (it is never "
                "applied twice)"
                if idempotency_key
                else ": look at the case before sending it again"
            ),
        ) from None
    except WorkflowUpdateFailedError as exc:
        refusal = refusal_of(exc)
        if refusal is None:
            raise
        if refusal.code in TOO_LATE and not workflow_id.startswith(PART2_REVIEW_PREFIX):
            # A stale action, or a task someone else has just done: show what happened.
            refusal.state = current_state(services, workflow_id, None)
        raise refusal from None
    except RPCError as exc:
        if exc.status is RPCStatusCode.NOT_FOUND:
            raise _no_workflow(services, workflow_id, review=update == "review") from None
        if temporal_down(exc):
            raise outcome_unknown(
                update, f"case {quote_id(workflow_id)}", idempotency_key
            ) from None
        raise
    notify_written(services)
    return result


def outcome_unknown(update: str, target: str, idempotency_key: str | None) -> Refusal:
    """The refusal (503) when Temporal did not answer an update: it may have been done."""
    return Refusal(
        "outcome_unknown",
        f"Temporal (the workflow service) did not answer, so the outcome of the "
        f"{update.replace('_', ' ')} step on {target} is unknown: "
        + (
            "send it again with the same Idempotency-Key once Temporal is back to learn it (it "
            "is never applied twice)"
            if idempotency_key
            else "look at it before sending the step again once Temporal is back"
        ),
        headers={"Retry-After": str(TEMPORAL_RETRY_AFTER)},
    )


def _no_workflow(services: Services, workflow_id: str, *, review: bool) -> Refusal:
    """The refusal for a step sent to a workflow that is not running: 404 for a case that
    does not exist; for one that does, the step is at the wrong stage (the case is closed, or
    its Part 2 review is not open), never a 404 naming an internal workflow id. A case still
    open (or a Part 2 review due) whose workflow is gone was ended outside Ratify (`temporal
    workflow terminate`): the refusal says so, and to tell an operator."""
    case_id = workflow_id.removeprefix(PART2_REVIEW_PREFIX) if review else workflow_id
    state = services.journal.load(case_id)
    if state.version == 0:
        return Refusal("not_found", f"there is no case {quote_id(case_id)}")
    if review:
        if state.part2 in (Part2Status.PUBLISHED, Part2Status.PUBLISHED_REDACTED):
            outcome = state.part2.value.replace("_", " ")
            return Refusal(
                "already_done",
                f"the Part 2 review of case {quote_id(case_id)} was decided: {outcome}",
            )
        if state.part2 is Part2Status.REVIEW_DUE:
            return Refusal(
                "wrong_stage",
                f"the Part 2 review of case {quote_id(case_id)} is due, but {ENDED_OUTSIDE_RATIFY}",
            )
        return Refusal(
            "wrong_stage", f"no Part 2 review of case {quote_id(case_id)} is open: none is due"
        )
    if not state.stage.is_closed:
        return Refusal(
            "wrong_stage",
            f"case {quote_id(case_id)} is {state.stage.label}, but {ENDED_OUTSIDE_RATIFY}",
        )
    return Refusal(
        "wrong_stage",
        f"case {quote_id(case_id)} is {state.stage.label}: it takes no more steps",
    )


def shown_part2(
    services: Services,
    me: Principal | None,
    history: CaseHistory,
    via: str,
    *,
    version: int | None = None,
) -> bool:
    """Whether `me` is shown the case's Part 2 here; records the read when it is confidential.

    `history` is the case's whole history (clearance is judged on the case as it is now);
    `version` is the version shown, when an earlier one is.
    """
    if not has_confidential_part2(history.state):
        return True
    if me is None:
        return False
    basis = part2_clearance(viewer(me), history.state, history.events)
    if basis is None:
        return False
    AccessLog(services.store).record(
        history.state.case_id,
        PART2_READ,
        user_id=me.user_id,
        basis=basis,
        via=via,
        case_version=history.state.version if version is None else version,
    )
    return True


def current_state(
    services: Services, case_id: str, me: Principal | None, via: str = "api"
) -> dict[str, Any]:
    """The case as JSON; Part 2 only when `me` is cleared for it (never when None)."""
    history = services.journal.history(case_id)
    if history.state.version == 0:
        raise Refusal("not_found", f"there is no case {quote_id(case_id)}")
    return case_view(
        history.state, part2=shown_part2(services, me, history, via), events=history.events
    )


async def act(
    services: Services,
    me: Principal,
    case_id: str,
    action: str,
    fields: dict[str, Any],
    *,
    role: Role | None = None,
    on_behalf_of: str | None = None,
    idempotency_key: str | None = None,
) -> m.ActionResult:
    """`POST /cases/{id}/actions/{action}`: check the role, build the message, run the
    update; a retry with the same `idempotency_key` gets the first attempt's outcome."""
    if action not in ACTIONS:
        raise Refusal("unknown_action", f"no action '{quote_id(action)}'; one of {sorted(ACTIONS)}")
    spec = ACTIONS[action]
    fields = dict(fields)
    paper_body = fields.pop("on_paper", None)
    if action == "dispute":
        if paper_body is not None or on_behalf_of is not None:
            raise Refusal("invalid", "a dispute is made in person: no on_paper, no on_behalf_of")
        return await dispute(services, me, case_id, fields, idempotency_key=idempotency_key)
    role = role or spec.role or role_for(action, fields, services, case_id, me)
    paper: m.OnPaper | None = None
    if paper_body is not None:
        actor, paper = on_paper(services, me, spec, role, paper_body, on_behalf_of)
    else:
        actor = acting(me, role, on_behalf_of)
    try:
        message = spec.message.model_validate(
            {**fields, "actor": actor, "on_paper": paper}, context=EDGE
        )
    except ValidationError as exc:
        raise Refusal("invalid", problems(exc)) from None
    check_dates(services, message)
    if isinstance(message, m.Revise):
        check_co_officers(services, message.case)
        check_case_size(message.case)
    target = part2_review_id(case_id) if spec.workflow is Workflow.PART2_REVIEW else case_id
    return await run_update(services, target, spec.update, message, idempotency_key=idempotency_key)


class OnPaperBody(BaseModel):
    """The `on_paper` part of an action's body: a records officer records a step someone
    took on paper (`for_user`), on its date, from its evidence."""

    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)

    effective_at: datetime
    for_user: str = Field(min_length=1, max_length=200)
    evidence: Evidence

    @field_validator("effective_at", mode="before")
    @classmethod
    def _day_or_moment(cls, value: Any) -> Any:
        # A step dated today by its day only happened by now, not at noon still to come.
        day = value if isinstance(value, date) and not isinstance(value, datetime) else None
        if isinstance(value, str) and len(value) == 10:
            with contextlib.suppress(ValueError):
                day = date.fromisoformat(value)
        if day is not None and day == today():
            return datetime.now(UTC)
        return m.effective_moment(value)

    @field_validator("effective_at")
    @classmethod
    def _in_window(cls, value: datetime) -> datetime:
        moment_in_window(value)
        return value


def on_paper(
    services: Services,
    me: Principal,
    spec: ActionSpec,
    role: Role,
    body: Any,
    on_behalf_of: str | None,
) -> tuple[Actor, m.OnPaper]:
    """A step taken on paper, recorded by `me` for the person who took it: the actor (that
    person, in `role`) and the message's `on_paper` part. Refused unless `me` holds the
    records officer's role today (403), and unless that person held `role` on the step's
    date (`role_not_held`, 403). The workflow judges the rest as if they had taken it then
    (stage order, four-eyes, separation of duties, the date, the records officer)."""
    acting(me, Role.RECORDS_OFFICER, None)
    if spec.workflow is not Workflow.DECISION:
        raise Refusal("invalid", f"on_paper: the {spec.name} step is not recorded on paper")
    if on_behalf_of is not None:
        raise Refusal("invalid", "on_behalf_of: a step on paper is recorded for_user, in person")
    try:
        paper = OnPaperBody.model_validate(body)
    except ValidationError as exc:
        raise Refusal("invalid", "on_paper." + problems(exc)) from None
    who = paper.for_user
    try:
        services.directory.get_user(who)
    except UnknownUser:
        raise Refusal("invalid", f"on_paper.for_user: there is no user {quote_id(who)}") from None
    day = london_date(paper.effective_at)
    if not services.directory.held_role_on(who, role, day):
        raise Refusal(
            "role_not_held",
            f"on_paper.for_user: {quote_id(who)} did not hold the role {role.value} on "
            f"{long_date(day)}, the date of the step",
        )
    actor = Actor(user_id=who, role=role)
    return actor, m.OnPaper(
        effective_at=paper.effective_at, recorded_by=me.user_id, evidence=paper.evidence
    )


def disputed_step(services: Services, case_id: str, fields: dict[str, Any]) -> PaperStep:
    """The step recorded on paper a dispute names (by `event_id` or `version`), or 404."""
    state = services.journal.load(case_id)
    if state.version == 0:
        raise Refusal("not_found", f"there is no case {quote_id(case_id)}")
    event_id, version = fields.get("event_id"), fields.get("version")
    for step in state.paper_steps:
        if str(step.event_id) == str(event_id) or str(step.version) == str(version):
            return step
    raise Refusal(
        "not_found",
        f"case {quote_id(case_id)} has no step recorded on paper with that event_id or version",
    )


async def dispute(
    services: Services,
    me: Principal,
    case_id: str,
    fields: dict[str, Any],
    *,
    idempotency_key: str | None = None,
) -> m.ActionResult:
    """The person a step was recorded for on paper disputes it, at any stage.

    They act in person, in the role the step was recorded in (whether or not they hold it
    today: the right to dispute comes from the record, not from a role). While the case's
    workflow runs, the dispute goes through it (so its state stays the stream's fold);
    once it has finished (decided and published), the dispute is appended to the case's
    stream by the journal, which folds it onto the stored events first: the same rules.
    """
    step = disputed_step(services, case_id, fields)
    actor = Actor(user_id=me.user_id, role=step.actor.role)
    try:
        message = m.Dispute.model_validate({**fields, "actor": actor}, context=EDGE)
    except ValidationError as exc:
        raise Refusal("invalid", problems(exc)) from None
    if me.user_id != step.actor.user_id:
        raise Refusal(
            "not_yours",
            f"only {step.actor.user_id}, for whom the step was recorded on paper, may dispute it",
        )
    handle = services.client.get_workflow_handle(case_id)
    try:
        running = (await handle.describe()).status == WorkflowExecutionStatus.RUNNING
    except RPCError as exc:
        if exc.status is not RPCStatusCode.NOT_FOUND:
            raise
        running = False
    if running:
        return await run_update(
            services, case_id, "dispute", message, idempotency_key=idempotency_key
        )
    return _append_dispute(services, case_id, step, message)


def _append_dispute(
    services: Services, case_id: str, step: PaperStep, message: m.Dispute
) -> m.ActionResult:
    """Append a dispute to a case whose workflow has finished, through the journal."""
    event = StepDisputed(
        event_id=uuid.uuid4(),
        case_id=case_id,
        occurred_at=datetime.now(UTC),
        actor=message.actor,
        disputed_event_id=step.event_id,
        disputed_version=step.version,
        disputed_type=step.step,
        reason=message.reason,
    )
    try:
        stored = services.journal.record(case_id, [event])
    except DomainError as exc:
        raise Refusal(exc.code, exc.message) from None
    notify_written(services)
    state = services.journal.load(case_id)
    return m.ActionResult(
        case_id=case_id,
        version=state.version,
        stage=state.stage.value,
        events=[
            m.StoredRef(
                event_id=r.event_id,
                event_type=r.event_type,
                position=r.position,
                version=r.version,
                hash=r.hash,
            )
            for r in stored
        ],
    )


def check_co_officers(services: Services, case: Case) -> None:
    """Each co-officer a case names is an active user holding the originating officer's
    role (their own), or the API's refusal (422) naming the field and the rule. Nothing is
    written on refusal."""
    for index, user_id in enumerate(case.co_officers):
        found = services.directory.principal_for(user_id)
        if found is None or Role.ORIGINATING_OFFICER not in found.roles:
            raise Refusal(
                "invalid",
                f"co_officers.{index}: {user_id!r} is not an active user holding the "
                "originating_officer role",
            )


def check_case_id(case_id: str) -> str:
    """A case id someone chose, or the API's refusal (422) naming the rule it breaks."""
    try:
        check_identifier(case_id, "case_id")
    except ValueError as exc:
        raise Refusal("invalid", str(exc)) from None
    try:
        check_stream_id(case_id)
    except InvalidEvent as exc:
        raise Refusal("invalid", f"case_id: {exc}") from None
    prefix = reserved_prefix(case_id)
    if prefix is not None:
        raise Refusal(
            "invalid",
            f"case_id: {case_id!r} begins with {prefix!r}, which Ratify uses for other "
            "streams and workflows: choose another id",
        )
    return case_id


async def start_case(services: Services, me: Principal, case: Case, case_id: str | None) -> str:
    """`POST /cases` of the API: start a draft's workflow; returns once the draft is stored.

    One call starts the workflow and asks it for the drafted case (update with start): the
    workflow answers once the draft is recorded. Both halves carry Ratify's proof.
    """
    officer = acting(me, Role.ORIGINATING_OFFICER, None)
    case_id = check_case_id(case_id) if case_id is not None else f"case-{uuid.uuid4().hex[:12]}"
    check_co_officers(services, case)
    check_dates(services, case)
    check_case_size(case)
    # A case id is used once: a stored case, or a workflow that ran under the id and has
    # finished, is never started again (Temporal would otherwise allow a closed id's reuse,
    # and the new run would fail to draft over the stored case).
    if services.store.stream_version(case_id) >= 1:
        raise case_exists(services, case_id)
    start = WithStartWorkflowOperation(
        DecisionWorkflow.run,
        m.DecisionInput(
            case_id=case_id, officer=officer, case=case, settings=services.workflow_settings
        ),
        id=case_id,
        task_queue=services.task_queue,
        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        # A retry of a start that got through finds the case running: 409, never a second
        # draft (nor an answer about a case someone else started under the id).
        id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
    )
    try:
        async with asyncio.timeout(UPDATE_WAIT_SECONDS):
            await services.client.execute_update_with_start_workflow(
                DecisionWorkflow.drafted, start_workflow_operation=start
            )
    except WorkflowAlreadyStartedError:
        _start_settled(start)
        raise case_exists(services, case_id) from None
    except (WorkflowUpdateRPCTimeoutOrCancelledError, TimeoutError):
        raise Refusal(
            "outcome_unknown",
            f"case {quote_id(case_id)} was sent but its draft did not come back in time: look "
            f"for it (GET /cases/{quote_id(case_id)}); sending it again with this case_id is "
            "safe (a case that started answers 409)",
        ) from None
    except WorkflowUpdateFailedError as exc:
        refusal = refusal_of(exc)
        if refusal is None:
            raise
        raise refusal from None
    except RPCError as exc:
        _start_settled(start)
        if exc.status is RPCStatusCode.ALREADY_EXISTS:
            raise case_exists(services, case_id) from None
        if temporal_down(exc):
            raise not_started(
                f"case {quote_id(case_id)}",
                f"look for it (GET /cases/{quote_id(case_id)}); sending it again with this "
                "case_id is safe (a case that started answers 409)",
            ) from None
        raise
    notify_written(services)
    return case_id


def case_exists(services: Services, case_id: str) -> Refusal:
    """The refusal (409 `exists`) for a case id used already: which case, and where it stands
    ("case mettrace3 already exists: it is declined"), so that the person picks another id."""
    try:
        state = services.journal.load(case_id)
    except Refusal:  # a stream that does not read as a case: say only that the id is taken
        state = None
    where = f": it is {state.stage.label}" if state is not None and state.version else ""
    return Refusal("exists", f"case {quote_id(case_id)} already exists{where}")


def _start_settled(start: WithStartWorkflowOperation[Any, Any]) -> None:
    """Take the start's own error (the update call has raised it already), so that asyncio
    does not log it as never retrieved. Never waits: the operation's future is resolved only
    when the call reached the client's own code (not when a stand-in client raised), and
    `workflow_handle()` would wait on it for ever; hence the SDK's private attribute."""
    future = getattr(start, "_workflow_handle", None)
    if isinstance(future, asyncio.Future) and future.done() and not future.cancelled():
        future.exception()
