"""The directory's rules on values: user ids, roles, names, e-mails, passwords, tokens.

The limits (`MIN_PASSWORD_LENGTH`, `PERSON_ROLES`, `UNDELEGABLE_ROLES`, ...) and the
checks that turn what a person typed into a value or an `InvalidInput` naming the rule.
The `_`-prefixed checks are the identity package's own.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta

from domain.roles import Role
from ratify.services.identity.errors import InvalidInput

TOKEN_PREFIX = "rat"
"""Every API token starts `rat_`, so secret scanners and people can recognise one."""

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024

LAST_USED_RESOLUTION = timedelta(minutes=1)
"""`api_tokens.last_used_at` and `sessions.last_seen_at` are rewritten at most once a minute."""

SESSION_ROWS_KEPT = timedelta(days=30)
"""Rows of sessions that expired longer ago than this are deleted (when a session starts)."""

#: Why a session ended (`sessions.end_reason`).
END_REASONS = frozenset(
    {"signed_out", "replaced", "password_changed", "deactivated", "ended_by_admin"}
)

_USER_ID = re.compile(r"^[a-z0-9](?:[a-z0-9._-]{0,198}[a-z0-9])?$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_TOKEN = re.compile(r"^rat_([0-9a-f]{12})_([A-Za-z0-9_-]{20,200})$")

#: Roles a person may be given (every role but Ratify's own).
PERSON_ROLES: tuple[Role, ...] = tuple(r for r in Role if r is not Role.SYSTEM)
#: Roles that are granted by an administrator, never delegated: administration itself, and
#: the auditor's role and Part 2 clearance (a cleared auditor may not hand clearance on).
UNDELEGABLE_ROLES: frozenset[Role] = frozenset(
    {Role.ADMIN, Role.SYSTEM, Role.AUDITOR, Role.PART2_CLEARANCE}
)
#: The longest a delegation may last by default, first and last day included
#: (`RATIFY_DELEGATION_MAX_DAYS`).
DEFAULT_DELEGATION_MAX_DAYS = 90


def parse_role(value: Role | str, field: str = "role") -> Role:
    """A person's role from its value (`finance_adviser`; case, `-` and spaces forgiven)."""
    if isinstance(value, Role):
        role = value
    else:
        key = str(value).strip().lower().replace("-", "_").replace(" ", "_")
        try:
            role = Role(key)
        except ValueError:
            raise InvalidInput(
                field,
                f"{value!r} is not a role; the roles are: "
                + ", ".join(r.value for r in PERSON_ROLES),
            ) from None
    if role is Role.SYSTEM:
        raise InvalidInput(field, "system is Ratify's own role and is never given to a person")
    return role


def check_user_id(value: str, field: str = "user_id") -> str:
    if not isinstance(value, str) or not _USER_ID.match(value):
        raise InvalidInput(
            field,
            f"{value!r} is not a user id: use 1 to 200 lower-case letters, digits, '.', '-' "
            "or '_', starting and ending with a letter or digit (e.g. ollie.lane)",
        )
    return value


def _text(value: str, field: str, max_length: int = 200) -> str:
    cleaned = (value or "").strip()
    if not cleaned:
        raise InvalidInput(field, "must not be empty")
    if len(cleaned) > max_length:
        raise InvalidInput(field, f"must be at most {max_length} characters")
    return cleaned


def _email(value: str | None) -> str | None:
    if value is None:
        return None
    cleaned = value.strip()
    if len(cleaned) > 320 or not _EMAIL.match(cleaned):
        raise InvalidInput("email", f"{value!r} is not an e-mail address")
    return cleaned


def _password(value: str) -> str:
    if not isinstance(value, str) or len(value) < MIN_PASSWORD_LENGTH:
        raise InvalidInput("password", f"must be at least {MIN_PASSWORD_LENGTH} characters")
    if len(value) > MAX_PASSWORD_LENGTH:
        raise InvalidInput("password", f"must be at most {MAX_PASSWORD_LENGTH} characters")
    return value


def _aware(value: datetime, field: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidInput(field, f"{value.isoformat()} has no time zone: give an aware time")
    return value.astimezone(UTC)


def hash_token(secret: str) -> str:
    """The SHA-256 hex digest stored for a token (tokens are high-entropy: no salt needed)."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()
