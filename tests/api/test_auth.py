"""Signing in: password sessions (cookie flags, CSRF, sign-out), OIDC tokens, and refusals.

OIDC is tested with keys made here: the JWKS is served from a local HTTP server (the path
production takes, through PyJWT's `PyJWKClient`) for the API tests, and given as a dict to
`OidcVerifier` for the unit tests.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
import structlog
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from jwt.algorithms import ECAlgorithm, RSAAlgorithm
from pydantic import ValidationError

from ratify.http.auth import Authenticator
from ratify.http.errors import status_of
from ratify.http.oidc import OidcError, OidcUnavailable, OidcVerifier
from ratify.http.passwords import WRONG_CREDENTIALS
from ratify.http.refusal import AuthRefusal
from ratify.http.sessions import SESSION_COOKIE
from ratify.infra.db import migrate_all
from ratify.infra.settings import Settings
from ratify.services.identity.directory import Directory
from tests.api.conftest import Api
from tests.services.identity.conftest import FAST_HASHER

METTRACE = (Path(__file__).resolve().parents[2] / "examples" / "mettrace.yaml").read_text()
PASSWORD = "correct horse battery staple"
ISSUER = "https://login.example.org/ratify-tenant/v2.0"
AUDIENCE = "api://ratify"
KID = "key-2025-1"

AUTH_VARIABLES = (
    "RATIFY_SESSION_SECRET",
    "RATIFY_SESSION_MAX_AGE",
    "RATIFY_INSECURE_COOKIES",
    "RATIFY_DATABASE_URL",
    "TEMPORAL_ADDRESS",
    "RATIFY_TEMPORAL_ADDRESS",
    "RATIFY_OIDC_ISSUER",
    "RATIFY_OIDC_AUDIENCE",
    "RATIFY_OIDC_JWKS_URL",
    "RATIFY_OIDC_USER_CLAIM",
    "RATIFY_OIDC_LEEWAY",
)


@pytest.fixture
def local_directory(tmp_path: Path) -> Iterator[Directory]:
    """A directory on a fresh SQLite file, with ollie.lane (no Temporal, no app)."""
    url = f"sqlite:///{tmp_path / 'identity.db'}"
    migrate_all(url)
    directory = Directory.from_url(url, hasher=FAST_HASHER)
    directory.add_user("ollie.lane", "Ollie Lane", ["originating_officer"], password=PASSWORD)
    yield directory
    directory.close()


@pytest.fixture(autouse=True)
def production_cookies(monkeypatch: pytest.MonkeyPatch) -> None:
    """A clean environment for the settings, with Secure cookies (as in production)."""
    for name in AUTH_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("RATIFY_INSECURE_COOKIES", "0")


# -- helpers ----------------------------------------------------------------------------------


def cookie_attributes(response: httpx.Response) -> tuple[str, dict[str, str]]:
    """The session cookie's value and its attributes (names lower-cased)."""
    [header] = [h for h in response.headers.get_list("set-cookie") if h.startswith(SESSION_COOKIE)]
    first, *rest = [part.strip() for part in header.split(";")]
    attributes = {}
    for part in rest:
        name, _, value = part.partition("=")
        attributes[name.lower()] = value
    return first.partition("=")[2], attributes


async def sign_in(api: Api, user: str, password: str = PASSWORD) -> tuple[str, str]:
    """(cookie value, CSRF token) of a fresh session."""
    r = await api.http.post("/session", json={"user_id": user, "password": password})
    assert r.status_code == 200, r.text
    api.http.cookies.clear()  # each request below says which cookie it sends
    value, _ = cookie_attributes(r)
    return value, r.json()["csrf_token"]


def with_cookie(value: str, **headers: str) -> dict[str, str]:
    return {"Cookie": f"{SESSION_COOKIE}={value}", **headers}


