"""Server-side web sessions and the throttling of failed password sign-ins, in the directory
and the admin CLI: a session ends at once wherever its cookie was copied; guessing a
password gets slower and then locked, whatever the password, until an admin unlocks it."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import URL
from typer.testing import CliRunner, Result

from domain.roles import Role
from ratify.cli.main import app
from ratify.http.auth import Authenticator
from ratify.http.errors import status_of
from ratify.http.passwords import WRONG_CREDENTIALS
from ratify.http.refusal import AuthRefusal
from ratify.services.identity.directory import Directory
from ratify.services.identity.errors import SignInThrottled, UnknownUser
from ratify.services.identity.signin import SignInPolicy
from ratify.services.identity.tables import sessions, sign_in_failures

from .conftest import FAST_HASHER

PASSWORD = "correct horse battery staple"
NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
HOURS_8 = timedelta(hours=8)
POLICY = SignInPolicy(
    free_attempts=3, delay_seconds=1, max_delay_seconds=60, lockout_after=10, lockout_seconds=900
)


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def people(engine: sa.Engine, clock: Clock) -> Directory:
    directory = Directory(engine, hasher=FAST_HASHER, clock=clock)
    directory.add_user("fran.fin", "Fran Finance", [Role.FINANCE_ADVISER], password=PASSWORD)
    directory.add_user("ollie.lane", "Ollie Lane", [Role.ORIGINATING_OFFICER], password=PASSWORD)
    return directory


def live(directory: Directory, secret: str) -> bool:
    found = directory.find_session(secret)
    return found is not None and found.live(directory._clock())


# -- sessions ---------------------------------------------------------------------------------


def test_a_session_is_stored_by_the_hash_of_its_secret(people: Directory, engine: sa.Engine):
    secret, stored = people.create_session("fran.fin", HOURS_8)
    assert stored.id == hashlib.sha256(secret.encode()).hexdigest()
    assert stored.created_at == NOW and stored.expires_at == NOW + HOURS_8
    with engine.connect() as conn:
        [row] = conn.execute(sa.select(sessions)).all()
    assert secret not in " ".join(str(v) for v in row)
    assert live(people, secret) and people.find_session("not-a-secret") is None
    people._clock = lambda: NOW + HOURS_8
    assert not live(people, secret)


def test_sign_out_ends_one_session_and_admin_ends_all(people: Directory):
    laptop, stored = people.create_session("fran.fin", HOURS_8)
    phone, _ = people.create_session("fran.fin", HOURS_8)
    other, _ = people.create_session("ollie.lane", HOURS_8)

    assert people.end_session(stored.id, "signed_out") is True
    assert people.end_session(stored.id, "signed_out") is False
    ended = people.find_session(laptop)
    assert ended is not None and ended.end_reason == "signed_out" and ended.ended_at == NOW
    assert live(people, phone) and live(people, other)

    assert people.end_sessions("fran.fin") == 1
    assert not live(people, phone) and live(people, other)
    assert people.find_session(phone).end_reason == "ended_by_admin"  # type: ignore[union-attr]
    with pytest.raises(UnknownUser):
        people.end_sessions("no.body")


def test_a_password_change_or_deactivation_ends_every_session(people: Directory):
    first, _ = people.create_session("fran.fin", HOURS_8)
    kept, kept_row = people.create_session("fran.fin", HOURS_8)
    assert people.set_password("fran.fin", "a brand new passphrase", keep_session=kept_row.id) == 1
    assert not live(people, first) and live(people, kept)
    assert people.find_session(first).end_reason == "password_changed"  # type: ignore[union-attr]
    assert people.set_password("fran.fin", "another new passphrase") == 1
    assert not live(people, kept)

    again, _ = people.create_session("fran.fin", HOURS_8)
    people.deactivate("fran.fin")
    assert people.find_session(again).end_reason == "deactivated"  # type: ignore[union-attr]
    people.reactivate("fran.fin")
    assert not live(people, again)  # reactivating does not revive a session


# -- throttling -------------------------------------------------------------------------------


def test_policy_waits_grow_then_stop_at_the_cap():
    waits = [POLICY.wait_after(n).total_seconds() for n in range(11)]
    assert waits == [0, 0, 0, 1, 2, 4, 8, 16, 32, 60, 60]


def attempt(auth: Authenticator, directory: Directory, user: str, password: str) -> str:
    """'ok', or the refusal's status and code."""
    try:
        auth.check_password(directory, user, password)
    except AuthRefusal as exc:
        return f"{status_of(exc)} {exc.code}"
    return "ok"


