"""API tokens: `rat_<prefix>_<secret>`, of which only the SHA-256 of the whole is stored."""

from __future__ import annotations

import hmac
import secrets
from datetime import datetime

import sqlalchemy as sa

from ratify.services.identity.base import DirectoryBase
from ratify.services.identity.errors import InvalidInput
from ratify.services.identity.rows import (
    _load_principal,
    _load_token,
    _load_user,
    _require_user,
    _token,
)
from ratify.services.identity.rules import (
    _TOKEN,
    LAST_USED_RESOLUTION,
    TOKEN_PREFIX,
    _aware,
    _text,
    hash_token,
)
from ratify.services.identity.tables import api_tokens
from ratify.services.identity.values import ApiToken, Principal


class TokenDirectory(DirectoryBase):
    """The API tokens part of a `Directory`."""

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
