"""Who is asking: API tokens, OIDC tokens, and the web sign-in's session cookie with CSRF.

The API's `principal` dependency calls `Authenticator.authenticate`, which tries in turn:

1. `Authorization: Bearer rat_...`: an API token (`Directory.authenticate_token`; made and
   revoked by admins with `ratify tokens`, only its SHA-256 stored).
2. Any other bearer value, when OIDC is configured: a JWT from the provider, checked by
   `OidcVerifier` (issuer, audience, JWKS signature, expiry), naming a user id that must be
   an active Ratify user (`Directory.principal_for`). Roles always come from Ratify, never
   from the token.
3. The `ratify_session` cookie set by `POST /session` (user id and password): signed with
   `RATIFY_SESSION_SECRET` (itsdangerous, timed), holding the user id and the session's
   CSRF token, valid for `RATIFY_SESSION_MAX_AGE` seconds. The cookie is HttpOnly,
   SameSite=Lax and Secure (unless `RATIFY_INSECURE_COOKIES`). A cookie-signed-in POST,
   PUT, PATCH or DELETE must carry the CSRF token in the `X-CSRF-Token` header or a
   `csrf_token` field of a urlencoded form; bearer requests need none (a browser never
   adds an Authorization header on its own).

The user is looked up on every request, so deactivating someone ends their sessions and
tokens at once. Every refusal is an `AuthRefusal` (401 `unauthenticated`, 403 `csrf`, 422
`invalid`, 503 `oidc_unavailable`) whose message names the rule; the API turns it into its
`Refusal`, which logs refusals of state-changing requests.
"""

from __future__ import annotations

import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal
from urllib.parse import parse_qs

import sqlalchemy as sa
import structlog
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from fastapi import Request, Response
from fastapi.responses import JSONResponse
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from starlette.concurrency import run_in_threadpool

from ratify.api.oidc import OidcError, OidcUnavailable, OidcVerifier
from ratify.identity.service import (
    MAX_PASSWORD_LENGTH,
    TOKEN_PREFIX,
    Directory,
    Principal,
    UnknownUser,
)
from ratify.identity.tables import users
from ratify.settings import Settings, load_settings

log = structlog.get_logger("ratify.auth")

SESSION_COOKIE = "ratify_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
#: Methods that change state: a cookie-signed-in request with one needs the CSRF token.
STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
DEFAULT_SESSION_MAX_AGE = 8 * 3600

#: One answer for an unknown user, a wrong password and a user without a password, so the
#: sign-in does not tell which user ids exist.
WRONG_CREDENTIALS = "user id or password is wrong"

_SALT = "ratify.session.v1"
_FORM = "application/x-www-form-urlencoded"

#: The request body of `POST /session`, for the OpenAPI document.
SIGN_IN_OPENAPI: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            media: {
                "schema": {
                    "type": "object",
                    "required": ["user_id", "password"],
                    "properties": {
                        "user_id": {"type": "string", "example": "ollie.lane"},
                        "password": {"type": "string", "format": "password"},
                    },
                }
            }
            for media in ("application/json", _FORM)
        },
    }
}

Method = Literal["token", "oidc", "session"]


