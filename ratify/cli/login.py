"""`ratify login|logout|whoami`: keep an API token per API URL, so that the people's commands
need no `--token` or RATIFY_TOKEN.

    ratify login [--api-url URL]          (reads the token from the prompt, or --token / stdin)
    ratify whoami                         who the token is, and the roles they hold today
    ratify logout [--api-url URL]

The tokens live in `$XDG_CONFIG_HOME/ratify/tokens.json` (default `~/.config/ratify/`), the
file private to its owner (mode 600, its directory 700), keyed by API URL. `--token` or
RATIFY_TOKEN, when given, come first.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import typer

from ratify.cli.common import JsonOption, echo_json, fail
from ratify.cli.remote import DEFAULT_API_URL, ApiUrlOption, TokenOption, api_client

commands = typer.Typer()
"""`login`, `logout`, `whoami` at the top level."""

#: The longest token file read, and the longest token kept (an API token is ~50 characters).
MAX_FILE_BYTES = 64 * 1024
MAX_TOKEN = 512


def config_dir() -> Path:
    """`$XDG_CONFIG_HOME/ratify`, else `~/.config/ratify`."""
    base = os.environ.get("XDG_CONFIG_HOME", "").strip()
    root = Path(base) if base and Path(base).is_absolute() else Path.home() / ".config"
    return root / "ratify"


def tokens_file() -> Path:
    return config_dir() / "tokens.json"


def _key(api_url: str) -> str:
    return api_url.strip().rstrip("/")


def _load() -> dict[str, Any]:
    path = tokens_file()
    try:
        with path.open("rb") as f:
            raw = f.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        return {}
    except OSError as exc:
        fail(f"{path}: cannot read it ({exc.strerror})", 1)
    if len(raw) > MAX_FILE_BYTES:
        fail(f"{path}: larger than {MAX_FILE_BYTES} bytes: not a Ratify token file", 1)
    try:
        found = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        fail(f"{path}: not JSON: remove it and `ratify login` again", 1)
    return found if isinstance(found, dict) else {}


def _save(entries: dict[str, Any]) -> None:
    folder = config_dir()
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = tokens_file()
    partial = path.with_name(path.name + ".tmp")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(entries, f, indent=2, sort_keys=True)
    os.chmod(partial, 0o600)  # an older file made with another mode
    os.replace(partial, path)


def stored_token(api_url: str) -> str | None:
    """The token `ratify login` kept for this API URL, if any."""
    entry = _load().get(_key(api_url))
    token = entry.get("token") if isinstance(entry, dict) else None
    return token if isinstance(token, str) and token else None


@commands.command("login")
def login(
    ctx: typer.Context,
    api_url: ApiUrlOption = DEFAULT_API_URL,
    token: TokenOption = None,
) -> None:
    """Keep a token for this API URL (checked with the API first), so that the commands need
    no --token: from --token or RATIFY_TOKEN, else the prompt (not echoed), else stdin."""
    secret = (token or "").strip()
    if not secret:
        if sys.stdin.isatty():
            secret = typer.prompt("API token", hide_input=True).strip()
        else:
            secret = sys.stdin.readline(MAX_TOKEN + 1).strip()
    if not secret:
        fail("no token given: an admin makes one with `ratify tokens create USER --name NAME`")
    if len(secret) > MAX_TOKEN:
        fail(f"the token is longer than {MAX_TOKEN} characters: not a Ratify token")
    with api_client(ctx, api_url, secret) as ratify:
        me = ratify.whoami()
    entries = _load()
    entries[_key(api_url)] = {"token": secret, "user": me["user"]["id"]}
    _save(entries)
    typer.echo(f"signed in to {_key(api_url)} as {me['user']['id']} ({_roles(me)})")
    typer.echo(f"token kept in {tokens_file()} (readable by you only)")


@commands.command("logout")
def logout(api_url: ApiUrlOption = DEFAULT_API_URL) -> None:
    """Forget the token kept for this API URL (the token itself stays valid: an admin
    revokes it with `ratify tokens revoke`)."""
    entries = _load()
    if entries.pop(_key(api_url), None) is None:
        typer.echo(f"no token kept for {_key(api_url)}")
        return
    _save(entries)
    typer.echo(f"forgot the token for {_key(api_url)}")


def _roles(me: dict[str, Any]) -> str:
    held = [
        r["role"] + (f" for {r['on_behalf_of']}" if r.get("on_behalf_of") else "")
        for r in me.get("roles", [])
    ]
    return ", ".join(held) or "no roles"


@commands.command("whoami")
def whoami(
    ctx: typer.Context,
    api_url: ApiUrlOption = DEFAULT_API_URL,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Who your token signs you in as, and the roles you hold today (own and delegated)."""
    with api_client(ctx, api_url, token) as ratify:
        me = ratify.whoami()
    if as_json:
        echo_json(me)
        return
    typer.echo(f"{me['user']['id']} ({me['user']['name']}) at {_key(api_url)}")
    typer.echo(f"roles: {_roles(me)}")
