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

Where each part lives: the cookie, the stored session and CSRF in `ratify.http.sessions`
(`SessionKeeper`); password sign-in and its throttles in `ratify.http.passwords`
(`PasswordSignIn`); `AuthRefusal` in `ratify.http.refusal`; here the bearer tokens (API
tokens, OIDC through `ratify.http.oidc`), `POST /session`, and `Authenticator`, all of them
in the one object `HttpServices.auth` holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Literal

import structlog
from fastapi import Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from ratify.http.oidc import OidcError, OidcUnavailable, OidcVerifier
from ratify.http.passwords import DEFAULT_ADDRESS_LIMIT, PasswordSignIn, read_credentials
from ratify.http.refusal import AuthRefusal, unauthenticated
from ratify.http.sessions import (
    DEFAULT_SESSION_MAX_AGE,
    SESSION_COOKIE,
    STATE_CHANGING,
    Session,
    SessionKeeper,
)
from ratify.infra.settings import Settings, load_settings
from ratify.services.identity.directory import Directory
from ratify.services.identity.rules import TOKEN_PREFIX
from ratify.services.identity.signin import SignInPolicy
from ratify.services.identity.values import Principal

log = structlog.get_logger("ratify.auth")

Method = Literal["token", "oidc", "session"]


@dataclass(frozen=True)
class Authenticated:
    """A signed-in principal, how they signed in, and their session if by cookie."""

    principal: Principal
    method: Method
    session: Session | None = None


class Authenticator(SessionKeeper, PasswordSignIn):
    """Signs people in (tokens, OIDC, sessions, passwords) and checks CSRF: the sessions of
    `SessionKeeper`, the throttled password checks of `PasswordSignIn`, and the bearer
    tokens here; see the module docstring."""

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
        SessionKeeper.__init__(
            self,
            session_secret=session_secret,
            session_max_age=session_max_age,
            secure_cookies=secure_cookies,
            directory=directory,
        )
        PasswordSignIn.__init__(
            self,
            policy=policy,
            address_limit=address_limit,
            hash_concurrency=hash_concurrency,
            hash_wait_seconds=hash_wait_seconds,
        )
        self.oidc = oidc

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
                raise unauthenticated(
                    "sign in: send 'Authorization: Bearer <token>' (an API token or, where "
                    "configured, an OIDC token), or the session cookie from POST /session"
                )
            return self._bearer(directory, value)
        if cookie:
            session = self.read_session(cookie, directory)
            found = directory.principal_for(session.user_id)
            if found is None:
                raise unauthenticated(
                    f"the session's user {session.user_id} is no longer an active Ratify "
                    "user: an admin must reactivate them"
                )
            return Authenticated(found, "session", session)
        raise unauthenticated(
            "sign in: send 'Authorization: Bearer <token>', or sign in at POST /session "
            "for a session cookie"
        )

    def _bearer(self, directory: Directory, value: str) -> Authenticated:
        if value.startswith(f"{TOKEN_PREFIX}_"):
            found = directory.authenticate_token(value, datetime.now(UTC))
            if found is None:
                raise unauthenticated("the token is unknown, revoked or expired")
            return Authenticated(found, "token")
        if self.oidc is None:
            raise unauthenticated(
                f"the bearer token is not a Ratify API token ({TOKEN_PREFIX}_...) and OIDC "
                "sign-in is off (RATIFY_OIDC_ISSUER is unset)"
            )
        try:
            user_id = self.oidc.verify(value)
        except OidcUnavailable as exc:
            raise AuthRefusal("oidc_unavailable", f"OIDC: {exc}") from None
        except OidcError as exc:
            raise unauthenticated(f"OIDC: {exc}") from None
        found = directory.principal_for(user_id)
        if found is None:
            raise unauthenticated(
                f"OIDC: the token's {self.oidc.user_claim} {user_id!r} is not an active "
                "Ratify user: a person signs in with OIDC only once an admin has added them "
                "to Ratify with their roles (roles come from Ratify, never from the token)"
            )
        return Authenticated(found, "oidc")

    async def sign_in(self, request: Request, directory: Directory) -> Response:
        """`POST /session`: check the user id and password (JSON or a urlencoded form), set
        the session cookie, and answer who signed in with the session's CSRF token."""
        client = request.client.host if request.client else None
        self.check_sign_in_origin(request)
        user_id, password = await read_credentials(request)
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
