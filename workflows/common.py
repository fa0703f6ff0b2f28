"""What the workflows share: activity calls with their retry policy, and refusals.

A refusal is an `ApplicationError` whose message is the domain's sentence and whose type
is the domain's code (wrong_stage, wrong_role, already_done, four_eyes,
interests_not_declared, stale, invalid, ...), marked non-retryable: the person sees the
reason, and nothing was written.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from pydantic import ValidationError
from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from domain import events as ev
    from domain.errors import DomainError, RulesError
    from domain.fold import apply, apply_new
    from domain.state import CaseState, Task, open_tasks
    from workflows import activity_names as names
    from workflows import messages as m

#: How long one attempt of an activity may take, and how it is retried: for ever, backing
#: off to a minute, so a database outage delays a step and never loses one.
ACTIVITY_TIMEOUT = timedelta(seconds=30)
#: How long one attempt of a write to the event store may take. Short, because an append
#: takes milliseconds and Temporal only notices a worker killed mid-attempt when this
#: runs out: the approver waiting on the step waits this long before the retry (which is
#: idempotent on event ids, so a slow attempt that did commit is not stored twice).
STORE_TIMEOUT = timedelta(seconds=10)
RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=1))


def refuse(exc: DomainError | RulesError) -> ApplicationError:
    """A domain refusal as the error the person sees."""
    if isinstance(exc, DomainError):
        return ApplicationError(exc.message, type=exc.code, non_retryable=True)
    return ApplicationError(str(exc), type="rules", non_retryable=True)


def apply_or_refuse(
    state: CaseState, events: list[ev.Event], *, new: bool = False, with_checks: bool = True
) -> CaseState:
    """Fold events into a state, or refuse with the domain's reason. `new`: the events are
    steps someone is taking now, judged by the rules over persons too (`apply_new`), and,
    unless `with_checks` is False, by the rule of the checks (nothing goes on with checks
    open)."""
    try:
        for event in events:
            state = apply_new(state, event, with_checks=with_checks) if new else apply(state, event)
    except DomainError as exc:
        raise refuse(exc) from None
    return state


@contextmanager
def invalid() -> Iterator[None]:
    """Turn a malformed action (an empty reason, say) into a refusal naming the field."""
    try:
        yield
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'action'}: {err['msg']}"
            for err in exc.errors()
        )
        raise ApplicationError(problems, type="invalid", non_retryable=True) from None


def stale(action: m.Action, state: CaseState | None) -> None:
    """Refuse an action taken on a version of the case the person no longer sees: any
    change since `expected_version` (strict), or, with `expected_revision` (loose), a change
    to what the step depends on; the refusal says what changed."""
    if state is None:
        return
    if action.expected_version is not None and action.expected_version != state.version:
        raise ApplicationError(
            f"the case has changed since you looked at it: it is now at version "
            f"{state.version} and {state.stage.label}",
            type="stale",
            non_retryable=True,
        )
    if action.expected_revision is None:
        return
    changed = changes_since(action, state)
    if changed:
        raise ApplicationError(
            "the case has changed since you loaded the page: " + "; ".join(changed),
            type="stale",
            non_retryable=True,
        )


def _task_key(task: Task) -> str:
    return f"{task.kind}:{task.area.value}" if task.area is not None else task.kind


def changes_since(action: m.Action, state: CaseState) -> list[str]:
    """What changed that the action depends on, since the page that sent it was loaded
    (`expected_revision`, `expected_stage`, `expected_task`), in words; [] when nothing did."""
    changed: list[str] = []
    seen = action.expected_revision
    if seen is not None and seen != state.case_revision:
        changed.append(
            f"the papers were revised (you read revision {seen}; they are now at revision "
            f"{state.case_revision}): read them again"
        )
    if action.expected_stage is not None and action.expected_stage != state.stage:
        changed.append(
            f"it moved on from {action.expected_stage.label} and is now {state.stage.label}"
        )
    wanted = action.expected_task
    if wanted is not None and not any(wanted in (_task_key(t), t.kind) for t in open_tasks(state)):
        changed.append(f"your task ({wanted.replace('_', ' ')}) was done or withdrawn")
    return changed


async def record(case_id: str, events: list[ev.Event]) -> list[m.StoredRef]:
    """Commit events through the journal activity; returns once they are stored."""
    stored: list[m.StoredRef] = await workflow.execute_activity(
        names.RECORD_EVENTS,
        m.RecordRequest(case_id=case_id, events=[m.EncodedEvent.of(e) for e in events]),
        result_type=list[m.StoredRef],
        start_to_close_timeout=STORE_TIMEOUT,
        retry_policy=RETRY,
    )
    return stored


async def notify(
    case_id: str, kind: str, task: Task, subject: str, body: str, *, to_user: str | None = None
) -> None:
    """Tell the holders of a task's role (or one person, `to_user`), through the notify
    activity."""
    await workflow.execute_activity(
        names.NOTIFY,
        m.Notification(
            notification_id=workflow.uuid4(),
            case_id=case_id,
            kind=kind,
            to_role=task.role,
            to_user=to_user,
            subject=subject,
            body=body,
            occurred_at=workflow.now(),
        ),
        start_to_close_timeout=ACTIVITY_TIMEOUT,
        retry_policy=RETRY,
    )
