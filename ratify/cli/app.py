"""`ratify`: the command line: admin commands on the database, people's commands on the API.

    ratify db upgrade
    ratify users add ollie.lane --name "Ollie Lane" --role originating_officer [--password-prompt]
    ratify users list [--json]
    ratify users grant|revoke ID ROLE        ratify users deactivate|reactivate ID
    ratify users set-password ID [--password-stdin]
    ratify users unlock ID                   ratify users end-sessions ID
    ratify users delegate PRINCIPAL DEPUTY ROLE --from YYYY-MM-DD --to YYYY-MM-DD --reason TEXT
    ratify users delegations [USER] [--json] ratify users undelegate DELEGATION_ID
    ratify users link-oidc ID --subject SUB [--issuer ISS] [--replace]
    ratify users unlink-oidc ID [--issuer ISS]  ratify users oidc-links [USER] [--json]
    ratify tokens create USER --name laptop [--expires YYYY-MM-DD] [--json]
    ratify tokens list [USER] [--json]       ratify tokens revoke TOKEN_ID
    ratify serve [--host H] [--port P]
    ratify demo [--json] [--i-know-this-is-not-production]  (embedded SQLite store only)

The processes of a production deployment, each on the same settings (see `ratify.processes.serve`):

    ratify worker        ratify api [--host H] [--port P]        ratify projector

The database is `RATIFY_DATABASE_URL` (see `ratify.infra.settings`), or `--database-url`. Each
command is one transaction: a refused command writes nothing, prints a message naming the
field and the rule, and exits with status 2. People get rich tables; scripts get `--json`.

Officers, approvers and auditors work through the HTTP API with their token, so the CLI and
the web share one set of rules (see `ratify.cli.client`):

    ratify case submit FILE [--case-id ID] [--draft-only]
    ratify case list [--stage S] [--title T] [--reference R] [--limit N] [--cursor C]
    ratify case show CASE [--version N] [--as-of ISO]         ratify tasks [--limit N] [--cursor C]
    ratify act CASE ACTION [--field key=value ...] [--json-body '{...}'] [--role R]
               [--on-behalf-of USER] [--expected-version N]
    ratify history CASE [--as-of ISO]
    ratify register [REFERENCE] [--title T] [--signed-from D] [--signed-to D] [--cursor C]

The lists come a page at a time (50 unless --limit): after a page that is not the last, the
command prints the command for the next one, with its `--cursor` (with --json: `next`).

The API is `--api-url` or `RATIFY_API_URL` (default http://127.0.0.1:8000), the token
`--token` or `RATIFY_TOKEN`. A refusal prints `error: <code>: <detail>` and exits 2 (a stale
action also prints the case's current version and stage); a server that cannot be reached
exits 1.
"""

from __future__ import annotations

import asyncio
import json
import os
import shlex
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any, NoReturn

import httpx
import sqlalchemy as sa
import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table
from rich.text import Text
from sqlalchemy.engine import make_url

from domain.clock import LONDON
from domain.roles import Role
from domain.state import CaseState, Stage, open_tasks
from eventstore import create_engine_for
from ratify.cli.client import ApiRefusal, RatifyClient, ServerFailure, Unreachable
from ratify.services import delegations
from ratify.services.identity.service import (
    ApiToken,
    Delegation,
    Directory,
    IdentityError,
    User,
    check_user_id,
    parse_role,
)
from ratify.services.identity.tables import users as users_table

BAD_INPUT = 2
"""Exit status of a refused command (as for a usage error)."""

