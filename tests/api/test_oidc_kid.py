"""A token without a key id: OIDC Core 1.0 (10.1) requires a kid only when the provider's
JWKS holds several keys, and some providers (and oidc-provider-mock) leave it out."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from ratify.http.oidc import OidcError, OidcVerifier
from tests.api.test_auth import AUDIENCE, ISSUER, claims_for, public_jwk


def kidless(key: Any, claims: dict[str, Any], alg: str = "RS256") -> str:
    token = jwt.encode(claims, key, algorithm=alg)
    assert "kid" not in jwt.get_unverified_header(token)
    return token


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def served_jwks() -> Iterator[tuple[str, dict[str, Any]]]:
    """A JWKS over HTTP on localhost: (its URL, the dict the test fills)."""
    jwks: dict[str, Any] = {"keys": []}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = json.dumps(jwks).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/keys", jwks
    finally:
        server.shutdown()
        server.server_close()


def test_a_token_without_kid_is_checked_with_the_only_key(
    rsa_key: rsa.RSAPrivateKey, served_jwks: tuple[str, dict[str, Any]]
) -> None:
    url, jwks = served_jwks
    jwks["keys"] = [public_jwk(rsa_key, "only-1")]
    for source in (url, dict(jwks)):
        verifier = OidcVerifier(ISSUER, AUDIENCE, source)
        assert verifier.verify(kidless(rsa_key, claims_for("fran.fin"))) == "fran.fin"
        # Still the only key's signature: another key's token without kid is refused.
        other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        with pytest.raises(OidcError, match="signature does not verify"):
            verifier.verify(kidless(other, claims_for("fran.fin")))


def test_a_token_without_kid_is_refused_when_the_jwks_holds_several_keys(
    rsa_key: rsa.RSAPrivateKey, served_jwks: tuple[str, dict[str, Any]]
) -> None:
    url, jwks = served_jwks
    ec_key = ec.generate_private_key(ec.SECP256R1())
    jwks["keys"] = [public_jwk(rsa_key, "rsa-1"), public_jwk(ec_key, "ec-1")]
    for source in (url, dict(jwks)):
        verifier = OidcVerifier(ISSUER, AUDIENCE, source)
        with pytest.raises(OidcError, match=r"no key id \(kid\).*holds 2 signing keys"):
            verifier.verify(kidless(rsa_key, claims_for("fran.fin")))
    with pytest.raises(OidcError, match="empty or malformed key id"):
        OidcVerifier(ISSUER, AUDIENCE, dict(jwks)).verify(
            jwt.encode(claims_for(), rsa_key, algorithm="RS256", headers={"kid": ""})
        )