def refusals(logs: Iterable[Mapping[str, Any]]) -> list[tuple[str, str]]:
    """(path, code) of each refusal: on its request's one log line."""
    return [(e["path"], e["refusal"]) for e in logs if e["event"] == "request" and "refusal" in e]


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned(header: dict[str, Any], claims: dict[str, Any], signature: bytes = b"") -> str:
    body = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    return f"{body}.{b64(signature)}"


def claims_for(user: str = "fran.fin", **overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "00u1a2b3c4",
        "iat": now,
        "nbf": now,
        "exp": now + 300,
        "preferred_username": user,
        "roles": ["dmpc", "auditor"],  # must be ignored: roles come from Ratify
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def signed(key: Any, claims: dict[str, Any], kid: str = KID, alg: str = "RS256") -> str:
    return jwt.encode(claims, key, algorithm=alg, headers={"kid": kid})


def public_jwk(private_key: Any, kid: str) -> dict[str, Any]:
    if isinstance(private_key, rsa.RSAPrivateKey):
        jwk: dict[str, Any] = RSAAlgorithm.to_jwk(private_key.public_key(), as_dict=True)
        alg = "RS256"
    else:
        jwk = ECAlgorithm.to_jwk(private_key.public_key(), as_dict=True)
        alg = "ES256"
    return {**jwk, "kid": kid, "use": "sig", "alg": alg}


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def jwks_url(rsa_key: rsa.RSAPrivateKey) -> Iterator[str]:
    """The JWKS served over HTTP on 127.0.0.1, as a provider serves it."""
    body = json.dumps({"keys": [public_jwk(rsa_key, KID)]}).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
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
        yield f"http://127.0.0.1:{server.server_address[1]}/.well-known/jwks.json"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def oidc_settings(monkeypatch: pytest.MonkeyPatch, jwks_url: str) -> None:
    """OIDC switched on through the settings (request it before `api`)."""
    monkeypatch.setenv("RATIFY_OIDC_ISSUER", ISSUER)
    monkeypatch.setenv("RATIFY_OIDC_AUDIENCE", AUDIENCE)
    monkeypatch.setenv("RATIFY_OIDC_JWKS_URL", jwks_url)


# -- sessions ---------------------------------------------------------------------------------


async def test_a_password_sign_in_sets_a_secure_http_only_lax_cookie_that_signs_in(api: Api):
    api.directory.set_password("fran.fin", PASSWORD)
    r = await api.http.post("/session", json={"user_id": "fran.fin", "password": PASSWORD})
    assert r.status_code == 200, r.text
    value, flags = cookie_attributes(r)
    assert {"httponly", "secure", "path", "max-age", "samesite"} <= set(flags)
    assert flags["samesite"].lower() == "lax" and flags["path"] == "/"
    assert flags["max-age"] == str(8 * 3600)
    assert r.headers["cache-control"] == "no-store"
    body = r.json()
    assert body["user"] == {"id": "fran.fin", "name": "Fran Finance"}
    assert body["roles"] == [{"role": "finance_adviser", "on_behalf_of": None}]
    assert body["signed_in_with"] == "session" and len(body["csrf_token"]) >= 32
    assert PASSWORD not in r.text and "fran.fin" not in value.split(".")[-1]
    api.http.cookies.clear()

    r = await api.http.get("/tasks", headers=with_cookie(value))
    assert r.status_code == 200, r.text
    me = (await api.http.get("/session", headers=with_cookie(value))).json()
    assert me["user"]["id"] == "fran.fin" and me["csrf_token"] == body["csrf_token"]
    assert me["signed_in_with"] == "session" and me["session_expires_at"]

    # A form works as well as JSON; each sign-in is a new session with a new CSRF token.
    r = await api.http.post("/session", data={"user_id": "fran.fin", "password": PASSWORD})
    assert r.status_code == 200 and r.json()["csrf_token"] != body["csrf_token"]

    # A tampered cookie signs nobody in.
    forged = value[:-2] + ("AA" if not value.endswith("AA") else "BB")
    r = await api.http.get("/tasks", headers=with_cookie(forged))
    assert r.status_code == 401 and "session cookie is not valid" in r.json()["detail"]
    # Deactivating someone ends their sessions at once.
    api.directory.deactivate("fran.fin")
    r = await api.http.get("/tasks", headers=with_cookie(value))
    assert r.status_code == 401 and "the user was deactivated" in r.json()["detail"]


async def test_a_cookie_signed_in_post_needs_the_csrf_token_and_refusals_are_logged(api: Api):
    api.directory.set_password("ollie.lane", PASSWORD)
    value, csrf = await sign_in(api, "ollie.lane")
    upload: dict[str, Any] = {"content": METTRACE, "params": {"filename": "mettrace.yaml"}}

    with structlog.testing.capture_logs() as logs:
        r = await api.http.post(
            "/cases/upload", headers=with_cookie(value, **{"Content-Type": "text/plain"}), **upload
        )
        assert r.status_code == 403 and r.json()["code"] == "csrf", r.text
        assert "X-CSRF-Token header or the csrf_token form field" in r.json()["detail"]
        r = await api.http.post(
            "/cases/upload",
            headers=with_cookie(value, **{"Content-Type": "text/plain", "X-CSRF-Token": "x" * 43}),
            **upload,
        )
        assert r.status_code == 403 and "not this session's" in r.json()["detail"]
    assert refusals(logs) == [("/cases/upload", "csrf")] * 2
    assert api.store.read_all() == []

    r = await api.http.post(
        "/cases/upload",
        headers=with_cookie(value, **{"Content-Type": "text/plain", "X-CSRF-Token": csrf}),
        **upload,
    )
    assert r.status_code == 201, r.text
    case_id = r.json()["case_id"]
    # Reads need no CSRF token; bearer-token writes need none either.
    assert (await api.http.get(f"/cases/{case_id}", headers=with_cookie(value))).status_code == 200
    r = await api.post("ollie.lane", f"/cases/{case_id}/actions/withdraw", {"reason": "test"})
    assert r.status_code == 200, r.text


async def test_sign_out_needs_the_csrf_token_and_clears_the_cookie(api: Api):
    api.directory.set_password("sam.sec", PASSWORD)
    value, csrf = await sign_in(api, "sam.sec")

    r = await api.http.delete("/session", headers=with_cookie(value))
    assert r.status_code == 403 and r.json()["code"] == "csrf"
    # The CSRF token may come as a form field.
    r = await api.http.request(
        "DELETE",
        "/session",
        content=f"csrf_token={csrf}",
        headers=with_cookie(value, **{"Content-Type": "application/x-www-form-urlencoded"}),
    )
    assert r.status_code == 204, r.text
    cleared, flags = cookie_attributes(r)
    assert cleared in ("", '""') and flags["max-age"] == "0"
    assert "httponly" in flags and "secure" in flags
    # Signing out without a session (or with an expired one) just clears the cookie.
    assert (await api.http.delete("/session")).status_code == 204
    assert (await api.http.delete("/session", headers=with_cookie("junk"))).status_code == 204
    assert (await api.http.get("/session")).status_code == 401


async def test_wrong_passwords_unknown_users_and_deactivated_users_are_refused(api: Api):
    api.directory.set_password("pat.pub", PASSWORD)
    api.directory.set_password("aud.ann", PASSWORD)
    api.directory.deactivate("aud.ann")

    async def attempt(body: Any, **kw: Any) -> httpx.Response:
        return await api.http.post("/session", json=body, **kw)

    with structlog.testing.capture_logs() as logs:
        wrong = await attempt({"user_id": "pat.pub", "password": "not the password"})
        unknown = await attempt({"user_id": "no.such.person", "password": PASSWORD})
        unset = await attempt({"user_id": "sl.dmpc", "password": PASSWORD})
        inactive = await attempt({"user_id": "aud.ann", "password": PASSWORD})
        inactive_wrong = await attempt({"user_id": "aud.ann", "password": "not the password"})
        missing = await attempt({"user_id": "pat.pub"})
        not_json = await api.http.post(
            "/session", content="pat.pub", headers={"Content-Type": "text/plain"}
        )
    for r in (wrong, unknown, unset, inactive_wrong):
        assert r.status_code == 401, r.text
        assert r.json() == {"code": "unauthenticated", "detail": WRONG_CREDENTIALS}
        assert SESSION_COOKIE not in r.headers.get("set-cookie", "")
    assert inactive.status_code == 401 and "aud.ann is deactivated" in inactive.json()["detail"]
    assert missing.status_code == 422 and missing.json()["detail"] == "password: required"
    assert not_json.status_code == 422 and "as JSON" in not_json.json()["detail"]
    assert refusals(logs) == [("/session", "unauthenticated")] * 5 + [("/session", "invalid")] * 2
    tried = [e["user_id"] for e in logs if e["event"] == "sign_in_refused"]
    assert tried == ["pat.pub", "no.such.person", "sl.dmpc", "aud.ann", "aud.ann"]
    # Bearer values that are neither a Ratify token nor (without OIDC) a JWT are refused.
    r = await api.http.get("/tasks", headers={"Authorization": "Bearer eyJhbGciOi.x.y"})
    assert r.status_code == 401 and "OIDC sign-in is off" in r.json()["detail"]
    r = await api.http.get("/tasks", headers={"Authorization": "Basic cGF0LnB1Yjp4"})
    assert r.status_code == 401 and "Bearer" in r.json()["detail"]


def test_a_session_expires_after_its_max_age(
    monkeypatch: pytest.MonkeyPatch, local_directory: Directory
):
    from itsdangerous.timed import TimestampSigner

    def clock(at: int) -> None:
        monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: at)
        local_directory._clock = lambda: datetime.fromtimestamp(at, UTC)

    auth = Authenticator(session_secret="s" * 40, session_max_age=3600)
    auth.bind(local_directory)
    now = int(time.time())
    clock(now - 3601)
    stale, _ = auth.issue_session("ollie.lane")
    clock(now - 3599)
    fresh, session = auth.issue_session("ollie.lane")
    assert session.expires_at - session.issued_at == timedelta(hours=1)
    clock(now)
    assert auth.read_session(fresh).user_id == "ollie.lane"
    with pytest.raises(AuthRefusal) as err:
        auth.read_session(stale)
    assert status_of(err.value) == 401
    assert "session has expired (a session lasts 1 hours)" in err.value.message
    # The stored session's own expiry holds too, whatever the cookie says.
    later = datetime.fromtimestamp(now, UTC) + timedelta(seconds=2)
    with pytest.raises(AuthRefusal, match="session has expired"):
        auth.read_session(fresh, now=later)
    # Another secret (another process without RATIFY_SESSION_SECRET) does not accept it.
    with pytest.raises(AuthRefusal, match="signed by another secret"):
        Authenticator(session_secret="t" * 40, directory=local_directory).read_session(fresh)


