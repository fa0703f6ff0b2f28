"""The HTTP API (FastAPI): the front door for officers, approvers, auditors and the public.

It holds no business rules: it authenticates, authorises, and passes actions to the
workflows; reads come from the event store and its projections, never from Temporal.

`app.create_app` builds it; `routes/` holds one router per resource, `deps` the FastAPI
dependencies (the services, the signed-in person), `errors` the handlers that turn a
refusal into its JSON error, `schemas` the request bodies and response models. The web
pages are another front door: `ratify.processes.app.build_app` serves both in one app.
"""
