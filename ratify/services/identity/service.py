"""The directory of people: users and roles, delegations, API tokens, passwords, principals.

`Directory(engine)` manages the identity tables (sync SQLAlchemy; every change is one
write transaction, so a refused change writes nothing). Signing in (`authenticate_token`,
`verify_password`) gives a `Principal`: who the person is, the roles they hold, and the
delegations made to them. `Principal.acting_as(role, on_behalf_of, today)` turns that into
the domain's `Actor` for one step, which records both the deputy who acted and the person
they acted for.

Rules:

- A user id is lower-case letters, digits, `.`, `-` and `_` (e.g. `ollie.lane`).
- `system` is Ratify's own role and is never given to a person.
- A delegation gives a deputy one role of the principal for a range of London days
  (inclusive). The principal must hold the role when delegating *and* when the deputy
  acts, and must still be active: a deputy never has rights the principal would not have.
  `admin` is granted, never delegated.
- API tokens look like `rat_<prefix>_<secret>`; only the SHA-256 of the whole token is
  stored. Passwords are stored as argon2id hashes, upgraded when the parameters change.
- Web sessions are rows of `sessions`, found by the SHA-256 of the secret their cookie
  carries: signing out ends one; a password change (by the user or an admin),
  deactivation and `end_sessions` end all of a user's at once.
- Failed password sign-ins are counted per user id tried (`begin_sign_in`, a
  `SignInPolicy`): after a few, each further attempt must wait longer, and after
  `lockout_after` the user id is locked for a while, whatever password is given, until
  it passes or an admin calls `unlock`.

Every refusal is an `IdentityError` whose message starts with the field it concerns and
names the rule (`ends_on: a delegation cannot end (…) before it starts (…)`); its
`status_code` is the HTTP status a front door should answer with (403 or 422).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from pydantic import BaseModel, ConfigDict
from sqlalchemy.engine import URL, Connection, Engine

from domain.clock import london_date
from domain.roles import Actor, Role
from eventstore.engine import create_engine_for, write_engine
from ratify.services.identity.tables import (
    api_tokens,
    delegations,
    sessions,
    sign_in_failures,
    user_roles,
    users,
)

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


# -- errors -----------------------------------------------------------------------------------


class IdentityError(Exception):
    """A refusal: `field` is what it concerns, the message names the rule."""

    status_code: int = 422

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

    status_code = 403


class SignInThrottled(IdentityError):
    """Too many failed sign-ins for a user id: wait `retry_after`, or it is locked until
    `locked_until` (an admin can `unlock` it). Said alike whatever the password was."""

    status_code = 429

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


@dataclass(frozen=True)
class SignInPolicy:
    """How failed password sign-ins are throttled, per user id tried.

    The first `free_attempts` failures cost nothing; after that, each attempt must wait
    `delay_seconds` after the last failure, doubling with each further failure (at most
    `max_delay_seconds`); at `lockout_after` failures the user id is locked for
    `lockout_seconds`, even for the right password. A success, an admin's `unlock` or
    `set_password`, the end of a lockout, or `lockout_seconds` without a failure start the
    count again.
    """

    free_attempts: int = 3
    delay_seconds: float = 1.0
    max_delay_seconds: float = 60.0
    lockout_after: int = 10
    lockout_seconds: int = 15 * 60

    def wait_after(self, failures: int) -> timedelta:
        """How long after the last failure the next attempt must wait."""
        first = max(self.free_attempts, 1)
        if failures < first:
            return timedelta(0)
        delay = self.delay_seconds * 2 ** min(failures - first, 30)
        return timedelta(seconds=min(delay, self.max_delay_seconds))


# -- values -----------------------------------------------------------------------------------


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class User(_Frozen):
    id: str
    name: str
    email: str | None
    active: bool
    roles: frozenset[Role]
    created_at: datetime
    has_password: bool


class Delegation(_Frozen):
    """A delegation as stored: `principal_id` lets `deputy_id` act in `role` for a while."""

    id: str
    principal_id: str
    deputy_id: str
    role: Role
    starts_on: date
    ends_on: date
    reason: str
    created_at: datetime
    revoked_at: datetime | None

    def active_on(self, day: date) -> bool:
        return self.revoked_at is None and self.starts_on <= day <= self.ends_on


class Delegated(_Frozen):
    """A delegation made to a principal (the signed-in deputy), as `Principal` carries it."""

    delegation_id: str
    principal_id: str
    role: Role
    starts_on: date
    ends_on: date

    def active_on(self, day: date) -> bool:
        return self.starts_on <= day <= self.ends_on


class ApiToken(_Frozen):
    """A token's record (never its secret or hash)."""

    id: str
    user_id: str
    name: str
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None

    def status(self, now: datetime) -> str:
        """`active`, `revoked` or `expired` at `now`."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and now >= self.expires_at:
            return "expired"
        return "active"


class StoredSession(_Frozen):
    """A web session as stored (never its secret)."""

    id: str
    user_id: str
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    ended_at: datetime | None
    end_reason: str | None

    def live(self, now: datetime) -> bool:
        return self.ended_at is None and now < self.expires_at


class Principal(_Frozen):
    """A signed-in person: their roles, and the delegations that let them act for others.

    Only delegations that are not revoked, from an active principal who still holds the
    role, are carried; `acting_as` and `roles_today` pick those in force on a given day.
    """

    user_id: str
    name: str
    roles: frozenset[Role]
    delegations: tuple[Delegated, ...] = ()

    def acting_as(
        self, role: Role, on_behalf_of: str | None = None, today: date | None = None
    ) -> Actor:
        """The `Actor` for one step in `role` on `today` (a London day; default: today).

        Without `on_behalf_of`: the person's own role if they hold it, else the one
        delegation giving it today. With `on_behalf_of`: the delegation from that person.
        Raises `NotPermitted` naming the rule when neither gives the role, and
        `InvalidInput` when several people delegated it today and none was named.
        """
        role = Role(role)
        day = today if today is not None else london_date(datetime.now(UTC))
        if on_behalf_of is None or on_behalf_of == self.user_id:
            if role in self.roles:
                return Actor(user_id=self.user_id, role=role)
            givers = sorted(
                {d.principal_id for d in self.delegations if d.role is role and d.active_on(day)}
            )
            if len(givers) == 1:
                return Actor(user_id=self.user_id, role=role, on_behalf_of=givers[0])
            if givers:
                raise InvalidInput(
                    "on_behalf_of",
                    f"{', '.join(givers)} have each delegated the role {role.value} to "
                    f"{self.user_id} on {day.isoformat()}: say on whose behalf you act",
                )
            raise NotPermitted(
                "role",
                f"{self.user_id} does not hold the role {role.value} and no delegation "
                f"gives it today ({day.isoformat()})",
            )
        if any(
            d.principal_id == on_behalf_of and d.role is role and d.active_on(day)
            for d in self.delegations
        ):
            return Actor(user_id=self.user_id, role=role, on_behalf_of=on_behalf_of)
        raise NotPermitted(
            "on_behalf_of",
            f"no delegation from {on_behalf_of} gives {self.user_id} the role {role.value} "
            f"today ({day.isoformat()})",
        )

    def roles_today(self, today: date | None = None) -> set[tuple[Role, str | None]]:
        """(role, principal) pairs held on `today`: principal None for the person's own roles."""
        day = today if today is not None else london_date(datetime.now(UTC))
        held: set[tuple[Role, str | None]] = {(r, None) for r in self.roles}
        held |= {(d.role, d.principal_id) for d in self.delegations if d.active_on(day)}
        return held

    def holds(self, role: Role, today: date | None = None) -> bool:
        """True if the person may act in `role` today, in their own right or as a deputy."""
        return any(r is role for r, _ in self.roles_today(today))


