"""The directory's refusals: `IdentityError` and its kinds.

Every refusal's message starts with the field it concerns and names the rule
(`ends_on: a delegation cannot end (…) before it starts (…)`); its `code` says what kind of
refusal it is, and `ratify.http.errors.STATUS_FOR_CODE` maps that code to the HTTP status a
front door answers with.
"""

from __future__ import annotations

from datetime import datetime, timedelta


class IdentityError(Exception):
    """A refusal: `field` is what it concerns, the message names the rule, `code` the kind
    of refusal (`invalid` unless a kind below says otherwise)."""

    code: str = "invalid"

    def __init__(self, field: str, rule: str) -> None:
        super().__init__(f"{field}: {rule}")
        self.field = field
        self.rule = rule

    @property
    def message(self) -> str:
        return str(self)


class InvalidInput(IdentityError):
    """The input breaks a rule (a malformed value, an impossible range, a duplicate)."""


class UnknownUser(IdentityError):
    """No user has this id."""

    def __init__(self, user_id: str, field: str = "user_id") -> None:
        super().__init__(field, f"there is no user {user_id!r}")
        self.user_id = user_id


class NotPermitted(IdentityError):
    """The person does not hold the role (or authority) the step needs."""

    code = "wrong_role"


class SignInThrottled(IdentityError):
    """Too many failed sign-ins for a user id: wait `retry_after`, or it is locked until
    `locked_until` (an admin can `unlock` it). Said alike whatever the password was."""

    code = "throttled"

    def __init__(self, user_id: str, retry_after: timedelta, locked_until: datetime | None) -> None:
        seconds = max(1, int(retry_after.total_seconds() + 0.999))
        if locked_until is not None:
            rule = (
                f"too many failed sign-ins for {user_id!r}: signing in as this user is locked "
                f"until {locked_until.strftime('%H:%M:%S')} UTC ({seconds} s), whatever the "
                "password; an administrator can lift it (ratify users unlock)"
            )
        else:
            rule = (
                f"too many failed sign-ins for {user_id!r}: wait {seconds} s before trying "
                "again (each further failure doubles the wait)"
            )
        super().__init__("user_id", rule)
        self.retry_after_seconds = seconds
        self.locked_until = locked_until
