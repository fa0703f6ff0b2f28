"""Auditors' checks that need Temporal: replay the running and finished workflows.

`replay_workflows` fetches the Temporal history of every decision (and its Part 2 review,
and every board meeting Ratify knows of) and replays it against the current workflow code
with Temporal's Replayer, configured as the worker is. A workflow the current code would
not reproduce is reported by id with the error: it is what a deployment would break.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence

from temporalio.client import Client, WorkflowHistory
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import Interceptor, Replayer

from domain.ids import meeting_workflow_id, part2_review_id
from eventstore import EventStore
from ratify.infra.signing import ActionVerifier
from workflows.registry import WORKFLOWS, workflow_runner


def workflow_ids(store: EventStore, meeting_ids: Iterable[str] = ()) -> list[str]:
    """Every decision (case stream), its Part 2 review, and the given meetings' workflows."""
    cases: list[str] = []
    seen: set[str] = set()
    for record in store.read_all():
        first_of_a_case = record.version == 1 and record.event_type == "case.drafted"
        if first_of_a_case and record.stream_id not in seen:
            seen.add(record.stream_id)
            cases.append(record.stream_id)
    ids = [*cases, *(part2_review_id(c) for c in cases)]
    return ids + [meeting_workflow_id(m) for m in sorted(set(meeting_ids))]


def replay_interceptors() -> list[ActionVerifier]:
    """What a Replayer needs beside the workflows to replay as the worker ran: the action
    verifier, which replays a refused start as refused (no key needed)."""
    return [ActionVerifier(None)]


async def replay_workflows(
    client: Client, ids: Sequence[str], *, interceptors: Sequence[Interceptor] = ()
) -> tuple[int, dict[str, str]]:
    """Replay each workflow's history; (how many replayed, failures by workflow id)."""
    histories: list[WorkflowHistory] = []
    for workflow_id in ids:
        try:
            histories.append(await client.get_workflow_handle(workflow_id).fetch_history())
        except RPCError as exc:
            if exc.status is RPCStatusCode.NOT_FOUND:
                continue  # no Part 2 review for this case, say
            raise

    async def each() -> AsyncIterator[WorkflowHistory]:
        for history in histories:
            yield history

    replayer = Replayer(
        workflows=WORKFLOWS,
        workflow_runner=workflow_runner(),
        # The client's converter: with RATIFY_PAYLOAD_KEYS it decrypts the histories.
        data_converter=client.data_converter,
        header_codec_behavior=client.config()["header_codec_behavior"],
        # The action verifier replays a refused start as refused (it needs no key).
        interceptors=[*replay_interceptors(), *interceptors],
    )
    results = await replayer.replay_workflows(each(), raise_on_replay_failure=False)
    by_run = {h.run_id: h.workflow_id for h in histories}
    failures = {
        by_run.get(run_id, run_id): f"{type(exc).__name__}: {exc}"
        for run_id, exc in results.replay_failures.items()
    }
    return len(histories), failures
