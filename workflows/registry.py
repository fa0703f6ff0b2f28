"""Every Ratify workflow, and the sandbox they run in: one list for the worker and the replayer.

The worker (`ratify.processes.worker`), the auditors' replay (`ratify.services.replay`) and
the recorded-history tests all run the workflows with this list and this runner, so a
replay is configured exactly as the worker ran.
"""

from __future__ import annotations

from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from workflows.decision import DecisionWorkflow
from workflows.meeting import BoardMeetingWorkflow
from workflows.part2 import Part2ReviewWorkflow

WORKFLOWS = [DecisionWorkflow, BoardMeetingWorkflow, Part2ReviewWorkflow]

#: Modules the workflow sandbox shares instead of re-importing per run: the domain is pure
#: and deterministic, and the messages must be the same classes on both sides of the
#: converter (a re-imported StoredRef is not the StoredRef that ActionResult expects).
PASSTHROUGH = ("domain", "workflows.messages", "workflows.common", "holidays")


def workflow_runner() -> SandboxedWorkflowRunner:
    return SandboxedWorkflowRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules(*PASSTHROUGH)
    )
