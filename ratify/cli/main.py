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
    ratify meetings list|show|create|add|advice|close   (the board secretariat's meetings)
    ratify login [--api-url URL]    ratify whoami    ratify logout   (a token kept per API URL)

The lists come a page at a time (50 unless --limit): after a page that is not the last, the
command prints the command for the next one, with its `--cursor` (with --json: `next`).

The API is `--api-url` or `RATIFY_API_URL` (default http://127.0.0.1:8000), the token
`--token` or `RATIFY_TOKEN`, else the one `ratify login` kept for that API URL. A refusal
prints `error: <code>: <detail>` and exits 2 (a stale
action also prints the case's current version and stage); a server that cannot be reached
exits 1.

This module is the root: the `--database-url` option and the wiring of the rooms. The commands
live by who uses them: `admin` (db, tokens, payload-key, demo) and `users` on the database;
`cases` (case ...) and `people` (tasks, act, history, register) on the API through `remote` and
`client`; `audit`; and `processes` (serve, worker, api, projector). `common` holds what they
share.

`ratify --help` starts fast: this module imports none of them. The root lists each command from
`COMMANDS` (its name, room and one line of help) and imports a command's room only when that
command runs (or its own help is asked for), so the database, Temporal and the services load
for the commands that use them.
"""

from __future__ import annotations

import importlib
from dataclasses import replace
from difflib import get_close_matches
from typing import Annotated, Any, NamedTuple

import typer
import typer.main
from typer import _click as click
from typer.core import TyperCommand, TyperGroup

from ratify.cli.context import CliContext


class Listed(NamedTuple):
    """One entry of the root's commands: where it lives, and its line in `ratify --help`."""

    #: The room (a module of ratify.cli) and its Typer app: one holding top-level commands
    #: (`commands`), or the command group itself (`users_app`, ...).
    module: str
    attribute: str
    #: True: the Typer app is the command group `ratify NAME ...`.
    group: bool
    #: The first paragraph of the command's help (tests/cli/test_cli_startup.py keeps it so).
    help: str


# The top-level commands in the order `ratify --help` lists them, then the command groups.
COMMANDS: dict[str, Listed] = {
    "serve": Listed(
        "processes",
        "commands",
        False,
        "Run the whole service in one process (see `ratify.processes.serve`).",
    ),
    "worker": Listed(
        "processes",
        "commands",
        False,
        "Run the worker: workflows and activities (production; see `worker.py`).",
    ),
    "api": Listed(
        "processes",
        "commands",
        False,
        "Run the HTTP API and web pages only, against TEMPORAL_ADDRESS (production).",
    ),
    "projector": Listed(
        "processes",
        "commands",
        False,
        "Keep the read views (search, inboxes, register) up with the event log (production).",
    ),
    "payload-key": Listed(
        "admin",
        "commands",
        False,
        "Make a key that encrypts what Ratify puts in Temporal: prints `id:key` for "
        "RATIFY_PAYLOAD_KEYS (put it first to rotate; keep older keys after it).",
    ),
    "demo": Listed(
        "admin",
        "commands",
        False,
        "Create one demo user per role (if missing) and print a fresh token for each.",
    ),
    "import": Listed(
        "importing",
        "commands",
        False,
        "Import decisions taken before Ratify as closed cases with their real dates and "
        "references; each case is written whole or not at all, and importing twice changes "
        "nothing. Exit 1 if any case was refused.",
    ),
    "tasks": Listed(
        "people",
        "commands",
        False,
        "My inbox: the open tasks of my roles (own and delegated), soonest due first (undated "
        "last), a page at a time, with how many there are and how to see the rest.",
    ),
    "act": Listed(
        "people",
        "commands",
        False,
        "Act on a case, e.g. `act C sign_off --field area=finance`, `act C decide -f "
        "approve=true`.",
    ),
    "history": Listed(
        "people",
        "commands",
        False,
        "Every stored event of a case, oldest first (auditors).",
    ),
    "register": Listed(
        "people",
        "commands",
        False,
        "The public register (Part 1; no token needed): one decision with its papers, or the "
        "decisions most recently published first, a page at a time, searched by title and date "
        'signed. --json prints one decision, or the API\'s page: {"items": [...], "next"}.',
    ),
    "login": Listed(
        "login",
        "commands",
        False,
        "Keep a token for this API URL (checked with the API first), so that the commands need "
        "no --token: from --token or RATIFY_TOKEN, else the prompt (not echoed), else stdin.",
    ),
    "logout": Listed(
        "login",
        "commands",
        False,
        "Forget the token kept for this API URL (the token itself stays valid: an admin "
        "revokes it with `ratify tokens revoke`).",
    ),
    "whoami": Listed(
        "login",
        "commands",
        False,
        "Who your token signs you in as, and the roles you hold today (own and delegated).",
    ),
    "db": Listed("admin", "db_app", True, "The database: migrations."),
    "users": Listed("users", "users_app", True, "People, their roles and their deputies."),
    "tokens": Listed("admin", "tokens_app", True, "API tokens (hashed at rest; shown once)."),
    "case": Listed(
        "cases",
        "case_app",
        True,
        "Cases through the HTTP API: submit a case file, show a case, search.",
    ),
    "meetings": Listed(
        "meetings",
        "meetings_app",
        True,
        "Board meetings (IAB/IAM) through the HTTP API: list them, create one, put a case on "
        "its agenda, record the board's advice, close it.",
    ),
    "audit": Listed(
        "audit",
        "audit_app",
        True,
        "Auditors: timelines, as-of views, evidence bundles and their offline check, digests "
        "and proofs, reconciling and replaying the workflows.",
    ),
}


def load_command(name: str) -> click.Command:
    """The command `name` of `COMMANDS`, its room imported (KeyError: no such command)."""
    listed = COMMANDS[name]
    # Imported here, not at the top: the start-up cost of `ratify --help` (module docstring).
    room = importlib.import_module(f"ratify.cli.{listed.module}")
    # Built as `app.add_typer` would build it under the root: a group named `name`, or the
    # top-level commands of the room's app.
    holder = typer.Typer()
    if listed.group:
        holder.add_typer(getattr(room, listed.attribute), name=name)
    else:
        holder.add_typer(getattr(room, listed.attribute))
    command = typer.main.get_group(holder).commands[name]
    command.name = name
    return command


class LazyGroup(TyperGroup):
    """The root: lists `COMMANDS` from their entries, loads one when it is asked for."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self._listing = False

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [*COMMANDS, *(n for n in self.commands if n not in COMMANDS)]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.commands:
            return self.commands[cmd_name]
        if cmd_name not in COMMANDS:
            return None
        if self._listing:  # a line of the root's help: its name and help, nothing imported
            return TyperCommand(name=cmd_name, help=COMMANDS[cmd_name].help)
        self.commands[cmd_name] = load_command(cmd_name)
        return self.commands[cmd_name]

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        try:
            return super().resolve_command(ctx, args)
        except click.exceptions.UsageError as e:
            # Typer suggests from the commands loaded; the root suggests from all it lists.
            matches = get_close_matches(args[0], self.list_commands(ctx)) if args else []
            if matches and "Did you mean" not in e.message:
                suggestions = ", ".join(repr(m) for m in matches)
                e.message = f"{e.message.rstrip('.')}. Did you mean {suggestions}?"
            raise

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False


app = typer.Typer(
    name="ratify",
    cls=LazyGroup,
    help="Ratify: cases, tasks, actions and the register through the HTTP API; and the admin "
    "commands for the database, users, roles, delegations and API tokens.",
    no_args_is_help=True,
    add_completion=False,
    # An unhandled error prints its traceback, never the frames' locals (settings, tokens,
    # Part 2 text); older Typer releases showed them by default.
    pretty_exceptions_show_locals=False,
)


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
    # `obj` may come from the caller (`app(obj=CliContext(...))`): keep its transport.
    given = ctx.obj if isinstance(ctx.obj, CliContext) else CliContext()
    ctx.obj = replace(given, database_url=database_url or given.database_url)


if __name__ == "__main__":  # pragma: no cover
    app()
