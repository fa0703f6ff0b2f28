"""Errors of the domain, each with a message a person understands.

`DomainError` is raised by the fold when an event cannot happen in the case's current state
("finance sign-off cannot be given: the case was sent back for changes on 3 December 2019").
The workflows turn it into a refusal; the message is shown to the user as it is.
"""

from __future__ import annotations


class DomainError(Exception):
    """A step that the rules of the lifecycle do not allow, with the reason in plain words."""

    def __init__(self, message: str, *, code: str = "illegal_transition") -> None:
        super().__init__(message)
        self.message = message
        #: A stable machine-readable reason: wrong_stage, wrong_role, already_done,
        #: four_eyes, interests_not_declared, illegal_transition, ...
        self.code = code


class RulesError(Exception):
    """The scheme of delegation cannot judge a case (no rules in force, bad rules file)."""


class UnknownEventError(Exception):
    """A stored event whose type or schema version this code cannot load."""
