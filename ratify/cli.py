"""`ratify`: the admin command line, working on the database directly.

    ratify db upgrade
    ratify users add ollie.lane --name "Ollie Lane" --role originating_officer [--password-prompt]
    ratify users list [--json]
    ratify users grant|revoke ID ROLE        ratify users deactivate|reactivate ID
    ratify users delegate PRINCIPAL DEPUTY ROLE --from 2025-08-01 --to 2025-08-15 --reason TEXT
    ratify users delegations [USER] [--json] ratify users undelegate DELEGATION_ID
    ratify tokens create USER --name laptop [--expires 2026-03-31] [--json]
    ratify tokens list [USER] [--json]       ratify tokens revoke TOKEN_ID
    ratify serve [--host H] [--port P]      ratify demo [--json]

The database is `RATIFY_DATABASE_URL` (see `ratify.settings`), or `--database-url`. Each
command is one transaction: a refused command writes nothing, prints a message naming the
field and the rule, and exits with status 2. People get rich tables; scripts get `--json`.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Annotated, Any, NoReturn

import sqlalchemy as sa
import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table
from sqlalchemy.engine import make_url

from domain.clock import LONDON
from domain.roles import Role
from eventstore import create_engine_for
from ratify.identity.service import (
    ApiToken,
    Delegation,
    Directory,
    IdentityError,
    User,
    check_user_id,
    parse_role,
)
from ratify.identity.tables import users as users_table

BAD_INPUT = 2
"""Exit status of a refused command (as for a usage error)."""

app = typer.Typer(
    name="ratify",
    help="Ratify's admin commands: the database, users, roles, delegations and API tokens.",
    no_args_is_help=True,
    add_completion=False,
)
db_app = typer.Typer(help="The database: migrations.", no_args_is_help=True)
users_app = typer.Typer(help="People, their roles and their deputies.", no_args_is_help=True)
tokens_app = typer.Typer(help="API tokens (hashed at rest; shown once).", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
app.add_typer(tokens_app, name="tokens")

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]


@app.callback()
def main(
    ctx: typer.Context,
    database_url: Annotated[
        str | None,
        typer.Option(
            "--database-url",
            help="SQLAlchemy URL of the database (default: RATIFY_DATABASE_URL, else ./data).",
        ),
    ] = None,
) -> None:
    """Ratify's admin commands."""
    ctx.obj = database_url


# -- plumbing ---------------------------------------------------------------------------------


def _fail(message: str, code: int = BAD_INPUT) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _database_url(ctx: typer.Context) -> str:
    if isinstance(ctx.obj, str) and ctx.obj:
        return ctx.obj
    from ratify.settings import load_settings

    try:
        return load_settings().event_store_url
    except ValidationError as exc:
        _fail(f"settings: {exc.errors()[0]['loc']}: {exc.errors()[0]['msg']}")


@contextmanager
def _directory(ctx: typer.Context) -> Iterator[Directory]:
    """A directory on the configured database; identity refusals become exit status 2."""
    url = _database_url(ctx)
    try:
        engine = create_engine_for(url)
    except (ValueError, sa.exc.ArgumentError) as exc:
        _fail(f"database url: {exc}")
    try:
        try:
            ready = sa.inspect(engine).has_table(users_table.name)
        except sa.exc.OperationalError as exc:
            _fail(f"database: cannot open it ({exc.orig}): check RATIFY_DATABASE_URL", code=1)
        if not ready:
            _fail("database: it has no identity tables yet: run `ratify db upgrade` first", 1)
        yield Directory(engine)
    except IdentityError as exc:
        _fail(str(exc))
    finally:
        engine.dispose()


