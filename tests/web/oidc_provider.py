"""A local OpenID provider for the "Sign in with your organisation" tests.

`oidc-provider-mock` (from PyPI) runs a real provider (discovery, authorization form, token
endpoint, JWKS, RS256 ID tokens carrying the request's nonce) on localhost in a thread. It
does not check PKCE itself, so `PkceGuard` sits in front of it and does what a real
provider does (RFC 7636, S256 only): an authorization request without `code_challenge` and
`code_challenge_method=S256` is refused, and a code is exchanged only with the verifier
whose SHA-256 is the challenge the code was issued for. It also keeps every authorization
request's parameters and every token request's form, for the tests to look at.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import httpx
import oidc_provider_mock
import werkzeug.serving

Environ = dict[str, Any]
StartResponse = Callable[..., Any]


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


@dataclass
class PkceGuard:
    """WSGI middleware in front of the mock: PKCE (S256) enforced, requests recorded."""

    app: Callable[[Environ, StartResponse], Iterable[bytes]]
    authorize_requests: list[dict[str, str]] = field(default_factory=list)
    token_requests: list[dict[str, str]] = field(default_factory=list)
    _challenges: dict[str, str] = field(default_factory=dict)

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/oauth2/authorize":
            return self._authorize(environ, start_response)
        if path == "/oauth2/token" and environ.get("REQUEST_METHOD") == "POST":
            return self._token(environ, start_response)
        return self.app(environ, start_response)

    def _authorize(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        query = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
        if environ.get("REQUEST_METHOD") == "GET":
            self.authorize_requests.append(query)
        challenge = query.get("code_challenge")
        if query.get("code_challenge_method") != "S256" or not challenge:
            return _error(start_response, 400, "invalid_request", "PKCE with S256 is required")

        def remember(status: str, headers: list[tuple[str, str]], *rest: Any) -> Any:
            for name, value in headers:
                if name.lower() == "location":
                    code = parse_qs(urlsplit(value).query).get("code")
                    if code:
                        self._challenges[code[0]] = challenge
            return start_response(status, headers, *rest)

        return self.app(environ, remember)

    def _token(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length)
        environ["wsgi.input"] = io.BytesIO(body)
        form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        self.token_requests.append(form)
        if form.get("grant_type") == "authorization_code":
            expected = self._challenges.pop(form.get("code", ""), None)
            verifier = form.get("code_verifier", "")
            if expected is None or not verifier or s256(verifier) != expected:
                return _error(start_response, 400, "invalid_grant", "PKCE verification failed")
        return self.app(environ, start_response)


def _error(
    start_response: StartResponse, status: int, error: str, description: str
) -> Iterable[bytes]:
    body = json.dumps({"error": error, "error_description": description}).encode()
    start_response(
        f"{status} Bad Request",
        [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
    )
    return [body]


@dataclass
class Provider:
    """The running provider: its issuer URL and the PKCE guard's records."""

    issuer: str
    guard: PkceGuard

    def add_user(self, sub: str, **claims: Any) -> None:
        """The claims the provider gives the person whose subject is `sub`."""
        response = httpx.put(f"{self.issuer}/users/{quote(sub, safe='')}", json=claims)
        assert response.status_code == 204, response.text

    def authorize(self, url: str, sub: str) -> str:
        """Sign in at the provider as `sub` (what the person does on its form): the
        callback URL the provider sends the browser back to."""
        response = httpx.post(url, data={"sub": sub})
        assert response.status_code == 302, response.text
        return response.headers["location"]


@contextmanager
def oidc_provider() -> Iterator[Provider]:
    """The mock provider on http://localhost:<free port>, nonces required."""
    app = oidc_provider_mock.app(require_nonce=True)
    guard = PkceGuard(app.wsgi_app)
    app.wsgi_app = guard
    server = werkzeug.serving.make_server("localhost", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1})
    thread.daemon = True
    thread.start()
    try:
        yield Provider(f"http://localhost:{server.server_port}", guard)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