app = typer.Typer(
    name="ratify",
    help="Ratify: cases, tasks, actions and the register through the HTTP API; and the admin "
    "commands for the database, users, roles, delegations and API tokens.",
    no_args_is_help=True,
    add_completion=False,
    # An unhandled error prints its traceback, never the frames' locals (settings, tokens,
    # Part 2 text); older Typer releases showed them by default.
    pretty_exceptions_show_locals=False,
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


def _settings() -> Any:
    from ratify.infra.settings import load_settings

    try:
        return load_settings()
    except ValidationError as exc:
        _fail(f"settings: {exc.errors()[0]['loc']}: {exc.errors()[0]['msg']}")


def _database_url(ctx: typer.Context) -> str:
    if isinstance(ctx.obj, str) and ctx.obj:
        return ctx.obj
    settings = _settings()
    if not settings.database_url:  # the embedded SQLite store: created private to the user
        for path in settings.prepare_data_dir():
            typer.echo(f"made {path} private to its owner (it was open to others)", err=True)
    return str(settings.event_store_url)


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
        yield Directory(engine, delegation_max_days=_settings().delegation_max_days)
    except IdentityError as exc:
        _fail(str(exc))
    finally:
        engine.dispose()


def _window() -> Any:
    """The window of dates a person can write (the settings', else the default one)."""
    from ratify.services.dates import DateWindow, default_window

    try:
        return default_window()
    except ValueError:  # the settings do not load: the API will say so; keep the default
        return DateWindow()


def _parse_date(value: str, option: str) -> date:
    try:
        day = date.fromisoformat(value.strip())
    except ValueError:
        _fail(f"{option}: {value!r} is not a date: write it as YYYY-MM-DD")
    for problem in _window().problems(day):
        _fail(f"{option}: {problem.removeprefix('date: ')}")
    return day


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
    from ratify.infra.db import migrate_all

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
    """Stop a person signing in (their tokens, sessions and delegations stop working)."""
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


@users_app.command("set-password")
def users_set_password(
    ctx: typer.Context,
    user_id: Annotated[str, typer.Argument(metavar="ID")],
    password_stdin: Annotated[
        bool,
        typer.Option(
            "--password-stdin",
            help="Read the password from the first line of standard input (for scripts), "
            "instead of asking twice.",
        ),
    ] = False,
) -> None:
    """Set or reset a person's password for the web sign-in: ends all their sessions and
    lifts a sign-in lockout."""
    with _directory(ctx) as directory:
        directory.get_user(user_id)  # an unknown user is refused before the prompt
        if password_stdin:
            password = sys.stdin.readline().rstrip("\r\n")
        else:
            password = typer.prompt(
                "New password", hide_input=True, confirmation_prompt=True, err=True
            )
        ended = directory.set_password(user_id, password)
    typer.echo(f"password set for {user_id}; {_sessions_text(ended)} ended")


@users_app.command("unlock")
def users_unlock(ctx: typer.Context, user_id: Annotated[str, typer.Argument(metavar="ID")]) -> None:
    """Lift a sign-in lockout (after too many failed passwords) and forget the failures."""
    with _directory(ctx) as directory:
        until = directory.locked_until(user_id)
        cleared = directory.unlock(user_id)
    if until is not None:
        typer.echo(f"unlocked {user_id} (it was locked until {_when(until)} London time)")
    elif cleared:
        typer.echo(f"{user_id} was not locked; its failed sign-ins were forgotten")
    else:
        typer.echo(f"{user_id} was not locked")


@users_app.command("end-sessions")
def users_end_sessions(
    ctx: typer.Context, user_id: Annotated[str, typer.Argument(metavar="ID")]
) -> None:
    """Sign a person out everywhere: end all their web sessions at once."""
    with _directory(ctx) as directory:
        ended = directory.end_sessions(user_id, "ended_by_admin")
    typer.echo(f"{_sessions_text(ended)} of {user_id} ended")


def _sessions_text(count: int) -> str:
    return f"{count} session" + ("" if count == 1 else "s")


def _oidc_issuer(issuer: str | None) -> str:
    """The issuer given, else RATIFY_OIDC_ISSUER."""
    if issuer:
        return issuer
    from ratify.infra.settings import load_settings

    try:
        configured = load_settings().oidc_issuer
    except ValidationError as exc:
        _fail(f"settings: {exc.errors()[0]['loc']}: {exc.errors()[0]['msg']}")
    if not configured:
        _fail("--issuer: give the provider's issuer (RATIFY_OIDC_ISSUER is unset)")
    return configured


IssuerOption = Annotated[
    str | None,
    typer.Option(
        "--issuer",
        help="The provider's issuer, as in its tokens' iss (default: RATIFY_OIDC_ISSUER).",
    ),
]


@users_app.command("link-oidc")
def users_link_oidc(
    ctx: typer.Context,
    user_id: Annotated[str, typer.Argument(metavar="ID")],
    subject: Annotated[
        str, typer.Option("--subject", help="The person's sub at the provider (ID token's sub).")
    ],
    issuer: IssuerOption = None,
    replace: Annotated[
        bool, typer.Option("--replace", help="Replace the user's link at this issuer.")
    ] = False,
) -> None:
    """Link a person's account at the organisation's identity provider to a Ratify user, for
    "Sign in with your organisation" (their roles still come from Ratify)."""
    from ratify.services.identity.oidc_subjects import OidcSubjects

    with _directory(ctx) as directory:
        link = OidcSubjects(directory).link(user_id, subject, _oidc_issuer(issuer), replace=replace)
    typer.echo(f"linked: {link.user_id} is subject {link.subject} at {link.issuer}")


@users_app.command("unlink-oidc")
def users_unlink_oidc(
    ctx: typer.Context,
    user_id: Annotated[str, typer.Argument(metavar="ID")],
    issuer: IssuerOption = None,
) -> None:
    """Remove a user's link to the identity provider (they can no longer sign in with it)."""
    from ratify.services.identity.oidc_subjects import OidcSubjects

    with _directory(ctx) as directory:
        link = OidcSubjects(directory).unlink(user_id, _oidc_issuer(issuer))
    typer.echo(f"unlinked: {link.user_id} from subject {link.subject} at {link.issuer}")


@users_app.command("oidc-links")
def users_oidc_links(
    ctx: typer.Context,
    user_id: Annotated[str | None, typer.Argument(metavar="[USER]")] = None,
    as_json: JsonOption = False,
) -> None:
    """The links between provider subjects and Ratify users (of one user)."""
    from ratify.services.identity.oidc_subjects import OidcSubjects

    with _directory(ctx) as directory:
        links = OidcSubjects(directory).links(user_id)
    if as_json:
        _echo_json([{**link.model_dump(), "linked_at": _iso(link.linked_at)} for link in links])
        return
    table = _table("OIDC links", "user", "issuer", "subject", "linked", "via", keep={"subject"})
    for link in links:
        table.add_row(
            link.user_id, link.issuer, link.subject, _when(link.linked_at), link.linked_via
        )
    _out().print(table)


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
        made = delegations.delegate(
            directory, directory.engine, principal, deputy, role, start, end, reason
        )
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


def _run_process(process: str, run: Any) -> NoReturn:
    """Run a process command to its end and exit with its status (see `ratify.processes.serve`)."""
    from ratify.processes.serve import main as process_main

    code = asyncio.run(process_main(process, run))
    sys.stdout.flush()
    sys.stderr.flush()
    # Skip interpreter finalisation, which the Temporal SDK's runtime can abort
    # (temporalio/sdk-python#300) after a clean shutdown.
    os._exit(code)


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port of the HTTP API.")] = 8000,
) -> None:
    """Run the whole service in one process (see `ratify.processes.serve`)."""
    from ratify.processes.serve import serve as run

    async def whole(settings: Any) -> None:
        await run(settings, host=host, port=port)

    _run_process("serve", whole)


@app.command("worker")
def worker_process() -> None:
    """Run the worker: workflows and activities (production; see `worker.py`).

    Needs TEMPORAL_ADDRESS for a Temporal cluster (unset: the bundled dev server).
    Migrates the event store first unless RATIFY_MIGRATE_ON_START=false. SIGTERM drains it.
    """
    from ratify.processes.worker import run

    _run_process("worker", run)


@app.command("api")
def api_process(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "0.0.0.0",
    port: Annotated[int, typer.Option(help="Port of the HTTP API.")] = 8000,
) -> None:
    """Run the HTTP API and web pages only, against TEMPORAL_ADDRESS (production).

    No worker, no dev server, no migrations (run `ratify db upgrade`). SIGTERM lets open
    requests finish. Serves GET /metrics, /healthz and /readyz.
    """
    from ratify.processes.serve import run_api

    async def api(settings: Any) -> int:
        return await run_api(settings, host=host, port=port)

    _run_process("api", api)


@app.command("projector")
def projector_process() -> None:
    """Keep the read views (search, inboxes, register) up with the event log (production).

    Several may run at once. No migrations. Metrics on RATIFY_METRICS_PORT.
    """
    from ratify.processes.serve import run_projector

    _run_process("projector", run_projector)


@app.command("payload-key")
def payload_key(
    key_id: Annotated[
        str, typer.Argument(help="A name for the key, e.g. the month it was made: 2026-11")
    ],
) -> None:
    """Make a key that encrypts what Ratify puts in Temporal: prints `id:key` for
    RATIFY_PAYLOAD_KEYS (put it first to rotate; keep older keys after it)."""
    from ratify.infra.payloads import new_key

    if not key_id or any(c in key_id for c in ":, ") or not key_id.isprintable():
        _fail("key_id: a name without spaces, commas or colons, e.g. 2026-11")
    typer.echo(f"{key_id}:{new_key()}")


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


