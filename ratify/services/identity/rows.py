"""Reading the identity tables into values (the identity package's own helpers).

Each takes an open `Connection`, so a `Directory` step can read and write in one
transaction; the `_load_*` ones refuse (`UnknownUser`, `InvalidInput`) a row that is not there.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from domain.roles import Role
from ratify.services.identity.errors import InvalidInput, UnknownUser
from ratify.services.identity.rules import END_REASONS
from ratify.services.identity.tables import api_tokens, delegations, sessions, user_roles, users
from ratify.services.identity.values import (
    ApiToken,
    Delegated,
    Delegation,
    Principal,
    StoredSession,
    User,
)


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