def test_cookie_and_oidc_settings():
    embedded = Settings(_env_file=None, insecure_cookies=None)
    assert embedded.embedded and not embedded.secure_cookies
    production = Settings(
        _env_file=None,
        insecure_cookies=None,
        database_url="postgresql+psycopg://ratify@db/ratify",
    )
    assert production.secure_cookies
    assert not Settings(_env_file=None, database_url="x", insecure_cookies=True).secure_cookies
    assert Settings(_env_file=None, insecure_cookies=False).secure_cookies
    with pytest.raises(ValidationError, match="set RATIFY_OIDC_AUDIENCE and RATIFY_OIDC_JWKS_URL"):
        Settings(_env_file=None, oidc_issuer=ISSUER)
    with pytest.raises(ValidationError, match="at least 32 characters"):
        Settings(_env_file=None, session_secret="short")
    auth = Authenticator.from_settings(
        Settings(
            _env_file=None,
            oidc_issuer=ISSUER,
            oidc_audience=AUDIENCE,
            oidc_jwks_url="https://login.example.org/keys",
            oidc_user_claim="upn",
            session_secret="x" * 40,
        )
    )
    assert auth.oidc is not None and auth.oidc.user_claim == "upn" and auth.secure_cookies
    with pytest.raises(ValueError, match="must be an https URL"):
        OidcVerifier(ISSUER, AUDIENCE, "http://login.example.org/keys")