# -- parsing ----------------------------------------------------------------------------------


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


# -- the directory ----------------------------------------------------------------------------


class Directory:
    """Users, roles, delegations and tokens in the identity tables of one database."""

    def __init__(
        self,
        engine: Engine,
        *,
        hasher: PasswordHasher | None = None,
        clock: Callable[[], datetime] | None = None,
        delegation_max_days: int = DEFAULT_DELEGATION_MAX_DAYS,
    ) -> None:
        if delegation_max_days < 1:
            raise ValueError("delegation_max_days must be at least 1")
        self.engine = engine
        self.delegation_max_days = delegation_max_days
        self._writer = write_engine(engine)
        self._hasher = hasher or PasswordHasher()
        self._clock = clock or (lambda: datetime.now(UTC))
        self._dummy_hash: str | None = None
        self._owns_engine = False

    @classmethod
    def from_url(cls, url: str | URL, **kwargs: Any) -> Directory:
        """A directory on its own engine; `close()` disposes of it."""
        directory = cls(create_engine_for(url), **kwargs)
        directory._owns_engine = True
        return directory

    def close(self) -> None:
        if self._owns_engine:
            self.engine.dispose()

    def __enter__(self) -> Directory:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- transactions -------------------------------------------------------------------------

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        with self._writer.begin() as conn:
            yield conn

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            yield conn

    def _now(self, now: datetime | None, field: str = "now") -> datetime:
        return _aware(now, field) if now is not None else _aware(self._clock(), field)

    # -- users --------------------------------------------------------------------------------

    def add_user(
        self,
        user_id: str,
        name: str,
        roles: Iterable[Role | str],
        email: str | None = None,
        password: str | None = None,
    ) -> User:
        """Add an active user with their roles (and a password for the web sign-in)."""
        check_user_id(user_id)
        name = _text(name, "name")
        email = _email(email)
        parsed = {parse_role(r, "roles") for r in roles}
        if not parsed:
            raise InvalidInput("roles", "give a user at least one role")
        password_hash = self._hasher.hash(_password(password)) if password is not None else None
        now = self._now(None)
        with self._write() as conn:
            if _user_row(conn, user_id) is not None:
                raise InvalidInput("user_id", f"a user with id {user_id!r} exists already")
            conn.execute(
                users.insert().values(
                    id=user_id,
                    name=name,
                    email=email,
                    password_hash=password_hash,
                    active=True,
                    created_at=now,
                )
            )
            conn.execute(
                user_roles.insert(),
                [{"user_id": user_id, "role": r.value} for r in sorted(parsed)],
            )
            return _load_user(conn, user_id)

    def get_user(self, user_id: str) -> User:
        """The user, or `UnknownUser`."""
        with self._read() as conn:
            return _load_user(conn, user_id)

    def list_users(self, include_inactive: bool = True) -> list[User]:
        """Every user, by id."""
        with self._read() as conn:
            query = sa.select(users).order_by(users.c.id)
            if not include_inactive:
                query = query.where(users.c.active.is_(True))
            rows = conn.execute(query).all()
            held: dict[str, set[Role]] = {}
            for user_id, role in conn.execute(sa.select(user_roles.c.user_id, user_roles.c.role)):
                held.setdefault(user_id, set()).add(Role(role))
            return [_user(row, held.get(row.id, set())) for row in rows]

    def set_password(self, user_id: str, password: str, *, keep_session: str | None = None) -> int:
        """Set (or replace) the user's password for the web sign-in. Ends every session of
        the user at once (but `keep_session`, a session id), and lifts a sign-in lockout;
        returns how many sessions it ended."""
        password_hash = self._hasher.hash(_password(password))
        at = self._now(None)
        with self._write() as conn:
            _require_user(conn, user_id)
            conn.execute(
                users.update().where(users.c.id == user_id).values(password_hash=password_hash)
            )
            conn.execute(sign_in_failures.delete().where(sign_in_failures.c.user_id == user_id))
            return _end_sessions(conn, user_id, "password_changed", at, keep=keep_session)

    def password_matches(self, user_id: str, password: str) -> bool:
        """True if `password` is the user's (active or not); spends one hash either way."""
        with self._read() as conn:
            row = _user_row(conn, user_id) if isinstance(user_id, str) else None
        if row is None or row.password_hash is None:
            self._verify(self._dummy(), password)
            return False
        return self._verify(row.password_hash, password)

    def grant_role(self, user_id: str, role: Role | str) -> User:
        """Give the user a role (nothing changes if they hold it already)."""
        parsed = parse_role(role)
        with self._write() as conn:
            user = _load_user(conn, user_id)
            if parsed not in user.roles:
                conn.execute(user_roles.insert().values(user_id=user_id, role=parsed.value))
            return _load_user(conn, user_id)

    def revoke_role(self, user_id: str, role: Role | str) -> User:
        """Take a role away. Delegations the user made of it stop giving it at once."""
        parsed = parse_role(role)
        with self._write() as conn:
            user = _load_user(conn, user_id)
            if parsed not in user.roles:
                raise InvalidInput("role", f"{user_id} does not hold the role {parsed.value}")
            conn.execute(
                user_roles.delete().where(
                    user_roles.c.user_id == user_id, user_roles.c.role == parsed.value
                )
            )
            return _load_user(conn, user_id)

    def deactivate(self, user_id: str) -> User:
        """Stop the user signing in (tokens and password) and their delegations giving roles."""
        return self._set_active(user_id, False)

    def reactivate(self, user_id: str) -> User:
        """Undo `deactivate`."""
        return self._set_active(user_id, True)

    def _set_active(self, user_id: str, active: bool) -> User:
        at = self._now(None)
        with self._write() as conn:
            _require_user(conn, user_id)
            conn.execute(users.update().where(users.c.id == user_id).values(active=active))
            if not active:
                _end_sessions(conn, user_id, "deactivated", at)
            return _load_user(conn, user_id)

    # -- web sessions -------------------------------------------------------------------------

    def create_session(
        self, user_id: str, lifetime: timedelta, *, now: datetime | None = None
    ) -> tuple[str, StoredSession]:
        """A new session for an active user: (its secret, for the cookie only; the row).
        Only the SHA-256 of the secret is stored."""
        at = self._now(now)
        secret = secrets.token_urlsafe(32)
        session_id = hash_token(secret)
        with self._write() as conn:
            user = _load_user(conn, user_id)
            if not user.active:
                raise InvalidInput("user_id", f"{user_id} is deactivated: no session can start")
            conn.execute(sessions.delete().where(sessions.c.expires_at < at - SESSION_ROWS_KEPT))
            conn.execute(
                sessions.insert().values(
                    id=session_id,
                    user_id=user_id,
                    created_at=at,
                    last_seen_at=at,
                    expires_at=at + lifetime,
                    ended_at=None,
                    end_reason=None,
                )
            )
            return secret, _load_session(conn, session_id)

    def find_session(self, secret: str, now: datetime | None = None) -> StoredSession | None:
        """The session a cookie's secret names (live, ended or expired), or None. Records
        when a live one was last seen (to the minute)."""
        at = self._now(now)
        session_id = hash_token(secret)
        with self._read() as conn:
            row = conn.execute(sa.select(sessions).where(sessions.c.id == session_id)).first()
        if row is None:
            return None
        found = _session(row)
        if found.live(at) and at - found.last_seen_at >= LAST_USED_RESOLUTION:
            with self._write() as conn:
                conn.execute(
                    sessions.update()
                    .where(sessions.c.id == session_id, sessions.c.last_seen_at < at)
                    .values(last_seen_at=at)
                )
        return found

    def end_session(
        self, session_id: str, reason: str = "signed_out", now: datetime | None = None
    ) -> bool:
        """End one session (by id); False if it had ended already or is unknown."""
        _check_reason(reason)
        at = self._now(now)
        with self._write() as conn:
            ended = conn.execute(
                sessions.update()
                .where(sessions.c.id == session_id, sessions.c.ended_at.is_(None))
                .values(ended_at=at, end_reason=reason)
            )
            return bool(ended.rowcount)

    def end_sessions(
        self,
        user_id: str,
        reason: str = "ended_by_admin",
        *,
        keep: str | None = None,
        now: datetime | None = None,
    ) -> int:
        """End every live session of the user (but `keep`, a session id); how many ended."""
        _check_reason(reason)
        at = self._now(now)
        with self._write() as conn:
            _require_user(conn, user_id)
            return _end_sessions(conn, user_id, reason, at, keep=keep)

    def list_sessions(self, user_id: str, now: datetime | None = None) -> list[StoredSession]:
        """The user's live sessions, newest first."""
        at = self._now(now)
        with self._read() as conn:
            _require_user(conn, user_id)
            query = (
                sa.select(sessions)
                .where(
                    sessions.c.user_id == user_id,
                    sessions.c.ended_at.is_(None),
                    sessions.c.expires_at > at,
                )
                .order_by(sessions.c.created_at.desc(), sessions.c.id)
            )
            return [_session(row) for row in conn.execute(query)]

    # -- throttling failed sign-ins -----------------------------------------------------------

    def begin_sign_in(
        self, user_id: str, policy: SignInPolicy, now: datetime | None = None
    ) -> None:
        """Count a password attempt for `user_id` as failed until `sign_in_succeeded` says
        otherwise; `SignInThrottled` (nothing written) if it must wait or is locked.

        Counting before the password is checked means concurrent guesses each take a
        turn. A user id that cannot exist (not of the user id form) is not counted.
        """
        if not isinstance(user_id, str) or not _USER_ID.match(user_id):
            return
        at = self._now(now)
        for _ in range(3):
            try:
                with self._write() as conn:
                    self._count_attempt(conn, user_id, policy, at)
                return
            except sa.exc.IntegrityError:  # another process counted the first one meanwhile
                continue
        raise SignInThrottled(user_id, timedelta(seconds=1), None)

    def _count_attempt(
        self, conn: Connection, user_id: str, policy: SignInPolicy, at: datetime
    ) -> None:
        row = conn.execute(
            sa.select(sign_in_failures)
            .where(sign_in_failures.c.user_id == user_id)
            .with_for_update()
        ).first()
        failures = 0
        if row is not None and not _forgotten(row, policy, at):
            failures = row.failures
            if row.locked_until is not None and at < row.locked_until:
                raise SignInThrottled(user_id, row.locked_until - at, row.locked_until)
            ready = row.last_failure_at + policy.wait_after(failures)
            if at < ready:
                raise SignInThrottled(user_id, ready - at, None)
        failures += 1
        locked_until = (
            at + timedelta(seconds=policy.lockout_seconds)
            if failures >= policy.lockout_after
            else None
        )
        values = {"failures": failures, "last_failure_at": at, "locked_until": locked_until}
        if row is None:
            conn.execute(
                sign_in_failures.delete().where(
                    sign_in_failures.c.last_failure_at
                    < at - timedelta(seconds=policy.lockout_seconds),
                    sa.or_(
                        sign_in_failures.c.locked_until.is_(None),
                        sign_in_failures.c.locked_until < at,
                    ),
                )
            )
            conn.execute(sign_in_failures.insert().values(user_id=user_id, **values))
        else:
            conn.execute(
                sign_in_failures.update()
                .where(sign_in_failures.c.user_id == user_id)
                .values(**values)
            )

    def sign_in_succeeded(self, user_id: str) -> None:
        """The password was right: forget the user id's failures."""
        with self._write() as conn:
            conn.execute(sign_in_failures.delete().where(sign_in_failures.c.user_id == user_id))

    def locked_until(self, user_id: str, now: datetime | None = None) -> datetime | None:
        """When the user id's sign-in lockout ends, or None if it is not locked."""
        at = self._now(now)
        with self._read() as conn:
            until = conn.execute(
                sa.select(sign_in_failures.c.locked_until).where(
                    sign_in_failures.c.user_id == user_id
                )
            ).scalar()
        return until if until is not None and at < until else None

    def unlock(self, user_id: str) -> bool:
        """Lift a user's sign-in lockout and forget their failed attempts (an admin's
        step); True if there were any."""
        with self._write() as conn:
            _require_user(conn, user_id)
            done = conn.execute(
                sign_in_failures.delete().where(sign_in_failures.c.user_id == user_id)
            )
            return bool(done.rowcount)

    # -- delegations --------------------------------------------------------------------------

    def delegate(
        self,
        principal_id: str,
        deputy_id: str,
        role: Role | str,
        starts_on: date,
        ends_on: date,
        reason: str,
    ) -> Delegation:
        """Let `deputy_id` act in one of `principal_id`'s roles from `starts_on` to `ends_on`.

        Refused: roles an administrator grants (admin, auditor, Part 2 clearance); a start
        before today (London); an end before the start; more than `delegation_max_days`
        days, first and last included. Whether the deputy may use the role on a given case
        (separation of duties) is the case's rule, checked when they act.
        """
        parsed = parse_role(role)
        if parsed in UNDELEGABLE_ROLES:
            raise InvalidInput(
                "role",
                f"{parsed.value} is granted by an administrator only and cannot be delegated",
            )
        today = london_date(self._now(None))
        if starts_on < today:
            raise InvalidInput(
                "starts_on",
                f"a delegation cannot start in the past ({starts_on.isoformat()}; today is "
                f"{today.isoformat()})",
            )
        if ends_on < starts_on:
            raise InvalidInput(
                "ends_on",
                f"a delegation cannot end ({ends_on.isoformat()}) before it starts "
                f"({starts_on.isoformat()})",
            )
        latest_start = today + timedelta(days=self.delegation_max_days)
        if starts_on > latest_start:
            raise InvalidInput(
                "starts_on",
                f"a delegation starts within {self.delegation_max_days} days of today "
                f"(by {latest_start.isoformat()}), not on {starts_on.isoformat()}",
            )
        days = (ends_on - starts_on).days + 1
        if days > self.delegation_max_days:
            raise InvalidInput(
                "ends_on",
                f"a delegation lasts at most {self.delegation_max_days} days; "
                f"{starts_on.isoformat()} to {ends_on.isoformat()} is {days} days",
            )
        reason = _text(reason, "reason", max_length=2000)
        if deputy_id == principal_id:
            raise InvalidInput("deputy", "a person cannot be their own deputy")
        now = self._now(None)
        with self._write() as conn:
            principal = _load_user(conn, principal_id, field="principal")
            deputy = _load_user(conn, deputy_id, field="deputy")
            if not principal.active:
                raise NotPermitted("principal", f"{principal_id} is deactivated")
            if not deputy.active:
                raise InvalidInput("deputy", f"{deputy_id} is deactivated")
            if parsed not in principal.roles:
                raise NotPermitted(
                    "role",
                    f"{principal_id} does not hold the role {parsed.value}, so cannot delegate "
                    "it: a deputy only gets roles their principal holds",
                )
            # One running delegation of a role to one deputy at a time: back-to-back
            # delegations would chain past the longest a delegation may last.
            running = conn.execute(
                sa.select(delegations.c.id, delegations.c.ends_on).where(
                    delegations.c.principal_id == principal_id,
                    delegations.c.deputy_id == deputy_id,
                    delegations.c.role == parsed.value,
                    delegations.c.revoked_at.is_(None),
                    delegations.c.ends_on >= today,
                )
            ).first()
            if running is not None:
                raise InvalidInput(
                    "deputy",
                    f"{deputy_id} already deputises for {principal_id} as {parsed.value} until "
                    f"{running.ends_on} ({running.id}): a new delegation of that role to them "
                    "can be made once it has ended or been revoked",
                )
            delegation_id = f"del_{secrets.token_hex(6)}"
            conn.execute(
                delegations.insert().values(
                    id=delegation_id,
                    principal_id=principal_id,
                    deputy_id=deputy_id,
                    role=parsed.value,
                    starts_on=starts_on,
                    ends_on=ends_on,
                    reason=reason,
                    created_at=now,
                    revoked_at=None,
                )
            )
            return _load_delegation(conn, delegation_id)

    def revoke_delegation(self, delegation_id: str, now: datetime | None = None) -> Delegation:
        """End a delegation at once (it stays in the table, marked revoked)."""
        at = self._now(now)
        with self._write() as conn:
            found = _load_delegation(conn, delegation_id)
            if found.revoked_at is not None:
                raise InvalidInput(
                    "delegation_id", f"{delegation_id} was revoked already, at {found.revoked_at}"
                )
            conn.execute(
                delegations.update().where(delegations.c.id == delegation_id).values(revoked_at=at)
            )
            return _load_delegation(conn, delegation_id)

    def list_delegations(self, user_id: str | None = None) -> list[Delegation]:
        """Every delegation, or those `user_id` made or received, newest range first."""
        with self._read() as conn:
            query = sa.select(delegations).order_by(
                delegations.c.starts_on.desc(), delegations.c.id
            )
            if user_id is not None:
                _require_user(conn, user_id)
                query = query.where(
                    sa.or_(
                        delegations.c.principal_id == user_id, delegations.c.deputy_id == user_id
                    )
                )
            return [_delegation(row) for row in conn.execute(query)]

    # -- tokens -------------------------------------------------------------------------------

    def create_token(
        self,
        user_id: str,
        name: str,
        expires_at: datetime | None = None,
        *,
        now: datetime | None = None,
    ) -> tuple[str, str]:
        """A new API token: (token id, the secret). The secret is shown once, never stored."""
        name = _text(name, "name")
        at = self._now(now)
        if expires_at is not None:
            expires_at = _aware(expires_at, "expires_at")
            if expires_at <= at:
                raise InvalidInput(
                    "expires_at", f"{expires_at.isoformat()} has passed: give a future time"
                )
        prefix = secrets.token_hex(6)
        secret = f"{TOKEN_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
        token_id = f"tok_{prefix}"
        with self._write() as conn:
            user = _load_user(conn, user_id)
            if not user.active:
                raise InvalidInput("user_id", f"{user_id} is deactivated: no token can be made")
            conn.execute(
                api_tokens.insert().values(
                    id=token_id,
                    user_id=user_id,
                    token_hash=hash_token(secret),
                    prefix=prefix,
                    name=name,
                    created_at=at,
                    expires_at=expires_at,
                    revoked_at=None,
                    last_used_at=None,
                )
            )
        return token_id, secret

    def revoke_token(self, token_id: str, now: datetime | None = None) -> ApiToken:
        """Refuse the token from now on (it stays in the table, marked revoked)."""
        at = self._now(now)
        with self._write() as conn:
            found = _load_token(conn, token_id)
            if found.revoked_at is not None:
                raise InvalidInput(
                    "token_id", f"{token_id} was revoked already, at {found.revoked_at}"
                )
            conn.execute(
                api_tokens.update().where(api_tokens.c.id == token_id).values(revoked_at=at)
            )
            return _load_token(conn, token_id)

    def list_tokens(self, user_id: str | None = None) -> list[ApiToken]:
        """Every token, or one user's, oldest first (records only: no secrets, no hashes)."""
        with self._read() as conn:
            query = sa.select(api_tokens).order_by(api_tokens.c.created_at, api_tokens.c.id)
            if user_id is not None:
                _require_user(conn, user_id)
                query = query.where(api_tokens.c.user_id == user_id)
            return [_token(row) for row in conn.execute(query)]

    def authenticate_token(self, secret: str, now: datetime | None = None) -> Principal | None:
        """The principal a token signs in, or None if it is unknown, revoked or expired,
        or its user is deactivated. Records when it was last used (to the minute)."""
        at = self._now(now)
        match = _TOKEN.match(secret.strip()) if isinstance(secret, str) else None
        if match is None:
            return None
        digest = hash_token(secret.strip())
        with self._read() as conn:
            row = conn.execute(
                sa.select(api_tokens).where(api_tokens.c.prefix == match.group(1))
            ).first()
            stored = row.token_hash if row is not None else hash_token("")
            if not hmac.compare_digest(stored.encode(), digest.encode()) or row is None:
                return None
            token = _token(row)
            if token.status(at) != "active":
                return None
            principal = _load_principal(conn, token.user_id)
        if principal is None:
            return None
        if token.last_used_at is None or at - token.last_used_at >= LAST_USED_RESOLUTION:
            with self._write() as conn:
                conn.execute(
                    api_tokens.update()
                    .where(
                        api_tokens.c.id == token.id,
                        sa.or_(api_tokens.c.last_used_at.is_(None), api_tokens.c.last_used_at < at),
                    )
                    .values(last_used_at=at)
                )
        return principal

    # -- passwords and sign-in ----------------------------------------------------------------

    def verify_password(self, user_id: str, password: str) -> Principal | None:
        """The principal if the password is the user's, else None (unknown user, wrong or
        unset password, deactivated). Rehashes a hash made with outdated parameters."""
        with self._read() as conn:
            row = _user_row(conn, user_id) if isinstance(user_id, str) else None
        if row is None or row.password_hash is None:
            self._verify(self._dummy(), password)  # spend the same time as a real check
            return None
        if not self._verify(row.password_hash, password) or not row.active:
            return None
        if self._hasher.check_needs_rehash(row.password_hash):
            fresh = self._hasher.hash(password)
            with self._write() as conn:
                conn.execute(
                    users.update()
                    .where(users.c.id == user_id, users.c.password_hash == row.password_hash)
                    .values(password_hash=fresh)
                )
        return self.principal_for(user_id)

    def principal_for(self, user_id: str) -> Principal | None:
        """The principal of an active user (e.g. from a web session), else None."""
        with self._read() as conn:
            return _load_principal(conn, user_id)

    def _verify(self, password_hash: str, password: str) -> bool:
        try:
            return bool(self._hasher.verify(password_hash, password))
        except (VerificationError, InvalidHashError):
            return False

    def _dummy(self) -> str:
        if self._dummy_hash is None:
            self._dummy_hash = self._hasher.hash(secrets.token_hex(16))
        return self._dummy_hash


