"""Temporal is not a back door: an action reaches a workflow only with Ratify's proof.

The harness's client signs with the tests' key (as the API's does with
RATIFY_ACTION_SIGNING_KEY). Here other clients on the same test server play someone who
reaches the Temporal frontend directly: with no proof, a proof made with another key, a
proof copied from another case or another person's action, or an old one. Each is refused
with `unsigned_action`, logged, and nothing is stored.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import pytest
import structlog
from temporalio import workflow
from temporalio.api.common.v1 import Payload
from temporalio.client import (
    Client,
    Interceptor,
    OutboundInterceptor,
    StartWorkflowInput,
    StartWorkflowUpdateInput,
    WithStartWorkflowOperation,
    WorkflowFailureError,
    WorkflowHandle,
    WorkflowUpdateFailedError,
    WorkflowUpdateHandle,
)
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.exceptions import ApplicationError
from temporalio.worker import Replayer

from ratify.http.errors import status_of
from ratify.infra.signing import (
    PROOF_HEADER,
    UNSIGNED,
    ActionKeys,
    ActionSigner,
    make_proof,
    parse_signing_keys,
)
from ratify.services.replay import replay_interceptors
from tests import factories as f
from tests.keys import TEST_ACTION_KEYS
from tests.workflows.lifecycle import CaseRun, Harness
from workflows import messages as m
from workflows.decision import DecisionWorkflow
from workflows.part2 import Part2ReviewWorkflow
from workflows.registry import WORKFLOWS, workflow_runner

OTHER_KEYS = parse_signing_keys("other:" + "b" * 44)


def outsider(harness: Harness, *interceptors: Interceptor) -> Client:
    """A client on the same server without Ratify's signer: someone at the frontend."""
    config = harness.env.client.config()
    config["interceptors"] = list(interceptors)
    return Client(**config)


class _Forge(OutboundInterceptor):
    def __init__(self, next: OutboundInterceptor, proof: Any) -> None:
        super().__init__(next)
        self.proof = proof

    async def start_workflow(self, input: StartWorkflowInput) -> WorkflowHandle[Any, Any]:
        input.headers = {**input.headers, PROOF_HEADER: self.proof(input.id, "", input.args)}
        return await super().start_workflow(input)

    async def start_workflow_update(
        self, input: StartWorkflowUpdateInput
    ) -> WorkflowUpdateHandle[Any]:
        input.update_id = input.update_id or str(uuid.uuid4())
        proof = self.proof(input.id, input.update_id, input.args)
        input.headers = {**input.headers, PROOF_HEADER: proof}
        return await super().start_workflow_update(input)


class Forger(Interceptor):
    """Puts the proof `proof(workflow_id, update_id, args)` makes on every call."""

    def __init__(self, proof: Any) -> None:
        self.proof = proof

    def intercept_client(self, next: OutboundInterceptor) -> OutboundInterceptor:
        return _Forge(next, self.proof)


async def refused_unsigned(run: CaseRun, client: Client, update: str, action: m.Action) -> str:
    before = run.harness.store.stream_version(run.case_id)
    handle = client.get_workflow_handle(run.case_id)
    with pytest.raises(WorkflowUpdateFailedError) as caught:
        await handle.execute_update(update, action, result_type=m.ActionResult)
    cause = caught.value.cause
    assert isinstance(cause, ApplicationError), repr(cause)
    assert cause.type == UNSIGNED, f"{cause.type}: {cause.message}"
    assert run.harness.store.stream_version(run.case_id) == before, "something was stored"
    assert (await run.state()).version == before
    return cause.message