def _parse_date(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        _fail(f"{option}: {value!r} is not a date: write it as YYYY-MM-DD")


PIPE_WIDTH = 160
"""Width of tables written to a pipe or file (a terminal's own width is used otherwise)."""


def _out() -> Console:
    console = Console(highlight=False)
    if not console.is_terminal:
        console = Console(highlight=False, width=PIPE_WIDTH)
    return console


def _table(title: str, *columns: str, keep: set[str]) -> Table:
    """A table for people; the `keep` columns (ids to copy, dates) are not wrapped."""
    table = Table(title=title)
    for column in columns:
        table.add_column(column, no_wrap=column in keep, overflow="fold")
    return table


def _echo_json(value: Any) -> None:
    typer.echo(json.dumps(value, indent=2, sort_keys=True))


def _iso(value: datetime | date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _user_json(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "name": user.name,
        "email": user.email,
        "active": user.active,
        "roles": sorted(r.value for r in user.roles),
        "has_password": user.has_password,
        "created_at": _iso(user.created_at),
    }


def _delegation_json(d: Delegation) -> dict[str, Any]:
    return {
        "id": d.id,
        "principal": d.principal_id,
        "deputy": d.deputy_id,
        "role": d.role.value,
        "from": _iso(d.starts_on),
        "to": _iso(d.ends_on),
        "reason": d.reason,
        "created_at": _iso(d.created_at),
        "revoked_at": _iso(d.revoked_at),
    }


def _token_json(t: ApiToken, now: datetime) -> dict[str, Any]:
    return {
        "id": t.id,
        "user_id": t.user_id,
        "name": t.name,
        "prefix": t.prefix,
        "status": t.status(now),
        "created_at": _iso(t.created_at),
        "expires_at": _iso(t.expires_at),
        "revoked_at": _iso(t.revoked_at),
        "last_used_at": _iso(t.last_used_at),
    }


def _when(value: datetime | None) -> str:
    return value.astimezone(LONDON).strftime("%Y-%m-%d %H:%M") if value is not None else "-"


def _now_london() -> datetime:
    return datetime.now(LONDON)


def _print_user(user: User, verb: str) -> None:
    roles = ", ".join(sorted(r.value for r in user.roles)) or "no roles"
    state = "" if user.active else " (deactivated)"
    typer.echo(f"{verb} {user.id} ({user.name}){state}: {roles}")


# -- db ---------------------------------------------------------------------------------------


@db_app.command("upgrade")
def db_upgrade(ctx: typer.Context) -> None:
    """Migrate the event store and the application's tables to their newest versions."""
    from ratify.db import migrate_all

    url = _database_url(ctx)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    try:
        migrate_all(url)
    except sa.exc.OperationalError as exc:
        _fail(f"database: cannot open it ({exc.orig}): check RATIFY_DATABASE_URL", code=1)
    typer.echo(f"database {parsed.render_as_string(hide_password=True)} is up to date")


# -- users ------------------------------------------------------------------------------------


@users_app.command("add")
def users_add(
    ctx: typer.Context,
    user_id: Annotated[str, typer.Argument(metavar="ID", help="e.g. ollie.lane")],
    name: Annotated[str, typer.Option("--name", help="Full name.")],
    role: Annotated[
        list[str], typer.Option("--role", help="A role (repeat for several).", show_default=False)
    ],
    email: Annotated[str | None, typer.Option("--email")] = None,
    password_prompt: Annotated[
        bool, typer.Option("--password-prompt", help="Ask for a password for the web sign-in.")
    ] = False,
) -> None:
    """Add a person with their roles."""
    with _directory(ctx) as directory:
        check_user_id(user_id)
        roles = [parse_role(r) for r in role]
        password = None
        if password_prompt:
            password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
        user = directory.add_user(user_id, name, roles, email=email, password=password)
    _print_user(user, "added")


@users_app.command("list")
def users_list(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Everyone, with their roles."""
    with _directory(ctx) as directory:
        people = directory.list_users()
    if as_json:
        _echo_json([_user_json(u) for u in people])
        return
    table = _table(
        "Users", "id", "name", "email", "roles", "active", "password", keep={"id", "roles", "email"}
    )
    for u in people:
        table.add_row(
            u.id,
            u.name,
            u.email or "-",
            "\n".join(sorted(r.value for r in u.roles)),
            "yes" if u.active else "no",
            "set" if u.has_password else "-",
        )
    _out().print(table)


@users_app.command("grant")
def users_grant(
    ctx: typer.Context,
    user_id: Annotated[str, typer.Argument(metavar="ID")],
    role: Annotated[str, typer.Argument(metavar="ROLE")],
) -> None:
    """Give a person a role."""
    with _directory(ctx) as directory:
        user = directory.grant_role(user_id, role)
    _print_user(user, "granted:")


@users_app.command("revoke")
def users_revoke(
    ctx: typer.Context,
    user_id: Annotated[str, typer.Argument(metavar="ID")],
    role: Annotated[str, typer.Argument(metavar="ROLE")],
) -> None:
    """Take a role away (delegations of it stop giving it at once)."""
    with _directory(ctx) as directory:
        user = directory.revoke_role(user_id, role)
    _print_user(user, "revoked:")


@users_app.command("deactivate")
def users_deactivate(
    ctx: typer.Context, user_id: Annotated[str, typer.Argument(metavar="ID")]
) -> None:
    """Stop a person signing in (their tokens and delegations stop working)."""
    with _directory(ctx) as directory:
        user = directory.deactivate(user_id)
    _print_user(user, "deactivated")


@users_app.command("reactivate")
def users_reactivate(
    ctx: typer.Context, user_id: Annotated[str, typer.Argument(metavar="ID")]
) -> None:
    """Let a deactivated person sign in again."""
    with _directory(ctx) as directory:
        user = directory.reactivate(user_id)
    _print_user(user, "reactivated")


@users_app.command("delegate")
def users_delegate(
    ctx: typer.Context,
    principal: Annotated[str, typer.Argument(metavar="PRINCIPAL", help="Who is away.")],
    deputy: Annotated[str, typer.Argument(metavar="DEPUTY", help="Who acts for them.")],
    role: Annotated[str, typer.Argument(metavar="ROLE", help="One of the principal's roles.")],
    starts_on: Annotated[str, typer.Option("--from", help="First day, YYYY-MM-DD.")],
    ends_on: Annotated[str, typer.Option("--to", help="Last day, YYYY-MM-DD (inclusive).")],
    reason: Annotated[str, typer.Option("--reason", help="e.g. annual leave.")],
    as_json: JsonOption = False,
) -> None:
    """Let a deputy act in one of a person's roles for a range of days (out of office)."""
    start = _parse_date(starts_on, "--from")
    end = _parse_date(ends_on, "--to")
    with _directory(ctx) as directory:
        made = directory.delegate(principal, deputy, role, start, end, reason)
    if as_json:
        _echo_json(_delegation_json(made))
        return
    typer.echo(
        f"{made.id}: {made.deputy_id} acts as {made.role.value} for {made.principal_id} "
        f"from {made.starts_on} to {made.ends_on}"
    )


@users_app.command("delegations")
def users_delegations(
    ctx: typer.Context,
    user_id: Annotated[
        str | None, typer.Argument(metavar="[USER]", help="Made or received by this person.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Delegations, newest first."""
    with _directory(ctx) as directory:
        found = directory.list_delegations(user_id)
    if as_json:
        _echo_json([_delegation_json(d) for d in found])
        return
    table = _table(
        "Delegations",
        *("id", "principal", "deputy", "role", "days", "reason", "revoked"),
        keep={"id", "principal", "deputy", "role", "days", "revoked"},
    )
    for d in found:
        table.add_row(
            d.id,
            d.principal_id,
            d.deputy_id,
            d.role.value,
            f"{d.starts_on.isoformat()} to {d.ends_on.isoformat()}",
            d.reason,
            _when(d.revoked_at),
        )
    _out().print(table)


@users_app.command("undelegate")
def users_undelegate(
    ctx: typer.Context, delegation_id: Annotated[str, typer.Argument(metavar="DELEGATION_ID")]
) -> None:
    """Revoke a delegation at once."""
    with _directory(ctx) as directory:
        revoked = directory.revoke_delegation(delegation_id)
    typer.echo(f"revoked {revoked.id}")


# -- tokens -----------------------------------------------------------------------------------


@tokens_app.command("create")
def tokens_create(
    ctx: typer.Context,
    user_id: Annotated[str, typer.Argument(metavar="USER")],
    name: Annotated[str, typer.Option("--name", help="What the token is for, e.g. laptop.")],
    expires: Annotated[
        str | None,
        typer.Option(
            "--expires", help="Last day it works, YYYY-MM-DD (London).", show_default=False
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Make an API token. The secret is printed once and never stored."""
    expires_at = None
    if expires is not None:
        last_day = _parse_date(expires, "--expires")
        expires_at = datetime.combine(last_day + timedelta(days=1), time(), tzinfo=LONDON)
    with _directory(ctx) as directory:
        token_id, secret = directory.create_token(user_id, name, expires_at)
    if as_json:
        _echo_json(
            {
                "id": token_id,
                "user_id": user_id,
                "secret": secret,
                "expires_at": _iso(expires_at.astimezone(UTC) if expires_at else None),
            }
        )
        return
    until = f", until the end of {expires}" if expires else ""
    typer.echo(f"token {token_id} for {user_id}{until}:", err=True)
    typer.echo(secret)
    typer.echo("this is the only time the secret is shown: store it now", err=True)


@tokens_app.command("list")
def tokens_list(
    ctx: typer.Context,
    user_id: Annotated[str | None, typer.Argument(metavar="[USER]")] = None,
    as_json: JsonOption = False,
) -> None:
    """Tokens (never their secrets)."""
    with _directory(ctx) as directory:
        found = directory.list_tokens(user_id)
    now = _now_london()
    if as_json:
        _echo_json([_token_json(t, now) for t in found])
        return
    table = _table(
        "API tokens",
        *("id", "user", "name", "status", "created", "expires", "last used"),
        keep={"id", "user", "status", "created", "expires", "last used"},
    )
    for t in found:
        table.add_row(
            t.id,
            t.user_id,
            t.name,
            t.status(now),
            _when(t.created_at),
            _when(t.expires_at),
            _when(t.last_used_at),
        )
    _out().print(table)


@tokens_app.command("revoke")
def tokens_revoke(
    ctx: typer.Context, token_id: Annotated[str, typer.Argument(metavar="TOKEN_ID")]
) -> None:
    """Refuse a token from now on."""
    with _directory(ctx) as directory:
        revoked = directory.revoke_token(token_id)
    typer.echo(f"revoked {revoked.id} ({revoked.user_id}, {revoked.name})")


# -- serve ------------------------------------------------------------------------------------


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port of the HTTP API.")] = 8000,
) -> None:
    """Run the whole service in one process (see `ratify.serve`)."""
    import asyncio

    from ratify.serve import serve as run
    from ratify.settings import load_settings

    asyncio.run(run(load_settings(), host=host, port=port))
    sys.stdout.flush()
    sys.stderr.flush()
    # Skip interpreter finalisation, which the Temporal SDK's runtime can abort
    # (temporalio/sdk-python#300) after a clean shutdown.
    os._exit(0)


#: One demo person per role, for trying Ratify out on the embedded defaults.
DEMO_PEOPLE: list[tuple[str, str, Role]] = [
    ("ollie.lane", "Ollie Lane (originating officer)", Role.ORIGINATING_OFFICER),
    ("dana.drafting", "Dana Drafting (MOPAC drafting officer)", Role.DRAFTING_OFFICER),
    ("sam.secretariat", "Sam Secretariat (IAB/IAM)", Role.BOARD_SECRETARIAT),
    ("chris.chair", "Chris Chair (board chair)", Role.BOARD_CHAIR),
    ("fran.finance", "Fran Finance", Role.FINANCE_ADVISER),
    ("lee.legal", "Lee Legal", Role.LEGAL_ADVISER),
    ("cat.commercial", "Cat Commercial", Role.COMMERCIAL_ADVISER),
    ("eve.equalities", "Eve Equalities", Role.EQUALITIES_ADVISER),
    ("ian.assurance", "Ian Information Assurance", Role.INFORMATION_ASSURANCE_ADVISER),
    ("rob.ceo", "Rob Chief Executive", Role.CHIEF_EXECUTIVE),
    ("dee.dmpc", "Dee DMPC", Role.DMPC),
    ("alternate.decision.maker", "Alex Alternate", Role.ALTERNATE_DECISION_MAKER),
    ("max.mps", "Max MPS decision maker", Role.MPS_DECISION_MAKER),
    ("pat.publication", "Pat Publication", Role.PUBLICATION_OFFICER),
    ("ann.auditor", "Ann Auditor", Role.AUDITOR),
    ("ada.admin", "Ada Admin", Role.ADMIN),
]


@app.command("demo")
def demo(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Create one demo user per role (if missing) and print a fresh token for each.

    For trying Ratify on the embedded defaults only: anyone with the output can act as
    every role.
    """
    url = _database_url(ctx)
    from ratify.db import migrate_all

    migrate_all(url)
    tokens: list[dict[str, str]] = []
    with _directory(ctx) as directory:
        existing = {u.id for u in directory.list_users()}
        for user_id, name, role in DEMO_PEOPLE:
            if user_id not in existing:
                directory.add_user(user_id, name, [role])
            _, secret = directory.create_token(user_id, "demo")
            tokens.append({"user": user_id, "role": role.value, "token": secret})
    if as_json:
        _echo_json(tokens)
        return
    table = _table("Demo users (tokens shown once)", "user", "role", "token", keep={"token"})
    for t in tokens:
        table.add_row(t["user"], t["role"], t["token"])
    _out().print(table)


if __name__ == "__main__":  # pragma: no cover
    app()
