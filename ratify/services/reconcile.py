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
  reconciled;
- each stored case that still awaits its workflow while the workflow is closed: one
  terminated, cancelled, failed, timed out or reset outside Ratify (`temporal workflow
  terminate`), or completed early. Such a case takes no more steps, so it must not pass
  unnoticed.

Only running workflows are compared field by field. A closed workflow is checked to exist
and to have nothing left to do: the fold of the stored events says what a case still
awaits (`still_due`): an open case (not approved, declined or withdrawn) or an approved
one whose Part 1 publication is still due awaits its DecisionWorkflow; an approved one
whose Part 2 is exempt or due for review awaits its Part 2 review workflow
(`part2-review-<case>`, which the DecisionWorkflow starts before it completes). A closed
workflow is not queried: after approval the Part 2 review workflow carries the case on in
the same stream, so a finished decision's last state is no longer the fold of the whole
stream, and querying a closed workflow replays its whole history. A closed workflow is
described before the store is read: it writes no more, so the store read after it holds
everything it did.

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

from domain.ids import part2_review_id
from domain.state import CaseState, Part1Status, Part2Status, Stage
from eventstore import EventStore
from ratify.services.journal import CaseJournal, from_stored
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


class EndedWorkflow(_Result):
    """A stored case that still awaits a workflow that is closed (terminated, cancelled,
    failed, timed out, completed early), or missing where one must be running.

    `status` is Temporal's name for how the workflow closed (`TERMINATED`, `CANCELED`,
    ...), None when there is no such workflow; `awaiting` says what the case still awaits
    ("the case is open at stage board").
    """

    case_id: str
    workflow_id: str
    status: str | None
    awaiting: str

    def __str__(self) -> str:
        which = "workflow" if self.workflow_id == self.case_id else f"workflow {self.workflow_id}"
        if self.status is None:
            return f"{self.case_id}: there is no {which} while {self.awaiting}"
        return f"{self.case_id}: {which} ended ({self.status}) while {self.awaiting}"


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
    #: Stored cases that still await a workflow that has ended (or is missing).
    ended_workflows: list[EndedWorkflow] = []

    @property
    def ok(self) -> bool:
        return not (
            self.differences
            or self.cases_without_workflow
            or self.workflows_without_case
            or self.not_queried
            or self.ended_workflows
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
        lines += [f"  workflow ended: {e}" for e in self.ended_workflows]
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


# -- what a case still awaits -------------------------------------------------------------

#: What a step on an open case whose workflow has ended is told (after "case X is in draft,
#: but ").
ENDED_OUTSIDE_RATIFY = (
    "its workflow was ended outside Ratify: it takes no steps until an operator restores it; "
    "tell an operator (`ratify audit reconcile` lists it)"
)


def still_due(state: CaseState) -> str | None:
    """What a stored case still awaits from its DecisionWorkflow, in words; None if nothing.

    An open case (not approved, declined or withdrawn) awaits its next steps; an approved
    case awaits the publication of its Part 1 (perhaps deferred to a date).
    """
    if not state.stage.is_closed:
        return f"the case is open at stage {state.stage.value}"
    if state.stage is Stage.APPROVED and state.part1 in (
        Part1Status.PENDING,
        Part1Status.DEFERRED,
    ):
        return "its Part 1 publication is still due"
    return None


def review_still_due(state: CaseState) -> str | None:
    """What an approved case still awaits from its Part 2 review workflow; None if nothing."""
    if state.stage is not Stage.APPROVED:
        return None
    if state.part2 is Part2Status.REVIEW_DUE:
        return "its Part 2 review is due"
    if state.part2 is Part2Status.EXEMPT:
        return "its Part 2 review is still to come"
    return None


async def _ended(
    client: Client, journal: CaseJournal, case_id: str, status: WorkflowExecutionStatus | None
) -> EndedWorkflow | None:
    """Whether a case whose DecisionWorkflow is closed (`status`; None for an imported case,
    which never had one) still awaits a workflow."""
    # The workflow was described before this read, and a closed workflow writes no more.
    state = journal.load(case_id)
    awaiting = still_due(state)
    if awaiting is not None:
        return EndedWorkflow(
            case_id=case_id,
            workflow_id=case_id,
            status=None if status is None else status.name,
            awaiting=awaiting,
        )
    if review_still_due(state) is None:
        return None
    review_id = part2_review_id(case_id)
    review = await _status(client, review_id)
    if review is WorkflowExecutionStatus.RUNNING:
        return None
    # Read again after describing it: a review that has just been decided has stored it.
    awaiting = review_still_due(journal.load(case_id))
    if awaiting is None:
        return None
    return EndedWorkflow(
        case_id=case_id,
        workflow_id=review_id,
        status=None if review is None else review.name,
        awaiting=awaiting,
    )


# -- reconciling ---------------------------------------------------------------------------


def _imported(store: EventStore, case_id: str) -> bool:
    """Whether the case came in through an import (its first event says so)."""
    first = store.read_stream(case_id, to_version=1)
    provenance = from_stored(first[0]).provenance if first else None
    return provenance is not None and provenance.how == "imported"


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
    events; a closed one is reported if the case still awaits it (or, once approved, its
    Part 2 review workflow is not running while a review is to come). Then every
    DecisionWorkflow listed
    through `list_workflows` (or each of `workflow_ids`, when given) with no stored case is
    reported. See the module docstring for how commits in flight are told from real
    differences.
    """
    journal = CaseJournal(store)
    cases = case_ids(store)
    found: list[Difference] = []
    without_workflow: list[str] = []
    not_queried: list[Unqueried] = []
    ended: list[EndedWorkflow] = []
    compared = 0
    for case_id in cases:
        status = await _status(client, case_id)
        if status is None and _imported(store, case_id):
            # Imported closed (`ratify import`): it never had a DecisionWorkflow; only its
            # Part 2 review workflow, when one is to come, is checked.
            if (found_ended := await _ended(client, journal, case_id, None)) is not None:
                ended.append(found_ended)
        elif status is None:
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
        elif (found_ended := await _ended(client, journal, case_id, status)) is not None:
            ended.append(found_ended)

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
        ended_workflows=ended,
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
