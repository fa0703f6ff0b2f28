"""What every part of the `Directory` shares: its engine, transactions, clock and hasher.

`DirectoryBase` is not used on its own: `ratify.services.identity.directory.Directory`
puts it together with the users, sessions, sign-in, delegations and tokens parts.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, Self

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.engine import URL, Connection, Engine

from eventstore.engine import create_engine_for, write_engine
from ratify.services.identity.rules import DEFAULT_DELEGATION_MAX_DAYS, _aware


class DirectoryBase:
    """The engine, transactions, clock and password hasher of a `Directory`."""

    def __init__(
        self,
        engine: Engine,
        *,
        hasher: PasswordHasher | None = None,
        clock: Callable[[], datetime] | None = None,
        delegation_max_days: int = DEFAULT_DELEGATION_MAX_DAYS,
    ) -> None:
        if delegation_max_days < 1:
            raise ValueError("delegation_max_days must be at least 1")
        self.engine = engine
        self.delegation_max_days = delegation_max_days
        self._writer = write_engine(engine)
        self._hasher = hasher or PasswordHasher()
        self._clock = clock or (lambda: datetime.now(UTC))
        self._dummy_hash: str | None = None
        self._owns_engine = False

    @classmethod
    def from_url(cls, url: str | URL, **kwargs: Any) -> Self:
        """A directory on its own engine; `close()` disposes of it."""
        directory = cls(create_engine_for(url), **kwargs)
        directory._owns_engine = True
        return directory

    def close(self) -> None:
        if self._owns_engine:
            self.engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- transactions -------------------------------------------------------------------------

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        with self._writer.begin() as conn:
            yield conn

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            yield conn

    def _now(self, now: datetime | None, field: str = "now") -> datetime:
        return _aware(now, field) if now is not None else _aware(self._clock(), field)

    def _verify(self, password_hash: str, password: str) -> bool:
        try:
            return bool(self._hasher.verify(password_hash, password))
        except (VerificationError, InvalidHashError):
            return False

    def _dummy(self) -> str:
        if self._dummy_hash is None:
            self._dummy_hash = self._hasher.hash(secrets.token_hex(16))
        return self._dummy_hash
