"""The decision workflow: one per case (workflow id = case id), from draft to publication.

The workflow holds the case state, always the fold of the events it has committed. Every
approver action is an *update*: its validator folds a candidate event into the current state
and refuses with the domain's reason (wrong stage, wrong role, already done, four-eyes,
interests not declared, stale) before anything is written. An accepted action takes the
lock, folds again (the state may have moved while it waited), commits its events through the
`record_events` activity, and only then answers, with the positions and hashes stored.
The actions are listed once, in `workflows.actions` (their messages, events and roles):
each update Temporal needs declared here hands its action to one implementation (`_act`,
its validator to `_validate`).

Alongside the actions, the workflow watches the required-by date (reminders, escalation,
deadline missed; timers follow a changed date), publishes Part 1 on approval or on the
deferral date, and starts the Part 2 review workflow when there is a Part 2.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from domain import events as ev
    from domain.clock import LONDON, london_date
    from domain.deadlines import (
        DeadlineStep,
        DeadlineStepKind,
        deadline_ended_at,
        deadline_schedule,
        due_steps,
        overdue_words,
    )
    from domain.errors import RulesError
    from domain.fold.checks import current_checks
    from domain.ids import part2_review_id
    from domain.register import part1_entry
    from domain.roles import SYSTEM_ACTOR, Actor, Role
    from domain.rules.delegation import route_case
    from domain.state import CaseState, Part1Status, Part2Status, Stage, Task, open_tasks
    from workflows import activity_names as names
    from workflows import messages as m
    from workflows.actions import BY_MESSAGE
    from workflows.common import (
        RETRY,
        STORE_TIMEOUT,
        apply_or_refuse,
        invalid,
        notify,
        record,
        refuse,
        stale,
    )
    from workflows.part2 import Part2ReviewWorkflow

#: Part 1 is published at this London time on its deferral date.
PUBLISH_AT = time(9, 0)

#: The patch under which update handlers judge their step by the rules over persons (own
#: cases only, separation of duties) as well as the validators: runs started before it keep
#: their recorded path on replay (see docs/changing-workflows.md).
PERSON_RULES_PATCH = "person-rules-in-handlers"

#: The patch under which update handlers also judge their step by the rule of the checks
#: (a submission, or a revision sent back on its way, is refused while checks are open; an
#: acknowledgement names a current check): runs recorded before it replay their recorded
#: path. The validators always apply the rule (see docs/changing-workflows.md).
SUBMISSION_CHECKS_PATCH = "submission-checks"

#: The patch under which a required-by date already past when the watcher first sees it
#: (drafted after its date, a date set or changed to one already past, a timer that fired
#: on a later day) gets no reminder and no escalation in the present: it is recorded as
#: missed once, effective at the end of its own day, and no one is told of it as news.
#: Runs recorded before it replay their recorded path (see docs/changing-workflows.md).
PAST_DEADLINES_PATCH = "past-deadlines-recorded-missed"


def task_view(task: Task, settings: m.Settings) -> m.TaskView:
    assignee = (
        settings.alternate_decision_maker if task.role is Role.ALTERNATE_DECISION_MAKER else None
    )
    return m.TaskView(
        kind=task.kind,
        role=task.role,
        description=task.description,
        area=task.area,
        due=task.due,
        assignee=assignee,
    )


EventMaker = Callable[[], list[ev.Event]]


@workflow.defn
class DecisionWorkflow:
    @workflow.init
    def __init__(self, params: m.DecisionInput) -> None:
        self.case_id = params.case_id
        self.settings = params.settings
        self.state = CaseState(case_id=params.case_id)
        self.lock = asyncio.Lock()
        self.background: list[asyncio.Task[None]] = []
        #: Whether the update handlers apply the rules over persons (set by `run`, under
        #: PERSON_RULES_PATCH); the validators always do, and never run on replay.
        self.person_rules = False
        #: Whether the update handlers apply the rule of the checks (set by `run`, under
        #: SUBMISSION_CHECKS_PATCH); the validators always do.
        self.submission_checks = False
        #: Whether a deadline already past is only recorded as missed, at its own date (set
        #: by `run`, under PAST_DEADLINES_PATCH).
        self.past_deadlines = False
        #: The draft as stored (set by `run`): what the `drafted` update answers.
        self.draft: m.ActionResult | None = None

    # -- run ---------------------------------------------------------------------------

    @workflow.run
    async def run(self, params: m.DecisionInput) -> m.DecisionOutcome:
        self.person_rules = workflow.patched(PERSON_RULES_PATCH)
        self.submission_checks = workflow.patched(SUBMISSION_CHECKS_PATCH)
        self.past_deadlines = workflow.patched(PAST_DEADLINES_PATCH)
        self.draft = await self._commit(
            lambda: [self._event(ev.CaseDrafted, params.officer, case=params.case)],
            drafting=True,
        )
        watcher = asyncio.create_task(self._watch_deadline())
        # If the watcher fails, await it now: its error fails the workflow task, which is
        # retried and shows in the UI, instead of vanishing with the task.
        await workflow.wait_condition(lambda: self.state.stage.is_closed or watcher.done())
        await watcher
        if self.state.stage is Stage.APPROVED:
            await self._publish_part1()
            if self.state.part2 is Part2Status.EXEMPT:
                await self._start_part2_review()
        await workflow.wait_condition(workflow.all_handlers_finished)
        await asyncio.gather(*self.background)
        return m.DecisionOutcome(
            case_id=self.case_id,
            stage=self.state.stage.value,
            reference=self.state.reference,
            late=self.state.late,
            decided_at=self.state.decided_at,
        )

    # -- committing events -------------------------------------------------------------

    def _event(self, cls: type[ev.Event], actor: Actor, **fields: Any) -> ev.Event:
        return cls(
            event_id=workflow.uuid4(),
            case_id=self.case_id,
            occurred_at=workflow.now(),
            actor=actor,
            **fields,
        )

    def _candidate(self, cls: type[ev.Event], actor: Actor, **fields: Any) -> ev.Event:
        """An event to validate with: no id is drawn, so validation leaves no trace."""
        return cls(
            event_id=m.PLACEHOLDER_ID,
            case_id=self.case_id,
            occurred_at=workflow.now(),
            actor=actor,
            **fields,
        )

    def _fold(self, events: list[ev.Event], *, new: bool | None = None) -> CaseState:
        """Fold events into the current state, or refuse. `new` (default: as the run's
        patches say) judges them by the rules over persons too, and by the rule of the
        checks (a validator: always; a handler: under SUBMISSION_CHECKS_PATCH)."""
        if new is None:
            return apply_or_refuse(
                self.state, events, new=self.person_rules, with_checks=self.submission_checks
            )
        return apply_or_refuse(self.state, events, new=new)

    def _check(self, action: m.Action, cls: type[ev.Event], **fields: Any) -> None:
        """The validator of every action: not stale, and allowed by the fold.

        An action that arrives before the workflow has committed the draft (a submit sent
        straight after starting the case) is let through: its handler waits for the draft
        and checks it then, under the lock.
        """
        if self.state.version == 0:
            return
        stale(action, self.state)
        with invalid():
            candidate = self._candidate(cls, action.actor, **fields)
        self._fold([candidate], new=True)

    async def _commit(
        self, make: EventMaker, *, drafting: bool = False, action: m.Action | None = None
    ) -> m.ActionResult:
        if not drafting:
            await workflow.wait_condition(lambda: self.state.version > 0)
        async with self.lock:
            if action is not None:
                # Checked again under the lock: two actions validated against the same
                # version must not both commit (the second saw a state that has moved on).
                stale(action, self.state)
            return await self._commit_locked(make)

    async def _commit_locked(self, make: EventMaker) -> m.ActionResult:
        """Fold, store, then adopt the new state; the caller holds the lock."""
        with invalid():
            events = make()
        new_state = self._fold(events)
        stored = await record(self.case_id, events)
        before = open_tasks(self.state)
        self.state = new_state
        self._announce_new_tasks(before)
        return m.ActionResult(
            case_id=self.case_id,
            version=self.state.version,
            stage=self.state.stage.value,
            events=stored,
        )

    def _announce_new_tasks(self, before: list[Task]) -> None:
        """Tell the holders of each task that has just opened."""

        def key(task: Task) -> tuple[str, Role, Any, str]:
            return task.kind, task.role, task.area, task.description

        already = {key(t) for t in before}
        for task in open_tasks(self.state):
            if key(task) in already:  # a moved due date is not a new task
                continue
            subject = f"[Ratify] {self.state.title}: {task.description}"
            body = (
                f"Case {self.case_id} ({self.state.title}) is {self.state.stage.label}.\n"
                f"Your task: {task.description}."
                + (f"\nDue by {task.due.isoformat()}." if task.due else "")
            )
            self.background.append(
                asyncio.create_task(notify(self.case_id, "new_task", task, subject, body))
            )

    # -- actions: one implementation for every step a person takes -----------------------

    def _routing_for(self, case: Any) -> Any:
        judged_on = london_date(self.state.submitted_at or workflow.now())
        try:
            return route_case(case, judged_on)
        except RulesError as exc:
            raise refuse(exc) from None

    def _case(self) -> Any:
        assert self.state.case is not None
        return self.state.case

    def _step(self, action: m.Action) -> tuple[type[ev.Event], dict[str, Any]]:
        """The event an action records, and its fields: the message's own fields (see
        `workflows.actions`), and what the workflow works out (a routing, a reference)."""
        if isinstance(action, m.Decide):
            return self._decision_candidate(action)
        if isinstance(action, m.Dispute):
            return ev.StepDisputed, self._disputed_step(action)
        spec = BY_MESSAGE[type(action)]
        fields = {name: getattr(action, name) for name in spec.fields}
        if isinstance(action, m.Revise):
            # Re-judged after submission: a revision can change who must approve.
            fields["routing"] = self._routing_for(action.case) if self.state.submitted_at else None
        elif isinstance(action, m.AcknowledgeCheck):
            fields.update(self._quoted_check(action.check))
        elif isinstance(action, m.Submit):
            # No case before the draft is committed (the validator lets such a submit through).
            fields["routing"] = (
                self._routing_for(self._case()) if self.state.case is not None else None
            )
        return spec.events[0], fields

    def _disputed_step(self, action: m.Dispute) -> dict[str, Any]:
        """The fields of a dispute: the paper step it names (by event id or version), and
        the reason; refused (`not_found`) when no step recorded on paper is named so (the
        fold judges who may dispute it)."""
        for step in self.state.paper_steps:
            if step.event_id == action.event_id or step.version == action.version:
                return {
                    "disputed_event_id": step.event_id,
                    "disputed_version": step.version,
                    "disputed_type": step.step,
                    "reason": action.reason,
                }
        named = action.event_id if action.event_id is not None else f"version {action.version}"
        raise ApplicationError(
            f"the step cannot be disputed: {named} is not a step recorded on paper on this case",
            type="not_found",
            non_retryable=True,
        )

    def _paper(self, action: m.Action) -> dict[str, Any]:
        """The event's own date and provenance for a step taken on paper (none otherwise:
        a step taken in Ratify is stored exactly as before).

        A step dated by its day only (noon, London) on the day of the case's latest step,
        which came later that day, is placed just at that step: the paper gave the day, and
        the order of the steps is known; a time the person gave is kept as given."""
        paper = action.on_paper
        if paper is None:
            return {}
        effective = paper.effective_at
        latest = self.state.last_step_at
        if (
            latest is not None
            and effective.astimezone(LONDON).time() == m.PAPER_NOON
            and london_date(effective) == london_date(latest)
            and effective < latest
        ):
            effective = latest
        return {
            "effective_at": effective,
            "provenance": ev.Provenance(
                how="on_paper", recorded_by=paper.recorded_by, evidence=paper.evidence
            ),
        }

    def _tell_recorded_for(self, action: m.Action, result: m.ActionResult) -> None:
        """Tell the person a paper step was recorded for, who may dispute it."""
        paper = action.on_paper
        if paper is None:
            return
        who = action.actor
        day = london_date(paper.effective_at).isoformat()
        version = result.events[-1].version if result.events else self.state.version
        task = Task(kind="dispute", role=who.role, description="Dispute it if it is wrong")
        subject = f"[Ratify] {self.state.title}: a step was recorded for you on paper"
        body = (
            f"{paper.recorded_by} (records officer) recorded for you on case {self.case_id} "
            f"({self.state.title}) a step you took on paper on {day}: version {version}, "
            f"{paper.evidence.describe()}.\n"
            f"If it is wrong, dispute it (action: dispute, version {version})."
        )
        self.background.append(
            asyncio.create_task(
                notify(self.case_id, "recorded_on_paper", task, subject, body, to_user=who.user_id)
            )
        )

    def _quoted_check(self, key: str) -> dict[str, str]:
        """The subject and message of the check `key` as it stands on the case now, for
        the acknowledgement's record; refused (`invalid`) when there is no such check."""
        if self.state.case is None:
            # Before the draft is committed: the handler waits for it and asks again.
            return {"subject": key, "message": key}
        try:
            checks = current_checks(self.state, london_date(workflow.now()))
        except RulesError as exc:
            raise refuse(exc) from None
        for check in checks:
            if check.key == key:
                return {"subject": check.subject, "message": check.message}
        raise ApplicationError(
            f"the check cannot be acknowledged: {key} is not a check on this case",
            type="invalid",
            non_retryable=True,
        )

    async def _act(self, action: m.Action) -> m.ActionResult:
        """The update of every action: commit its event, checked again under the lock."""
        if isinstance(action, m.Decide):
            return await self._decide(action)

        def make() -> list[ev.Event]:
            cls, fields = self._step(action)
            return [self._event(cls, action.actor, **fields, **self._paper(action))]

        result = await self._commit(make, action=action)
        self._tell_recorded_for(action, result)
        return result

    def _validate(self, action: m.Action) -> None:
        """The validator of every action: a named alternate, then `_check`."""
        if isinstance(action, m.DeclareInterests | m.Decide):
            self._check_alternate(action.actor)
        cls, fields = self._step(action)
        self._check(action, cls, **fields, **self._paper(action))

    def _check_alternate(self, actor: Actor) -> None:
        configured = self.settings.alternate_decision_maker
        if actor.role is Role.ALTERNATE_DECISION_MAKER and actor.accountable_user != configured:
            raise ApplicationError(
                f"the alternate decision maker is {configured}, not {actor.accountable_user}",
                type="wrong_role",
                non_retryable=True,
            )

    def _decision_candidate(self, action: m.Decide) -> tuple[type[ev.Event], dict[str, Any]]:
        if not action.approve:
            if not action.comment:
                raise ApplicationError(
                    "a decision to decline needs a comment giving the reason",
                    type="invalid",
                    non_retryable=True,
                )
            return ev.DecisionDeclined, {"comment": action.comment}
        reference = "PCD 0" if self.state.is_dmpc_decision else None
        return ev.DecisionApproved, {"comment": action.comment, "reference": reference}

    async def _decide(self, action: m.Decide) -> m.ActionResult:
        await workflow.wait_condition(lambda: self.state.version > 0)
        # One lock hold from the check to the stored decision: a refused decision never
        # takes a PCD number, and no other step (a withdrawal) can slip in between the
        # number being taken and the approval that uses it.
        async with self.lock:
            stale(action, self.state)
            cls, fields = self._decision_candidate(action)
            fields.update(self._paper(action))
            with invalid():
                candidate = self._candidate(cls, action.actor, **fields)
            self._fold([candidate])
            if cls is ev.DecisionApproved and self.state.is_dmpc_decision:
                number = await workflow.execute_activity(
                    names.ALLOCATE_REFERENCE,
                    m.AllocateRequest(
                        sequence="PCD", owner=self.case_id, first=self.settings.first_reference
                    ),
                    result_type=int,
                    start_to_close_timeout=STORE_TIMEOUT,
                    retry_policy=RETRY,
                )
                fields["reference"] = f"PCD {number}"
            result = await self._commit_locked(lambda: [self._event(cls, action.actor, **fields)])
        self._tell_recorded_for(action, result)
        return result

    # -- the actions' updates: Temporal needs each declared; `workflows.actions` lists them.

    @workflow.update
    async def revise(self, action: m.Revise) -> m.ActionResult:
        return await self._act(action)

    @revise.validator
    def _v_revise(self, action: m.Revise) -> None:
        self._validate(action)

    @workflow.update
    async def submit(self, action: m.Submit) -> m.ActionResult:
        return await self._act(action)

    @submit.validator
    def _v_submit(self, action: m.Submit) -> None:
        self._validate(action)

    @workflow.update
    async def withdraw(self, action: m.Withdraw) -> m.ActionResult:
        return await self._act(action)

    @withdraw.validator
    def _v_withdraw(self, action: m.Withdraw) -> None:
        self._validate(action)

    @workflow.update
    async def change_required_by(self, action: m.ChangeRequiredBy) -> m.ActionResult:
        return await self._act(action)

    @change_required_by.validator
    def _v_change_required_by(self, action: m.ChangeRequiredBy) -> None:
        self._validate(action)

    @workflow.update
    async def acknowledge_check(self, action: m.AcknowledgeCheck) -> m.ActionResult:
        return await self._act(action)

    @acknowledge_check.validator
    def _v_acknowledge_check(self, action: m.AcknowledgeCheck) -> None:
        self._validate(action)

    @workflow.update
    async def record_irregularity(self, action: m.RecordIrregularity) -> m.ActionResult:
        return await self._act(action)

    @record_irregularity.validator
    def _v_record_irregularity(self, action: m.RecordIrregularity) -> None:
        self._validate(action)

    @workflow.update
    async def place_on_agenda(self, action: m.PlaceOnAgenda) -> m.ActionResult:
        return await self._act(action)

    @place_on_agenda.validator
    def _v_place_on_agenda(self, action: m.PlaceOnAgenda) -> None:
        self._validate(action)

    @workflow.update
    async def record_board_advice(self, action: m.RecordBoardAdvice) -> m.ActionResult:
        return await self._act(action)

    @record_board_advice.validator
    def _v_record_board_advice(self, action: m.RecordBoardAdvice) -> None:
        self._validate(action)

    @workflow.update
    async def agree_extremis(self, action: m.AgreeExtremis) -> m.ActionResult:
        return await self._act(action)

    @agree_extremis.validator
    def _v_agree_extremis(self, action: m.AgreeExtremis) -> None:
        self._validate(action)

    @workflow.update
    async def sign_off(self, action: m.SignOff) -> m.ActionResult:
        return await self._act(action)

    @sign_off.validator
    def _v_sign_off(self, action: m.SignOff) -> None:
        self._validate(action)

    @workflow.update
    async def request_changes(self, action: m.RequestChanges) -> m.ActionResult:
        return await self._act(action)

    @request_changes.validator
    def _v_request_changes(self, action: m.RequestChanges) -> None:
        self._validate(action)

    @workflow.update
    async def advice_not_required(self, action: m.AdviceNotRequired) -> m.ActionResult:
        return await self._act(action)

    @advice_not_required.validator
    def _v_advice_not_required(self, action: m.AdviceNotRequired) -> None:
        self._validate(action)

    @workflow.update
    async def consult_chief_executive(self, action: m.ConsultChiefExecutive) -> m.ActionResult:
        return await self._act(action)

    @consult_chief_executive.validator
    def _v_consult_chief_executive(self, action: m.ConsultChiefExecutive) -> None:
        self._validate(action)

    @workflow.update
    async def chief_executive_send_back(self, action: m.ChiefExecutiveSendBack) -> m.ActionResult:
        return await self._act(action)

    @chief_executive_send_back.validator
    def _v_chief_executive_send_back(self, action: m.ChiefExecutiveSendBack) -> None:
        self._validate(action)

    @workflow.update
    async def declare_interests(self, action: m.DeclareInterests) -> m.ActionResult:
        return await self._act(action)

    @declare_interests.validator
    def _v_declare_interests(self, action: m.DeclareInterests) -> None:
        self._validate(action)

    @workflow.update
    async def decide(self, action: m.Decide) -> m.ActionResult:
        return await self._act(action)

    @decide.validator
    def _v_decide(self, action: m.Decide) -> None:
        self._validate(action)

    @workflow.update
    async def dispute(self, action: m.Dispute) -> m.ActionResult:
        return await self._act(action)

    @dispute.validator
    def _v_dispute(self, action: m.Dispute) -> None:
        self._validate(action)

    # -- the draft ---------------------------------------------------------------------

    @workflow.update
    async def drafted(self) -> m.ActionResult:
        """The draft once it is stored: the API starts a case with this update (update with
        start), so it answers when the case exists, with its version and stage. It records
        nothing, so a run that never received it replays the same."""
        await workflow.wait_condition(lambda: self.draft is not None)
        assert self.draft is not None
        return self.draft

    @drafted.validator
    def _v_drafted(self) -> None:
        """Nothing to check; declared so that the signed-action interceptor checks the
        update's proof (it runs in an update's validator, and only when there is one)."""

    # -- queries -----------------------------------------------------------------------

    @workflow.query
    def state_view(self) -> m.StateView:
        return m.StateView(state=self.state, tasks=self.tasks())

    @workflow.query
    def tasks(self) -> list[m.TaskView]:
        return [task_view(t, self.settings) for t in open_tasks(self.state)]

    # -- deadlines ---------------------------------------------------------------------

    async def _watch_deadline(self) -> None:
        """Reminders, escalation and deadline-missed, each at its time; follows a new date.

        Under PAST_DEADLINES_PATCH a date whose day has ended is only recorded as missed,
        effective at the end of that day unless its timer fired on the day it was set for.
        """
        #: The step the watcher last slept until (its timer, unless the date moved).
        awaited: DeadlineStep | None = None
        #: Steps the fold refused (with the date they were for), not to be taken again.
        refused: set[tuple[date, DeadlineStep]] = set()
        while not self.state.stage.is_closed:
            required_by = self.state.required_by

            def moved_or_closed(was: date | None = required_by) -> bool:
                return self.state.required_by != was or self.state.stage.is_closed

            if required_by is None:
                await workflow.wait_condition(moved_or_closed)
                continue
            # The holidays package reads its translation files through gettext, which the
            # sandbox forbids; the calendar is deterministic, so it runs unrestricted.
            with workflow.unsafe.sandbox_unrestricted():
                schedule = deadline_schedule(required_by, self.settings.reminder_working_days)
            due, upcoming = due_steps(
                schedule,
                workflow.now(),
                reminders_sent=self.state.reminders_sent,
                escalated=self.state.escalated,
                missed=self.state.deadline_missed,
                past_only_missed=self.past_deadlines,
            )
            due = [step for step in due if (required_by, step) not in refused]
            for step in due:
                taken = await self._deadline_step(
                    step, after_the_event=self._after_the_event(step, awaited)
                )
                if not taken:
                    # Refused by the fold as it stands: taking it again at once would spin
                    # without yielding (a deadlock); it is looked at again when the date moves.
                    refused.add((required_by, step))
            if due:
                continue
            awaited = upcoming
            with contextlib.suppress(TimeoutError):  # the timer fired: loop to take the step
                await workflow.wait_condition(
                    moved_or_closed,
                    timeout=(upcoming.at - workflow.now()) if upcoming else None,
                )

    def _after_the_event(self, step: DeadlineStep, awaited: DeadlineStep | None) -> bool:
        """Whether a deadline-missed is recorded after the event (under the patch): the
        date was already past when the watcher saw it, or its timer fired on a later day."""
        if not self.past_deadlines or step.kind is not DeadlineStepKind.MISSED:
            return False
        on_time = step == awaited and london_date(workflow.now()) == london_date(step.at)
        return not on_time

    async def _deadline_step(self, step: DeadlineStep, *, after_the_event: bool = False) -> bool:
        """Record a deadline step and tell whom it concerns. False when the fold refused it
        here (the step cannot be taken on the case as it is); True otherwise, also when the
        store refused it (the case moved on: the next look at the date settles it)."""
        required_by = self.state.required_by
        assert required_by is not None
        cls: type[ev.Event]
        fields: dict[str, Any]
        if step.kind is DeadlineStepKind.REMINDER:
            cls, fields = ev.DeadlineReminderSent, {"working_days_before": step.working_days_before}
        elif step.kind is DeadlineStepKind.ESCALATION:
            cls, fields = ev.DeadlineEscalated, {}
        elif after_the_event:
            # Missed at its own date, not when it was noticed.
            cls, fields = ev.DeadlineMissed, {"effective_at": deadline_ended_at(required_by)}
        else:
            cls, fields = ev.DeadlineMissed, {}
        tasks = open_tasks(self.state)
        try:
            await self._commit(
                lambda: [self._event(cls, SYSTEM_ACTOR, required_by=required_by, **fields)]
            )
        except (ApplicationError, ActivityError) as exc:
            # The case moved on while the timer fired (decided, date changed): nothing to do.
            # A refusal comes from the fold here, or from the stored stream via the activity.
            if isinstance(exc, ActivityError) and not isinstance(exc.cause, ApplicationError):
                raise
            workflow.logger.info("deadline step not recorded: %s", exc)
            return isinstance(exc, ActivityError)
        if after_the_event:
            # Recorded, not news: the date had passed before Ratify watched it.
            return True
        when = required_by.isoformat()
        if step.kind is DeadlineStepKind.ESCALATION:
            targets = [
                Task(
                    kind="escalation",
                    role=Role.CHIEF_EXECUTIVE,
                    description=(f"Decision {overdue_words(required_by, workflow.now())} ({when})"),
                    due=required_by,
                )
            ]
        elif step.kind is DeadlineStepKind.REMINDER:
            targets = tasks
        else:
            targets = [
                Task(
                    kind="deadline_missed",
                    role=Role.CHIEF_EXECUTIVE,
                    description=f"Decision required by {when} was not taken",
                    due=required_by,
                )
            ]
        for task in targets:
            subject = f"[Ratify] {self.state.title}: {step.kind.value} for {when}"
            body = f"Case {self.case_id}: a decision is required by {when}. {task.description}."
            self.background.append(
                asyncio.create_task(notify(self.case_id, step.kind.value, task, subject, body))
            )
        return True

    # -- publication -------------------------------------------------------------------

    async def _publish_part1(self) -> None:
        if self.state.part1 is not Part1Status.PENDING:
            return
        case = self._case()
        deferral = case.part1_deferral
        if deferral is not None and deferral.until > london_date(workflow.now()):
            await self._commit(
                lambda: [
                    self._event(
                        ev.Part1Deferred, SYSTEM_ACTOR, until=deferral.until, reason=deferral.reason
                    )
                ]
            )
            publish_at = datetime.combine(deferral.until, PUBLISH_AT, tzinfo=LONDON)
            wait = publish_at - workflow.now()
            if wait > timedelta(0):
                await workflow.sleep(wait)
        await self._commit(
            lambda: [self._event(ev.Part1Published, SYSTEM_ACTOR, entry=part1_entry(self.state))]
        )

    async def _start_part2_review(self) -> None:
        assert self.state.part2_review_date is not None
        await workflow.start_child_workflow(
            Part2ReviewWorkflow.run,
            m.Part2ReviewInput(case_id=self.case_id, review_date=self.state.part2_review_date),
            id=part2_review_id(self.case_id),
            parent_close_policy=workflow.ParentClosePolicy.ABANDON,
        )
