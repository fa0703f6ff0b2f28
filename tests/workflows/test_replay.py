"""Replays the recorded workflow histories with today's workflow code.

Each file in `tests/workflows/histories/` is the history of one workflow run, recorded by
`python -m tests.workflows.record_histories`. Temporal's Replayer runs the current workflow
code against it: the code must issue the same commands (activities, timers, child
workflows, continue-as-new, patch markers) in the same order as the recorded run did. A
change that would make a running decision, meeting or review do something else fails here,
in CI, instead of in production as a nondeterminism error months later.

Fix a failure with `workflow.patched` (docs/changing-workflows.md), never by re-recording.
No server is needed: the Replayer runs the workflows in-process.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import (
    Interceptor,
    Replayer,
    StartActivityInput,
    WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput,
    WorkflowOutboundInterceptor,
)
from temporalio.workflow import ActivityHandle

from ratify.services.replay import replay_interceptors
from workflows.registry import WORKFLOWS, workflow_runner

HISTORIES = Path(__file__).resolve().parent / "histories"

#: Fewer than this and the fixtures have been lost or emptied: the test must not pass on
#: nothing.
MIN_HISTORIES = 5


def history_files() -> list[Path]:
    return sorted(HISTORIES.glob("*.json"))


def load(path: Path) -> WorkflowHistory:
    # The JSON (as `to_json()`, the CLI and the Web UI write it) has no workflow id; the
    # name of the file stands in for it, and no workflow of ours reads its own id.
    return WorkflowHistory.from_json(path.stem, path.read_text("utf-8"))


def replayer(*interceptors: Interceptor) -> Replayer:
    """A replayer configured as `ratify.processes.worker.build_worker` configures the worker."""
    return Replayer(
        workflows=WORKFLOWS,
        workflow_runner=workflow_runner(),
        data_converter=pydantic_data_converter,
        interceptors=[*replay_interceptors(), *interceptors],
    )


async def replay(replayer: Replayer, paths: list[Path]) -> dict[str, Exception]:
    """Replay every history; the failures, by file name."""
    files = {load(path).run_id: path for path in paths}
    assert len(files) == len(paths), "two history files hold the same run"

    async def histories() -> AsyncIterator[WorkflowHistory]:
        for path in files.values():
            yield load(path)

    results = await replayer.replay_workflows(histories(), raise_on_replay_failure=False)
    return {files[run_id].name: exc for run_id, exc in results.replay_failures.items()}


def describe(failures: dict[str, Exception]) -> str:
    return "\n".join(f"{name}: {type(exc).__name__}: {exc}" for name, exc in failures.items())


def test_there_are_histories_to_replay() -> None:
    files = history_files()
    assert len(files) >= MIN_HISTORIES, (
        f"only {len(files)} histories in {HISTORIES}; "
        "record them with `python -m tests.workflows.record_histories`"
    )
    recorded = {
        load(path).events[0].workflow_execution_started_event_attributes.workflow_type.name
        for path in files
    }
    assert recorded >= {w.__name__ for w in WORKFLOWS}, "a workflow type has no history"


async def test_every_recorded_history_replays_with_the_current_code() -> None:
    failures = await replay(replayer(), history_files())
    assert not failures, (
        "these recorded runs would break with the current workflow code (patch the change "
        "with workflow.patched, see docs/changing-workflows.md; do not re-record):\n"
        + describe(failures)
    )


# -- the safety net itself -------------------------------------------------------------


class _ExtraActivity(WorkflowOutboundInterceptor):
    """Schedules one extra activity before a run's first: an incompatible change."""

    added = False

    def start_activity(self, input: StartActivityInput) -> ActivityHandle[Any]:
        if not self.added:
            self.added = True
            super().start_activity(dataclasses.replace(input, activity="extra_step", args=[]))
        return super().start_activity(input)


class _Inbound(WorkflowInboundInterceptor):
    def init(self, outbound: WorkflowOutboundInterceptor) -> None:
        super().init(_ExtraActivity(outbound))


class _AddAnActivity(Interceptor):
    def workflow_interceptor_class(
        self, input: WorkflowInterceptorClassInput
    ) -> type[WorkflowInboundInterceptor]:
        return _Inbound


async def test_an_added_activity_fails_the_replay_of_every_history() -> None:
    """The check above cannot pass vacuously: with one activity added before the first,
    as a careless change would, no recorded run replays."""
    paths = history_files()
    failures = await replay(replayer(_AddAnActivity()), paths)
    assert sorted(failures) == [p.name for p in paths]
    assert all("nondetermin" in str(exc).lower() for exc in failures.values()), describe(failures)
