"""Start-up checks of the process commands: one clear line and an exit status, no traceback.

Exit status 2: the configuration is wrong (a bad `RATIFY_*` value, a database URL that is
not one, `ratify api` without `TEMPORAL_ADDRESS`). Exit status 1: something configured
cannot be reached, or is not ready (Temporal, the database, a database not migrated).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import sqlalchemy as sa
from pydantic import ValidationError
from sqlalchemy.engine import Engine, make_url

from eventstore import create_engine_for
from ratify.infra.settings import Settings

#: A bad setting, URL or combination of them.
BAD_CONFIGURATION = 2
#: Temporal or the database cannot be reached, or the database is not migrated.
UNAVAILABLE = 1


class StartupError(Exception):
    """A process cannot start: `message` says why and what to do; `exit_code` as above."""

    def __init__(self, message: str, exit_code: int = UNAVAILABLE) -> None:
        super().__init__(message)
        self.message, self.exit_code = message, exit_code


def settings_problems(exc: ValidationError) -> str:
    """One line per bad setting, naming its environment variable."""
    lines = []
    for err in exc.errors():
        loc = [str(p) for p in err["loc"]]
        if loc:
            lines.append(f"bad setting RATIFY_{'_'.join(loc).upper()}: {err['msg']}")
        else:  # a rule across settings: its message names them
            lines.append(f"bad settings: {err['msg']}")
    return "\n".join(lines)


def load_settings() -> Settings:
    """The settings, or a StartupError naming every bad variable."""
    try:
        return Settings()
    except ValidationError as exc:
        raise StartupError(settings_problems(exc), BAD_CONFIGURATION) from None


def report(process: str, error: StartupError) -> int:
    """Print the error on stderr, one line (per problem) prefixed with the process."""
    for line in error.message.splitlines() or [""]:
        print(f"ratify {process}: {line}", file=sys.stderr, flush=True)
    return error.exit_code


def safe_url(url: str) -> str:
    """The database URL without its password, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "(unparseable URL)"


def open_database(url: str, *, tables: tuple[str, ...] = ()) -> Engine:
    """An engine on the database, once it answers and has `tables` (else a StartupError)."""
    try:
        parsed = make_url(url)
        engine = create_engine_for(url)
    except (ValueError, sa.exc.ArgumentError) as exc:
        raise StartupError(
            f"RATIFY_DATABASE_URL is not a usable database URL ({exc}); e.g. "
            "postgresql+psycopg://user@host/db or sqlite:///path/ratify.db",
            BAD_CONFIGURATION,
        ) from None
    path = parsed.database if parsed.get_backend_name() == "sqlite" else None
    if tables and path not in (None, "", ":memory:") and not Path(str(path)).exists():
        engine.dispose()  # connecting would create an empty file
        raise _not_migrated(url, tables)
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        inspector = sa.inspect(engine)
        missing = [t for t in tables if not inspector.has_table(t)]
    except sa.exc.DBAPIError as exc:
        engine.dispose()
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
        raise StartupError(
            f"cannot reach the database {safe_url(url)} ({reason}): check RATIFY_DATABASE_URL"
        ) from None
    if missing:
        engine.dispose()
        raise _not_migrated(url, missing)
    return engine


def _not_migrated(url: str, missing: Sequence[str]) -> StartupError:
    return StartupError(
        f"the database {safe_url(url)} is not migrated (no {', '.join(missing)} table): "
        "run `ratify db upgrade` first"
    )


def migrate_or_fail(url: str, *, app_tables: bool) -> None:
    """Migrate the event store (and, with `app_tables`, the application's tables too), or a
    StartupError saying why not."""
    # Here, not at the top: the migrations load Alembic, and this module is imported by every
    # process and the CLI (through ratify.infra.temporal), most of which never migrate.
    from eventstore import migrate
    from ratify.infra.db import migrate_all

    try:
        if app_tables:
            migrate_all(url)
        else:
            migrate(url)
    except (ValueError, sa.exc.ArgumentError) as exc:
        raise StartupError(
            f"RATIFY_DATABASE_URL is not a usable database URL ({exc})", BAD_CONFIGURATION
        ) from None
    except sa.exc.DBAPIError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
        raise StartupError(
            f"cannot migrate the database {safe_url(url)} ({reason}): check RATIFY_DATABASE_URL"
        ) from None
