"""Signing in with a password, and throttling failed attempts (the lockout).

Failed password sign-ins are counted per user id tried (`begin_sign_in`, a
`SignInPolicy`): after a few, each further attempt must wait longer, and after
`lockout_after` the user id is locked for a while, whatever password is given, until it
passes or an admin calls `unlock`. Passwords are stored as argon2id hashes, upgraded when
the parameters change.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ratify.services.identity.base import DirectoryBase
from ratify.services.identity.errors import SignInThrottled
from ratify.services.identity.rows import _load_principal, _require_user, _user_row
from ratify.services.identity.rules import _USER_ID
from ratify.services.identity.tables import sign_in_failures, users
from ratify.services.identity.values import Principal


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


class SignInDirectory(DirectoryBase):
    """The password sign-in and lockout part of a `Directory`."""

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


def _forgotten(row: sa.Row[Any], policy: SignInPolicy, at: datetime) -> bool:
    """True once a lockout has ended, or after `lockout_seconds` without a failure."""
    if row.locked_until is not None:
        return bool(at >= row.locked_until)
    return bool(at - row.last_failure_at >= timedelta(seconds=policy.lockout_seconds))