async def test_an_update_sent_straight_to_temporal_as_someone_else_is_refused(harness: Harness):
    run = await harness.start()
    forged = m.Submit(actor=f.OFFICER)  # the officer never asked for this
    with structlog.testing.capture_logs() as logs:
        message = await refused_unsigned(run, outsider(harness), "submit", forged)
    assert "act through Ratify's API" in message
    [line] = [line for line in logs if line["event"] == "action refused: not issued by Ratify"]
    assert line["log_level"] == "warning"
    assert line["workflow_id"] == run.case_id and line["update"] == "submit"
    assert line["claimed_actor"] == "officer.ollie (originating_officer)"
    assert line["reason"] == "no proof"
    # A user who does not exist at all fares no better.
    ghost = m.Withdraw(actor=f.OFFICER.model_copy(update={"user_id": "nobody"}), reason="gone")
    await refused_unsigned(run, outsider(harness), "withdraw", ghost)
    # The real path (the harness signs, as the API does) still works.
    await run.act("submit", m.Submit(actor=f.OFFICER))
    assert run.event_types() == ["case.drafted", "case.submitted"]


async def test_a_proof_made_with_another_key_is_refused(harness: Harness):
    run = await harness.start()
    client = outsider(harness, ActionSigner(OTHER_KEYS))
    await refused_unsigned(run, client, "submit", m.Submit(actor=f.OFFICER))
    # Same key id as the real one, different key material.
    impostor = ActionKeys(((TEST_ACTION_KEYS.signing_id, b"x" * 32),))
    client = outsider(harness, ActionSigner(impostor))
    await refused_unsigned(run, client, "submit", m.Submit(actor=f.OFFICER))


async def test_a_proof_for_one_case_does_not_validate_another(harness: Harness):
    mine, theirs = await harness.start(), await harness.start()
    action = m.Submit(actor=f.OFFICER)

    def proof_for_my_case(workflow_id: str, update_id: str, args: Any) -> Payload:
        return make_proof(
            TEST_ACTION_KEYS,
            kind="update",
            workflow_id=mine.case_id,
            name="submit",
            update_id=update_id,
            args=args,
        )

    await refused_unsigned(theirs, outsider(harness, Forger(proof_for_my_case)), "submit", action)


async def test_a_proof_does_not_carry_over_to_another_actor_action_or_update(harness: Harness):
    run = await harness.start()
    await harness.through_advice(run, [])
    signed_for = m.SignOff(actor=f.FINANCE, area="finance")

    def proof_for(update: str, action: m.Action) -> Any:
        def make(workflow_id: str, update_id: str, args: Any) -> Payload:
            return make_proof(
                TEST_ACTION_KEYS,
                kind="update",
                workflow_id=workflow_id,
                name=update,
                update_id=update_id,
                args=[action],
            )

        return make

    # The finance adviser's proof, with the actor changed to the legal adviser.
    forger = outsider(harness, Forger(proof_for("sign_off", signed_for)))
    as_legal = m.SignOff(actor=f.LEGAL, area="legal")
    await refused_unsigned(run, forger, "sign_off", as_legal)
    # The same actor, another field changed (a comment slipped in).
    await refused_unsigned(
        run, forger, "sign_off", signed_for.model_copy(update={"comment": "not mine"})
    )
    # The same message sent as another update.
    forger = outsider(harness, Forger(proof_for("advice_not_required", signed_for)))
    await refused_unsigned(run, forger, "sign_off", signed_for)


async def test_a_proof_bound_to_one_update_id_does_not_serve_another(harness: Harness):
    run = await harness.start()

    def another_update_id(workflow_id: str, update_id: str, args: Any) -> Payload:
        return make_proof(
            TEST_ACTION_KEYS,
            kind="update",
            workflow_id=workflow_id,
            name="submit",
            update_id="captured-" + update_id,
            args=args,
        )

    client = outsider(harness, Forger(another_update_id))
    await refused_unsigned(run, client, "submit", m.Submit(actor=f.OFFICER))


async def test_an_old_proof_is_refused(harness: Harness):
    run = await harness.start()

    def an_hour_old(workflow_id: str, update_id: str, args: Any) -> Payload:
        return make_proof(
            TEST_ACTION_KEYS,
            kind="update",
            workflow_id=workflow_id,
            name="submit",
            update_id=update_id,
            args=args,
            issued=int(time.time()) - 3600,
        )

    client = outsider(harness, Forger(an_hour_old))
    message = await refused_unsigned(run, client, "submit", m.Submit(actor=f.OFFICER))
    assert "good for" in message


