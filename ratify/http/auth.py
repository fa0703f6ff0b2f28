"""Who is asking: API tokens, OIDC tokens, and the web sign-in's session cookie with CSRF.

The API's `principal` dependency calls `Authenticator.authenticate`, which tries in turn:

1. `Authorization: Bearer rat_...`: an API token (`Directory.authenticate_token`; made and
   revoked by admins with `ratify tokens`, only its SHA-256 stored).
2. Any other bearer value, when OIDC is configured: a JWT from the provider, checked by
   `OidcVerifier` (issuer, audience, JWKS signature, expiry), naming a user id that must be
   an active Ratify user (`Directory.principal_for`). Roles always come from Ratify, never
   from the token.
3. The `ratify_session` cookie set by `POST /session` (user id and password) or the web
   sign-in: signed with `RATIFY_SESSION_SECRET` (itsdangerous, timed), holding the secret
   of a session kept in the database (`sessions`, found by the secret's SHA-256) and the
   session's CSRF token. Signing out, a password change, deactivation and an admin's
   `ratify users end-sessions` end the session at once, wherever the cookie was copied.
   The cookie is HttpOnly, SameSite=Lax and Secure (unless `RATIFY_INSECURE_COOKIES`). A
   cookie-signed-in POST, PUT, PATCH or DELETE must carry the CSRF token in the
   `X-CSRF-Token` header or a `csrf_token` field of a urlencoded form; bearer requests
   need none (a browser never adds an Authorization header on its own).

Password sign-in (`POST /session`, the web form, the change-password page) is throttled:
per client address (`limits`, a moving window in this process), per user id tried (in the
database: a growing delay, then a temporary lockout), and at most
`RATIFY_PASSWORD_HASH_CONCURRENCY` argon2 hashes run at once, off the event loop.
`POST /session` refuses a sign-in another site's page sends (login CSRF: `Origin` or
`Sec-Fetch-Site` naming another site).

The user is looked up on every request, so deactivating someone ends their sessions and
tokens at once. Every refusal is an `AuthRefusal` (401 `unauthenticated`, 403 `csrf`, 422
`invalid`, 429 `throttled`, 503 `busy` or `oidc_unavailable`) whose message names the
rule; the API turns it into its `Refusal`, which logs refusals of state-changing requests.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import math
import secrets
import time
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

import structlog
from fastapi import Request, Response
from fastapi.responses import JSONResponse
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from starlette.concurrency import run_in_threadpool

from ratify.http.oidc import OidcError, OidcUnavailable, OidcVerifier
from ratify.infra.settings import Settings, load_settings
from ratify.services.identity.directory import Directory
from ratify.services.identity.errors import SignInThrottled, UnknownUser
from ratify.services.identity.rules import MAX_PASSWORD_LENGTH, TOKEN_PREFIX
from ratify.services.identity.signin import SignInPolicy
from ratify.services.identity.values import Principal

log = structlog.get_logger("ratify.auth")

SESSION_COOKIE = "ratify_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
#: Methods that change state: a cookie-signed-in request with one needs the CSRF token.
STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
DEFAULT_SESSION_MAX_AGE = 8 * 3600
DEFAULT_ADDRESS_LIMIT = "20/minute"
#: The longest user id (`users.id` is 200 characters).
MAX_USER_ID_LENGTH = 200

#: What the refusal of an ended session says happened, by `sessions.end_reason`.
ENDED_BECAUSE = {
    "signed_out": "you signed out",
    "replaced": "a newer sign-in in the same browser replaced it",
    "password_changed": "the password was changed",
    "deactivated": "the user was deactivated",
    "ended_by_admin": "an administrator ended the user's sessions",
}

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
    """A refused sign-in: a code (its HTTP status: `ratify.http.errors.status_of`) and a
    message naming the rule; with `retry_after` (seconds) when waiting helps (429, 503)."""

    def __init__(self, code: str, message: str, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.code, self.message = code, message
        self.retry_after = retry_after

    @property
    def headers(self) -> dict[str, str] | None:
        """The response headers the refusal needs (`Retry-After`), if any."""
        return {"Retry-After": str(self.retry_after)} if self.retry_after is not None else None


def _unauthenticated(message: str) -> AuthRefusal:
    return AuthRefusal("unauthenticated", message)


@dataclass(frozen=True)
class Session:
    """A live session: the stored session a cookie names, with the cookie's CSRF token."""

    user_id: str
    csrf_token: str
    issued_at: datetime
    expires_at: datetime
    #: The stored session's id (the SHA-256 of the secret the cookie carries).
    session_id: str


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
        policy: SignInPolicy | None = None,
        address_limit: str = DEFAULT_ADDRESS_LIMIT,
        hash_concurrency: int = 4,
        hash_wait_seconds: float = 5.0,
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
        self.oidc = oidc
        self.policy = policy or SignInPolicy()
        self.address_limits: list[RateLimitItem] = parse_many(address_limit)
        self._address_limiter = MovingWindowRateLimiter(MemoryStorage())
        self.hash_concurrency = hash_concurrency
        self.hash_wait_seconds = hash_wait_seconds
        self._hash_slots: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, asyncio.Semaphore
        ] = weakref.WeakKeyDictionary()
        self.directory = directory

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
            policy=SignInPolicy(
                free_attempts=settings.sign_in_free_attempts,
                delay_seconds=settings.sign_in_delay_seconds,
                max_delay_seconds=settings.sign_in_max_delay_seconds,
                lockout_after=settings.sign_in_lockout_after,
                lockout_seconds=settings.sign_in_lockout_seconds,
            ),
            address_limit=settings.sign_in_address_limit,
            hash_concurrency=settings.password_hash_concurrency,
            hash_wait_seconds=settings.password_hash_wait_seconds,
        )

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
            raise _unauthenticated(self._expired()) from None
        except BadSignature:
            raise _unauthenticated(
                "the session cookie is not valid (altered, or signed by another secret): "
                "sign in again at POST /session"
            ) from None
        if (
            not isinstance(payload, dict)
            or not isinstance(payload.get("s"), str)
            or not isinstance(payload.get("c"), str)
        ):
            raise _unauthenticated("the session cookie is not valid: sign in again")
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
            raise _unauthenticated("the session is unknown to Ratify: sign in again")
        if stored.ended_at is not None:
            because = ENDED_BECAUSE.get(stored.end_reason or "", "it was ended")
            raise _unauthenticated(
                f"the session has ended ({because}, at "
                f"{stored.ended_at.isoformat(timespec='seconds')}): sign in again"
            )
        if at >= stored.expires_at:
            raise _unauthenticated(self._expired())
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
            session = self.read_session(cookie, directory)
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
            raise AuthRefusal("oidc_unavailable", f"OIDC: {exc}") from None
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

    # -- signing in and out -------------------------------------------------------------------

    def check_sign_in_origin(self, request: Request) -> None:
        """Refuse (403 `csrf`) a sign-in that a page of another site sent (login CSRF): one
        whose `Sec-Fetch-Site` is not same-origin (or none, typed by the person), or whose
        `Origin` is not this server. Scripts and the CLI send neither header."""
        fetch_site = request.headers.get("sec-fetch-site")
        reason = None
        if fetch_site is not None and fetch_site.strip().lower() not in ("same-origin", "none"):
            reason = f"Sec-Fetch-Site: {fetch_site[:40]}"
        origin = request.headers.get("origin")
        if reason is None and origin is not None and not _same_origin(origin, request):
            reason = f"Origin: {origin[:200]}"
        if reason is not None:
            raise AuthRefusal(
                "csrf",
                f"csrf: a sign-in sent by another site's page is refused ({reason}); sign in "
                "on Ratify's own page, /ui/sign-in, or from a script (which sends no Origin)",
            )

    async def check_sign_in(
        self, directory: Directory, user_id: str, password: str, client: str | None
    ) -> Principal:
        """The principal a user id and password sign in, throttled: per client address
        (429), per user id (429, growing delay then lockout), and waiting for a free
        password-hash slot (503 `busy` after `hash_wait_seconds`). Else `AuthRefusal`."""
        _bounded(user_id, password)
        address = client or "unknown"
        self._check_address(address)
        async with self.password_hash_slot():
            try:
                return await run_in_threadpool(self.check_password, directory, user_id, password)
            except AuthRefusal as exc:
                if exc.code == "unauthenticated":
                    for limit in self.address_limits:
                        self._address_limiter.hit(limit, "sign-in", address)
                raise

    def _check_address(self, address: str) -> None:
        for limit in self.address_limits:
            if not self._address_limiter.test(limit, "sign-in", address):
                stats = self._address_limiter.get_window_stats(limit, "sign-in", address)
                wait = max(1, math.ceil(stats.reset_time - time.time()))
                raise AuthRefusal(
                    "throttled",
                    f"too many failed sign-ins from this address ({address}): at most {limit} "
                    f"(RATIFY_SIGN_IN_ADDRESS_LIMIT); wait {wait} s",
                    retry_after=wait,
                )

    @asynccontextmanager
    async def password_hash_slot(self) -> AsyncIterator[None]:
        """A turn to hash a password: at most `hash_concurrency` at once in this process
        (argon2 takes 64 MiB each); 503 `busy` if none frees within `hash_wait_seconds`."""
        loop = asyncio.get_running_loop()
        slots = self._hash_slots.get(loop)
        if slots is None:
            slots = self._hash_slots[loop] = asyncio.Semaphore(self.hash_concurrency)
        try:
            await asyncio.wait_for(slots.acquire(), self.hash_wait_seconds)
        except TimeoutError:
            raise AuthRefusal(
                "busy",
                "busy: too many passwords are being checked at once; try again in a moment",
                retry_after=1,
            ) from None
        try:
            yield
        finally:
            slots.release()

    def check_password(self, directory: Directory, user_id: str, password: str) -> Principal:
        """The principal a user id and password sign in; else `AuthRefusal` (401, or 429 when
        the user id must wait or is locked). Counts the attempt per user id. Blocking; use
        `check_sign_in`, which also bounds the hashes running at once."""
        _bounded(user_id, password)
        try:
            directory.begin_sign_in(user_id, self.policy)
        except SignInThrottled as exc:
            raise AuthRefusal(
                "throttled", exc.message, retry_after=exc.retry_after_seconds
            ) from None
        try:
            user = directory.get_user(user_id)
        except UnknownUser:
            user = None
        if user is not None and not user.active and user.has_password:
            # Say the account is deactivated only to someone who knows its password.
            if directory.password_matches(user_id, password):
                raise _unauthenticated(
                    f"user {user_id} is deactivated: an admin must reactivate them"
                )
            raise _unauthenticated(WRONG_CREDENTIALS)
        found = directory.verify_password(user_id, password)
        if found is None:
            raise _unauthenticated(WRONG_CREDENTIALS)
        directory.sign_in_succeeded(user_id)
        return found

    async def sign_in(self, request: Request, directory: Directory) -> Response:
        """`POST /session`: check the user id and password (JSON or a urlencoded form), set
        the session cookie, and answer who signed in with the session's CSRF token."""
        client = request.client.host if request.client else None
        self.check_sign_in_origin(request)
        user_id, password = await _credentials(request)
        try:
            found = await self.check_sign_in(directory, user_id, password, client)
        except AuthRefusal as exc:
            log.info("sign_in_refused", user_id=user_id, client=client, reason=exc.message)
            raise
        value, session = await self.start_session(request, found.user_id, directory)
        response = JSONResponse(whoami(Authenticated(found, "session", session)))
        response.headers["Cache-Control"] = "no-store"
        self.set_session_cookie(response, value)
        log.info("signed_in", user_id=found.user_id)
        return response

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


