"""Admin commands on the database: `db`, `tokens`, `payload-key` and `demo`."""

from __future__ import annotations

import shlex
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Annotated, Any

import sqlalchemy as sa
import typer
from pydantic import ValidationError
from sqlalchemy.engine import make_url

from domain.clock import LONDON
from domain.roles import Role
from ratify.cli.common import (
    JsonOption,
    database_url,
    echo_json,
    fail,
    iso,
    london,
    make_table,
    open_directory,
    output,
    parse_date,
)
from ratify.infra.db import migrate_all
from ratify.services.identity.values import ApiToken

commands = typer.Typer()
"""The admin commands at the top level (`payload-key`, `demo`)."""
db_app = typer.Typer(help="The database: migrations.", no_args_is_help=True)
tokens_app = typer.Typer(help="API tokens (hashed at rest; shown once).", no_args_is_help=True)


def _token_json(t: ApiToken, now: datetime) -> dict[str, Any]:
    return {
        "id": t.id,
        "user_id": t.user_id,
        "name": t.name,
        "prefix": t.prefix,
        "status": t.status(now),
        "created_at": iso(t.created_at),
        "expires_at": iso(t.expires_at),
        "revoked_at": iso(t.revoked_at),
        "last_used_at": iso(t.last_used_at),
    }


def _now_london() -> datetime:
    return datetime.now(LONDON)


# -- db ---------------------------------------------------------------------------------------


