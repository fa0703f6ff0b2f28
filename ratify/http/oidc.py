"""Tokens from an OIDC provider: a JWT checked against one issuer, its audience and its JWKS.

`OidcVerifier(issuer, audience, jwks)` verifies a bearer JWT and returns the Ratify user id
it names (the `user_claim`, `preferred_username` by default). `jwks` is the provider's JWKS
URL (fetched with PyJWT's `PyJWKClient`, cached for five minutes and fetched again once when
a token names a key id it does not hold, so key rotation works) or a JWKS as a dict (tests,
or keys pinned by configuration).

Rules, each refusal an `OidcError` whose message names it:

- The token is a JWS signed with RS256 or ES256; `none`, HS256 and every other algorithm
  are refused before any key is looked up (so a public key is never used as an HMAC secret).
- Its header names a key id (`kid`) held in the JWKS, and that key is of the algorithm's
  type; a token without a kid is checked with the JWKS's only signing key, and refused if
  the JWKS holds several (OIDC Core 1.0, section 10.1).
- `iss` equals the configured issuer, `aud` holds the configured audience, `exp` is present
  and not passed, `nbf` (if present) has come, all with `leeway` seconds of clock skew.
- The user claim is a non-empty string. It is only an id: whether that person may sign in,
  and which roles they hold, is Ratify's to say (`ratify.http.auth`), never the token's.

A JWKS that cannot be fetched raises `OidcUnavailable` (the provider is down, not the token
wrong).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import jwt
from jwt import PyJWK, PyJWKClient, PyJWKSet
from jwt.exceptions import (
    DecodeError,
    ExpiredSignatureError,
    ImmatureSignatureError,
    InvalidAudienceError,
    InvalidIssuerError,
    InvalidSignatureError,
    MissingRequiredClaimError,
    PyJWKClientConnectionError,
    PyJWKClientError,
    PyJWKSetError,
    PyJWTError,
)

#: The only signature algorithms accepted (asymmetric: the provider signs, Ratify verifies).
ALLOWED_ALGORITHMS: tuple[str, ...] = ("RS256", "ES256")

#: Claims every token must carry.
REQUIRED_CLAIMS: tuple[str, ...] = ("iss", "aud", "exp")

_LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


class OidcError(Exception):
    """A token refused; the message names the rule it breaks."""


class OidcUnavailable(OidcError):
    """The provider's JWKS could not be fetched: no token can be checked until it can."""


def _shown(value: Any) -> str:
    """A claim from a refused token, quoted and cut short for a message."""
    text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."


def _when(timestamp: Any) -> str:
    try:
        return datetime.fromtimestamp(float(timestamp), UTC).isoformat()
    except (TypeError, ValueError, OverflowError):
        return _shown(timestamp)


