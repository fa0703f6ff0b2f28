"""The web sign-in's session: the signed `ratify_session` cookie, the stored session it
names, and the CSRF token a cookie-signed-in request that changes state must carry.

The cookie is signed with `RATIFY_SESSION_SECRET` (itsdangerous, timed) and holds the secret
of a session kept in the database (`sessions`, found by the secret's SHA-256) and the
session's CSRF token. Signing out, a password change, deactivation and an admin's `ratify
users end-sessions` end the session at once, wherever the cookie was copied. The cookie is
HttpOnly, SameSite=Lax and Secure (unless `RATIFY_INSECURE_COOKIES`). A cookie-signed-in
POST, PUT, PATCH or DELETE must carry the CSRF token in the `X-CSRF-Token` header or a
`csrf_token` field of a urlencoded form. `SessionKeeper` is the part of `Authenticator`
(`ratify.http.auth`) that does this.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs

import structlog
from fastapi import Request, Response
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from starlette.concurrency import run_in_threadpool

from ratify.http.refusal import AuthRefusal, unauthenticated
from ratify.services.identity.directory import Directory

log = structlog.get_logger("ratify.auth")

SESSION_COOKIE = "ratify_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
#: Methods that change state: a cookie-signed-in request with one needs the CSRF token.
STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
DEFAULT_SESSION_MAX_AGE = 8 * 3600

#: What the refusal of an ended session says happened, by `sessions.end_reason`.
ENDED_BECAUSE = {
    "signed_out": "you signed out",
    "replaced": "a newer sign-in in the same browser replaced it",
    "password_changed": "the password was changed",
    "deactivated": "the user was deactivated",
    "ended_by_admin": "an administrator ended the user's sessions",
}

_SALT = "ratify.session.v1"
FORM = "application/x-www-form-urlencoded"


@dataclass(frozen=True)
class Session:
    """A live session: the stored session a cookie names, with the cookie's CSRF token."""

    user_id: str
    csrf_token: str
    issued_at: datetime
    expires_at: datetime
    #: The stored session's id (the SHA-256 of the secret the cookie carries).
    session_id: str