async def test_meeting_and_part2_review_updates_need_a_proof_too(harness: Harness):
    today = await harness.today()
    meeting = await harness.start_meeting(f"IAM-{uuid.uuid4().hex[:6]}", today)
    run = await harness.start()
    await run.act("submit", m.Submit(actor=f.OFFICER))
    forged = outsider(harness).get_workflow_handle(meeting.id)
    with pytest.raises(WorkflowUpdateFailedError) as caught:
        await forged.execute_update(
            "add_case", m.AddToAgenda(actor=f.SECRETARIAT, case_id=run.case_id)
        )
    assert isinstance(caught.value.cause, ApplicationError)
    assert caught.value.cause.type == UNSIGNED
    assert run.event_types() == ["case.drafted", "case.submitted"]
    # Signed, the same step goes through and reaches the case (signed by the worker).
    await meeting.execute_update(
        "add_case",
        m.AddToAgenda(actor=f.SECRETARIAT, case_id=run.case_id),
        result_type=m.ActionResult,
    )
    assert run.event_types()[-1] == "board.placed_on_agenda"
    # A Part 2 review: started only by its decision (a child workflow) or signed, and its
    # review step refused without a proof before the review's own checks.
    review_id = f"part2-review-{run.case_id}"
    params = m.Part2ReviewInput(case_id=run.case_id, review_date=today)
    refused = await outsider(harness).start_workflow(
        Part2ReviewWorkflow.run, params, id=review_id, task_queue=harness.task_queue
    )
    with pytest.raises(WorkflowFailureError) as failed:
        await asyncio.wait_for(harness.finished(refused), 60)
    assert isinstance(failed.value.cause, ApplicationError)
    assert failed.value.cause.type == UNSIGNED
    assert run.event_types()[-1] == "board.placed_on_agenda"  # no Part 2 review due recorded
    review = await harness.env.client.start_workflow(
        Part2ReviewWorkflow.run, params, id=review_id, task_queue=harness.task_queue
    )
    outcome = m.Part2Outcome(actor=f.PUBLISHER, outcome="publish", reason="forged")
    with pytest.raises(WorkflowUpdateFailedError) as caught:
        await outsider(harness).get_workflow_handle(review.id).execute_update("review", outcome)
    assert isinstance(caught.value.cause, ApplicationError)
    assert caught.value.cause.type == UNSIGNED
    await review.terminate()


async def test_a_case_started_straight_in_temporal_is_refused_and_replays(harness: Harness):
    case_id = f"case-{uuid.uuid4().hex[:12]}"
    handle = await outsider(harness).start_workflow(
        DecisionWorkflow.run,
        m.DecisionInput(case_id=case_id, officer=f.OFFICER, case=f.make_case()),
        id=case_id,
        task_queue=harness.task_queue,
    )
    with pytest.raises(WorkflowFailureError) as caught:
        await asyncio.wait_for(harness.finished(handle), 60)
    assert isinstance(caught.value.cause, ApplicationError)
    assert caught.value.cause.type == UNSIGNED
    assert harness.store.stream_version(case_id) == 0, "the forged draft was stored"
    # The refusal replays as refused, without the key (as `ratify audit replay-workflows`).
    history = await handle.fetch_history()
    replayer = Replayer(
        workflows=WORKFLOWS,
        workflow_runner=workflow_runner(),
        data_converter=harness.env.client.data_converter,
        interceptors=replay_interceptors(),
    )
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None, result.replay_failure
    # Without the verifier the same history would not replay: the check is what refuses.
    bare = Replayer(
        workflows=WORKFLOWS,
        workflow_runner=workflow_runner(),
        data_converter=harness.env.client.data_converter,
    )
    result = await bare.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is not None


def test_every_update_of_every_workflow_has_a_validator():
    """The proof is checked in the validator step: an update without a validator would
    skip it."""
    for cls in WORKFLOWS:
        defn = workflow._Definition.must_from_class(cls)
        for name, update in defn.updates.items():
            assert update.validator is not None, f"{cls.__name__}.{name} has no validator"


