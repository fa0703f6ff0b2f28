"""Password sign-in (`POST /session`, the web form, the change-password page), throttled.

Per client address (`limits`, a moving window in this process), per user id tried (in the
database: a growing delay, then a temporary lockout), and at most
`RATIFY_PASSWORD_HASH_CONCURRENCY` argon2 hashes run at once, off the event loop. A sign-in
another site's page sends (login CSRF: `Origin` or `Sec-Fetch-Site` naming another site) is
refused. `PasswordSignIn` is the part of `Authenticator` (`ratify.http.auth`) that does this.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import parse_qs, urlsplit

from fastapi import Request
from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from starlette.concurrency import run_in_threadpool

from ratify.http.refusal import AuthRefusal, unauthenticated
from ratify.http.sessions import FORM, media_type
from ratify.services.identity.directory import Directory
from ratify.services.identity.errors import SignInThrottled, UnknownUser
from ratify.services.identity.rules import MAX_PASSWORD_LENGTH
from ratify.services.identity.signin import SignInPolicy
from ratify.services.identity.values import Principal

DEFAULT_ADDRESS_LIMIT = "20/minute"
#: The longest user id (`users.id` is 200 characters).
MAX_USER_ID_LENGTH = 200

#: One answer for an unknown user, a wrong password and a user without a password, so the
#: sign-in does not tell which user ids exist.
WRONG_CREDENTIALS = "user id or password is wrong"

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
            for media in ("application/json", FORM)
        },
    }
}


class PasswordSignIn:
    """Checks user ids and passwords, throttled (see the module docstring)."""

    def __init__(
        self,
        *,
        policy: SignInPolicy | None = None,
        address_limit: str = DEFAULT_ADDRESS_LIMIT,
        hash_concurrency: int = 4,
        hash_wait_seconds: float = 5.0,
    ) -> None:
        self.policy = policy or SignInPolicy()
        self.address_limits: list[RateLimitItem] = parse_many(address_limit)
        self._address_limiter = MovingWindowRateLimiter(MemoryStorage())
        self.hash_concurrency = hash_concurrency
        self.hash_wait_seconds = hash_wait_seconds
        self._hash_slots: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, asyncio.Semaphore
        ] = weakref.WeakKeyDictionary()

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
                raise unauthenticated(
                    f"user {user_id} is deactivated: an admin must reactivate them"
                )
            raise unauthenticated(WRONG_CREDENTIALS)
        found = directory.verify_password(user_id, password)
        if found is None:
            raise unauthenticated(WRONG_CREDENTIALS)
        directory.sign_in_succeeded(user_id)
        return found


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


async def read_credentials(request: Request) -> tuple[str, str]:
    """(user id, password) of a `POST /session` body, JSON or a urlencoded form; else
    `AuthRefusal` (400 `malformed`, 422 `invalid`)."""
    media = media_type(request)
    body = await request.body()
    data: Any
    if media == "application/json":
        try:
            data = json.loads(body)
        except ValueError as exc:  # the same 400 as every JSON body (`ratify.http.limits`)
            reason = exc.msg if isinstance(exc, json.JSONDecodeError) else "not valid JSON"
            raise AuthRefusal("malformed", f"body: not valid JSON ({reason})") from None
    elif media == FORM:
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise AuthRefusal("invalid", "body: a form must be UTF-8") from None
        data = {k: v[0] for k, v in parse_qs(text, keep_blank_values=True).items()}
    else:
        raise AuthRefusal(
            "invalid",
            f"body: send user_id and password as JSON (application/json) or a form ({FORM})",
        )
    if not isinstance(data, dict):
        raise AuthRefusal("invalid", "body: an object with user_id and password")
    missing = [f for f in ("user_id", "password") if not isinstance(data.get(f), str)]
    missing += [f for f in ("user_id", "password") if f not in missing and not data[f]]
    if missing:
        raise AuthRefusal("invalid", f"{', '.join(missing)}: required")
    return data["user_id"], data["password"]