#: Roles some demo people hold besides their own: the auditor is cleared to read Part 2.
DEMO_EXTRA_ROLES: dict[str, list[Role]] = {"ann.auditor": [Role.PART2_CLEARANCE]}


#: The demo users' password, for the web sign-in (demo only).
DEMO_PASSWORD = "ratify-demo-password"


#: The flag that lets `ratify demo` write to a database other than the embedded store.
NOT_PRODUCTION_FLAG = "--i-know-this-is-not-production"


def _embedded_store(url: str) -> bool:
    """Whether `url` is the embedded SQLite store under the data directory."""
    from ratify.infra.settings import load_settings

    try:
        embedded = load_settings().model_copy(update={"database_url": None}).event_store_url
    except ValidationError:
        return False
    return make_url(url) == make_url(embedded)


@app.command("demo")
def demo(
    ctx: typer.Context,
    as_json: JsonOption = False,
    not_production: Annotated[
        bool,
        typer.Option(
            NOT_PRODUCTION_FLAG,
            help="Run on a database other than the embedded SQLite store (never production).",
        ),
    ] = False,
) -> None:
    """Create one demo user per role (if missing) and print a fresh token for each.

    For trying Ratify on the embedded defaults only: anyone with the output can act as
    every role, and every demo user has the same published password. On any other
    database it refuses unless given --i-know-this-is-not-production.
    """
    url = _database_url(ctx)
    if not not_production and not _embedded_store(url):
        _fail(
            "ratify demo adds users with a published password and prints a token for every "
            "role, so it runs only on the embedded SQLite store (no RATIFY_DATABASE_URL, no "
            f"--database-url); to run it on this database anyway give {NOT_PRODUCTION_FLAG}"
        )
    from ratify.infra.db import migrate_all

    migrate_all(url)
    tokens: list[dict[str, str]] = []
    with _directory(ctx) as directory:
        existing = {u.id for u in directory.list_users()}
        for user_id, name, role in DEMO_PEOPLE:
            if user_id not in existing:
                roles = [role, *DEMO_EXTRA_ROLES.get(user_id, [])]
                directory.add_user(user_id, name, roles, password=DEMO_PASSWORD)
            _, secret = directory.create_token(user_id, "demo")
            tokens.append({"user": user_id, "role": role.value, "token": secret})
    if as_json:
        _echo_json(tokens)
        return
    typer.echo(
        f"Web sign-in: http://127.0.0.1:8000/ui/ with any user id and the password "
        f"{DEMO_PASSWORD!r}"
    )
    table = _table("Demo users (tokens shown once)", "user", "role", "token", keep={"token"})
    for t in tokens:
        table.add_row(t["user"], t["role"], t["token"])
    _out().print(table)


# -- cases, tasks and the register, through the HTTP API --------------------------------------
#
# These commands hold no rules: they call the HTTP API with the user's token, so the CLI and
# the web refuse the same things. (`case show` works out the open tasks from the case view
# with the domain's own `open_tasks`, as the API's view does not carry them.) A refusal
# prints `error: <code>: <detail>` and exits 2; a server that cannot be reached (or fails)
# exits 1.

DEFAULT_API_URL = "http://127.0.0.1:8000"

#: The HTTP transport of the API commands' client: None for the network. Tests (and
#: embedders) put a transport here to talk to an app in the same process.
api_transport: httpx.BaseTransport | None = None

case_app = typer.Typer(
    help="Cases through the HTTP API: submit a case file, show a case, search.",
    no_args_is_help=True,
)
app.add_typer(case_app, name="case")

ApiUrlOption = Annotated[
    str,
    typer.Option(
        "--api-url",
        envvar="RATIFY_API_URL",
        help="Where Ratify's HTTP API is (default: RATIFY_API_URL, else the local one).",
    ),
]
TokenOption = Annotated[
    str | None,
    typer.Option(
        "--token",
        envvar="RATIFY_TOKEN",
        help="Your API token (default: RATIFY_TOKEN); an admin makes one with `tokens create`.",
        show_default=False,
    ),
]


@contextmanager
def _api(api_url: str, token: str | None, *, need_token: bool = True) -> Iterator[RatifyClient]:
    """A client of the API; refusals exit 2, an unreachable or failing server exits 1."""
    url = api_url.strip()
    if not url.startswith(("http://", "https://")):
        _fail(f"--api-url: {api_url!r} is not a URL: write it as http://host:port")
    secret = (token or "").strip()
    if need_token and not secret:
        _fail(
            "no API token: pass --token or set RATIFY_TOKEN "
            "(an admin makes one with `ratify tokens create USER --name NAME`)"
        )
    client = RatifyClient(url, secret or None, transport=api_transport)
    try:
        yield client
    except ApiRefusal as exc:
        _refused(exc)
    except Unreachable as exc:
        _fail(f"{exc} (is `ratify serve` running there? see --api-url or RATIFY_API_URL)", 1)
    except ServerFailure as exc:
        _fail(str(exc), code=1)
    finally:
        client.close()


def _refused(exc: ApiRefusal, hint: str | None = None) -> NoReturn:
    """Print the API's refusal, with what a person needs to act on it, and exit 2."""
    typer.echo(f"error: {exc.code}: {exc.detail}", err=True)
    if hint:
        typer.echo(hint, err=True)
    state = exc.state or {}
    if exc.code == "stale" and "version" in state:
        case_id = state.get("case_id", "CASE")
        typer.echo(
            f"current: version {state['version']}, stage {state.get('stage')} "
            f"({_stage_label(state.get('stage'))}); look again with "
            f"`ratify case show {case_id}`, then act with --expected-version {state['version']}",
            err=True,
        )
    elif exc.status == 401:
        typer.echo("(HTTP 401: check --token or RATIFY_TOKEN)", err=True)
    elif exc.status == 403:
        typer.echo("(HTTP 403: the roles your token's user holds do not allow this)", err=True)
    raise typer.Exit(BAD_INPUT)


def _stage_label(value: Any) -> str:
    try:
        return Stage(str(value)).label
    except ValueError:
        return str(value)


def _parse_instant(value: str, option: str) -> datetime:
    """An ISO instant with its timezone (`2019-12-13T17:00:00Z`); a bare date is refused."""
    try:
        when = datetime.fromisoformat(value.strip())
    except ValueError:
        _fail(f"{option}: {value!r} is not an ISO date and time, e.g. 2019-12-13T17:00:00Z")
    if when.tzinfo is None or when.utcoffset() is None:
        _fail(f"{option}: give a timezone, e.g. 2019-12-13T17:00:00Z or +01:00")
    for problem in _window().problems(when):
        _fail(f"{option}: {problem.removeprefix('date: ')}")
    return when