# -- rows -------------------------------------------------------------------------------------


def _user_row(conn: Connection, user_id: str) -> sa.Row[Any] | None:
    return conn.execute(sa.select(users).where(users.c.id == user_id)).first()


def _require_user(conn: Connection, user_id: str, field: str = "user_id") -> sa.Row[Any]:
    row = _user_row(conn, user_id)
    if row is None:
        raise UnknownUser(user_id, field)
    return row


def _user(row: sa.Row[Any], roles: Iterable[Role]) -> User:
    return User(
        id=row.id,
        name=row.name,
        email=row.email,
        active=bool(row.active),
        roles=frozenset(roles),
        created_at=row.created_at,
        has_password=row.password_hash is not None,
    )


def _roles_of(conn: Connection, user_id: str) -> set[Role]:
    query = sa.select(user_roles.c.role).where(user_roles.c.user_id == user_id)
    return {Role(role) for role in conn.execute(query).scalars()}


def _load_user(conn: Connection, user_id: str, field: str = "user_id") -> User:
    return _user(_require_user(conn, user_id, field), _roles_of(conn, user_id))


def _delegation(row: sa.Row[Any]) -> Delegation:
    return Delegation(
        id=row.id,
        principal_id=row.principal_id,
        deputy_id=row.deputy_id,
        role=Role(row.role),
        starts_on=row.starts_on,
        ends_on=row.ends_on,
        reason=row.reason,
        created_at=row.created_at,
        revoked_at=row.revoked_at,
    )


