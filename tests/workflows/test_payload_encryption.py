"""RATIFY_PAYLOAD_KEYS: Temporal holds ciphertext only, and Ratify still reads it all.

A decision with a confidential Part 2 runs through submission, board and a sign-off on the
time-skipping server with the encrypting converter; then its raw history (as anyone with
the Temporal database or Web UI would see it) is searched for the case's words, and the
workflow replays from it with the keys (and fails without them, naming the key).
"""

from __future__ import annotations

import base64
import json
import os
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
import pytest_asyncio
from pydantic import ValidationError
from temporalio.api.common.v1 import Payload
from temporalio.client import Client, HeaderCodecBehavior, WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer, WorkflowReplayResult
from typer.testing import CliRunner

from domain.roles import AdviceArea
from eventstore import EventStore
from ratify.cli.main import app as cli_app
from ratify.infra.devserver import bin_path
from ratify.infra.payloads import (
    ENCODING,
    EncryptionCodec,
    PayloadKeyError,
    data_converter,
    parse_keys,
)
from ratify.infra.settings import Settings
from ratify.processes.worker import build_worker
from tests import factories as f
from tests.keys import signer
from tests.workflows.lifecycle import Harness
from workflows import messages as m
from workflows.decision import (
    PAST_DEADLINES_PATCH,
    PERSON_RULES_PATCH,
    SUBMISSION_CHECKS_PATCH,
)
from workflows.registry import WORKFLOWS, workflow_runner

SECRET = "Unit price 41.17 per kit, negotiated with SmartWater"
TITLE = "Met Trace renewal under encryption"


def key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


KEYS = f"2026-11:{key()},2025-01:{key()}"


@pytest_asyncio.fixture(loop_scope="session")
async def sealed(wf_store: EventStore) -> AsyncIterator[Harness]:
    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=data_converter(KEYS),
        test_server_existing_path=bin_path("temporal-test-server"),
        test_server_startup_timeout=timedelta(seconds=60),
        interceptors=[signer()],
    )
    # As `ratify.infra.temporal.connect` makes a client with payload keys: headers encrypted too.
    config = env.client.config()
    config["header_codec_behavior"] = HeaderCodecBehavior.CODEC
    client = Client(**config)
    task_queue = f"ratify-sealed-{uuid.uuid4().hex[:8]}"
    try:
        async with build_worker(client, wf_store, task_queue=task_queue):
            sealed = WorkflowEnvironment.from_client(client)
            yield Harness(env=sealed, store=wf_store, task_queue=task_queue)
    finally:
        await env.shutdown()
        wf_store.close()


async def test_temporal_holds_no_word_of_the_case_and_the_workflow_replays(sealed: Harness):
    today = await sealed.today()
    part2 = {
        "security_marking": "OFFICIAL-SENSITIVE [COMMERCIAL]",
        "foi_sections": ["s43 Commercial interests"],
        "review_on": (today + timedelta(days=400)).isoformat(),
        "content": SECRET,
    }
    run = await sealed.start(f.make_case(title=TITLE, part2=part2))
    await sealed.through_advice(run, [(f.FINANCE, "finance")])
    # A refusal's sentence comes back whole (failures are sealed in their attributes).
    refusal = await run.refused(
        "sign_off", m.SignOff(actor=f.FINANCE, area="finance"), "already_done"
    )
    assert "finance advice was already given" in refusal
    # Ratify reads it back: the state carries the Part 2 text (decrypted by the client).
    state = await run.state()
    assert state.case is not None and state.case.part2 is not None
    assert state.case.part2.content == SECRET and state.signoffs[AdviceArea.FINANCE].by is not None

    history = await run.handle.fetch_history()
    raw = history.to_json()
    # A patch (docs/changing-workflows.md) is recorded by Temporal's core SDK, not through
    # the codec: a marker and the TemporalChangeVersion search attribute, which hold the
    # patch's id alone, never a word of the case.
    patch_payloads: list[Payload] = []
    for event in history.events:
        marker = event.marker_recorded_event_attributes
        if marker.marker_name:
            assert marker.marker_name == "core_patch"
            patch_payloads += marker.details["patch-data"].payloads
        upsert = event.upsert_workflow_search_attributes_event_attributes
        patch_payloads += upsert.search_attributes.indexed_fields.values()
    assert patch_payloads, "a new run takes the person-rules patch"
    for payload in patch_payloads:
        patch = json.dumps(json.loads(payload.data))
        patches = (PERSON_RULES_PATCH, SUBMISSION_CHECKS_PATCH, PAST_DEADLINES_PATCH)
        assert any(p in patch for p in patches), payload.data
        raw = raw.replace(base64.b64encode(payload.data).decode(), "")
        raw = raw.replace(base64.b64encode(payload.metadata["encoding"]).decode(), "", 1)
    assert SECRET not in raw and TITLE not in raw and "SmartWater" not in raw
    # Payload metadata is base64 in the history's JSON: every payload is sealed, by the
    # first key; none is plain JSON.
    encrypted, plain = base64.b64encode(ENCODING).decode(), base64.b64encode(b"json/plain")
    assert raw.count(encrypted) >= 10 and plain.decode() not in raw
    assert raw.count(base64.b64encode(b"2026-11").decode()) == raw.count(encrypted)
    # The store still holds the case in the clear: it is Ratify's record, not Temporal's.
    assert any(SECRET in str(r.data) for r in sealed.store.read_stream(run.case_id))

    # Replays with the keys (as `ratify audit replay-workflows` does) ...
    result = await _replay(history, data_converter(KEYS))
    assert result.replay_failure is None
    # ... and a process with the wrong keys cannot read a word: the replay fails (its
    # reason is itself sealed in Temporal; the worker's log and the codec name the key).
    wrong = await _replay(history, data_converter(f"2027-01:{key()}"))
    assert wrong.replay_failure is not None
    codec = data_converter(f"2027-01:{key()}").payload_codec
    assert codec is not None
    sealed_input = history.events[0].workflow_execution_started_event_attributes.input
    with pytest.raises(PayloadKeyError, match="key '2026-11', which RATIFY_PAYLOAD_KEYS"):
        await codec.decode(sealed_input.payloads)