@db_app.command("upgrade")
def db_upgrade(ctx: typer.Context) -> None:
    """Migrate the event store and the application's tables to their newest versions."""
    url = database_url(ctx)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    try:
        migrate_all(url)
    except sa.exc.OperationalError as exc:
        fail(f"database: cannot open it ({exc.orig}): check RATIFY_DATABASE_URL", code=1)
    typer.echo(f"database {parsed.render_as_string(hide_password=True)} is up to date")


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
        last_day = parse_date(expires, "--expires")
        expires_at = datetime.combine(last_day + timedelta(days=1), time(), tzinfo=LONDON)
    with open_directory(ctx) as directory:
        token_id, secret = directory.create_token(user_id, name, expires_at)
    if as_json:
        echo_json(
            {
                "id": token_id,
                "user_id": user_id,
                "secret": secret,
                "expires_at": iso(expires_at.astimezone(UTC) if expires_at else None),
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
    with open_directory(ctx) as directory:
        found = directory.list_tokens(user_id)
    now = _now_london()
    if as_json:
        echo_json([_token_json(t, now) for t in found])
        return
    table = make_table(
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
            london(t.created_at),
            london(t.expires_at),
            london(t.last_used_at),
        )
    output().print(table)


@tokens_app.command("revoke")
def tokens_revoke(
    ctx: typer.Context, token_id: Annotated[str, typer.Argument(metavar="TOKEN_ID")]
) -> None:
    """Refuse a token from now on."""
    with open_directory(ctx) as directory:
        revoked = directory.revoke_token(token_id)
    typer.echo(f"revoked {revoked.id} ({revoked.user_id}, {revoked.name})")


@commands.command("payload-key")
def payload_key(
    key_id: Annotated[
        str, typer.Argument(help="A name for the key, e.g. the month it was made: 2026-11")
    ],
) -> None:
    """Make a key that encrypts what Ratify puts in Temporal: prints `id:key` for
    RATIFY_PAYLOAD_KEYS (put it first to rotate; keep older keys after it)."""
    # Start-up cost: the payload codec loads the Temporal SDK's converter (~0.1 s).
    from ratify.infra.payloads import new_key

    if not key_id or any(c in key_id for c in ":, ") or not key_id.isprintable():
        fail("key_id: a name without spaces, commas or colons, e.g. 2026-11")
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
    ("rory.records", "Rory Records (records officer)", Role.RECORDS_OFFICER),
    ("ann.auditor", "Ann Auditor", Role.AUDITOR),
    ("ada.admin", "Ada Admin", Role.ADMIN),
]


#: The shell variable `ratify demo --env` sets to each demo person's token, by their role:
#: the names the README's walk-through uses (`RATIFY_TOKEN=$FINANCE ratify tasks`).
DEMO_ENV_NAMES: dict[Role, str] = {
    Role.ORIGINATING_OFFICER: "OFFICER",
    Role.DRAFTING_OFFICER: "DRAFTING",
    Role.BOARD_SECRETARIAT: "SECRETARIAT",
    Role.BOARD_CHAIR: "CHAIR",
    Role.FINANCE_ADVISER: "FINANCE",
    Role.LEGAL_ADVISER: "LEGAL",
    Role.COMMERCIAL_ADVISER: "COMMERCIAL",
    Role.EQUALITIES_ADVISER: "EQUALITIES",
    Role.INFORMATION_ASSURANCE_ADVISER: "ASSURANCE",
    Role.CHIEF_EXECUTIVE: "CEO",
    Role.DMPC: "DMPC",
    Role.ALTERNATE_DECISION_MAKER: "ALTERNATE",
    Role.MPS_DECISION_MAKER: "MPS",
    Role.PUBLICATION_OFFICER: "PUBLICATION",
    Role.RECORDS_OFFICER: "RECORDS",
    Role.AUDITOR: "AUDITOR",
    Role.ADMIN: "ADMIN",
}


#: Roles some demo people hold besides their own: the auditor is cleared to read Part 2.
DEMO_EXTRA_ROLES: dict[str, list[Role]] = {"ann.auditor": [Role.PART2_CLEARANCE]}


#: The demo users' password, for the web sign-in (demo only).
DEMO_PASSWORD = "ratify-demo-password"


#: The flag that lets `ratify demo` write to a database other than the embedded store.
NOT_PRODUCTION_FLAG = "--i-know-this-is-not-production"


def _embedded_store(url: str) -> bool:
    """Whether `url` is the embedded SQLite store under the data directory."""
    # Start-up cost: the settings load the Temporal SDK (~0.4 s); see common.cli_settings.
    from ratify.infra.settings import load_settings

    try:
        embedded = load_settings().model_copy(update={"database_url": None}).event_store_url
    except ValidationError:
        return False
    return make_url(url) == make_url(embedded)


@commands.command("demo")
def demo(
    ctx: typer.Context,
    as_json: JsonOption = False,
    as_env: Annotated[
        bool,
        typer.Option(
            "--env",
            help='Print `export OFFICER=...` lines (one per role) for `eval "$(ratify demo '
            '--env)"`.',
        ),
    ] = False,
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
    if as_json and as_env:
        fail("--json and --env: give one of them")
    url = database_url(ctx)
    if not not_production and not _embedded_store(url):
        fail(
            "ratify demo adds users with a published password and prints a token for every "
            "role, so it runs only on the embedded SQLite store (no RATIFY_DATABASE_URL, no "
            f"--database-url); to run it on this database anyway give {NOT_PRODUCTION_FLAG}"
        )
    migrate_all(url)
    tokens: list[dict[str, str]] = []
    with open_directory(ctx) as directory:
        existing = {u.id for u in directory.list_users()}
        for user_id, name, role in DEMO_PEOPLE:
            if user_id not in existing:
                roles = [role, *DEMO_EXTRA_ROLES.get(user_id, [])]
                directory.add_user(user_id, name, roles, password=DEMO_PASSWORD)
            _, secret = directory.create_token(user_id, "demo")
            tokens.append({"user": user_id, "role": role.value, "token": secret})
    if as_json:
        echo_json(tokens)
        return
    if as_env:
        names = {Role(role): name for role, name in DEMO_ENV_NAMES.items()}
        for t in tokens:
            typer.echo(f"export {names[Role(t['role'])]}={shlex.quote(t['token'])}  # {t['user']}")
        return
    typer.echo(
        f"Web sign-in: http://127.0.0.1:8000/ui/ with any user id and the password "
        f"{DEMO_PASSWORD!r}"
    )
    table = make_table("Demo users (tokens shown once)", "user", "role", "token", keep={"token"})
    for t in tokens:
        table.add_row(t["user"], t["role"], t["token"])
    output().print(table)
