"""Logs never hold secrets, and the errors they do hold can be read.

An unhandled error used to print, in the console format (the embedded default), every
frame's local variables: the request body with its Part 2 text, and the bearer token. And a
workflow task's failure, logged from inside the workflow sandbox, was lost in a logging
error (the console renderer imported rich, which the sandbox refuses).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from domain.case import Case, Part2
from ratify.infra.devserver import bin_path
from ratify.services import commands as steps
from tests import factories as f
from tests.ops.conftest import Stack, logs_to
from tests.ops.failing_workflow import MESSAGE, FailingWorkflow
from workflows.registry import workflow_runner

FORMATS = ["console", "json"]
CANARY = "CANARY-PART2-7f3c9e1a confidential supplier rates"


def _with_part2(text: str) -> dict[str, Any]:
    data = f.case_data()
    data["part2"] = {
        "security_marking": "OFFICIAL-SENSITIVE [COMMERCIAL]",
        "foi_sections": ["s43 Commercial interests"],
        "review_on": "2031-06-01",
        "content": text,
    }
    return data


async def _fail_plainly(services: Any, me: Any, case: Case, case_id: str | None) -> str:
    raise RuntimeError("the event store is on fire")


async def _fail_validating(services: Any, me: Any, case: Case, case_id: str | None) -> str:
    # A bug that re-validates the case wrongly: pydantic's message used to quote the input.
    assert case.part2 is not None
    part2 = case.part2.model_dump()
    Part2.model_validate({**part2, "ceases_to_be_exempt_on": "2030-01-01", "content": CANARY})
    return "never"


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(
    ("failure", "error"),
    [
        (_fail_plainly, "RuntimeError: the event store is on fire"),
        (_fail_validating, "give exactly one of review_on or ceases_to_be_exempt_on"),
    ],
)
async def test_an_unhandled_error_logs_neither_part2_nor_the_token(
    stack: Stack,
    fmt: str,
    failure: Callable[..., Awaitable[str]],
    error: str,
    monkeypatch: pytest.MonkeyPatch,
):
    monkeypatch.setattr(steps, "start_case", failure)
    token = stack.tokens["ollie.lane"]
    with logs_to(fmt) as buffer, pytest.raises(Exception, match=error.split(": ")[-1]):
        await stack.post(
            "ollie.lane", "/cases", {"case": _with_part2(CANARY), "case_id": "canary-case"}
        )
    text = buffer.getvalue()
    # The error is there, readable: its type and message, and where it happened.
    assert "request failed" in text and error in text
    assert "Traceback (most recent call last)" in text
    # Neither the Part 2 text nor any part of the token.
    assert CANARY[:12] not in text and CANARY[-12:] not in text
    secret = token.rsplit("_", 1)[1]
    assert token[:-2] not in text and secret[:8] not in text
    assert "Bearer" not in text and "authorization" not in text.lower()


@pytest.mark.parametrize("fmt", FORMATS)
async def test_a_workflow_task_failure_is_logged_readably(
    fmt: str, capsys: pytest.CaptureFixture[str]
):
    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=pydantic_data_converter,
        test_server_existing_path=bin_path("temporal-test-server"),
        test_server_startup_timeout=timedelta(seconds=60),
    )
    task_queue = f"failing-{uuid.uuid4().hex[:8]}"
    try:
        with logs_to(fmt) as buffer:
            # Ratify's sandbox, as the worker runs its workflows.
            async with Worker(
                env.client,
                task_queue=task_queue,
                workflows=[FailingWorkflow],
                workflow_runner=workflow_runner(),
            ):
                await env.client.start_workflow(
                    FailingWorkflow.run, id=f"failing-{uuid.uuid4().hex}", task_queue=task_queue
                )
                for _ in range(200):
                    if MESSAGE in buffer.getvalue():
                        break
                    await asyncio.sleep(0.05)
    finally:
        await env.shutdown()
    text = buffer.getvalue()
    assert f"RuntimeError: {MESSAGE}" in text.replace("\\n", "\n"), text[-2000:]
    assert "Failed activation on workflow FailingWorkflow" in text
    assert "failing_workflow.py" in text  # where it was raised
    assert "Logging error" not in capsys.readouterr().err