# -- OIDC through the API ---------------------------------------------------------------------


async def test_an_oidc_token_acts_as_the_mapped_user_with_ratifys_roles(
    oidc_settings: None, api: Api, rsa_key: rsa.RSAPrivateKey
):
    bearer = {"Authorization": f"Bearer {signed(rsa_key, claims_for('fran.fin'))}"}
    me = (await api.http.get("/session", headers=bearer)).json()
    assert me["user"]["id"] == "fran.fin" and me["signed_in_with"] == "oidc"
    assert me["roles"] == [{"role": "finance_adviser", "on_behalf_of": None}]
    assert me["csrf_token"] is None
    assert (await api.http.get("/tasks", headers=bearer)).status_code == 200
    # The token's "roles" claim says auditor; Ratify says finance adviser.
    r = await api.http.get("/cases/any/events", headers=bearer)
    assert r.status_code == 403 and "only auditors" in r.json()["detail"]

    # A state-changing request with an OIDC token needs no CSRF token.
    ollie = signed(rsa_key, claims_for("ollie.lane"))
    r = await api.http.post(
        "/cases/upload",
        content=METTRACE,
        params={"filename": "mettrace.yaml"},
        headers={"Authorization": f"Bearer {ollie}", "Content-Type": "text/plain"},
    )
    assert r.status_code == 201, r.text


