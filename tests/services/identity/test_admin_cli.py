"""The admin CLI: happy paths, `--json`, and refusals (exit 2, the rule named, nothing written)."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import URL
from typer.testing import CliRunner

from domain.clock import london_date
from domain.roles import Role
from ratify.cli.admin import DEMO_PEOPLE
from ratify.cli.main import app
from ratify.services.identity.directory import Directory
from ratify.services.identity.tables import api_tokens, delegations, user_roles, users

runner = CliRunner()

#: Dates of delegations: a delegation starts today or later, within 90 days.
TODAY = london_date(datetime.now(UTC))
AUG_1, AUG_15 = (str(TODAY + timedelta(days=n)) for n in (10, 24))
DEC_31 = str(TODAY + timedelta(days=162))  # AUG_1 to DEC_31: 153 days


@pytest.fixture
def cli(identity_url: URL, monkeypatch: pytest.MonkeyPatch):
    """Run `ratify ...` against the test database (found through RATIFY_DATABASE_URL)."""
    monkeypatch.setenv("RATIFY_DATABASE_URL", identity_url.render_as_string(hide_password=False))

    def run(*args: str, input: str | None = None):
        return runner.invoke(app, list(args), input=input)

    return run


def rows(engine: sa.Engine, table: sa.Table) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def test_users_add_list_grant_revoke_deactivate(cli, directory: Directory) -> None:
    result = cli(
        "users",
        "add",
        "ollie.lane",
        "--name",
        "Ollie Lane",
        "--role",
        "originating_officer",
        "--role",
        "drafting_officer",
        "--email",
        "ollie@example.org",
    )
    assert result.exit_code == 0, result.output
    assert "added ollie.lane (Ollie Lane): drafting_officer, originating_officer" in result.stdout
    result = cli(
        "users",
        "add",
        "dee.mpc",
        "--name",
        "Dee MPC",
        "--role",
        "dmpc",
        "--password-prompt",
        input="correct horse battery staple\ncorrect horse battery staple\n",
    )
    assert result.exit_code == 0, result.output
    assert directory.verify_password("dee.mpc", "correct horse battery staple") is not None

    assert cli("users", "grant", "ollie.lane", "finance_adviser").exit_code == 0
    assert cli("users", "revoke", "ollie.lane", "drafting_officer").exit_code == 0
    assert cli("users", "deactivate", "dee.mpc").exit_code == 0

    listed = cli("users", "list", "--json")
    assert listed.exit_code == 0, listed.output
    people = json.loads(listed.stdout)
    assert [(p["id"], p["roles"], p["active"], p["has_password"]) for p in people] == [
        ("dee.mpc", ["dmpc"], False, True),
        ("ollie.lane", ["finance_adviser", "originating_officer"], True, False),
    ]
    assert people[1]["email"] == "ollie@example.org"
    table = cli("users", "list")
    assert table.exit_code == 0 and "ollie.lane" in table.stdout and "Ollie Lane" in table.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["users", "add", "ollie.lane", "--name", "Ollie", "--role", "dmcp"],
            "error: role: 'dmcp' is not a role; the roles are: originating_officer",
        ),
        (
            ["users", "add", "Ollie", "--name", "Ollie", "--role", "dmpc"],
            "error: user_id: 'Ollie' is not a user id",
        ),
        (["users", "grant", "nobody", "dmpc"], "error: user_id: there is no user 'nobody'"),
        (
            [
                "users",
                "delegate",
                "fiona.fry",
                "dan.deputy",
                "finance_adviser",
                "--from",
                AUG_15,
                "--to",
                AUG_1,
                "--reason",
                "leave",
            ],
            f"error: ends_on: a delegation cannot end ({AUG_1}) before it starts ({AUG_15})",
        ),
        (
            [
                "users",
                "delegate",
                "fiona.fry",
                "nobody",
                "finance_adviser",
                "--from",
                AUG_1,
                "--to",
                AUG_15,
                "--reason",
                "leave",
            ],
            "error: deputy: there is no user 'nobody'",
        ),
        (
            [
                "users",
                "delegate",
                "fiona.fry",
                "dan.deputy",
                "dmpc",
                "--from",
                AUG_1,
                "--to",
                AUG_15,
                "--reason",
                "leave",
            ],
            "error: role: fiona.fry does not hold the role dmpc, so cannot delegate it",
        ),
        (
            [
                "users",
                "delegate",
                "fiona.fry",
                "dan.deputy",
                "finance_adviser",
                "--from",
                "1/8/2025",
                "--to",
                AUG_15,
                "--reason",
                "leave",
            ],
            "error: --from: '1/8/2025' is not a date: write it as YYYY-MM-DD",
        ),
        (
            [
                "users",
                "delegate",
                "fiona.fry",
                "dan.deputy",
                "part2_clearance",
                "--from",
                AUG_1,
                "--to",
                AUG_15,
                "--reason",
                "sharing",
            ],
            "error: role: part2_clearance is granted by an administrator only and cannot be "
            "delegated",
        ),
        (
            [
                "users",
                "delegate",
                "fiona.fry",
                "dan.deputy",
                "finance_adviser",
                "--from",
                AUG_1,
                "--to",
                DEC_31,
                "--reason",
                "leave",
            ],
            f"error: ends_on: a delegation lasts at most 90 days; {AUG_1} to {DEC_31} is 153 days",
        ),
        (["tokens", "create", "nobody", "--name", "laptop"], "there is no user 'nobody'"),
        (
            ["tokens", "create", "fiona.fry", "--name", "laptop", "--expires", "2020-01-01"],
            "error: expires_at: 2020-01-02T00:00:00+00:00 has passed",
        ),
        (["tokens", "revoke", "tok_nope"], "error: token_id: there is no token 'tok_nope'"),
        (
            [
                "users",
                "delegate",
                "fiona.fry",
                "dan.deputy",
                "finance_adviser",
                "--from",
                "2025-08-01",
                "--to",
                "9999-12-31",
                "--reason",
                "leave",
            ],
            "error: --to: 9999-12-31 is outside the dates Ratify accepts (1990-01-01 to 2100-12-31",
        ),
    ],
)
def test_refusals_exit_2_naming_the_rule_and_write_nothing(
    cli, directory: Directory, engine: sa.Engine, args: list[str], message: str
) -> None:
    directory.add_user("fiona.fry", "Fiona Fry", [Role.FINANCE_ADVISER])
    directory.add_user("dan.deputy", "Dan Deputy", [Role.DRAFTING_OFFICER])
    before = {t.name: rows(engine, t) for t in (users, user_roles, delegations, api_tokens)}
    result = cli(*args)
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert result.stdout == ""
    assert {t.name: rows(engine, t) for t in (users, user_roles, delegations, api_tokens)} == before


def test_the_longest_delegation_is_a_setting(
    cli, directory: Directory, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory.add_user("fiona.fry", "Fiona Fry", [Role.FINANCE_ADVISER])
    directory.add_user("dan.deputy", "Dan Deputy", [Role.DRAFTING_OFFICER])
    monkeypatch.setenv("RATIFY_DELEGATION_MAX_DAYS", "7")
    args = ["users", "delegate", "fiona.fry", "dan.deputy", "finance_adviser", "--reason", "x"]
    start, day7, day8 = (str(TODAY + timedelta(days=n)) for n in (1, 7, 8))
    refused = cli(*args, "--from", start, "--to", day8)
    assert refused.exit_code == 2
    assert f"ends_on: a delegation lasts at most 7 days; {start} to {day8}" in refused.stderr
    assert cli(*args, "--from", start, "--to", day7).exit_code == 0


def test_delegate_and_undelegate(cli, directory: Directory) -> None:
    directory.add_user("fiona.fry", "Fiona Fry", [Role.FINANCE_ADVISER])
    directory.add_user("dan.deputy", "Dan Deputy", [Role.DRAFTING_OFFICER])
    result = cli(
        "users",
        "delegate",
        "fiona.fry",
        "dan.deputy",
        "finance_adviser",
        "--from",
        AUG_1,
        "--to",
        AUG_15,
        "--reason",
        "annual leave",
        "--json",
    )
    assert result.exit_code == 0, result.output
    made = json.loads(result.stdout)
    assert (made["principal"], made["deputy"], made["role"], made["from"], made["to"]) == (
        "fiona.fry",
        "dan.deputy",
        "finance_adviser",
        AUG_1,
        AUG_15,
    )
    dan = directory.principal_for("dan.deputy")
    assert dan is not None
    actor = dan.acting_as(Role.FINANCE_ADVISER, today=TODAY + timedelta(days=14))
    assert (actor.user_id, actor.on_behalf_of) == ("dan.deputy", "fiona.fry")

    listed = json.loads(cli("users", "delegations", "dan.deputy", "--json").stdout)
    assert [d["id"] for d in listed] == [made["id"]] and listed[0]["revoked_at"] is None
    assert made["id"] in cli("users", "delegations").stdout
    assert cli("users", "undelegate", made["id"]).exit_code == 0
    assert directory.list_delegations()[0].revoked_at is not None
    again = cli("users", "undelegate", made["id"])
    assert again.exit_code == 2 and "was revoked already" in again.stderr


def test_tokens_create_list_revoke(cli, directory: Directory, engine: sa.Engine) -> None:
    directory.add_user("ollie.lane", "Ollie Lane", [Role.ORIGINATING_OFFICER])
    created = cli("tokens", "create", "ollie.lane", "--name", "laptop")
    assert created.exit_code == 0, created.output
    secret = created.stdout.strip()
    assert secret.startswith("rat_") and "only time the secret is shown" in created.stderr
    assert directory.authenticate_token(secret, datetime.now(UTC)) is not None

    expiring = json.loads(
        cli(
            "tokens", "create", "ollie.lane", "--name", "ci", "--expires", "2099-12-31", "--json"
        ).stdout
    )
    assert expiring["expires_at"] == "2100-01-01T00:00:00+00:00"  # the end of the London day

    listed = cli("tokens", "list", "ollie.lane", "--json")
    assert listed.exit_code == 0, listed.output
    assert secret not in listed.stdout and "token_hash" not in listed.stdout
    tokens = {t["name"]: t for t in json.loads(listed.stdout)}
    assert tokens["laptop"]["status"] == "active" and tokens["laptop"]["last_used_at"]
    assert tokens["laptop"]["prefix"] == secret.split("_")[1]

    token_id = tokens["laptop"]["id"]
    revoked = cli("tokens", "revoke", token_id)
    assert revoked.exit_code == 0 and token_id in revoked.stdout
    assert directory.authenticate_token(secret, datetime.now(UTC) + timedelta(seconds=1)) is None
    assert "revoked" in cli("tokens", "list").stdout
    with engine.connect() as conn:
        stored = [str(v) for row in conn.execute(sa.select(api_tokens)) for v in row]
    assert not any(secret in value for value in stored)


def test_db_upgrade_then_commands_work(empty_database_url: URL) -> None:
    url = empty_database_url.render_as_string(hide_password=False)
    refused = runner.invoke(app, ["--database-url", url, "users", "list"])
    assert refused.exit_code == 1 and "run `ratify db upgrade` first" in refused.stderr

    upgraded = runner.invoke(app, ["--database-url", url, "db", "upgrade"])
    assert upgraded.exit_code == 0, upgraded.output
    assert "is up to date" in upgraded.stdout
    added = runner.invoke(
        app,
        ["--database-url", url, "users", "add", "ann.audit", "--name", "Ann", "--role", "auditor"],
    )
    assert added.exit_code == 0, added.output
    listed = runner.invoke(app, ["--database-url", url, "users", "list", "--json"])
    assert [u["id"] for u in json.loads(listed.stdout)] == ["ann.audit"]


# -- ratify demo: the embedded store only ------------------------------------------------------


@pytest.fixture
def embedded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A working directory with no Ratify settings: the embedded defaults (./data)."""
    for name in ("RATIFY_DATABASE_URL", "RATIFY_DATA_DIR", "TEMPORAL_ADDRESS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    umask = os.umask(0o022)  # the usual umask; the CLI makes the data directory private
    try:
        yield tmp_path / "data"
    finally:
        os.umask(umask)


def test_demo_refuses_any_database_but_the_embedded_store(
    embedded: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = tmp_path / "elsewhere.db"
    for args, env in (
        (["--database-url", f"sqlite:///{other}", "demo"], None),
        (["demo"], f"sqlite:///{other}"),
    ):
        if env:
            monkeypatch.setenv("RATIFY_DATABASE_URL", env)
        refused = runner.invoke(app, args)
        assert refused.exit_code == 2, refused.output
        [line] = refused.stderr.splitlines()
        assert "--i-know-this-is-not-production" in line and "embedded SQLite store" in line
        assert not other.exists() and not embedded.exists()  # nothing written

    made = runner.invoke(app, ["demo", "--json", "--i-know-this-is-not-production"])
    assert made.exit_code == 0, made.output
    assert {t["user"] for t in json.loads(made.stdout)} >= {"ollie.lane", "dee.dmpc"}
    assert other.exists()


def test_demo_runs_on_the_embedded_store_and_keeps_it_private(embedded: Path) -> None:
    # Made earlier by an older version, open to everyone; and someone else's file there.
    embedded.mkdir(mode=0o755)
    (embedded / "ratify.db").touch(mode=0o644)
    (embedded / "notes.txt").touch(mode=0o644)
    made = runner.invoke(app, ["demo", "--json"])
    assert made.exit_code == 0, made.output
    assert len(json.loads(made.stdout)) == len(DEMO_PEOPLE)
    assert "made" in made.stderr and "private" in made.stderr  # it says what it tightened
    assert stat.S_IMODE(embedded.stat().st_mode) == 0o700
    files = sorted(p.name for p in embedded.iterdir() if p.name.startswith("ratify.db"))
    assert "ratify.db" in files
    for name in files:  # ratify.db and its -wal/-shm: password and token hashes
        assert stat.S_IMODE((embedded / name).stat().st_mode) == 0o600, name
    assert stat.S_IMODE((embedded / "notes.txt").stat().st_mode) == 0o644  # not Ratify's
