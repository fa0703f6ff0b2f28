"""How the people's and auditors' commands reach the HTTP API: its options, the client and the
refusals.

These commands hold no rules: they call the HTTP API with the user's token, so the CLI and the
web refuse the same things. A refusal prints `error: <code>: <detail>` and exits 2; a server
that cannot be reached (or fails) exits 1. The HTTP itself is `ratify.cli.client`.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any, NoReturn

import typer

from domain.state import Stage
from ratify.cli.client import ApiRefusal, RatifyClient, ServerFailure, Unreachable
from ratify.cli.common import BAD_INPUT, cli_context, fail

DEFAULT_API_URL = "http://127.0.0.1:8000"

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
def api_client(
    ctx: typer.Context, api_url: str, token: str | None, *, need_token: bool = True
) -> Iterator[RatifyClient]:
    """A client of the API; refusals exit 2, an unreachable or failing server exits 1.

    Its transport is the network, unless the caller passed one in the context (`CliContext`).
    """
    url = api_url.strip()
    if not url.startswith(("http://", "https://")):
        fail(f"--api-url: {api_url!r} is not a URL: write it as http://host:port")
    secret = (token or "").strip()
    if not secret:
        from ratify.cli.login import stored_token  # login imports this module

        secret = stored_token(url) or ""
    if need_token and not secret:
        fail(
            "no API token: pass --token or set RATIFY_TOKEN, or keep one with `ratify login` "
            "(an admin makes one with `ratify tokens create USER --name NAME`)"
        )
    client = RatifyClient(url, secret or None, transport=cli_context(ctx).api_transport)
    try:
        yield client
    except ApiRefusal as exc:
        refused(exc)
    except Unreachable as exc:
        fail(f"{exc} (is `ratify serve` running there? see --api-url or RATIFY_API_URL)", 1)
    except ServerFailure as exc:
        fail(str(exc), code=1)
    finally:
        client.close()


def refused(exc: ApiRefusal, hint: str | None = None) -> NoReturn:
    """Print the API's refusal, with what a person needs to act on it, and exit 2."""
    typer.echo(f"error: {exc.code}: {exc.detail}", err=True)
    if hint:
        typer.echo(hint, err=True)
    state = exc.state or {}
    if exc.code == "stale" and "version" in state:
        case_id = state.get("case_id", "CASE")
        typer.echo(
            f"current: version {state['version']}, stage {state.get('stage')} "
            f"({stage_label(state.get('stage'))}); look again with "
            f"`ratify case show {case_id}`, then act with --expected-version {state['version']}",
            err=True,
        )
    elif exc.status == 401:
        typer.echo("(HTTP 401: check --token or RATIFY_TOKEN)", err=True)
    elif exc.status == 403 and exc.code == "role_not_held":
        # About the person a step on paper is recorded for, not the token's user.
        typer.echo("(HTTP 403: the person did not hold that role on the step's date)", err=True)
    elif exc.status == 403:
        typer.echo("(HTTP 403: the roles your token's user holds do not allow this)", err=True)
    raise typer.Exit(BAD_INPUT)


def stage_label(value: Any) -> str:
    """A stage's value with its label for people (the value itself if it is not a stage)."""
    try:
        return Stage(str(value)).label
    except ValueError:
        return str(value)


def dash(value: Any) -> str:
    """A value from the API as text, `-` for none."""
    return "-" if value is None or value == "" else str(value)


CursorOption = Annotated[
    str | None,
    typer.Option(
        "--cursor",
        help="Where the page starts: the cursor printed after the page before.",
        show_default=False,
    ),
]


def next_page(command: str, cursor: str | None, **options: str | int | None) -> str | None:
    """The command that prints the page after this one (None on the last page)."""
    if not cursor:
        return None
    words = ["ratify", *command.split()]
    for name, value in options.items():
        if value is not None and value != "":
            words += [f"--{name.replace('_', '-')}", str(value)]
    return shlex.join([*words, "--cursor", cursor])