def _when_text(value: Any) -> str:
    """An ISO timestamp from the API as a London time, `-` for none."""
    if not value:
        return "-"
    try:
        return _when(datetime.fromisoformat(str(value)))
    except ValueError:
        return str(value)


def _money(value: Any) -> str:
    try:
        return f"£{Decimal(str(value)):,.2f}"
    except (InvalidOperation, ValueError):
        return str(value)


def _dash(value: Any) -> str:
    return "-" if value is None or value == "" else str(value)


def _actor_text(actor: Any) -> str:
    if not isinstance(actor, dict):
        return "-"
    text = f"{actor.get('user_id')} ({actor.get('role')})"
    if actor.get("on_behalf_of"):
        text += f" for {actor['on_behalf_of']}"
    return text


def _open_tasks(view: dict[str, Any]) -> list[dict[str, Any]] | None:
    """The open tasks of a case view, by the domain's own rule; None if it cannot tell."""
    data = {k: v for k, v in view.items() if k not in ("part2_exists", "part2_visible")}
    try:
        state = CaseState.model_validate(data)
    except ValidationError:
        return None
    return [t.model_dump(mode="json") for t in open_tasks(state)]


CursorOption = Annotated[
    str | None,
    typer.Option(
        "--cursor",
        help="Where the page starts: the cursor printed after the page before.",
        show_default=False,
    ),
]


def _next_page(command: str, cursor: str | None, **options: str | int | None) -> str | None:
    """The command that prints the page after this one (None on the last page)."""
    if not cursor:
        return None
    words = ["ratify", *command.split()]
    for name, value in options.items():
        if value is not None and value != "":
            words += [f"--{name.replace('_', '-')}", str(value)]
    return shlex.join([*words, "--cursor", cursor])


# -- case ---------------------------------------------------------------------------------


