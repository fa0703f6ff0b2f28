"""Sign-in hardening over HTTP: sessions end at once wherever the cookie was copied; failed
passwords are throttled per user id and per client address; password hashes are bounded;
a sign-in another site's page sends is refused; answers that may carry Part 2 are no-store.
"""

from __future__ import annotations

import asyncio
import signal
import socket
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Literal

import httpx
import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher
from limits import parse_many
from pydantic import ValidationError

from ratify.http.auth import Authenticator
from ratify.http.passwords import WRONG_CREDENTIALS
from ratify.http.services import HttpServices
from ratify.http.sessions import SESSION_COOKIE
from ratify.infra.settings import Settings
from ratify.services.identity.signin import SignInPolicy
from ratify.services.identity.tables import sessions
from tests.api.conftest import Api
from tests.api.test_auth import cookie_attributes, sign_in, with_cookie

METTRACE = (Path(__file__).resolve().parents[2] / "examples" / "mettrace.yaml").read_text()
PASSWORD = "correct horse battery staple"
WRONG = "not the password at all"


def services(api: Api) -> HttpServices:
    found: HttpServices = api.app.state.services
    return found


def session_rows(api: Api) -> int:
    with api.directory.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(sessions)).scalar_one())


async def attempt(api: Api, user: str, password: str, **kw: Any) -> httpx.Response:
    return await api.http.post("/session", json={"user_id": user, "password": password}, **kw)


# -- server-side sessions ---------------------------------------------------------------------


async def test_a_copied_cookie_stops_working_at_once(api: Api):
    """After sign-out, a password change, an admin's end-sessions, and deactivation."""
    for user in ("fran.fin", "lee.legal", "eve.eq"):
        api.directory.set_password(user, PASSWORD)

    async def works(cookie: str) -> tuple[int, str]:
        r = await api.http.get("/tasks", headers=with_cookie(cookie))
        return r.status_code, r.json().get("detail", "") if r.status_code != 200 else ""

    # Signing out ends the session, not just the cookie in this browser.
    value, csrf = await sign_in(api, "fran.fin")
    copied = value
    assert (await works(copied))[0] == 200
    r = await api.http.delete("/session", headers=with_cookie(value, **{"X-CSRF-Token": csrf}))
    assert r.status_code == 204
    status, detail = await works(copied)
    assert status == 401 and "the session has ended (you signed out" in detail

    # A password change (here an admin's reset) ends every session of the user.
    laptop, _ = await sign_in(api, "lee.legal")
    phone, _ = await sign_in(api, "lee.legal")
    api.directory.set_password("lee.legal", "a brand new passphrase")
    for cookie in (laptop, phone):
        status, detail = await works(cookie)
        assert status == 401 and "the password was changed" in detail

    # An administrator ends them all (ratify users end-sessions).
    value, _ = await sign_in(api, "eve.eq")
    other, _ = await sign_in(api, "fran.fin")
    assert api.directory.end_sessions("eve.eq") == 1
    status, detail = await works(value)
    assert status == 401 and "an administrator ended" in detail
    assert (await works(other))[0] == 200  # someone else's session goes on

    # Signing in again in the same browser replaces the session it had.
    r = await api.http.post(
        "/session",
        json={"user_id": "fran.fin", "password": PASSWORD},
        headers=with_cookie(other),
    )
    assert r.status_code == 200
    status, detail = await works(other)
    assert status == 401 and "a newer sign-in in the same browser replaced it" in detail
    fresh, _ = cookie_attributes(r)
    assert (await works(fresh))[0] == 200


# -- throttling -------------------------------------------------------------------------------


async def test_failed_passwords_are_throttled_then_locked_per_user_id(api: Api):
    auth = services(api).auth
    api.directory.set_password("pat.pub", PASSWORD)
    auth.policy = SignInPolicy(free_attempts=2, delay_seconds=30, lockout_after=10)
    assert [(await attempt(api, "pat.pub", WRONG)).status_code for _ in range(2)] == [401, 401]
    # Third attempt too soon: refused before the password is looked at, right or wrong.
    for password in (WRONG, PASSWORD):
        r = await attempt(api, "pat.pub", password)
        assert r.status_code == 429 and r.json()["code"] == "throttled", r.text
        assert 29 <= int(r.headers["Retry-After"]) <= 30
        assert "wait" in r.json()["detail"] and SESSION_COOKIE not in r.headers.get(
            "set-cookie", ""
        )

    # A lockout refuses the right password too, saying the same as for a wrong one.
    auth.policy = SignInPolicy(free_attempts=2, delay_seconds=0, lockout_after=4)
    assert [(await attempt(api, "pat.pub", WRONG)).status_code for _ in range(2)] == [401, 401]
    right = await attempt(api, "pat.pub", PASSWORD)
    wrong = await attempt(api, "pat.pub", WRONG)
    assert right.status_code == wrong.status_code == 429
    assert right.json()["detail"] == wrong.json()["detail"]
    assert "locked until" in right.json()["detail"]
    assert int(right.headers["Retry-After"]) > 800
    assert session_rows(api) == 0

    # An administrator lifts it (ratify users unlock): the right password works again.
    assert api.directory.unlock("pat.pub") is True
    r = await attempt(api, "pat.pub", PASSWORD)
    assert r.status_code == 200, r.text


