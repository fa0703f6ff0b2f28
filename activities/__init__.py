"""Every side effect of the workflows: recording events, allocating references, notifying.

Workflows are deterministic and do no I/O; they call these activities, which Temporal
retries until they succeed. Each activity is idempotent: events carry ids made by the
workflow (`workflow.uuid4()`), references are keyed by their case, notifications by their
id, so a retry never stores, allocates or sends anything twice.
"""