def _bounded(user_id: str, password: str) -> None:
    """Refuse (422) a user id or password longer than any can be, before anything else."""
    if len(user_id) > MAX_USER_ID_LENGTH:
        raise AuthRefusal("invalid", f"user_id: must be at most {MAX_USER_ID_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise AuthRefusal("invalid", f"password: must be at most {MAX_PASSWORD_LENGTH} characters")


def _same_origin(origin: str, request: Request) -> bool:
    """True if `origin` (scheme://host[:port]) names the host the request was sent to."""
    try:
        parts = urlsplit(origin.strip())
        host = urlsplit(f"//{request.headers.get('host', '')}")
        default = {"https": 443, "http": 80}.get(parts.scheme)
        return (
            parts.scheme in ("http", "https")
            and parts.hostname is not None
            and parts.hostname == host.hostname
            and (parts.port or default) == (host.port or default)
        )
    except ValueError:  # a port that is not a number
        return False


def _media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


async def _credentials(request: Request) -> tuple[str, str]:
    media = _media_type(request)
    body = await request.body()
    data: Any
    if media == "application/json":
        try:
            data = json.loads(body)
        except ValueError as exc:  # the same 400 as every JSON body (`ratify.http.limits`)
            reason = exc.msg if isinstance(exc, json.JSONDecodeError) else "not valid JSON"
            raise AuthRefusal("malformed", f"body: not valid JSON ({reason})") from None
    elif media == _FORM:
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise AuthRefusal("invalid", "body: a form must be UTF-8") from None
        data = {k: v[0] for k, v in parse_qs(text, keep_blank_values=True).items()}
    else:
        raise AuthRefusal(
            "invalid",
            f"body: send user_id and password as JSON (application/json) or a form ({_FORM})",
        )
    if not isinstance(data, dict):
        raise AuthRefusal("invalid", "body: an object with user_id and password")
    missing = [f for f in ("user_id", "password") if not isinstance(data.get(f), str)]
    missing += [f for f in ("user_id", "password") if f not in missing and not data[f]]
    if missing:
        raise AuthRefusal("invalid", f"{', '.join(missing)}: required")
    return data["user_id"], data["password"]