async def test_bad_oidc_tokens_are_refused_naming_the_rule(
    oidc_settings: None, api: Api, rsa_key: rsa.RSAPrivateKey
):
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = rsa_key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    hs_header = {"alg": "HS256", "typ": "JWT", "kid": KID}
    hs_input = unsigned(hs_header, claims_for()).rsplit(".", 1)[0]
    hs256 = f"{hs_input}.{b64(hmac.new(pem, hs_input.encode(), hashlib.sha256).digest())}"
    api.directory.deactivate("lee.legal")
    past = int(time.time()) - 3600
    cases = {
        "wrong issuer": (
            signed(rsa_key, claims_for(iss="https://evil.example.org")),
            f"token issuer 'https://evil.example.org' is not the configured issuer '{ISSUER}'",
        ),
        "wrong audience": (
            signed(rsa_key, claims_for(aud="api://someone-else")),
            f"token audience 'api://someone-else' does not include the configured audience "
            f"'{AUDIENCE}'",
        ),
        "expired": (
            signed(rsa_key, claims_for(exp=past, iat=past - 300, nbf=past - 300)),
            f"token expired at {datetime.fromtimestamp(past, UTC).isoformat()}",
        ),
        "not yet valid": (
            signed(rsa_key, claims_for(nbf=int(time.time()) + 3600)),
            "token is not valid before",
        ),
        "no expiry": (signed(rsa_key, claims_for(exp=None)), "token has no 'exp' claim"),
        "alg none": (
            unsigned({"alg": "none", "typ": "JWT", "kid": KID}, claims_for()),
            "token algorithm 'none' is not allowed: only RS256 or ES256",
        ),
        "HS256 with the public key as secret": (
            hs256,
            "token algorithm 'HS256' is not allowed: only RS256 or ES256",
        ),
        "unknown kid": (
            signed(rsa_key, claims_for(), kid="not-a-key"),
            "token key id 'not-a-key' is not in the JWKS at http://127.0.0.1:",
        ),
        "another key with the right kid": (
            signed(other_key, claims_for()),
            f"token signature does not verify with key '{KID}'",
        ),
        "unknown user": (
            signed(rsa_key, claims_for("mallory")),
            "the token's preferred_username 'mallory' is not an active Ratify user: a person "
            "signs in with OIDC only once an admin has added them to Ratify with their roles",
        ),
        "deactivated user": (
            signed(rsa_key, claims_for("lee.legal")),
            "'lee.legal' is not an active Ratify user",
        ),
        "no user claim": (
            signed(rsa_key, claims_for(preferred_username=None)),
            "token has no 'preferred_username' claim naming the Ratify user",
        ),
        "not a JWT": ("garbage", "token is not a well-formed JWT"),
    }
    for name, (token, rule) in cases.items():
        r = await api.http.get("/tasks", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 401, (name, r.text)
        assert r.json()["code"] == "unauthenticated", name
        detail = r.json()["detail"]
        assert detail.startswith("OIDC: ") and rule in detail, (name, detail)

    # A refused state-changing request is logged with its rule.
    with structlog.testing.capture_logs() as logs:
        token, _ = cases["wrong audience"]
        r = await api.http.post("/cases", json={}, headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401
    [entry] = [e for e in logs if e["event"] == "request"]
    assert entry["refusal"] == "unauthenticated" and "audience" in entry["detail"]


# -- the verifier on its own ------------------------------------------------------------------


def test_the_verifier_with_a_static_jwks_accepts_es256_and_checks_the_key_type(
    rsa_key: rsa.RSAPrivateKey,
):
    ec_key = ec.generate_private_key(ec.SECP256R1())
    jwks = {"keys": [public_jwk(rsa_key, "rsa-1"), public_jwk(ec_key, "ec-1")]}
    verifier = OidcVerifier(ISSUER, AUDIENCE, jwks, user_claim="upn", leeway=0)
    token = signed(ec_key, claims_for(upn="eve.eq"), kid="ec-1", alg="ES256")
    assert verifier.verify(token) == "eve.eq"
    assert verifier.verify(signed(rsa_key, claims_for(upn="ian.ia"), kid="rsa-1")) == "ian.ia"
    # An ES256 token naming the RSA key is refused before any signature check.
    wrong = signed(ec_key, claims_for(upn="eve.eq"), kid="rsa-1", alg="ES256")
    with pytest.raises(OidcError, match="does not match key 'rsa-1', which is for RS256"):
        verifier.verify(wrong)
    with pytest.raises(OidcError, match="token key id 'gone' is not in the configured JWKS"):
        verifier.verify(signed(rsa_key, claims_for(upn="ian.ia"), kid="gone"))
    # RS512 is a real asymmetric algorithm, but not one Ratify accepts.
    with pytest.raises(OidcError, match="'RS512' is not allowed"):
        verifier.verify(signed(rsa_key, claims_for(upn="ian.ia"), kid="rsa-1", alg="RS512"))
    # The leeway: a token 30 s past its expiry passes with 60 s, not with 0.
    late = signed(rsa_key, claims_for(upn="ian.ia", exp=int(time.time()) - 30), kid="rsa-1")
    with pytest.raises(OidcError, match=r"token expired at \S+ \(clock skew allowed: 0 s\)"):
        verifier.verify(late)
    lenient = OidcVerifier(ISSUER, AUDIENCE, jwks, user_claim="upn")
    assert lenient.verify(late) == "ian.ia"
    with pytest.raises(ValueError, match="not a usable JWKS"):
        OidcVerifier(ISSUER, AUDIENCE, {"keys": []})


def test_an_unreachable_jwks_is_not_the_tokens_fault(rsa_key: rsa.RSAPrivateKey):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    verifier = OidcVerifier(ISSUER, AUDIENCE, f"http://127.0.0.1:{port}/jwks")
    with pytest.raises(OidcUnavailable, match="cannot be fetched"):
        verifier.verify(signed(rsa_key, claims_for()))
