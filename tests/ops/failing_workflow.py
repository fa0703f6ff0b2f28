"""A workflow whose every task fails (for the logging tests): it imports only temporalio."""

from __future__ import annotations

from temporalio import workflow

#: What the failure says: it must reach the log readably.
MESSAGE = "the real error: ledger 42 is missing"


@workflow.defn(sandboxed=True)
class FailingWorkflow:
    @workflow.run
    async def run(self) -> str:
        raise RuntimeError(MESSAGE)
