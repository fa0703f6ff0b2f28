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
"""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated

import typer

from ratify.cli import admin, audit, cases, importing, login, meetings, people, processes, users
from ratify.cli.common import CliContext

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
# The top-level commands in the order `ratify --help` lists them, then the command groups.
app.add_typer(processes.commands)  # serve, worker, api, projector
app.add_typer(admin.commands)  # payload-key, demo
app.add_typer(importing.commands)  # import
app.add_typer(people.commands)  # tasks, act, history, register
app.add_typer(login.commands)  # login, logout, whoami
app.add_typer(admin.db_app, name="db")
app.add_typer(users.users_app, name="users")
app.add_typer(admin.tokens_app, name="tokens")
app.add_typer(cases.case_app, name="case")
app.add_typer(meetings.meetings_app, name="meetings")
app.add_typer(audit.audit_app, name="audit")


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