def test_failures_slow_down_then_lock_even_the_right_password(
    people: Directory, clock: Clock, engine: sa.Engine
):
    auth = Authenticator(session_secret="s" * 40, policy=POLICY, directory=people)
    wrong = "not the password at all"
    # Three free failures, then each must wait longer after the last.
    assert [attempt(auth, people, "fran.fin", wrong) for _ in range(3)] == [
        "401 unauthenticated"
    ] * 3
    assert attempt(auth, people, "fran.fin", wrong) == "429 throttled"  # no wait yet
    assert attempt(auth, people, "fran.fin", PASSWORD) == "429 throttled"  # nor for the right one
    for wait in (1, 2, 4, 8, 16, 32):
        clock.advance(wait - 0.5)
        assert attempt(auth, people, "fran.fin", wrong) == "429 throttled"
        clock.advance(0.5)
        assert attempt(auth, people, "fran.fin", wrong) == "401 unauthenticated"
    # The tenth failure locks the user id for 15 minutes, whatever the password.
    clock.advance(60)
    assert attempt(auth, people, "fran.fin", wrong) == "401 unauthenticated"
    assert people.locked_until("fran.fin") == clock.now + timedelta(minutes=15)
    clock.advance(600)
    with pytest.raises(AuthRefusal) as refused:
        auth.check_password(people, "fran.fin", PASSWORD)
    assert status_of(refused.value) == 429 and refused.value.retry_after == 300
    assert (
        "locked until" in refused.value.message and "ratify users unlock" in refused.value.message
    )
    assert PASSWORD not in refused.value.message
    # Another user is not affected.
    assert attempt(auth, people, "ollie.lane", PASSWORD) == "ok"
    # The lockout ends by itself, and a success forgets the failures.
    clock.advance(300)
    assert attempt(auth, people, "fran.fin", PASSWORD) == "ok"
    with engine.connect() as conn:
        assert conn.execute(sa.select(sign_in_failures)).all() == []


def test_an_unknown_user_id_is_throttled_alike(people: Directory, clock: Clock):
    """The throttle does not tell which user ids exist."""
    auth = Authenticator(session_secret="s" * 40, policy=POLICY, directory=people)
    outcomes = {}
    for user in ("fran.fin", "no.such.person"):
        seen = []
        for _ in range(5):
            seen.append(attempt(auth, people, user, "not the password at all"))
        outcomes[user] = seen
    assert outcomes["fran.fin"] == outcomes["no.such.person"]
    assert outcomes["fran.fin"] == ["401 unauthenticated"] * 3 + ["429 throttled"] * 2


def test_an_admin_unlocks_and_a_refusal_while_waiting_writes_nothing(
    people: Directory, clock: Clock, engine: sa.Engine
):
    policy = SignInPolicy(free_attempts=0, delay_seconds=1, lockout_after=2, lockout_seconds=900)
    people.begin_sign_in("fran.fin", policy)
    with engine.connect() as conn:
        before = conn.execute(sa.select(sign_in_failures)).all()
    with pytest.raises(SignInThrottled) as waiting:
        people.begin_sign_in("fran.fin", policy)
    assert waiting.value.retry_after_seconds == 1 and waiting.value.locked_until is None
    with engine.connect() as conn:
        assert conn.execute(sa.select(sign_in_failures)).all() == before
    clock.advance(1)
    people.begin_sign_in("fran.fin", policy)  # the second failure locks
    assert people.locked_until("fran.fin") is not None
    assert people.unlock("fran.fin") is True
    assert people.locked_until("fran.fin") is None
    people.begin_sign_in("fran.fin", policy)
    with pytest.raises(UnknownUser):
        people.unlock("no.body")


# -- the admin CLI ----------------------------------------------------------------------------

runner = CliRunner()


@pytest.fixture
def cli(identity_url: URL, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Result]:
    monkeypatch.setenv("RATIFY_DATABASE_URL", identity_url.render_as_string(hide_password=False))

    def run(*args: str, input: str | None = None) -> Result:
        return runner.invoke(app, list(args), input=input)

    return run


def test_cli_set_password_unlock_and_end_sessions(cli: Callable[..., Result], engine: sa.Engine):
    directory = Directory(engine, hasher=FAST_HASHER)
    directory.add_user("fran.fin", "Fran Finance", [Role.FINANCE_ADVISER], password=PASSWORD)
    copied, _ = directory.create_session("fran.fin", HOURS_8)

    new = "a new passphrase for fran"
    result = cli("users", "set-password", "fran.fin", input=f"{new}\n{new}\n")
    assert result.exit_code == 0, result.output
    assert "password set for fran.fin; 1 session ended" in result.stdout
    assert new not in result.stdout
    assert directory.verify_password("fran.fin", new) is not None
    assert not live(directory, copied)

    newer = "read from standard input"
    result = cli("users", "set-password", "fran.fin", "--password-stdin", input=f"{newer}\n")
    assert result.exit_code == 0, result.output
    assert directory.verify_password("fran.fin", newer) is not None
    short = cli("users", "set-password", "fran.fin", "--password-stdin", input="short\n")
    assert short.exit_code == 2
    assert "password: must be at least 12 characters" in short.output
    assert directory.verify_password("fran.fin", newer) is not None
    unknown = cli("users", "set-password", "no.body", "--password-stdin", input=f"{newer}\n")
    assert unknown.exit_code == 2

    policy = SignInPolicy(free_attempts=0, lockout_after=1)
    directory.begin_sign_in("fran.fin", policy)
    assert directory.locked_until("fran.fin") is not None
    result = cli("users", "unlock", "fran.fin")
    assert result.exit_code == 0 and "unlocked fran.fin" in result.stdout
    assert directory.locked_until("fran.fin") is None
    assert "was not locked" in cli("users", "unlock", "fran.fin").stdout

    one, _ = directory.create_session("fran.fin", HOURS_8)
    two, _ = directory.create_session("fran.fin", HOURS_8)
    result = cli("users", "end-sessions", "fran.fin")
    assert result.exit_code == 0 and "2 sessions of fran.fin ended" in result.stdout
    assert not live(directory, one) and not live(directory, two)
    assert cli("users", "end-sessions", "no.body").exit_code == 2


def test_wrong_credentials_message_is_unchanged():
    assert WRONG_CREDENTIALS == "user id or password is wrong"
