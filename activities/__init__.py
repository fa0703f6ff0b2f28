"""Every side effect of the workflows: recording events, allocating references, notifying.

Workflows are deterministic and do no I/O; they call these activities, which Temporal
retries until they succeed. Each activity is idempotent: events carry ids made by the
workflow (`workflow.uuid4()`), references are keyed by their case, notifications by their
id, so a retry never stores, allocates or sends anything twice.
"""

from temporalio.exceptions import ApplicationError, ApplicationErrorCategory


def refusal(message: str, code: str) -> ApplicationError:
    """A refusal an activity passes on (the stored stream, or another workflow, refused the
    step): not retried, and benign, so the worker logs it at debug level instead of a
    warning with a traceback. A refusal is routine: the API logs it on one line."""
    return ApplicationError(
        message, type=code, non_retryable=True, category=ApplicationErrorCategory.BENIGN
    )