def test_a_proof_is_bound_to_every_field_of_the_action():
    action = m.SignOff(actor=f.FINANCE, area="finance")
    base = {"kind": "update", "workflow_id": "c1", "name": "sign_off", "update_id": "u1"}
    proof = make_proof(TEST_ACTION_KEYS, args=[action], issued=1, **base)
    same = make_proof(TEST_ACTION_KEYS, args=[action.model_dump(mode="json")], issued=1, **base)
    assert proof == same  # the model, or the JSON a meeting's activity sends: one proof
    assert make_proof(TEST_ACTION_KEYS, args=[action], issued=2, **base) != proof


async def test_an_api_with_another_key_than_the_workers_is_told_so(harness: Harness):
    """A misconfiguration, not the person's mistake: a 500 naming the setting."""
    from ratify.http.services import HttpServices
    from ratify.infra.signing import signed
    from ratify.services.commands import Refusal, run_update
    from ratify.services.identity.directory import Directory

    run = await harness.start()
    services = HttpServices(
        store=harness.store,
        engine=harness.store.engine,
        client=signed(harness.env.client, OTHER_KEYS),
        directory=Directory(harness.store.engine),
        workflow_settings=m.Settings(),
        task_queue=harness.task_queue,
    )
    with pytest.raises(Refusal) as caught:
        await run_update(services, run.case_id, "submit", m.Submit(actor=f.OFFICER))
    assert status_of(caught.value) == 500 and caught.value.code == UNSIGNED
    assert "RATIFY_ACTION_SIGNING_KEY" in caught.value.message
    assert run.event_types() == ["case.drafted"]


async def test_a_signed_history_replays_without_the_key(harness: Harness):
    """Proofs are checked when an action arrives, never on replay: an auditor replays
    histories (old ones without proofs too: test_replay.py) with no signing key."""
    run = await harness.start()
    await harness.through_advice(run, [(f.FINANCE, "finance")])
    with pytest.raises(WorkflowUpdateFailedError):  # a refused forgery leaves no trace
        await (
            outsider(harness)
            .get_workflow_handle(run.case_id)
            .execute_update("sign_off", m.SignOff(actor=f.LEGAL, area="legal"))
        )
    history = await run.handle.fetch_history()
    replayer = Replayer(
        workflows=WORKFLOWS,
        workflow_runner=workflow_runner(),
        data_converter=harness.env.client.data_converter,
        interceptors=replay_interceptors(),
    )
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None, result.replay_failure


async def test_a_case_started_with_its_draft_update_is_checked_in_both_halves(harness: Harness):
    """The API starts a case and asks for its draft in one call (update with start): the
    signer signs the start and the update, and the worker checks each, so the same call
    from outside is refused and stores nothing."""

    def starting(case_id: str) -> WithStartWorkflowOperation[Any, Any]:
        return WithStartWorkflowOperation(
            DecisionWorkflow.run,
            m.DecisionInput(case_id=case_id, officer=f.OFFICER, case=f.make_case()),
            id=case_id,
            task_queue=harness.task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
        )

    forged = f"case-{uuid.uuid4().hex[:12]}"
    with pytest.raises(WorkflowUpdateFailedError) as caught:
        await outsider(harness).execute_update_with_start_workflow(
            DecisionWorkflow.drafted, start_workflow_operation=starting(forged)
        )
    assert isinstance(caught.value.cause, ApplicationError)
    assert caught.value.cause.type == UNSIGNED
    assert harness.store.stream_version(forged) == 0, "the forged draft was stored"

    case_id = f"case-{uuid.uuid4().hex[:12]}"
    drafted = await harness.env.client.execute_update_with_start_workflow(
        DecisionWorkflow.drafted, start_workflow_operation=starting(case_id)
    )
    assert (drafted.case_id, drafted.version, drafted.stage) == (case_id, 1, "draft")
    assert [e.event_type for e in drafted.events] == ["case.drafted"]
    assert harness.store.stream_version(case_id) == 1
    await harness.env.client.get_workflow_handle(case_id).terminate()
