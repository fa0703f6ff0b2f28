"""Temporal workflows: the durable lifecycle of decisions, board meetings and Part 2 reviews.

Deterministic code only: time from `workflow.now()`, ids from `workflow.uuid4()`, and every
side effect through an activity. The rules are the domain's fold, shared with the replay.
"""