def _load_delegation(conn: Connection, delegation_id: str) -> Delegation:
    row = conn.execute(sa.select(delegations).where(delegations.c.id == delegation_id)).first()
    if row is None:
        raise InvalidInput("delegation_id", f"there is no delegation {delegation_id!r}")
    return _delegation(row)


def _token(row: sa.Row[Any]) -> ApiToken:
    return ApiToken(
        id=row.id,
        user_id=row.user_id,
        name=row.name,
        prefix=row.prefix,
        created_at=row.created_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
        last_used_at=row.last_used_at,
    )


def _session(row: sa.Row[Any]) -> StoredSession:
    return StoredSession(
        id=row.id,
        user_id=row.user_id,
        created_at=row.created_at,
        last_seen_at=row.last_seen_at,
        expires_at=row.expires_at,
        ended_at=row.ended_at,
        end_reason=row.end_reason,
    )


def _load_session(conn: Connection, session_id: str) -> StoredSession:
    row = conn.execute(sa.select(sessions).where(sessions.c.id == session_id)).first()
    if row is None:
        raise InvalidInput("session_id", "there is no such session")
    return _session(row)


def _end_sessions(
    conn: Connection, user_id: str, reason: str, at: datetime, keep: str | None = None
) -> int:
    query = sessions.update().where(
        sessions.c.user_id == user_id, sessions.c.ended_at.is_(None), sessions.c.expires_at > at
    )
    if keep is not None:
        query = query.where(sessions.c.id != keep)
    return int(conn.execute(query.values(ended_at=at, end_reason=reason)).rowcount)


