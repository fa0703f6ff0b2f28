"""`CliContext`: what the root command hands every command, light enough for `ratify --help`
(the root imports it; the commands' modules, and what they import, load when one runs)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import httpx


@dataclass(frozen=True)
class CliContext:
    """What the root command hands every command in `ctx.obj`.

    `database_url` is `--database-url` (None: the settings'). `api_transport` is the HTTP
    transport of the API commands' client: None for the network. Tests (and embedders) pass
    one to talk to an app in the same process: `app(obj=CliContext(api_transport=...))`, or
    `CliRunner().invoke(app, args, obj=CliContext(api_transport=...))`.
    """

    database_url: str | None = None
    api_transport: httpx.BaseTransport | None = None