async def test_a_rotated_key_still_reads_what_the_old_one_wrote():
    old, new = key(), key()
    written = await EncryptionCodec(parse_keys(f"old:{old}")).encode([_plain("Part 2")])
    rotated = EncryptionCodec(parse_keys(f"new:{new},old:{old}"))
    assert [p.data for p in await rotated.decode(written)] == [b'"Part 2"']
    rewritten = await rotated.encode([_plain("Part 2")])
    assert rewritten[0].metadata["encryption-key-id"] == b"new"
    # written before encryption was turned on: read as it is
    assert await rotated.decode([_plain("old")]) == [_plain("old")]
    # altered ciphertext, a payload relabelled with another key's id, a truncated one:
    # each refused, naming the key
    tampered = Payload(metadata=dict(written[0].metadata), data=written[0].data[:-1] + b"\0")
    relabelled = Payload(metadata={**written[0].metadata, "encryption-key-id": b"new"})
    relabelled.data = written[0].data
    truncated = Payload(metadata=dict(written[0].metadata), data=b"short")
    for bad in (tampered, relabelled, truncated):
        with pytest.raises(PayloadKeyError, match="does not decrypt"):
            await rotated.decode([bad])


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("no-colon", "entry 1 must be id:base64key"),
        ("k1:not base64!", "key 'k1' is not base64"),
        (f"k1:{base64.b64encode(b'short').decode()}", "must be 32 random bytes"),
        (f"k1:{key()},k1:{key()}", "listed twice"),
        ("", "set but empty"),
    ],
)
def test_bad_keys_are_refused_at_start_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, value: str, message: str
):
    monkeypatch.setenv("RATIFY_PAYLOAD_KEYS", value)
    with pytest.raises(ValidationError) as refused:
        Settings()
    assert "RATIFY_PAYLOAD_KEYS" in str(refused.value) and message in str(refused.value)
    assert not value or value not in str(refused.value)  # a key is never echoed
    monkeypatch.delenv("RATIFY_PAYLOAD_KEYS")
    assert Settings().data_converter() is pydantic_data_converter  # unset: plain JSON


def _plain(text: str) -> Payload:
    return Payload(metadata={"encoding": b"json/plain"}, data=f'"{text}"'.encode())


async def _replay(history: WorkflowHistory, converter: DataConverter) -> WorkflowReplayResult:
    replayer = Replayer(
        workflows=WORKFLOWS, workflow_runner=workflow_runner(), data_converter=converter
    )
    return await replayer.replay_workflow(history, raise_on_replay_failure=False)


def test_ratify_payload_key_makes_a_key_the_settings_take():
    runner = CliRunner()
    made = runner.invoke(cli_app, ["payload-key", "2026-11"])
    assert made.exit_code == 0, made.output
    line = made.stdout.strip()
    assert list(parse_keys(line)) == ["2026-11"]
    assert Settings(payload_keys=line).data_converter().payload_codec is not None
    refused = runner.invoke(cli_app, ["payload-key", "a:b"])
    assert refused.exit_code == 2 and "key_id:" in refused.stderr