class OidcVerifier:
    """Checks JWTs from one OIDC provider and maps them to Ratify user ids."""

    def __init__(
        self,
        issuer: str,
        audience: str,
        jwks: str | Mapping[str, Any],
        *,
        user_claim: str = "preferred_username",
        leeway: float = 60,
        jwks_cache_seconds: float = 300,
        jwks_timeout_seconds: float = 10,
    ) -> None:
        if not issuer:
            raise ValueError("issuer: give the provider's issuer URL")
        if not audience:
            raise ValueError("audience: give the audience Ratify's tokens are issued for")
        if not user_claim:
            raise ValueError("user_claim: name the claim that holds the Ratify user id")
        self.issuer = issuer
        self.audience = audience
        self.user_claim = user_claim
        self.leeway = leeway
        self._client: PyJWKClient | None = None
        self._static: PyJWKSet | None = None
        if isinstance(jwks, str):
            parts = urlsplit(jwks)
            local = (parts.hostname or "") in _LOCAL_HOSTS
            if parts.scheme != "https" and not (parts.scheme == "http" and local):
                raise ValueError(
                    f"jwks_url: {jwks!r} must be an https URL (plain http only on localhost)"
                )
            self.jwks_source = jwks
            self._client = PyJWKClient(
                jwks,
                cache_jwk_set=True,
                lifespan=jwks_cache_seconds,
                timeout=jwks_timeout_seconds,
            )
        else:
            self.jwks_source = "the configured JWKS"
            try:
                self._static = PyJWKSet.from_dict(dict(jwks))
            except PyJWTError as exc:
                raise ValueError(f"jwks: not a usable JWKS: {exc}") from None

    # -- keys -----------------------------------------------------------------------------

    def _key(self, kid: str) -> PyJWK:
        if self._static is not None:
            for key in self._static.keys:
                if key.key_id == kid and key.public_key_use in ("sig", None):
                    return key
            raise OidcError(f"token key id {_shown(kid)} is not in {self.jwks_source}")
        assert self._client is not None
        try:
            return self._client.get_signing_key(kid)
        except PyJWKClientConnectionError as exc:
            raise OidcUnavailable(
                f"the JWKS at {self.jwks_source} cannot be fetched ({exc}): "
                "no OIDC token can be checked until it can"
            ) from None
        except (PyJWKClientError, PyJWKSetError):
            raise OidcError(
                f"token key id {_shown(kid)} is not in the JWKS at {self.jwks_source}"
            ) from None

    def _only_key(self) -> PyJWK:
        """The JWKS's one signing key, for a token without a kid; refused if it holds more."""
        if self._static is not None:
            keys = self._static.keys
        else:
            assert self._client is not None
            try:
                keys = self._client.get_jwk_set().keys
            except PyJWKClientConnectionError as exc:
                raise OidcUnavailable(
                    f"the JWKS at {self.jwks_source} cannot be fetched ({exc}): "
                    "no OIDC token can be checked until it can"
                ) from None
            except (PyJWKClientError, PyJWKSetError):
                keys = []
        signing = [k for k in keys if k.public_key_use in ("sig", None)]
        if len(signing) != 1:
            raise OidcError(
                "token has no key id (kid) in its header, and "
                f"{self.jwks_source} holds {len(signing)} signing keys: the key is unknown"
            )
        return signing[0]

    # -- tokens ---------------------------------------------------------------------------

    def claims(self, token: str) -> dict[str, Any]:
        """The token's claims once every rule above holds; else `OidcError`."""
        try:
            header = jwt.get_unverified_header(token)
        except PyJWTError:
            raise OidcError("token is not a well-formed JWT (header.payload.signature)") from None
        alg = header.get("alg")
        if alg not in ALLOWED_ALGORITHMS:
            raise OidcError(
                f"token algorithm {_shown(alg)} is not allowed: only "
                f"{' or '.join(ALLOWED_ALGORITHMS)} (signed by the provider's key)"
            )
        kid = header.get("kid")
        if kid is None:
            # OIDC Core 1.0, 10.1: a kid is required only when the JWKS holds several keys.
            key = self._only_key()
            kid = key.key_id or "(the only key)"
        elif not isinstance(kid, str) or not kid:
            raise OidcError("token has an empty or malformed key id (kid) in its header")
        else:
            key = self._key(kid)
        if key.algorithm_name != alg:
            raise OidcError(
                f"token algorithm {alg} does not match key {kid!r}, which is for "
                f"{key.algorithm_name}"
            )
        try:
            return jwt.decode(
                token,
                key.key,
                algorithms=[alg],
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway,
                options={"require": list(REQUIRED_CLAIMS)},
            )
        except InvalidSignatureError:
            raise OidcError(
                f"token signature does not verify with key {kid!r} of {self.jwks_source}"
            ) from None
        except ExpiredSignatureError:
            exp = self._unverified(token).get("exp")
            raise OidcError(
                f"token expired at {_when(exp)} (clock skew allowed: {self.leeway:g} s)"
            ) from None
        except ImmatureSignatureError:
            payload = self._unverified(token)
            at = payload.get("nbf", payload.get("iat"))
            raise OidcError(
                f"token is not valid before {_when(at)} (clock skew allowed: {self.leeway:g} s)"
            ) from None
        except InvalidIssuerError:
            # The signature was checked before the claims, so this `iss` is the provider's.
            iss = self._unverified(token).get("iss")
            raise OidcError(
                f"token issuer {_shown(iss)} is not the configured issuer {self.issuer!r}"
            ) from None
        except InvalidAudienceError:
            aud = self._unverified(token).get("aud")
            raise OidcError(
                f"token audience {_shown(aud)} does not include the configured audience "
                f"{self.audience!r}"
            ) from None
        except MissingRequiredClaimError as exc:
            raise OidcError(f"token has no {exc.claim!r} claim, which is required") from None
        except DecodeError:
            raise OidcError("token is not a well-formed JWT (header.payload.signature)") from None
        except PyJWTError as exc:
            raise OidcError(f"token refused: {exc}") from None

    def verify(self, token: str) -> str:
        """The Ratify user id the token names, once every rule above holds; else `OidcError`."""
        claims = self.claims(token)
        user_id = claims.get(self.user_claim)
        if not isinstance(user_id, str) or not user_id:
            raise OidcError(
                f"token has no {self.user_claim!r} claim naming the Ratify user "
                "(set RATIFY_OIDC_USER_CLAIM to the claim that does)"
            )
        return user_id

    @staticmethod
    def _unverified(token: str) -> dict[str, Any]:
        try:
            payload: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
        except PyJWTError:
            return {}
        return payload
