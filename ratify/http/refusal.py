"""`AuthRefusal`: how every part of signing in says no (sessions, passwords, tokens, OIDC)."""

from __future__ import annotations


class AuthRefusal(Exception):
    """A refused sign-in: a code (its HTTP status: `ratify.http.errors.status_of`) and a
    message naming the rule; with `retry_after` (seconds) when waiting helps (429, 503)."""

    def __init__(self, code: str, message: str, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.code, self.message = code, message
        self.retry_after = retry_after

    @property
    def headers(self) -> dict[str, str] | None:
        """The response headers the refusal needs (`Retry-After`), if any."""
        return {"Retry-After": str(self.retry_after)} if self.retry_after is not None else None


def unauthenticated(message: str) -> AuthRefusal:
    """A 401 refusal: not signed in, or the sign-in failed (the message says why)."""
    return AuthRefusal("unauthenticated", message)