async def test_failed_passwords_are_throttled_per_client_address(api: Api):
    auth = services(api).auth
    auth.address_limits = parse_many("3/minute")
    users = ["ollie.lane", "sam.sec", "cat.com", "ian.ia"]
    seen = [(await attempt(api, user, WRONG)).status_code for user in users]
    assert seen == [401, 401, 401, 429]
    r = await attempt(api, "rl.ceo", WRONG)
    assert r.status_code == 429 and "from this address (127.0.0.1)" in r.json()["detail"]
    assert int(r.headers["Retry-After"]) >= 1
    # Over-long values are refused before anything is counted or hashed.
    r = await attempt(api, "x" * 201, WRONG)
    assert r.status_code == 422 and r.json()["detail"] == "user_id: must be at most 200 characters"
    # Another address is not held back.
    transport = httpx.ASGITransport(app=api.app, client=("10.1.2.3", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://ratify") as elsewhere:
        r = await elsewhere.post("/session", json={"user_id": "rl.ceo", "password": WRONG})
        assert r.status_code == 401 and r.json()["detail"] == WRONG_CREDENTIALS


class SlowHasher(PasswordHasher):
    """Cheap hashes whose verification takes a while, counting how many run at once."""

    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=1024, parallelism=1)
        self.lock = threading.Lock()
        self.running = 0
        self.most = 0

    def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:
        with self.lock:
            self.running += 1
            self.most = max(self.most, self.running)
        try:
            time.sleep(0.3)
            return super().verify(hash, password)
        finally:
            with self.lock:
                self.running -= 1


async def test_password_hashes_running_at_once_are_bounded(api: Api):
    auth = services(api).auth
    auth.hash_concurrency, auth.hash_wait_seconds = 2, 0.5
    hasher = SlowHasher()
    api.directory._hasher = hasher
    people = [f"nobody.{n}" for n in range(12)]
    answers = await asyncio.gather(*(attempt(api, user, WRONG) for user in people))
    statuses = sorted(r.status_code for r in answers)
    assert hasher.most <= 2, hasher.most
    assert 401 in statuses and 503 in statuses, statuses
    busy = next(r for r in answers if r.status_code == 503)
    assert busy.json()["code"] == "busy" and busy.headers["Retry-After"] == "1"


# -- login CSRF -------------------------------------------------------------------------------


async def test_a_sign_in_from_another_sites_page_is_refused(api: Api):
    api.directory.set_password("sam.sec", PASSWORD)
    form = {"user_id": "sam.sec", "password": PASSWORD}
    for headers in (
        {"Origin": "https://evil.example.org"},
        {"Origin": "null"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site", "Origin": "http://other.ratify"},
    ):
        r = await api.http.post("/session", data=form, headers=headers)
        assert r.status_code == 403 and r.json()["code"] == "csrf", (headers, r.text)
        assert "another site" in r.json()["detail"]
        assert SESSION_COOKIE not in r.headers.get("set-cookie", "")
    r = await api.http.post("/session", json=form, headers={"Origin": "https://evil.example.org"})
    assert r.status_code == 403
    assert session_rows(api) == 0

    # Ratify's own pages, and scripts (no Origin), still sign in.
    same = {"Origin": "http://ratify", "Sec-Fetch-Site": "same-origin"}
    assert (await api.http.post("/session", data=form, headers=same)).status_code == 200
    api.http.cookies.clear()
    assert (await api.http.post("/session", json=form)).status_code == 200
    api.http.cookies.clear()
    assert (await api.http.post("/session", data=form)).status_code == 200
    api.http.cookies.clear()


# -- no-store ---------------------------------------------------------------------------------


async def test_every_answer_that_may_carry_part2_is_no_store(api: Api):
    r = await api.http.post(
        "/cases/upload",
        params={"filename": "mettrace.yaml"},
        content=METTRACE,
        headers={**api.auth("ollie.lane"), "Content-Type": "text/plain"},
    )
    assert r.status_code == 201, r.text
    case_id = r.json()["case_id"]
    now = "2100-01-01T00:00:00Z"
    for user, path in (
        ("ollie.lane", f"/cases/{case_id}"),
        ("ollie.lane", f"/cases/{case_id}?version=1"),
        ("ollie.lane", f"/cases/{case_id}?as_of={now}"),
        ("aud.ann", f"/cases/{case_id}/events"),
        ("aud.ann", f"/cases/{case_id}/timeline"),
        ("aud.ann", f"/cases/{case_id}/access"),
        ("ollie.lane", "/cases"),
        ("ollie.lane", "/tasks"),
        ("ollie.lane", "/session"),
        ("ollie.lane", "/delegations"),
    ):
        r = await api.get(user, path)
        assert r.status_code == 200, (path, r.text)
        assert r.headers.get("cache-control") == "no-store", path
    # Refusals too (they may name the case); the public register may be cached.
    r = await api.get("no.body", f"/cases/{case_id}/events")
    assert r.status_code == 403 and r.headers.get("cache-control") == "no-store"
    r = await api.get(None, "/register")
    assert r.status_code == 200 and "cache-control" not in r.headers


# -- settings ---------------------------------------------------------------------------------


def test_throttle_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch):
    for name, value in {
        "RATIFY_SIGN_IN_FREE_ATTEMPTS": "5",
        "RATIFY_SIGN_IN_DELAY_SECONDS": "2",
        "RATIFY_SIGN_IN_MAX_DELAY_SECONDS": "30",
        "RATIFY_SIGN_IN_LOCKOUT_AFTER": "8",
        "RATIFY_SIGN_IN_LOCKOUT_SECONDS": "600",
        "RATIFY_SIGN_IN_ADDRESS_LIMIT": "10/minute;100/hour",
        "RATIFY_PASSWORD_HASH_CONCURRENCY": "2",
        "RATIFY_PASSWORD_HASH_WAIT_SECONDS": "1.5",
        "RATIFY_SESSION_SECRET": "x" * 40,
    }.items():
        monkeypatch.setenv(name, value)
    auth = Authenticator.from_settings(Settings(_env_file=None))
    assert auth.policy == SignInPolicy(
        free_attempts=5,
        delay_seconds=2,
        max_delay_seconds=30,
        lockout_after=8,
        lockout_seconds=600,
    )
    assert [str(limit) for limit in auth.address_limits] == ["10 per 1 minute", "100 per 1 hour"]
    assert (auth.hash_concurrency, auth.hash_wait_seconds) == (2, 1.5)
    monkeypatch.setenv("RATIFY_SIGN_IN_ADDRESS_LIMIT", "lots")
    with pytest.raises(ValidationError, match="sign_in_address_limit must be a rate"):
        Settings(_env_file=None)
    monkeypatch.setenv("RATIFY_SIGN_IN_ADDRESS_LIMIT", "20/minute")
    monkeypatch.setenv("RATIFY_PASSWORD_HASH_WAIT_SECONDS", "0")
    with pytest.raises(ValidationError, match="password_hash_wait_seconds"):
        Settings(_env_file=None)


async def _failures_through_uvicorn(api: Api, spoofed: list[str]) -> list[int]:
    """Failed sign-ins through a real uvicorn, built as `ratify serve` and `ratify api`
    build it, each claiming another client address in `X-Forwarded-For`."""
    from ratify.processes import serve

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    server = serve._uvicorn(api.app, Settings(), "127.0.0.1", port)
    running = asyncio.create_task(server.serve())
    try:
        while not server.started:
            assert not running.done(), "uvicorn did not start"
            await asyncio.sleep(0.05)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            return [
                (
                    await http.post(
                        "/session",
                        json={"user_id": f"nobody.{uuid.uuid4().hex[:8]}", "password": WRONG},
                        headers={"X-Forwarded-For": address},
                    )
                ).status_code
                for address in spoofed
            ]
    finally:
        server.should_exit = True
        await running
        for sig, handler in handlers.items():
            signal.signal(sig, handler)


async def test_a_forwarded_address_does_not_open_a_fresh_window(
    api: Api, monkeypatch: pytest.MonkeyPatch
):
    # On the embedded defaults every client connects from 127.0.0.1, which uvicorn trusts
    # for X-Forwarded-For by default: each claimed address got its own window (25 failures
    # from 10.0.0.1..25 all answered 401). The header counts only from FORWARDED_ALLOW_IPS.
    services(api).auth.address_limits = parse_many("3/minute")
    monkeypatch.delenv("FORWARDED_ALLOW_IPS", raising=False)
    claimed = [f"10.0.0.{n}" for n in range(1, 6)]
    assert await _failures_through_uvicorn(api, claimed) == [401, 401, 401, 429, 429]

    # Behind a proxy that is trusted, its X-Forwarded-For is the client's address.
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", "127.0.0.1")
    assert await _failures_through_uvicorn(api, ["10.9.0.1"] * 4) == [401, 401, 401, 429]
    assert await _failures_through_uvicorn(api, ["10.9.0.2"]) == [401]
    # The user ids tried were all different: the limit above is the address's.
