"""Reconcile the decision workflows with the event store: is each one what the other says?

Every case has two records of itself: the DecisionWorkflow (workflow id = case id), which
holds the case state it has folded from the events it committed, and the case's stream in
the event store, whose fold (`CaseJournal.history`) is the case as stored. `reconcile`
compares them and reports:

- each *difference* between a running workflow's queried state (`state_view`) and the fold
  of its stored events, one per differing leaf, named by its dotted path in the state's
  JSON form (`case.title`, `signoffs.finance.note`, `recused.0.user_id`);
- each stored case with no workflow at all;
- each DecisionWorkflow with no stored case;
- each running case whose workflow could not be queried (a workflow whose task keeps
  failing, a worker that does not answer in `QUERY_TIMEOUT`), named with the kind of error
  only (an error's text could quote the case, Part 2 included); the other cases are still
  reconciled.

Only running workflows are compared field by field. A closed workflow (approved, declined,
withdrawn, or failed) is only checked to exist: after approval the Part 2 review workflow
carries the case on in the same stream, so a finished decision's last state is no longer
the fold of the whole stream, and querying a closed workflow replays its whole history.

Races. A workflow commits an event by storing it first (the `record_events` activity) and
adopting the new state when the activity answers, so for a moment the store is one step
ahead of the workflow. The workflow is queried first and the store read after it; the
store only grows, so when both are at the same version they describe the same events and
any difference is real, and is reported at once. When the store is ahead, the case is
re-checked (query, then read) after `wait` seconds, up to `attempts` times in all, and
reported with its differences, `version` among them, only if the workflow has still not
caught up. Likewise a listed workflow whose case is not stored yet (a case is stored by its
workflow's first activity) is re-checked once after `wait` seconds before it is reported.

The workflows are found with Temporal's visibility (`list_workflows`), which is eventually
consistent and which the time-skipping test server does not implement: `reconcile` takes
the ids instead when given them (`decision_workflow_ids` is the listing step on its own).
Querying a running workflow needs a worker polling its task queue.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable, Iterator
from datetime import timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

from domain.state import CaseState
from eventstore import EventStore
from ratify.journal import CaseJournal
from workflows import messages as m
from workflows.decision import DecisionWorkflow

#: The workflow type the decision workflow is registered under (its class name).
DECISION_WORKFLOW_TYPE = "DecisionWorkflow"
DECISION_WORKFLOWS_QUERY = f'WorkflowType = "{DECISION_WORKFLOW_TYPE}"'

#: How often a case whose store is ahead of its workflow is looked at in all, and the pause
#: between looks (seconds).
ATTEMPTS = 5
WAIT = 0.5
#: How long one query of a workflow may take before the case is reported as not queried.
QUERY_TIMEOUT = timedelta(seconds=10)


class _Result(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Difference(_Result):
    """One leaf where a running workflow's state and the fold of its stored events differ.

    `workflow` and `stored` are the two values as JSON text (`"a title"` with its quotes,
    `null`, `3`, an object for a whole missing entry), or `(absent)` where one side has no
    such entry (a sign-off area, a list item) at all.
    """

    case_id: str
    field: str
    workflow: str
    stored: str

    def __str__(self) -> str:
        return f"{self.case_id}: {self.field}: workflow {self.workflow}, stored {self.stored}"


class Unqueried(_Result):
    """A running case whose workflow could not be queried, and the kind of error (its
    type, never its text)."""

    case_id: str
    error: str

    def __str__(self) -> str:
        return f"{self.case_id}: its workflow could not be queried ({self.error})"


class ReconcileReport(_Result):
    """What `reconcile` found; `ok` when the workflows and the store agree."""

    #: Stored cases looked at (each checked for its workflow).
    checked: int
    #: Of those, cases whose workflow was running and whose state was compared.
    compared: int
    differences: list[Difference]
    cases_without_workflow: list[str]
    workflows_without_case: list[str]
    #: Running cases whose workflow did not answer its query (not compared).
    not_queried: list[Unqueried] = []

    @property
    def ok(self) -> bool:
        return not (
            self.differences
            or self.cases_without_workflow
            or self.workflows_without_case
            or self.not_queried
        )

    def __str__(self) -> str:
        lines = [
            f"{self.checked} cases checked, {self.compared} running workflows compared: "
            + ("all agree" if self.ok else "DISAGREEMENTS")
        ]
        lines += [f"  difference {d}" for d in self.differences]
        lines += [f"  stored case with no workflow: {c}" for c in self.cases_without_workflow]
        lines += [f"  workflow with no stored case: {w}" for w in self.workflows_without_case]
        lines += [f"  not queried: {u}" for u in self.not_queried]
        return "\n".join(lines)


# -- the two sides' ids --------------------------------------------------------------------


def case_ids(store: EventStore) -> list[str]:
    """Every stored case: each stream whose first event is `case.drafted`, in store order."""
    cases: list[str] = []
    seen: set[str] = set()
    for record in store.read_all():
        first_of_a_case = record.version == 1 and record.event_type == "case.drafted"
        if first_of_a_case and record.stream_id not in seen:
            seen.add(record.stream_id)
            cases.append(record.stream_id)
    return cases


async def decision_workflow_ids(client: Client) -> list[str]:
    """The id of every DecisionWorkflow in the client's namespace, running or closed.

    Uses Temporal's visibility: eventually consistent (a workflow started a moment ago may
    not be listed yet), and not implemented by the time-skipping test server.
    """
    ids: list[str] = []
    seen: set[str] = set()
    async for execution in client.list_workflows(DECISION_WORKFLOWS_QUERY):
        if execution.id not in seen:  # one id may have had several runs
            seen.add(execution.id)
            ids.append(execution.id)
    return ids


# -- comparing states ----------------------------------------------------------------------


class _Absent:
    def __repr__(self) -> str:
        return "(absent)"


ABSENT: Any = _Absent()


def _show(value: Any) -> str:
    if value is ABSENT:
        return "(absent)"
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def _leaves(workflow: Any, stored: Any, path: str) -> Iterator[tuple[str, Any, Any]]:
    """Each differing leaf of two JSON values: (dotted path, workflow's, stored)."""

    def at(key: object) -> str:
        return f"{path}.{key}" if path else str(key)

    if isinstance(workflow, dict) and isinstance(stored, dict):
        keys = [*workflow, *(k for k in stored if k not in workflow)]
        for key in keys:
            yield from _leaves(workflow.get(key, ABSENT), stored.get(key, ABSENT), at(key))
    elif isinstance(workflow, list) and isinstance(stored, list):
        for i in range(max(len(workflow), len(stored))):
            mine = workflow[i] if i < len(workflow) else ABSENT
            theirs = stored[i] if i < len(stored) else ABSENT
            yield from _leaves(mine, theirs, at(i))
    elif type(workflow) is not type(stored) or workflow != stored:
        yield path, workflow, stored


def differences(case_id: str, workflow: CaseState, stored: CaseState) -> list[Difference]:
    """Each leaf where the two states differ, by its dotted path in their JSON form."""
    if workflow == stored:
        return []
    return [
        Difference(case_id=case_id, field=path, workflow=_show(mine), stored=_show(theirs))
        for path, mine, theirs in _leaves(
            workflow.model_dump(mode="json"), stored.model_dump(mode="json"), ""
        )
    ]


# -- reconciling ---------------------------------------------------------------------------


async def _status(client: Client, case_id: str) -> WorkflowExecutionStatus | None:
    """The workflow's status, or None if there is no workflow with this id."""
    try:
        description = await client.get_workflow_handle(case_id).describe()
    except RPCError as exc:
        if exc.status is RPCStatusCode.NOT_FOUND:
            return None
        raise
    return description.status


async def _compare(
    client: Client,
    journal: CaseJournal,
    case_id: str,
    *,
    attempts: int,
    wait: float,
    query_timeout: timedelta,
) -> list[Difference]:
    """The differences of a running case, re-checked while its store is ahead of it."""
    handle = client.get_workflow_handle_for(DecisionWorkflow.run, case_id)
    for attempt in range(1, max(attempts, 1) + 1):
        # The workflow first, the store after: the store never goes back, so equal
        # versions mean the same events on both sides.
        view: m.StateView = await handle.query(
            DecisionWorkflow.state_view, rpc_timeout=query_timeout
        )
        stored = journal.history(case_id).state
        # Only a store ahead is a commit in flight; a workflow ahead of its store is not
        # something waiting would mend (events lost from the store).
        if stored.version <= view.state.version or attempt >= attempts:
            break
        await asyncio.sleep(wait)
    return differences(case_id, view.state, stored)


def _is_case(store: EventStore, stream_id: str) -> bool:
    first = store.read_stream(stream_id, to_version=1)
    return bool(first) and first[0].event_type == "case.drafted"


async def reconcile(
    client: Client,
    store: EventStore,
    *,
    workflow_ids: Iterable[str] | None = None,
    attempts: int = ATTEMPTS,
    wait: float = WAIT,
    query_timeout: timedelta = QUERY_TIMEOUT,
) -> ReconcileReport:
    """Compare every stored case with its DecisionWorkflow, and each side's ids with the other's.

    For each stored case its workflow is described: none is a case without a workflow; a
    running one is queried and its state compared, leaf by leaf, with the fold of the stored
    events; a closed one is only checked to exist. Then every DecisionWorkflow listed
    through `list_workflows` (or each of `workflow_ids`, when given) with no stored case is
    reported. See the module docstring for how commits in flight are told from real
    differences.
    """
    journal = CaseJournal(store)
    cases = case_ids(store)
    found: list[Difference] = []
    without_workflow: list[str] = []
    not_queried: list[Unqueried] = []
    compared = 0
    for case_id in cases:
        status = await _status(client, case_id)
        if status is None:
            without_workflow.append(case_id)
        elif status is WorkflowExecutionStatus.RUNNING:
            try:
                found += await _compare(
                    client,
                    journal,
                    case_id,
                    attempts=attempts,
                    wait=wait,
                    query_timeout=query_timeout,
                )
            except Exception as exc:  # one case that cannot be queried must not stop the rest
                not_queried.append(Unqueried(case_id=case_id, error=_kind(exc)))
                continue
            compared += 1

    listed = await decision_workflow_ids(client) if workflow_ids is None else list(workflow_ids)
    stored_cases = set(cases)
    orphans = [w for w in dict.fromkeys(listed) if w not in stored_cases]
    if orphans:
        # A workflow stores its case in its first activity: give one just started a moment.
        await asyncio.sleep(wait)
        orphans = [w for w in orphans if not _is_case(store, w)]
    return ReconcileReport(
        checked=len(cases),
        compared=compared,
        differences=found,
        cases_without_workflow=without_workflow,
        workflows_without_case=sorted(orphans),
        not_queried=not_queried,
    )


def _kind(exc: BaseException) -> str:
    """The kind of a query's failure, for the report: its type and, for an RPC error, its
    status code; never the message, which may quote the case."""
    kind = type(exc).__name__
    status = getattr(exc, "status", None)
    if isinstance(exc, RPCError) and status is not None:
        return f"{kind} {status.name}"
    cause = exc.__cause__
    if cause is not None and cause is not exc:
        return f"{kind} ({type(cause).__name__})"
    return kind
