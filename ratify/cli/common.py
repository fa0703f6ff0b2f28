"""What every command shares: the context from the root, failure, output, JSON and dates."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import sqlalchemy as sa
import typer
from pydantic import ValidationError
from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.table import Column, Table

from domain.clock import LONDON
from eventstore import create_engine_for
from ratify.cli.context import CliContext as CliContext  # re-exported: its old home
from ratify.services.identity.directory import Directory
from ratify.services.identity.errors import IdentityError
from ratify.services.identity.tables import users as users_table

if TYPE_CHECKING:  # loaded when used: see cli_settings and _window
    from ratify.infra.settings import Settings
    from ratify.services.dates import DateWindow

BAD_INPUT = 2
"""Exit status of a refused command (as for a usage error)."""

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]


def cli_context(ctx: typer.Context) -> CliContext:
    """The context the root command set up (the defaults if a command runs on its own)."""
    return ctx.obj if isinstance(ctx.obj, CliContext) else CliContext()


def fail(message: str, code: int = BAD_INPUT) -> NoReturn:
    """Print `error: message` on stderr and exit with `code` (2: refused, 1: cannot run)."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def cli_settings() -> Settings:
    """The settings, or exit 2 naming the first bad one."""
    # Start-up cost: the settings pull in the Temporal SDK (~0.4 s), which `ratify --help`
    # and the API commands do not need.
    from ratify.infra.settings import load_settings

    try:
        return load_settings()
    except ValidationError as exc:
        fail(f"settings: {exc.errors()[0]['loc']}: {exc.errors()[0]['msg']}")


def database_url(ctx: typer.Context) -> str:
    """`--database-url`, else the settings' (the embedded store is made private first)."""
    given = cli_context(ctx).database_url
    if given:
        return given
    settings = cli_settings()
    if not settings.database_url:  # the embedded SQLite store: created private to the user
        for path in settings.prepare_data_dir():
            typer.echo(f"made {path} private to its owner (it was open to others)", err=True)
    return str(settings.event_store_url)


@contextmanager
def open_directory(ctx: typer.Context) -> Iterator[Directory]:
    """A directory on the configured database; identity refusals become exit status 2."""
    url = database_url(ctx)
    try:
        engine = create_engine_for(url)
    except (ValueError, sa.exc.ArgumentError) as exc:
        fail(f"database url: {exc}")
    try:
        try:
            ready = sa.inspect(engine).has_table(users_table.name)
        except sa.exc.OperationalError as exc:
            fail(f"database: cannot open it ({exc.orig}): check RATIFY_DATABASE_URL", code=1)
        if not ready:
            fail("database: it has no identity tables yet: run `ratify db upgrade` first", 1)
        yield Directory(engine, delegation_max_days=cli_settings().delegation_max_days)
    except IdentityError as exc:
        fail(str(exc))
    finally:
        engine.dispose()


def _window() -> DateWindow:
    """The window of dates a person can write (the settings', else the default one)."""
    # Start-up cost: the dates' window loads the settings (the Temporal SDK).
    from ratify.services.dates import DateWindow, default_window

    try:
        return default_window()
    except ValueError:  # the settings do not load: the API will say so; keep the default
        return DateWindow()


def parse_date(value: str, option: str) -> date:
    """A YYYY-MM-DD date inside the window Ratify accepts, or exit 2 naming `option`."""
    try:
        day = date.fromisoformat(value.strip())
    except ValueError:
        fail(f"{option}: {value!r} is not a date: write it as YYYY-MM-DD")
    for problem in _window().problems(day):
        fail(f"{option}: {problem.removeprefix('date: ')}")
    return day


PIPE_WIDTH = 160
"""Width of tables written to a pipe or file unless COLUMNS says (a terminal's own width is
used otherwise)."""


def output() -> Console:
    """The console for what people read: the terminal's width, or COLUMNS, else a fixed width
    when written to a pipe or file."""
    console = Console(highlight=False)
    if not console.is_terminal and not os.environ.get("COLUMNS", "").isdigit():
        console = Console(highlight=False, width=PIPE_WIDTH)
    return console


#: Columns of ids to copy (cases, meetings, users, tokens): printed whole on one line at any
#: width; the other columns wrap or fold around them.
ID_COLUMNS = frozenset({"case", "meeting", "id", "user", "token"})


class PeopleTable(Table):
    """A table for people that never cuts an id: its `ID_COLUMNS` are as wide as their longest
    cell; the `keep` columns (dates, stages) stay on one line while the ids and they fit the
    console, and fold otherwise, as the rest do. Nothing is cut short with "…"."""

    def __init__(self, title: str, *, keep: set[str]) -> None:
        super().__init__(title=title)
        self._keep = frozenset(keep)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        def widest(column: Column) -> int:
            cells = [*column.cells, column.header]
            return max(Measurement.get(console, options, cell).maximum for cell in cells)

        ids = [c for c in self.columns if str(c.header) in ID_COLUMNS]
        kept = [c for c in self.columns if str(c.header) in self._keep and c not in ids]
        for column in ids:
            column.no_wrap, column.min_width = True, widest(column)
        # Each column's edge and padding, and one character for each column not kept.
        frame = 3 * len(self.columns) + 1 + (len(self.columns) - len(ids) - len(kept))
        fits = frame + sum(widest(c) for c in (*ids, *kept)) <= options.max_width
        for column in kept:
            column.no_wrap = fits
        yield from super().__rich_console__(console, options)


def make_table(title: str, *columns: str, keep: set[str]) -> Table:
    """A table for people (`PeopleTable`): ids whole, the `keep` columns on one line if they
    fit, long text folded (never cut short)."""
    table = PeopleTable(title, keep=keep)
    for column in columns:
        table.add_column(column, overflow="fold")
    return table


def echo_json(value: Any) -> None:
    """Print `value` as JSON for scripts (sorted keys, indented)."""
    typer.echo(json.dumps(value, indent=2, sort_keys=True))


def iso(value: datetime | date | None) -> str | None:
    """A date or instant in ISO form for JSON, None for none."""
    return value.isoformat() if value is not None else None


def london(value: datetime | None) -> str:
    """An instant as a London time to the minute, `-` for none."""
    return value.astimezone(LONDON).strftime("%Y-%m-%d %H:%M") if value is not None else "-"


def parse_instant(value: str, option: str) -> datetime:
    """An ISO instant with its timezone (`2019-12-13T17:00:00Z`); a bare date is refused."""
    try:
        when = datetime.fromisoformat(value.strip())
    except ValueError:
        fail(f"{option}: {value!r} is not an ISO date and time, e.g. 2019-12-13T17:00:00Z")
    if when.tzinfo is None or when.utcoffset() is None:
        fail(f"{option}: give a timezone, e.g. 2019-12-13T17:00:00Z or +01:00")
    for problem in _window().problems(when):
        fail(f"{option}: {problem.removeprefix('date: ')}")
    return when


def london_text(value: Any) -> str:
    """An ISO timestamp from the API as a London time, `-` for none."""
    if not value:
        return "-"
    try:
        return london(datetime.fromisoformat(str(value)))
    except ValueError:
        return str(value)
