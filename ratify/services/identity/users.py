"""Users and their roles: adding, listing, passwords set by hand, roles, deactivation."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from domain.bounds import EARLIEST_DATE
from domain.clock import london_date
from domain.roles import Role
from ratify.services.identity.base import DirectoryBase
from ratify.services.identity.errors import InvalidInput
from ratify.services.identity.rows import (
    _end_sessions,
    _load_user,
    _require_user,
    _user,
    _user_row,
)
from ratify.services.identity.rules import _email, _password, _text, check_user_id, parse_role
from ratify.services.identity.tables import role_grants, sign_in_failures, user_roles, users
from ratify.services.identity.values import User


class UserDirectory(DirectoryBase):
    """The users and roles part of a `Directory`."""

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
            for r in sorted(parsed):
                _open_grant(conn, user_id, r, london_date(now))
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

    def grant_role(self, user_id: str, role: Role | str, *, held_since: date | None = None) -> User:
        """Give the user a role (nothing changes if they hold it already).

        `held_since`: the day they have held it from, when that is before today (a person
        who held the role before Ratify was adopted, whose steps taken on paper are recorded
        now): the role history (`held_role_on`) says so. For a role held already, an earlier
        day moves the start of the current holding back; never forward."""
        parsed = parse_role(role)
        today = london_date(self._now(None))
        since = held_since or today
        if since > today:
            raise InvalidInput(
                "held_since", f"{since.isoformat()} is after today ({today.isoformat()})"
            )
        if since < EARLIEST_DATE:
            raise InvalidInput(
                "held_since",
                f"{since.isoformat()} is before the dates Ratify accepts "
                f"({EARLIEST_DATE.isoformat()} on)",
            )
        with self._write() as conn:
            user = _load_user(conn, user_id)
            if parsed not in user.roles:
                conn.execute(user_roles.insert().values(user_id=user_id, role=parsed.value))
                _open_grant(conn, user_id, parsed, since)
            elif held_since is not None:
                conn.execute(
                    role_grants.update()
                    .where(
                        role_grants.c.user_id == user_id,
                        role_grants.c.role == parsed.value,
                        role_grants.c.held_until.is_(None),
                        role_grants.c.held_from > since,
                    )
                    .values(held_from=since)
                )
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
            conn.execute(
                role_grants.update()
                .where(
                    role_grants.c.user_id == user_id,
                    role_grants.c.role == parsed.value,
                    role_grants.c.held_until.is_(None),
                )
                .values(held_until=london_date(self._now(None)))
            )
            return _load_user(conn, user_id)

    def held_role_on(self, user_id: str, role: Role | str, day: date) -> bool:
        """Whether the user held `role` in their own right on the London `day` (granted on
        or before it, not revoked before it; a role held when the history of roles began
        counts as held since ever). Delegations are not roles held."""
        parsed = parse_role(role)
        with self._read() as conn:
            found = conn.execute(
                sa.select(role_grants.c.id)
                .where(
                    role_grants.c.user_id == user_id,
                    role_grants.c.role == parsed.value,
                    sa.or_(role_grants.c.held_from.is_(None), role_grants.c.held_from <= day),
                    sa.or_(role_grants.c.held_until.is_(None), role_grants.c.held_until >= day),
                )
                .limit(1)
            ).first()
        return found is not None

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


def _open_grant(conn: Connection, user_id: str, role: Role, day: date) -> None:
    """Record that the user holds `role` from `day` on (the history `held_role_on` reads)."""
    conn.execute(
        role_grants.insert().values(
            user_id=user_id, role=role.value, held_from=day, held_until=None
        )
    )