@case_app.command("submit")
def case_submit(
    file: Annotated[Path, typer.Argument(metavar="FILE", help="A case file (.yaml or .json).")],
    case_id: Annotated[
        str | None,
        typer.Option(
            "--case-id", help="The case's id (default: one is made up).", show_default=False
        ),
    ] = None,
    draft_only: Annotated[
        bool, typer.Option("--draft-only", help="Store the draft; do not submit it yet.")
    ] = False,
    api_url: ApiUrlOption = DEFAULT_API_URL,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Upload a case file as a draft and submit it (originating officers)."""
    if not file.is_file():
        _fail(f"FILE: {file} is not a file" if file.exists() else f"FILE: no such file {file}")
    if file.suffix.lower() not in (".yaml", ".yml", ".json"):
        _fail(f"FILE: {file.name}: a case file ends in .yaml, .yml or .json")
    try:
        text = file.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        _fail(f"FILE: {file} is not UTF-8 text")
    except OSError as exc:
        _fail(f"FILE: cannot read {file}: {exc.strerror}")
    status = Console(stderr=True, highlight=False)
    submitted: dict[str, Any] | None = None
    with _api(api_url, token) as ratify:
        with status.status(f"Uploading {file.name} to {ratify.base_url}..."):
            draft = ratify.upload_case(text, file.name, case_id)
        new_id = str(draft["case_id"])
        if not as_json:
            typer.echo(f"drafted {new_id} (version {draft['version']})")
        if not draft_only:
            try:
                with status.status(f"Submitting {new_id}: the rules fix its route..."):
                    submitted = ratify.submit(new_id)
            except ApiRefusal as exc:
                _refused(
                    exc,
                    f"the draft {new_id} is stored but not submitted: fix the cause "
                    f"(`ratify act {new_id} revise ...`), then `ratify act {new_id} submit`",
                )
    if as_json:
        _echo_json({"case_id": new_id, "draft": draft, "submitted": submitted})
    elif submitted is not None:
        typer.echo(
            f"submitted {new_id}: version {submitted['version']}, stage {submitted['stage']} "
            f"({_stage_label(submitted['stage'])})"
        )


@case_app.command("show")
def case_show(
    case_id: Annotated[str, typer.Argument(metavar="CASE")],
    version: Annotated[
        int | None, typer.Option("--version", help="As it was at this version.", min=1)
    ] = None,
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="As it was at this instant, e.g. 2019-12-13T17:00:00Z."),
    ] = None,
    api_url: ApiUrlOption = DEFAULT_API_URL,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """A case: its stage, reference, deadline, sign-offs and open tasks (Part 2 if cleared)."""
    when = _parse_instant(as_of, "--as-of") if as_of is not None else None
    with _api(api_url, token) as ratify:
        view = ratify.show(case_id, version=version, as_of=when)
    if as_json:
        _echo_json(view)
        return
    _print_case(view)


def _print_case(view: dict[str, Any]) -> None:
    out = _out()
    case = view.get("case") or {}
    routing = view.get("routing") or {}
    out.print(Text(str(case.get("title") or view.get("case_id")), style="bold"))
    facts = Table.grid(padding=(0, 2))
    facts.add_column(style="dim", no_wrap=True)
    facts.add_column(overflow="fold")
    decision_maker = view.get("decision_maker_role") or routing.get("decision_maker")
    rows = [
        ("case", f"{view.get('case_id')} (version {view.get('version')})"),
        ("stage", f"{view.get('stage')} ({_stage_label(view.get('stage'))})"),
        ("reference", _dash(view.get("reference"))),
        ("required by", _dash(view.get("required_by"))),
        ("route", _dash(routing.get("route"))),
        ("decision by", _dash(decision_maker)),
        (
            "drafted",
            f"{_when_text(view.get('drafted_at'))} by {_actor_text(view.get('drafted_by'))}",
        ),
        ("submitted", _when_text(view.get("submitted_at"))),
        ("decided", _when_text(view.get("decided_at"))),
        ("Part 1", _dash(view.get("part1"))),
        ("Part 2", _dash(view.get("part2"))),
    ]
    if view.get("deadline_missed"):
        rows.append(("deadline", "missed"))
    returned = view.get("returned")
    if isinstance(returned, dict) and view.get("stage") == Stage.REVISION.value:
        reasons = "; ".join(str(r) for r in returned.get("reasons", []))
        rows.append(("sent back", f"by {_actor_text(returned.get('by'))}: {reasons}"))
    for note in view.get("irregularities") or []:
        rows.append(("irregularity", str(note)))
    for key, value in rows:
        facts.add_row(key, value)
    out.print(facts)

    signoffs = view.get("signoffs") or {}
    if signoffs:
        table = _table(
            "Sign-offs",
            "area",
            "status",
            "round",
            "by",
            "at",
            "note",
            keep={"area", "status", "round", "at"},
        )
        for area, s in signoffs.items():
            table.add_row(
                area,
                str(s.get("status")),
                str(s.get("round")),
                _actor_text(s.get("by")) if s.get("by") else "-",
                _when_text(s.get("at")),
                _dash(s.get("note")),
            )
        out.print(table)

    tasks = _open_tasks(view)
    if tasks is None:
        out.print("open tasks: cannot be worked out from this view")
    elif tasks:
        table = _table(
            "Open tasks",
            "task",
            "role",
            "area",
            "due",
            "description",
            keep={"task", "role", "area", "due"},
        )
        for t in tasks:
            table.add_row(
                t["kind"], t["role"], _dash(t.get("area")), _dash(t.get("due")), t["description"]
            )
        out.print(table)
    else:
        out.print("open tasks: none")

    part2 = case.get("part2")
    if isinstance(part2, dict):
        out.print(Text(f"Part 2 ({part2.get('security_marking')}; confidential)", style="bold"))
        review = part2.get("review_on") or part2.get("ceases_to_be_exempt_on")
        out.print(f"  exemption: {part2.get('exemption_basis')}; review on {_dash(review)}")
        out.print(f"  {part2.get('content')}", markup=False)
    elif view.get("part2_exists"):
        out.print("Part 2: exists; you are not cleared to see it")


@case_app.command("list")
def case_list(
    stage: Annotated[str | None, typer.Option("--stage", help="e.g. advice, decision.")] = None,
    title: Annotated[str | None, typer.Option("--title", help="Title contains this.")] = None,
    reference: Annotated[str | None, typer.Option("--reference", help="e.g. 'PCD 679'.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=500, help="Cases a page.")] = 50,
    cursor: CursorOption = None,
    api_url: ApiUrlOption = DEFAULT_API_URL,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Search the cases, most recently changed first, a page at a time (no Part 2 content).

    --json prints the API's page: {"items": [...], "next": cursor or null}.
    """
    with _api(api_url, token) as ratify:
        found = ratify.list_cases(
            stage=stage, title=title, reference=reference, limit=limit, cursor=cursor
        )
    if as_json:
        _echo_json(found)
        return
    table = _table(
        "Cases",
        *("case", "title", "stage", "reference", "amount", "required by", "updated", "version"),
        keep={"case", "stage", "reference", "amount", "required by", "updated", "version"},
    )
    for r in found["items"]:
        table.add_row(
            r["case_id"],
            r["title"],
            r["stage"],
            _dash(r.get("reference")),
            _money(r.get("total_amount")),
            _dash(r.get("required_by")),
            _when_text(r.get("updated_at")),
            str(r.get("version")),
        )
    out = _out()
    out.print(table)
    more = _next_page(
        "case list",
        found.get("next"),
        stage=stage,
        title=title,
        reference=reference,
        limit=limit if limit != 50 else None,
    )
    if more:
        out.print(f"more cases: {more}", markup=False, soft_wrap=True)


# -- tasks and actions ----------------------------------------------------------------------


@app.command("tasks")
def tasks_inbox(
    limit: Annotated[int, typer.Option("--limit", min=1, max=200, help="Tasks a page.")] = 50,
    cursor: CursorOption = None,
    api_url: ApiUrlOption = DEFAULT_API_URL,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """My inbox: the open tasks of my roles (own and delegated), soonest due first (undated
    last), a page at a time, with how many there are and how to see the rest.

    --json prints the API's page: {"items", "total", "more", "next"}.
    """
    with _api(api_url, token) as ratify:
        found = ratify.tasks(limit=limit, cursor=cursor)
    if as_json:
        _echo_json(found)
        return
    table = _table(
        "My tasks",
        *("due", "case", "title", "reference", "stage", "task", "role", "description"),
        keep={"due", "case", "reference", "stage", "task", "role"},
    )
    items = found["items"]
    for t in items:
        task = t["kind"] + (f" ({t['area']})" if t.get("area") else "")
        table.add_row(
            _dash(t.get("due")),
            t["case_id"],
            t["title"],
            _dash(t.get("reference")),
            t["stage"],
            task,
            t["role"],
            t["description"],
        )
    out = _out()
    out.print(table)
    total, more = int(found.get("total", len(items))), int(found.get("more", 0))
    shown_to = total - more
    if not items:
        out.print("no open tasks" if not cursor else "no more open tasks")
    elif len(items) == total:
        out.print(f"{total} open task{'s' if total != 1 else ''}")
    else:
        out.print(f"tasks {shown_to - len(items) + 1} to {shown_to} of {total}")
    following = _next_page("tasks", found.get("next"), limit=limit if limit != 50 else None)
    if following:
        out.print(f"{more} more: {following}", markup=False, soft_wrap=True)


def _action_fields(
    fields: list[str],
    json_body: str | None,
    role: str | None,
    on_behalf_of: str | None,
    expected_version: int | None,
) -> dict[str, Any]:
    """The action's body: `--json-body`, then each `--field key=value` (JSON if it parses)."""
    body: dict[str, Any] = {}
    if json_body is not None:
        try:
            parsed = json.loads(json_body)
        except json.JSONDecodeError as exc:
            _fail(f"--json-body: not JSON ({exc.msg} at character {exc.pos})")
        if not isinstance(parsed, dict):
            _fail('--json-body: must be a JSON object, e.g. \'{"area": "finance"}\'')
        body.update(parsed)
    given: set[str] = set()
    for item in fields:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key:
            _fail(f"--field: {item!r} must be key=value, e.g. area=finance")
        if key in given:
            _fail(f"--field: {key} is given twice")
        given.add(key)
        try:
            body[key] = json.loads(raw)
        except json.JSONDecodeError:
            body[key] = raw
    for key, value in (
        ("role", role),
        ("on_behalf_of", on_behalf_of),
        ("expected_version", expected_version),
    ):
        if value is not None:
            if key in body and body[key] != value:
                _fail(f"--{key.replace('_', '-')}: also given as a field, with another value")
            body[key] = value
    return body


@app.command("act")
def act(
    case_id: Annotated[str, typer.Argument(metavar="CASE")],
    action: Annotated[
        str,
        typer.Argument(
            metavar="ACTION",
            help="e.g. submit, sign_off, request_changes, consult_chief_executive, decide.",
        ),
    ],
    field: Annotated[
        list[str] | None,
        typer.Option(
            "--field",
            "-f",
            help="key=value (repeat); the value is read as JSON when it parses, e.g. "
            "approve=true, reasons='[\"x\"]', else as text.",
            show_default=False,
        ),
    ] = None,
    json_body: Annotated[
        str | None,
        typer.Option(
            "--json-body", help="The action's fields as one JSON object.", show_default=False
        ),
    ] = None,
    role: Annotated[
        str | None, typer.Option("--role", help="The role to act in, if you hold several.")
    ] = None,
    on_behalf_of: Annotated[
        str | None,
        typer.Option("--on-behalf-of", help="As a deputy: whose role you use.", show_default=False),
    ] = None,
    expected_version: Annotated[
        int | None,
        typer.Option(
            "--expected-version",
            help="The version you looked at: refused as stale if the case has moved on.",
            show_default=False,
        ),
    ] = None,
    api_url: ApiUrlOption = DEFAULT_API_URL,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Act on a case, e.g. `act C sign_off --field area=finance`, `act C decide -f approve=true`."""
    body = _action_fields(field or [], json_body, role, on_behalf_of, expected_version)
    status = Console(stderr=True, highlight=False)
    reference = None
    with _api(api_url, token) as ratify:
        with status.status(f"{action} on {case_id}: waiting for the case to record it..."):
            result = ratify.act(case_id, action, body)
        if result.get("stage") == Stage.APPROVED.value and not as_json:
            reference = ratify.show(case_id).get("reference")
    if as_json:
        _echo_json(result)
        return
    events = ", ".join(str(e.get("event_type")) for e in result.get("events", [])) or "none"
    typer.echo(
        f"{action} on {result['case_id']}: now version {result['version']}, stage "
        f"{result['stage']} ({_stage_label(result['stage'])}); recorded: {events}"
    )
    if reference:
        typer.echo(f"approved as {reference}")


# -- history and the register ---------------------------------------------------------------


@app.command("history")
def history(
    case_id: Annotated[str, typer.Argument(metavar="CASE")],
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of", help="Only the events up to this instant, e.g. 2019-12-13T17:00:00Z."
        ),
    ] = None,
    api_url: ApiUrlOption = DEFAULT_API_URL,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Every stored event of a case, oldest first (auditors)."""
    until = _parse_instant(as_of, "--as-of") if as_of is not None else None
    with _api(api_url, token) as ratify:
        events = ratify.history(case_id)
    if until is not None:
        events = [e for e in events if datetime.fromisoformat(e["occurred_at"]) <= until]
    if as_json:
        _echo_json(events)
        return
    title = f"History of {case_id}" + (f" as of {_when(until)}" if until else "")
    table = _table(
        title,
        "version",
        "time",
        "type",
        "actor",
        "on behalf of",
        "role",
        keep={"version", "time", "type", "actor", "on behalf of", "role"},
    )
    for e in events:
        table.add_row(
            str(e["version"]),
            _when_text(e.get("occurred_at")),
            e["type"],
            _dash(e.get("actor")),
            _dash(e.get("on_behalf_of")),
            _dash(e.get("role")),
        )
    _out().print(table)


@app.command("register")
def register(
    reference: Annotated[
        str | None, typer.Argument(metavar="[REFERENCE]", help="One decision, e.g. 'PCD 679'.")
    ] = None,
    title: Annotated[
        str | None, typer.Option("--title", help="Titles containing this (any letter case).")
    ] = None,
    signed_from: Annotated[
        str | None, typer.Option("--signed-from", help="Signed on or after, YYYY-MM-DD.")
    ] = None,
    signed_to: Annotated[
        str | None, typer.Option("--signed-to", help="Signed on or before, YYYY-MM-DD.")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=200, help="Decisions a page.")] = 50,
    cursor: CursorOption = None,
    api_url: ApiUrlOption = DEFAULT_API_URL,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """The public register (Part 1; no token needed): one decision with its papers, or the
    decisions most recently published first, a page at a time, searched by title and date
    signed. --json prints one decision, or the API's page: {"items": [...], "next"}."""
    searching = title is not None or signed_from is not None or signed_to is not None
    if reference and (searching or cursor):
        _fail("REFERENCE shows one decision: give it, or --title/--signed-from/--signed-to")
    start = _parse_date(signed_from, "--signed-from") if signed_from is not None else None
    end = _parse_date(signed_to, "--signed-to") if signed_to is not None else None
    with _api(api_url, token, need_token=False) as ratify:
        if reference:
            entry = ratify.register_entry(reference)
        else:
            found = ratify.register(
                limit=limit, cursor=cursor, title=title, signed_from=start, signed_to=end
            )
    if reference:
        _print_register_entry(entry, as_json)
        return
    if as_json:
        _echo_json(found)
        return
    table = _table(
        "Published decisions" if not searching else "Decisions found",
        *("reference", "title", "signed", "decision maker", "published"),
        keep={"reference", "signed", "published"},
    )
    for e in found["items"]:
        table.add_row(
            _dash(e.get("reference")),
            e["title"],
            _dash(e.get("date_signed")),
            e["decision_maker"],
            _when_text(e.get("published_at")),
        )
    out = _out()
    out.print(table)
    if not found["items"]:
        out.print("no decision matches" if searching or cursor else "no decision is published")
    following = _next_page(
        "register",
        found.get("next"),
        title=title,
        signed_from=signed_from,
        signed_to=signed_to,
        limit=limit if limit != 50 else None,
    )
    if following:
        out.print(f"older decisions: {following}", markup=False, soft_wrap=True)


def _print_register_entry(entry: dict[str, Any], as_json: bool) -> None:
    if as_json:
        _echo_json(entry)
        return
    out = _out()
    out.print(Text(f"{entry['reference']}: {entry['title']}", style="bold"))
    out.print(
        f"signed {entry['date_signed']} by {entry['decision_maker']}; "
        f"published {_when_text(entry['published_at'])}",
        markup=False,
    )
    out.print(entry["executive_summary"], markup=False)
    for r in entry.get("recommendations", []):
        out.print(f"  {r.get('number')}. {r.get('text')}", markup=False)
    if entry.get("part2_text"):
        out.print(f"Part 2 (published {_when_text(entry.get('part2_published_at'))}):")
        out.print(entry["part2_text"], markup=False)


# -- audit ------------------------------------------------------------------------------------

audit_app = typer.Typer(
    help="Auditors: timelines, as-of views, evidence bundles and their offline check, "
    "digests and proofs, reconciling and replaying the workflows."
)
app.add_typer(audit_app, name="audit")


@audit_app.command("digest")
def audit_digest(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Print the store-wide digest now: keep it somewhere Ratify cannot write."""
    from eventstore import EventStore
    from eventstore.digest import digest

    with EventStore.from_url(_database_url(ctx)) as store:
        found = digest(store)
    if as_json:
        typer.echo(found.model_dump_json())
        return
    typer.echo(f"position {found.position}, {found.streams} streams, root {found.root}")
    typer.echo(found.model_dump_json())


@audit_app.command("verify")
def audit_verify(
    ctx: typer.Context,
    since: Annotated[
        Path | None,
        typer.Option(
            help="A digest kept earlier (its JSON file): prove nothing it covered changed."
        ),
    ] = None,
) -> None:
    """Check every stream's hash chain, and optionally consistency with an older digest."""
    from eventstore import EventStore
    from eventstore.digest import Digest, verify_since

    old: Digest | None = None
    if since is not None:
        try:
            old = Digest.model_validate_json(since.read_text("utf-8"))
        except OSError as exc:
            _fail(f"--since: {since}: {exc.strerror}")
        except ValidationError as exc:
            _fail(f"--since: {since} is not a digest: {exc.errors()[0]['msg']}")
    with EventStore.from_url(_database_url(ctx)) as store:
        chains = store.verify_all()
        if not chains.ok and chains.first_problem is not None:
            p = chains.first_problem
            _fail(
                f"broken: {p.kind.value} at {p.stream_id} v{p.version} position {p.position} "
                f"(event {p.event_id}): {p.detail}",
                1,
            )
        typer.echo(f"ok: {chains.events_checked} events, every hash chain intact")
        if old is not None:
            result = verify_since(store, old)
            if not result.ok:
                _fail(f"not consistent with the digest: {result.detail}", 1)
            typer.echo(f"ok: {result.detail}")


@audit_app.command("timeline")
def audit_timeline(
    case_id: Annotated[str, typer.Argument(metavar="CASE")],
    api_url: ApiUrlOption = DEFAULT_API_URL,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Every event of a case in plain words: who, when, for whom, under which rules, and
    each revision section by section (Part 2 changes only with Part 2 clearance)."""
    with _api(api_url, token) as ratify:
        entries = ratify.timeline(case_id)
    if as_json:
        _echo_json(entries)
        return
    from domain.timeline import TimelineEntry

    table = _table(
        f"Timeline of {case_id}",
        *("v", "when (London)", "what", "who", "role", "for", "rules"),
        keep={"v", "what", "who"},
    )
    parsed = [TimelineEntry.model_validate(raw) for raw in entries]
    for e in parsed:
        table.add_row(
            str(e.version),
            e.occurred_at.astimezone(LONDON).strftime("%d %b %Y %H:%M"),
            Text(e.summary + (" (changes below)" if e.changes else "")),
            e.actor,
            e.role.replace("_", " "),
            e.on_behalf_of or "",
            e.rule_set or "",
        )
    out = _out()
    out.print(table)
    for e in (e for e in parsed if e.changes):
        out.print(Text(f"\nVersion {e.version}: what changed", style="bold"))
        for section in e.changes:
            out.print(Text(f"{section.label}", style="underline"))
            for line in section.describe():
                out.print(f"  {line}", markup=False, soft_wrap=True, highlight=False)


@audit_app.command("as-of")
def audit_as_of(
    case_id: Annotated[str, typer.Argument(metavar="CASE")],
    version: Annotated[
        int | None, typer.Option("--version", help="The case as of this version.", min=1)
    ] = None,
    at: Annotated[
        str | None,
        typer.Option("--at", help="The case as of this instant, e.g. 2019-12-13T17:00:00Z."),
    ] = None,
    api_url: ApiUrlOption = DEFAULT_API_URL,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """The case's state and papers as they stood at a version or an instant (the same fold
    the workflows use; Part 2 only if you are cleared for it, and then the read is recorded)."""
    if (version is None) == (at is None):
        _fail("give one of --version N or --at INSTANT")
    instant = _parse_instant(at, "--at") if at is not None else None
    with _api(api_url, token) as ratify:
        shown = ratify.show(case_id, version=version, as_of=instant)
    if as_json:
        _echo_json(shown)
        return
    from domain.casefile import dump_case
    from domain.state import CaseState

    state = CaseState.model_validate(
        {k: v for k, v in shown.items() if k in CaseState.model_fields}
    )
    out = _out()
    when = f"version {version}" if version is not None else _when(instant)
    out.print(Text(f"{case_id} as of {when}: version {state.version}", style="bold"))
    out.print(f"stage {state.stage.value} ({_stage_label(state.stage.value)})", markup=False)
    if state.reference:
        out.print(f"reference {state.reference}", markup=False)
    for area, signoff in state.signoffs.items():
        by = f" by {signoff.by.user_id}" if signoff.by else ""
        out.print(f"  {area.value}: {signoff.status.value}{by}", markup=False)
    if state.case is not None:
        out.print(Text(f"\nThe papers (revision {state.case_revision}):", style="bold"))
        out.print(dump_case(state.case, "yaml"), markup=False)
        if shown.get("part2_exists") and not shown.get("part2_visible"):
            out.print("Part 2: withheld (needs the part2_clearance role)", markup=False)


@audit_app.command("export")
def audit_export(
    ref: Annotated[
        str, typer.Argument(metavar="REF", help="A case id, or a reference: 'PCD 679'.")
    ],
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Where to write the bundle (default: evidence-REF.html)."),
    ] = None,
    api_url: ApiUrlOption = DEFAULT_API_URL,
    token: TokenOption = None,
) -> None:
    """Write one evidence file: the case's events, hashes, the inclusion proof against the
    store's digest, and a report. The export is recorded in the case's access log."""
    target = out or Path(f"evidence-{ref.replace(' ', '-')}.html")
    if target.exists() and target.is_dir():
        _fail(f"--out: {target} is a directory")
    with _api(api_url, token) as ratify:
        content = ratify.bundle(ref)
    try:
        target.write_bytes(content)
    except OSError as exc:
        _fail(f"--out: {target}: {exc.strerror}", 1)
    from ratify.services.evidence import bundle_sha256, read_evidence

    evidence = read_evidence(content.decode("utf-8"))
    typer.echo(
        f"wrote {target}: {len(evidence.events)} events of {evidence.case_id}, "
        f"sha256 {bundle_sha256(content)}"
    )
    typer.echo(f"proven against digest {evidence.digest.model_dump_json()}")


@audit_app.command("check")
def audit_check(
    bundle: Annotated[Path, typer.Argument(metavar="BUNDLE", help="An evidence bundle file.")],
    digest_file: Annotated[
        Path | None,
        typer.Option(
            "--digest", help="A digest kept outside Ratify (its JSON file) to check against."
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Check an evidence bundle with no database and no server; exit 1 if it fails."""
    from eventstore.digest import Digest
    from ratify.services.evidence import check_bundle

    try:
        document = bundle.read_bytes().decode("utf-8")
    except OSError as exc:
        _fail(f"BUNDLE: {bundle}: {exc.strerror}")
    except UnicodeDecodeError:
        _fail(f"BUNDLE: {bundle} is not UTF-8 text: not an evidence bundle")
    kept: Digest | None = None
    if digest_file is not None:
        try:
            kept = Digest.model_validate_json(digest_file.read_text("utf-8"))
        except OSError as exc:
            _fail(f"--digest: {digest_file}: {exc.strerror}")
        except ValidationError as exc:
            _fail(f"--digest: {digest_file} is not a digest: {exc.errors()[0]['msg']}")
    result = check_bundle(document, kept)
    if as_json:
        _echo_json({"ok": result.ok, "problems": result.problems, "proven": result.proven})
    elif result.ok:
        for line in result.proven:
            typer.echo(f"ok: {line}")
    else:
        for line in result.problems:
            typer.echo(f"FAILED: {line}", err=True)
    if not result.ok:
        raise typer.Exit(1)


@audit_app.command("access")
def audit_access(
    case_id: Annotated[str, typer.Argument(metavar="CASE")],
    api_url: ApiUrlOption = DEFAULT_API_URL,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Who read the case's confidential Part 2, and who exported its evidence, and when."""
    with _api(api_url, token) as ratify:
        records = ratify.access(case_id)
    if as_json:
        _echo_json(records)
        return
    table = _table(
        f"Access to {case_id}",
        *("when", "what", "who", "basis", "via", "version"),
        keep={"when", "what", "who"},
    )
    for r in records:
        what = "exported evidence" if r["kind"].endswith("exported") else "read Part 2"
        table.add_row(
            _when_text(r["at"]), what, r["user_id"], r["basis"], r["via"], str(r["case_version"])
        )
    _out().print(table)


TemporalOption = Annotated[
    str | None,
    typer.Option(
        "--temporal-address",
        help="host:port of Temporal (default: TEMPORAL_ADDRESS, else the dev server that "
        "`ratify serve` runs on this machine).",
        show_default=False,
    ),
]


async def _temporal(address: str | None) -> Any:
    """A Temporal client for the auditors' commands, or exit 1 naming the address."""
    from temporalio.client import Client

    from ratify.infra.observability.startup import StartupError
    from ratify.infra.settings import load_settings
    from ratify.infra.temporal import temporal_tls

    settings = load_settings()
    target = address or settings.temporal_address or f"127.0.0.1:{settings.dev_server_port}"
    try:
        tls = temporal_tls(settings)
    except StartupError as exc:
        _fail(exc.message, exc.exit_code)
    try:
        return await Client.connect(
            target,
            namespace=settings.temporal_namespace,
            data_converter=settings.data_converter(),
            header_codec_behavior=settings.header_codec,
            tls=tls,
        )
    except RuntimeError as exc:
        _fail(f"--temporal-address: cannot reach Temporal at {target}: {exc}", 1)


@audit_app.command("reconcile")
def audit_reconcile(
    ctx: typer.Context, temporal_address: TemporalOption = None, as_json: JsonOption = False
) -> None:
    """Compare every live case's workflow state with the fold of its stored events, and list
    stored cases with no workflow, workflows with no stored case, and open cases whose
    workflow was ended (terminated, cancelled, failed) outside Ratify; exit 1 on any."""
    from eventstore import EventStore
    from ratify.services.reconcile import reconcile

    async def run() -> Any:
        client = await _temporal(temporal_address)
        with EventStore.from_url(_database_url(ctx)) as store:
            return await reconcile(client, store)

    report = asyncio.run(run())
    if as_json:
        _echo_json(report.model_dump(mode="json"))
    else:
        typer.echo(
            f"{report.checked} stored cases; {report.compared} running workflows compared with "
            "their stored events"
        )
        for d in report.differences:
            typer.echo(f"DIFFERS: {d}")
        for case_id in report.cases_without_workflow:
            typer.echo(f"NO WORKFLOW: case {case_id} is stored but has no workflow")
        for workflow_id in report.workflows_without_case:
            typer.echo(f"NO CASE: workflow {workflow_id} has no stored case")
        for unqueried in report.not_queried:
            typer.echo(f"NOT QUERIED: {unqueried}")
        for ended in report.ended_workflows:
            typer.echo(f"WORKFLOW ENDED: {ended}: tell an operator")
        if report.ok:
            typer.echo("ok: the workflows agree with the record")
    if not report.ok:
        raise typer.Exit(1)


@audit_app.command("replay-workflows")
def audit_replay_workflows(
    ctx: typer.Context, temporal_address: TemporalOption = None, as_json: JsonOption = False
) -> None:
    """Replay every decision's, Part 2 review's and board meeting's Temporal history against
    the current code; exit 1 naming each workflow the code would not reproduce."""
    from eventstore import EventStore
    from ratify.services.replay import replay_workflows, workflow_ids

    async def run() -> tuple[int, dict[str, str]]:
        client = await _temporal(temporal_address)
        url = _database_url(ctx)
        with EventStore.from_url(url) as store:
            ids = workflow_ids(store, _meeting_ids(url))
        return await replay_workflows(client, ids)

    replayed, failures = asyncio.run(run())
    if as_json:
        _echo_json({"replayed": replayed, "failures": failures})
    else:
        typer.echo(f"replayed {replayed} workflow histories against the current code")
        for workflow_id, error in failures.items():
            typer.echo(f"NON-DETERMINISTIC: {workflow_id}: {error}")
        if not failures:
            typer.echo("ok: every history replays")
    if failures:
        raise typer.Exit(1)


def _meeting_ids(url: str) -> list[str]:
    """The board meetings Ratify knows of (from the read views; none if not built yet)."""
    from sqlalchemy.exc import OperationalError, ProgrammingError

    from eventstore import create_engine_for
    from ratify.services.projections import queries

    engine = create_engine_for(url)
    try:
        return sorted({m.meeting_id for m in queries.meetings(engine)})
    except (OperationalError, ProgrammingError):
        return []
    finally:
        engine.dispose()


if __name__ == "__main__":  # pragma: no cover
    app()