class AuthRefusal(Exception):
    """A refused sign-in: the HTTP status, a code, and a message naming the rule."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _unauthenticated(message: str) -> AuthRefusal:
    return AuthRefusal(401, "unauthenticated", message)


@dataclass(frozen=True)
class Session:
    """What the session cookie holds, once its signature and age are checked."""

    user_id: str
    csrf_token: str
    issued_at: datetime
    expires_at: datetime


@dataclass(frozen=True)
class Authenticated:
    """A signed-in principal, how they signed in, and their session if by cookie."""

    principal: Principal
    method: Method
    session: Session | None = None


class Authenticator:
    """Signs people in (tokens, OIDC, sessions) and checks CSRF; see the module docstring."""

    def __init__(
        self,
        *,
        session_secret: str | None = None,
        session_max_age: int = DEFAULT_SESSION_MAX_AGE,
        secure_cookies: bool = True,
        oidc: OidcVerifier | None = None,
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
        self.oidc = oidc
        self._hasher = PasswordHasher()

    @classmethod
    def from_settings(cls, settings: Settings) -> Authenticator:
        """The authenticator the settings describe (OIDC on when the issuer is set)."""
        oidc = None
        if settings.oidc_issuer and settings.oidc_bearer:
            oidc = OidcVerifier(
                settings.oidc_issuer,
                settings.oidc_audience or "",
                settings.oidc_jwks_url or "",
                user_claim=settings.oidc_user_claim,
                leeway=settings.oidc_leeway,
            )
        secret = settings.session_secret
        return cls(
            session_secret=secret.get_secret_value() if secret is not None else None,
            session_max_age=settings.session_max_age,
            secure_cookies=settings.secure_cookies,
            oidc=oidc,
        )

    # -- sessions -----------------------------------------------------------------------------

    def issue_session(self, user_id: str) -> tuple[str, Session]:
        """A new session for `user_id`: (the signed cookie value, the session)."""
        csrf_token = secrets.token_urlsafe(32)
        value = self._serializer.dumps({"u": user_id, "c": csrf_token})
        return value, self.read_session(value)

    def read_session(self, value: str) -> Session:
        """The session a cookie holds; `AuthRefusal` (401) if altered, foreign or expired."""
        try:
            payload, signed_at = self._serializer.loads(
                value, max_age=self.session_max_age, return_timestamp=True
            )
        except SignatureExpired:
            hours = self.session_max_age / 3600
            raise _unauthenticated(
                f"the session has expired (a session lasts {hours:g} hours): sign in again "
                "at POST /session"
            ) from None
        except BadSignature:
            raise _unauthenticated(
                "the session cookie is not valid (altered, or signed by another secret): "
                "sign in again at POST /session"
            ) from None
        if (
            not isinstance(payload, dict)
            or not isinstance(payload.get("u"), str)
            or not isinstance(payload.get("c"), str)
        ):
            raise _unauthenticated("the session cookie is not valid: sign in again")
        issued_at = signed_at.astimezone(UTC)
        return Session(
            user_id=payload["u"],
            csrf_token=payload["c"],
            issued_at=issued_at,
            expires_at=issued_at + timedelta(seconds=self.session_max_age),
        )

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

    # -- who is asking ------------------------------------------------------------------------

    async def authenticate(
        self, request: Request, directory: Directory, authorization: str | None
    ) -> Authenticated:
        """The signed-in principal of a request, CSRF checked; else `AuthRefusal`."""
        found = await run_in_threadpool(
            self.identify, directory, authorization, request.cookies.get(SESSION_COOKIE)
        )
        if found.session is not None and request.method.upper() in STATE_CHANGING:
            await self.check_csrf(request, found.session)
        return found

    def identify(
        self, directory: Directory, authorization: str | None, cookie: str | None
    ) -> Authenticated:
        """Who a bearer token or session cookie signs in (no CSRF check). Blocking: it reads
        the database and may fetch the JWKS."""
        if authorization:
            scheme, _, value = authorization.strip().partition(" ")
            value = value.strip()
            if scheme.lower() != "bearer" or not value:
                raise _unauthenticated(
                    "sign in: send 'Authorization: Bearer <token>' (an API token or, where "
                    "configured, an OIDC token), or the session cookie from POST /session"
                )
            return self._bearer(directory, value)
        if cookie:
            session = self.read_session(cookie)
            found = directory.principal_for(session.user_id)
            if found is None:
                raise _unauthenticated(
                    f"the session's user {session.user_id} is no longer an active Ratify "
                    "user: an admin must reactivate them"
                )
            return Authenticated(found, "session", session)
        raise _unauthenticated(
            "sign in: send 'Authorization: Bearer <token>', or sign in at POST /session "
            "for a session cookie"
        )

    def _bearer(self, directory: Directory, value: str) -> Authenticated:
        if value.startswith(f"{TOKEN_PREFIX}_"):
            found = directory.authenticate_token(value, datetime.now(UTC))
            if found is None:
                raise _unauthenticated("the token is unknown, revoked or expired")
            return Authenticated(found, "token")
        if self.oidc is None:
            raise _unauthenticated(
                f"the bearer token is not a Ratify API token ({TOKEN_PREFIX}_...) and OIDC "
                "sign-in is off (RATIFY_OIDC_ISSUER is unset)"
            )
        try:
            user_id = self.oidc.verify(value)
        except OidcUnavailable as exc:
            raise AuthRefusal(503, "oidc_unavailable", f"OIDC: {exc}") from None
        except OidcError as exc:
            raise _unauthenticated(f"OIDC: {exc}") from None
        found = directory.principal_for(user_id)
        if found is None:
            raise _unauthenticated(
                f"OIDC: the token's {self.oidc.user_claim} {user_id!r} is not an active "
                "Ratify user: a person signs in with OIDC only once an admin has added them "
                "to Ratify with their roles (roles come from Ratify, never from the token)"
            )
        return Authenticated(found, "oidc")

    async def check_csrf(self, request: Request, session: Session) -> None:
        """Refuse (403 `csrf`) unless the request carries the session's CSRF token."""
        sent = request.headers.get(CSRF_HEADER)
        if sent is None and _media_type(request) == _FORM:
            fields = parse_qs((await request.body()).decode("utf-8", "replace"))
            values = fields.get(CSRF_FIELD)
            sent = values[0] if values else None
        if not sent:
            raise AuthRefusal(
                403,
                "csrf",
                f"csrf: a {request.method} signed in with the session cookie must carry the "
                f"session's CSRF token in the {CSRF_HEADER} header or the {CSRF_FIELD} form "
                "field (POST /session and GET /session return it)",
            )
        if not hmac.compare_digest(sent.encode(), session.csrf_token.encode()):
            raise AuthRefusal(
                403,
                "csrf",
                "csrf: the CSRF token sent is not this session's (sign in again, or read it "
                "from GET /session)",
            )

    # -- signing in and out -------------------------------------------------------------------

    def check_password(self, directory: Directory, user_id: str, password: str) -> Principal:
        """The principal a user id and password sign in; else `AuthRefusal` (401). Blocking."""
        if len(password) > MAX_PASSWORD_LENGTH:
            raise AuthRefusal(
                422, "invalid", f"password: must be at most {MAX_PASSWORD_LENGTH} characters"
            )
        try:
            user = directory.get_user(user_id)
        except UnknownUser:
            user = None
        if user is not None and not user.active and user.has_password:
            # Say the account is deactivated only to someone who knows its password.
            if self._stored_password_matches(directory, user_id, password):
                raise _unauthenticated(
                    f"user {user_id} is deactivated: an admin must reactivate them"
                )
            raise _unauthenticated(WRONG_CREDENTIALS)
        found = directory.verify_password(user_id, password)
        if found is None:
            raise _unauthenticated(WRONG_CREDENTIALS)
        return found

    def _stored_password_matches(self, directory: Directory, user_id: str, password: str) -> bool:
        with directory.engine.connect() as conn:
            stored = conn.execute(
                sa.select(users.c.password_hash).where(users.c.id == user_id)
            ).scalar()
        if stored is None:
            return False
        try:
            return bool(self._hasher.verify(stored, password))
        except (VerificationError, InvalidHashError):
            return False

    async def sign_in(self, request: Request, directory: Directory) -> Response:
        """`POST /session`: check the user id and password (JSON or a urlencoded form), set
        the session cookie, and answer who signed in with the session's CSRF token."""
        user_id, password = await _credentials(request)
        try:
            found = await run_in_threadpool(self.check_password, directory, user_id, password)
        except AuthRefusal as exc:
            client = request.client.host if request.client else None
            log.info("sign_in_refused", user_id=user_id, client=client, reason=exc.message)
            raise
        value, session = self.issue_session(found.user_id)
        response = JSONResponse(whoami(Authenticated(found, "session", session)))
        response.headers["Cache-Control"] = "no-store"
        self.set_session_cookie(response, value)
        log.info("signed_in", user_id=found.user_id)
        return response

    async def sign_out(self, request: Request) -> Response:
        """`DELETE /session`: clear the cookie. A valid session must send its CSRF token (a
        missing, expired or foreign cookie is cleared without one)."""
        cookie = request.cookies.get(SESSION_COOKIE)
        session = None
        if cookie:
            try:
                session = self.read_session(cookie)
            except AuthRefusal:
                session = None
        if session is not None:
            await self.check_csrf(request, session)
            log.info("signed_out", user_id=session.user_id)
        response = Response(status_code=204)
        self.clear_session_cookie(response)
        return response