def _check_reason(reason: str) -> None:
    if reason not in END_REASONS:
        raise InvalidInput("reason", f"one of {', '.join(sorted(END_REASONS))}")


def _forgotten(row: sa.Row[Any], policy: SignInPolicy, at: datetime) -> bool:
    """True once a lockout has ended, or after `lockout_seconds` without a failure."""
    if row.locked_until is not None:
        return bool(at >= row.locked_until)
    return bool(at - row.last_failure_at >= timedelta(seconds=policy.lockout_seconds))


def _load_token(conn: Connection, token_id: str) -> ApiToken:
    row = conn.execute(sa.select(api_tokens).where(api_tokens.c.id == token_id)).first()
    if row is None:
        raise InvalidInput("token_id", f"there is no token {token_id!r}")
    return _token(row)


def _load_principal(conn: Connection, user_id: str) -> Principal | None:
    row = _user_row(conn, user_id)
    if row is None or not row.active:
        return None
    giver = users.alias("giver")
    query = (
        sa.select(delegations)
        .join(giver, giver.c.id == delegations.c.principal_id)
        .join(
            user_roles,
            sa.and_(
                user_roles.c.user_id == delegations.c.principal_id,
                user_roles.c.role == delegations.c.role,
            ),
        )
        .where(
            delegations.c.deputy_id == user_id,
            delegations.c.revoked_at.is_(None),
            giver.c.active.is_(True),
        )
        .order_by(delegations.c.starts_on, delegations.c.id)
    )
    delegated = tuple(
        Delegated(
            delegation_id=d.id,
            principal_id=d.principal_id,
            role=Role(d.role),
            starts_on=d.starts_on,
            ends_on=d.ends_on,
        )
        for d in conn.execute(query)
    )
    return Principal(
        user_id=row.id,
        name=row.name,
        roles=frozenset(_roles_of(conn, user_id)),
        delegations=delegated,
    )
