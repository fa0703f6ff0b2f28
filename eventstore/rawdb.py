"""Direct DBAPI access for the store's hot paths: appends, reads and verification.

SQLAlchemy's :class:`~sqlalchemy.engine.Connection` costs tens of microseconds per
transaction (events, execution contexts, result objects) and Core statements more
again per execution: more than SQLite needs to run the whole transaction. The hot
paths therefore check a DBAPI connection out of the engine's pool (so pool events,
``pool_pre_ping``, reset-on-return and SQLite's pragmas from
:mod:`eventstore.engine` all still apply) and run plain SQL on it, in a transaction
managed here with the same rules as :mod:`eventstore.engine`. What differs between
databases (how a transaction begins, the placeholder style, how a lone SELECT runs) is
in each backend's :class:`Database` subclass: :mod:`eventstore.backends.sqlite`,
:mod:`eventstore.backends.postgres`.

Errors keep SQLAlchemy's semantics: a DBAPI error is raised as the matching
:class:`sqlalchemy.exc.DBAPIError` subclass (``OperationalError``,
``IntegrityError``, ...) with the statement that failed, and a connection the
dialect judges disconnected is invalidated rather than returned to the pool.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any, ClassVar

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.pool import PoolProxiedConnection

from eventstore.schema import COLUMN_NAMES, EVENTS_TABLE

EVENTS = f'"{EVENTS_TABLE}"'
COLUMNS = ", ".join(f'"{name}"' for name in COLUMN_NAMES)
"""Every column of the events table, quoted, in table order (the order rows come in)."""


class Transaction:
    """One transaction on a pooled DBAPI connection (see :meth:`Database.transaction`).

    ``connection`` is the driver's connection (``sqlite3.Connection`` or
    ``psycopg.Connection``), ``cursor`` a cursor on it. :meth:`execute` and
    :meth:`executemany` remember the statement, for the error message if it fails.
    """

    __slots__ = ("connection", "cursor", "params", "statement")

    def __init__(self, connection: Any) -> None:
        self.connection = connection
        self.cursor = connection.cursor()
        self.statement: str | None = None
        self.params: Any = None

    def execute(self, statement: str, params: Sequence[Any] = ()) -> Any:
        """Run one statement; returns the cursor (to fetch from)."""
        self.statement, self.params = statement, params
        return self.cursor.execute(statement, params)

    def executemany(self, statement: str, rows: Sequence[Sequence[Any]]) -> None:
        self.statement, self.params = statement, rows
        self.cursor.executemany(statement, rows)

    def copy(self, statement: str, rows: Sequence[Sequence[Any]]) -> None:
        """PostgreSQL: ``COPY ... FROM STDIN`` (``statement``) of ``rows``."""
        self.statement, self.params = statement, rows
        with self.cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(row)

    def commit(self) -> None:
        self.statement, self.params = "COMMIT", None
        self.connection.commit()


class Database:
    """The store's engine, used through DBAPI connections from its pool.

    A backend subclasses it with its driver's placeholder and, where its driver needs
    them, its own :meth:`begin` and :meth:`read`.
    """

    param: ClassVar[str]
    """The driver's placeholder: ``?`` (sqlite3's qmark) or ``%s`` (psycopg's format)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.dialect = engine.dialect
        self.error: type[Exception] = engine.dialect.loaded_dbapi.Error

    def placeholders(self, count: int) -> str:
        """``?, ?, ...`` (or ``%s, ...``): ``count`` placeholders for a VALUES or IN list."""
        return ", ".join([self.param] * count)

    @contextlib.contextmanager
    def transaction(self, *, write: bool) -> Iterator[Transaction]:
        """A transaction, committed when the block ends, rolled back if it raises.

        ``write`` says whether the transaction will write: see :meth:`begin`.
        """
        try:
            fairy = self.engine.raw_connection()
        except self.error as exc:
            raise self._wrap(exc, None, None, None) from exc
        tx: Transaction | None = None
        try:
            tx = Transaction(fairy.driver_connection)
            self.begin(tx, write)
            yield tx
            tx.commit()
        except BaseException as exc:
            if isinstance(exc, self.error):
                statement, params = (tx.statement, tx.params) if tx else (None, None)
                wrapped = self._wrap(exc, statement, params, fairy)
                if not wrapped.connection_invalidated:
                    _rollback(fairy)
                raise wrapped from exc
            _rollback(fairy)
            raise
        finally:
            fairy.close()

    def begin(self, tx: Transaction, write: bool) -> None:
        """Begin the transaction; by default the driver does, with the first statement."""

    def read(self, statement: str, params: Sequence[Any] = ()) -> list[Any]:
        """The rows of one SELECT, run in a transaction of its own."""
        with self.transaction(write=False) as tx:
            rows: list[Any] = tx.execute(statement, params).fetchall()
        return rows

    def _wrap(
        self,
        exc: Exception,
        statement: str | None,
        params: Any,
        fairy: PoolProxiedConnection | None,
    ) -> sa.exc.DBAPIError:
        """``exc`` as SQLAlchemy would raise it; invalidates a disconnected connection."""
        dbapi_connection = fairy.dbapi_connection if fairy is not None else None
        disconnected = self.dialect.is_disconnect(exc, dbapi_connection, None)  # type: ignore[arg-type]
        if disconnected and fairy is not None and fairy.is_valid:
            fairy.invalidate(exc)
        wrapped = sa.exc.DBAPIError.instance(
            statement,
            params,
            exc,
            self.error,
            hide_parameters=self.engine.hide_parameters,
            connection_invalidated=disconnected,
            dialect=self.dialect,
        )
        assert isinstance(wrapped, sa.exc.DBAPIError)
        return wrapped


def _rollback(fairy: PoolProxiedConnection) -> None:
    """Roll back; a connection that cannot even do that is invalidated, not pooled."""
    if not fairy.is_valid:
        return
    try:
        fairy.driver_connection.rollback()  # type: ignore[union-attr]
    except Exception as exc:
        fairy.invalidate(exc)
