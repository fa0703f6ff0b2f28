"""API tokens (hashed at rest, refused when revoked, expired or unknown) and passwords."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher

from domain.roles import Role
from ratify.services.identity.directory import Directory
from ratify.services.identity.errors import InvalidInput, UnknownUser
from ratify.services.identity.tables import api_tokens, users

from .conftest import FAST_HASHER

NOW = datetime(2025, 8, 10, 9, 0, tzinfo=UTC)


@pytest.fixture
def ollie(directory: Directory) -> Directory:
    directory.add_user("ollie.lane", "Ollie Lane", [Role.ORIGINATING_OFFICER])
    return directory


def token_rows(engine: sa.Engine) -> list[sa.Row]:
    with engine.connect() as conn:
        return list(conn.execute(sa.select(api_tokens)))


def test_a_token_signs_in_and_is_hashed_at_rest(ollie: Directory, engine: sa.Engine) -> None:
    token_id, secret = ollie.create_token("ollie.lane", "laptop", now=NOW)
    rat, prefix, rest = secret.split("_", 2)
    assert rat == "rat" and token_id == f"tok_{prefix}" and len(rest) >= 40

    [row] = token_rows(engine)
    stored = " ".join(str(v) for v in row)
    assert secret not in stored and rest not in stored
    assert row.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert row.prefix == prefix and row.last_used_at is None

    me = ollie.authenticate_token(secret, NOW)
    assert me is not None and me.user_id == "ollie.lane" and me.name == "Ollie Lane"
    assert me.roles == {Role.ORIGINATING_OFFICER}
    [token] = ollie.list_tokens("ollie.lane")
    assert token.last_used_at == NOW and token.status(NOW) == "active"
    assert not hasattr(token, "token_hash")

    ollie.authenticate_token(secret, NOW + timedelta(seconds=30))  # to the minute
    assert ollie.list_tokens()[0].last_used_at == NOW
    ollie.authenticate_token(secret, NOW + timedelta(minutes=2))
    assert ollie.list_tokens()[0].last_used_at == NOW + timedelta(minutes=2)


def test_revoked_expired_unknown_and_tampered_tokens_are_refused(ollie: Directory) -> None:
    revoked_id, revoked = ollie.create_token("ollie.lane", "old", now=NOW)
    assert ollie.revoke_token(revoked_id, now=NOW).status(NOW) == "revoked"
    with pytest.raises(
        InvalidInput, match=re.escape(f"token_id: {revoked_id} was revoked already")
    ):
        ollie.revoke_token(revoked_id)
    assert ollie.authenticate_token(revoked, NOW) is None

    _, expiring = ollie.create_token("ollie.lane", "ci", NOW + timedelta(hours=1), now=NOW)
    assert ollie.authenticate_token(expiring, NOW + timedelta(minutes=59)) is not None
    assert ollie.authenticate_token(expiring, NOW + timedelta(hours=1)) is None

    _, good = ollie.create_token("ollie.lane", "laptop", now=NOW)
    prefix = good.split("_")[1]
    for bad in (
        f"rat_{prefix}_{'x' * 43}",  # right prefix, wrong secret
        "rat_000000000000_" + "y" * 43,  # unknown prefix
        "not a token",
        "",
        good + "x",
    ):
        assert ollie.authenticate_token(bad, NOW) is None, bad
    assert ollie.authenticate_token(good, NOW) is not None

    ollie.deactivate("ollie.lane")
    assert ollie.authenticate_token(good, NOW) is None


def test_token_refusals_write_nothing(ollie: Directory, engine: sa.Engine) -> None:
    with pytest.raises(UnknownUser, match=re.escape("user_id: there is no user 'nobody'")):
        ollie.create_token("nobody", "laptop")
    with pytest.raises(InvalidInput, match=r"expires_at: .* has passed"):
        ollie.create_token("ollie.lane", "laptop", NOW - timedelta(days=1), now=NOW)
    with pytest.raises(InvalidInput, match=re.escape("name: must not be empty")):
        ollie.create_token("ollie.lane", " ")
    with pytest.raises(InvalidInput, match=re.escape("token_id: there is no token 'tok_nope'")):
        ollie.revoke_token("tok_nope")
    ollie.deactivate("ollie.lane")
    with pytest.raises(InvalidInput, match=re.escape("user_id: ollie.lane is deactivated")):
        ollie.create_token("ollie.lane", "laptop")
    assert token_rows(engine) == []


def password_hash(engine: sa.Engine, user_id: str) -> str:
    with engine.connect() as conn:
        query = sa.select(users.c.password_hash).where(users.c.id == user_id)
        return str(conn.execute(query).scalar_one())


def test_passwords_are_argon2_hashes(directory: Directory, engine: sa.Engine) -> None:
    password = "correct horse battery staple"
    directory.add_user("ollie.lane", "Ollie Lane", [Role.ORIGINATING_OFFICER], password=password)
    directory.add_user("no.password", "No Password", [Role.AUDITOR])
    stored = password_hash(engine, "ollie.lane")
    assert stored.startswith("$argon2id$") and password not in stored
    assert directory.get_user("ollie.lane").has_password

    me = directory.verify_password("ollie.lane", password)
    assert me is not None and me.user_id == "ollie.lane"
    assert directory.verify_password("ollie.lane", "wrong horse battery staple") is None
    assert directory.verify_password("nobody", password) is None
    assert directory.verify_password("no.password", password) is None

    directory.set_password("ollie.lane", "a different passphrase")
    assert directory.verify_password("ollie.lane", password) is None
    assert directory.verify_password("ollie.lane", "a different passphrase") is not None
    with pytest.raises(InvalidInput, match=re.escape("password: must be at least 12 characters")):
        directory.set_password("ollie.lane", "short")
    with pytest.raises(UnknownUser):
        directory.set_password("nobody", "long enough passphrase")

    directory.deactivate("ollie.lane")
    assert directory.verify_password("ollie.lane", "a different passphrase") is None


def test_outdated_hashes_are_upgraded_on_sign_in(directory: Directory, engine: sa.Engine) -> None:
    password = "correct horse battery staple"
    directory.add_user("ollie.lane", "Ollie Lane", [Role.ORIGINATING_OFFICER], password=password)
    weak = password_hash(engine, "ollie.lane")
    stronger = PasswordHasher(time_cost=2, memory_cost=2048, parallelism=1)
    upgraded = Directory(engine, hasher=stronger)
    assert upgraded.verify_password("ollie.lane", password) is not None
    fresh = password_hash(engine, "ollie.lane")
    assert fresh != weak and fresh.startswith("$argon2id$") and "t=2" in fresh
    assert not stronger.check_needs_rehash(fresh)
    assert Directory(engine, hasher=FAST_HASHER).verify_password("ollie.lane", password)