class SessionKeeper:
    """Sessions and their cookies, and the CSRF check (see the module docstring)."""

    def __init__(
        self,
        *,
        session_secret: str | None = None,
        session_max_age: int = DEFAULT_SESSION_MAX_AGE,
        secure_cookies: bool = True,
        directory: Directory | None = None,
    ) -> None:
        if session_secret is None:
            session_secret = secrets.token_urlsafe(48)
            log.warning(
                "session_secret_unset",
                detail="RATIFY_SESSION_SECRET is unset: a random secret was made, so web "
                "sessions will not survive a restart and other API processes will not "
                "accept them",
            )
        self._serializer = URLSafeTimedSerializer(session_secret, salt=_SALT)
        self.session_max_age = session_max_age
        self.secure_cookies = secure_cookies
        self.directory = directory

    def bind(self, directory: Directory) -> None:
        """Use `directory` for sessions when a call names none (`Services` binds its own)."""
        if self.directory is None:
            self.directory = directory

    def _directory(self, directory: Directory | None) -> Directory:
        found = directory or self.directory
        if found is None:
            raise RuntimeError("Authenticator: no directory for sessions (call bind first)")
        return found

    # -- sessions -----------------------------------------------------------------------------

    def issue_session(
        self, user_id: str, directory: Directory | None = None
    ) -> tuple[str, Session]:
        """A new session for `user_id`, stored in the database: (the signed cookie value,
        the session). Blocking (one write); `directory` defaults to the bound one."""
        secret, stored = self._directory(directory).create_session(
            user_id, timedelta(seconds=self.session_max_age)
        )
        csrf_token = secrets.token_urlsafe(32)
        value = self._serializer.dumps({"s": secret, "c": csrf_token})
        session = Session(
            user_id=stored.user_id,
            csrf_token=csrf_token,
            issued_at=stored.created_at,
            expires_at=stored.expires_at,
            session_id=stored.id,
        )
        return value, session

    def read_cookie(self, value: str) -> tuple[str, str]:
        """(session secret, CSRF token) of a cookie; `AuthRefusal` (401) if it is altered,
        foreign or older than the session's lifetime. Says nothing of the stored session."""
        try:
            payload = self._serializer.loads(value, max_age=self.session_max_age)
        except SignatureExpired:
            raise unauthenticated(self._expired()) from None
        except BadSignature:
            raise unauthenticated(
                "the session cookie is not valid (altered, or signed by another secret): "
                "sign in again at POST /session"
            ) from None
        if (
            not isinstance(payload, dict)
            or not isinstance(payload.get("s"), str)
            or not isinstance(payload.get("c"), str)
        ):
            raise unauthenticated("the session cookie is not valid: sign in again")
        return payload["s"], payload["c"]

    def _expired(self) -> str:
        hours = self.session_max_age / 3600
        return (
            f"the session has expired (a session lasts {hours:g} hours): sign in again at "
            "POST /session"
        )

    def read_session(
        self, value: str, directory: Directory | None = None, now: datetime | None = None
    ) -> Session:
        """The live session a cookie names; `AuthRefusal` (401) if the cookie is altered or
        foreign, or the session unknown, ended or expired. Blocking (reads the database)."""
        secret, csrf_token = self.read_cookie(value)
        at = now or datetime.now(UTC)
        stored = self._directory(directory).find_session(secret, at)
        if stored is None:
            raise unauthenticated("the session is unknown to Ratify: sign in again")
        if stored.ended_at is not None:
            because = ENDED_BECAUSE.get(stored.end_reason or "", "it was ended")
            raise unauthenticated(
                f"the session has ended ({because}, at "
                f"{stored.ended_at.isoformat(timespec='seconds')}): sign in again"
            )
        if at >= stored.expires_at:
            raise unauthenticated(self._expired())
        return Session(
            user_id=stored.user_id,
            csrf_token=csrf_token,
            issued_at=stored.created_at,
            expires_at=stored.expires_at,
            session_id=stored.id,
        )

    def end_cookie_session(
        self, value: str | None, directory: Directory | None = None, reason: str = "signed_out"
    ) -> Session | None:
        """End the live session a cookie names (if any); the session it was. Blocking."""
        if not value:
            return None
        try:
            session = self.read_session(value, directory)
        except AuthRefusal:
            return None
        self._directory(directory).end_session(session.session_id, reason)
        return session

    def set_session_cookie(self, response: Response, value: str) -> None:
        """Set the session cookie: HttpOnly, SameSite=Lax, Secure unless configured off."""
        response.set_cookie(
            SESSION_COOKIE,
            value,
            max_age=self.session_max_age,
            path="/",
            secure=self.secure_cookies,
            httponly=True,
            samesite="lax",
        )

    def clear_session_cookie(self, response: Response) -> None:
        response.delete_cookie(
            SESSION_COOKIE,
            path="/",
            secure=self.secure_cookies,
            httponly=True,
            samesite="lax",
        )

    async def check_csrf(self, request: Request, session: Session) -> None:
        """Refuse (403 `csrf`) unless the request carries the session's CSRF token."""
        sent = request.headers.get(CSRF_HEADER)
        if sent is None and media_type(request) == FORM:
            fields = parse_qs((await request.body()).decode("utf-8", "replace"))
            values = fields.get(CSRF_FIELD)
            sent = values[0] if values else None
        if not sent:
            raise AuthRefusal(
                "csrf",
                f"csrf: a {request.method} signed in with the session cookie must carry the "
                f"session's CSRF token in the {CSRF_HEADER} header or the {CSRF_FIELD} form "
                "field (POST /session and GET /session return it)",
            )
        if not hmac.compare_digest(sent.encode(), session.csrf_token.encode()):
            raise AuthRefusal(
                "csrf",
                "csrf: the CSRF token sent is not this session's (sign in again, or read it "
                "from GET /session)",
            )

    async def start_session(
        self, request: Request, user_id: str, directory: Directory
    ) -> tuple[str, Session]:
        """A new session for `user_id` once they proved who they are (password or their
        organisation's sign-in), ending the one this browser held: (cookie value, session)."""
        previous = request.cookies.get(SESSION_COOKIE)
        return await run_in_threadpool(self._replace_session, user_id, previous, directory)

    def _replace_session(
        self, user_id: str, previous: str | None, directory: Directory
    ) -> tuple[str, Session]:
        self.end_cookie_session(previous, directory, "replaced")
        return self.issue_session(user_id, directory)

    async def sign_out(self, request: Request, directory: Directory | None = None) -> Response:
        """`DELETE /session`: end the session in the database and clear the cookie. A live
        session must send its CSRF token (a missing, ended or foreign cookie is cleared
        without one)."""
        cookie = request.cookies.get(SESSION_COOKIE)
        session = None
        if cookie:
            try:
                session = await run_in_threadpool(self.read_session, cookie, directory)
            except AuthRefusal:
                session = None
        if session is not None:
            await self.check_csrf(request, session)
            await run_in_threadpool(
                self._directory(directory).end_session, session.session_id, "signed_out"
            )
            log.info("signed_out", user_id=session.user_id)
        response = Response(status_code=204)
        self.clear_session_cookie(response)
        return response


def media_type(request: Request) -> str:
    """The request body's media type, lower case, without parameters (`; charset=...`)."""
    return request.headers.get("content-type", "").split(";")[0].strip().lower()