def whoami(found: Authenticated, today: date | None = None) -> dict[str, Any]:
    """Who is signed in, the roles they hold today (own, then delegated), how they signed
    in, and for a session its CSRF token and expiry."""
    held = found.principal.roles_today(today)
    ordered = sorted(held, key=lambda pair: (pair[1] is not None, pair[1] or "", pair[0].value))
    session = found.session
    return {
        "user": {"id": found.principal.user_id, "name": found.principal.name},
        "roles": [{"role": role.value, "on_behalf_of": giver} for role, giver in ordered],
        "signed_in_with": found.method,
        "csrf_token": session.csrf_token if session is not None else None,
        "session_expires_at": session.expires_at.isoformat() if session is not None else None,
    }


def default_authenticator() -> Authenticator:
    """The authenticator of the environment's settings (`RATIFY_SESSION_*`, `RATIFY_OIDC_*`)."""
    return Authenticator.from_settings(load_settings())


def _media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


async def _credentials(request: Request) -> tuple[str, str]:
    media = _media_type(request)
    body = await request.body()
    data: Any
    if media == "application/json":
        try:
            data = json.loads(body)
        except ValueError:
            raise AuthRefusal(422, "invalid", "body: not valid JSON") from None
    elif media == _FORM:
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise AuthRefusal(422, "invalid", "body: a form must be UTF-8") from None
        data = {k: v[0] for k, v in parse_qs(text, keep_blank_values=True).items()}
    else:
        raise AuthRefusal(
            422,
            "invalid",
            f"body: send user_id and password as JSON (application/json) or a form ({_FORM})",
        )
    if not isinstance(data, dict):
        raise AuthRefusal(422, "invalid", "body: an object with user_id and password")
    missing = [f for f in ("user_id", "password") if not isinstance(data.get(f), str)]
    missing += [f for f in ("user_id", "password") if f not in missing and not data[f]]
    if missing:
        raise AuthRefusal(422, "invalid", f"{', '.join(missing)}: required")
    return data["user_id"], data["password"]
