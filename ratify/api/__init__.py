"""The HTTP API (FastAPI): the front door for officers, approvers, auditors and the public.

It holds no business rules: it authenticates, authorises, and passes actions to the
workflows; reads come from the event store and its projections, never from Temporal.
"""
