"""Web sessions: rows of `sessions`, found by the SHA-256 of the secret their cookie carries.

Signing out ends one; a password change (by the user or an admin), deactivation and
`end_sessions` end all of a user's at once.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa

from ratify.services.identity.base import DirectoryBase
from ratify.services.identity.errors import InvalidInput
from ratify.services.identity.rows import (
    _check_reason,
    _end_sessions,
    _load_session,
    _load_user,
    _require_user,
    _session,
)
from ratify.services.identity.rules import LAST_USED_RESOLUTION, SESSION_ROWS_KEPT, hash_token
from ratify.services.identity.tables import sessions
from ratify.services.identity.values import StoredSession


class SessionDirectory(DirectoryBase):
    """The web sessions part of a `Directory`."""

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
