"""Sign in with your organisation: the OIDC authorization code flow with PKCE, for the pages.

A person clicks "Sign in with your organisation" on the sign-in page; Ratify sends their
browser to the provider (e.g. Microsoft Entra ID) with an authorization request, they sign
in there, and the provider sends them back to Ratify's callback with a one-time code, which
Ratify exchanges (server to server) for an ID token naming the person. `OidcSignIn` holds
the protocol; the pages' routes are in `ratify.web.pages.oidc_login`.

- **Discovery.** The provider's endpoints come from `<issuer>/.well-known/openid-configuration`
  (cached for an hour); its `issuer` must be the configured one, exactly, and every endpoint
  https (plain http only on localhost).
- **The request** (authlib's `AsyncOAuth2Client`): `response_type=code`, the configured
  scopes (with `openid`), a fresh random `state` (against login CSRF: a callback whose state
  is not the one this browser was sent with is refused), a fresh `nonce` (binds the ID token
  to this sign-in: a token minted for another request is refused) and a PKCE `code_verifier`
  whose SHA-256 (`code_challenge_method=S256`) goes with the request, so a stolen code is
  useless without the verifier. The three, the redirect URI and the page to go back to are
  kept in a short-lived cookie (`ratify_oidc`, 10 minutes) signed with
  `RATIFY_SESSION_SECRET`, HttpOnly, SameSite=Lax, scoped to `/ui/sign-in/oidc`.
- **The callback** exchanges the code with the verifier (and the client secret, for a
  confidential client), then checks the ID token with `ratify.http.oidc.OidcVerifier`, as
  for bearer tokens: RS256/ES256 only, a key of the provider's JWKS, `iss` the issuer, `aud`
  holding the client id, `exp` not passed; and here also the `nonce`, `iat`, and `azp` when
  present or when there are several audiences.
- **Who it is.** The provider's (issuer, `sub`) is looked up in `oidc_subjects`
  (`ratify.services.identity.oidc_subjects`): linked by an administrator, or on first sign-in by the
  configured claim when `RATIFY_OIDC_LINK_BY_CLAIM` is on. The user must be active. Roles
  always come from Ratify; nothing in the token grants any.

The code and the state travel in the callback's query string, by the protocol: they are
never logged (nor the verifier, the nonce or any token). Every refusal is an
`OidcSignInError` whose message names the rule and says what to do.
"""

from __future__ import annotations

import hmac
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx2
import structlog
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.httpx_client import AsyncOAuth2Client
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from starlette.concurrency import run_in_threadpool

from ratify.http.oidc import OidcError, OidcUnavailable, OidcVerifier
from ratify.infra.settings import Settings, load_settings
from ratify.services.identity.directory import Directory
from ratify.services.identity.errors import IdentityError
from ratify.services.identity.oidc_subjects import MAX_SUBJECT, OidcSubjects, check_subject

log = structlog.get_logger("ratify.oidc_login")

FLOW_COOKIE = "ratify_oidc"
#: The start of the flow, and the prefix of everything the flow cookie is sent to.
START_PATH = "/ui/sign-in/oidc"
CALLBACK_PATH = "/ui/sign-in/oidc/callback"
#: How long a person has between clicking the button and coming back, in seconds.
FLOW_MAX_AGE = 600
#: Bounds of what the callback takes from its query string.
MAX_CODE = 2048
MAX_STATE = 128
MAX_ERROR = 200
MAX_NEXT = 2000
#: The page a person lands on when they asked for none.
DEFAULT_NEXT = "/ui/"

_SALT = "ratify.oidc-flow.v1"
_LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


class OidcSignInError(Exception):
    """A refused sign-in: a code (its HTTP status: `ratify.http.errors.status_of`) and a
    message naming the rule."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def _unavailable(message: str) -> OidcSignInError:
    return OidcSignInError("oidc_unavailable", message)


def check_next(target: str | None) -> str:
    """The page to go back to after signing in: only a path of Ratify's pages (`/ui...`),
    never another site (`//evil.example`, `/\\evil`, `https:...`); else `OidcSignInError`
    (422, naming `next`). None or empty is the inbox."""
    if not target:
        return DEFAULT_NEXT
    if (
        len(target) > MAX_NEXT
        or not (target == "/ui" or target.startswith(("/ui/", "/ui?")))
        or "//" in target
        or "\\" in target
        or any(ord(ch) < 0x21 or ord(ch) == 0x7F for ch in target)
    ):
        raise OidcSignInError(
            "invalid",
            f"next: must be a path of Ratify's pages (starting /ui/, at most {MAX_NEXT} "
            "characters, no '//', '\\' or spaces), never another site's address",
        )
    return target


def _endpoint(url: Any, name: str) -> str:
    """An endpoint of the discovery document: https, or http only on localhost."""
    if not isinstance(url, str) or not url:
        raise _unavailable(f"the provider's discovery document has no {name}")
    parts = urlsplit(url)
    local = (parts.hostname or "") in _LOCAL_HOSTS
    if parts.scheme != "https" and not (parts.scheme == "http" and local):
        raise _unavailable(
            f"the provider's {name} {url!r} is not https (plain http only on localhost)"
        )
    return url


@dataclass(frozen=True)
class ProviderMetadata:
    """What Ratify uses of the provider's discovery document."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str


@dataclass(frozen=True)
class Flow:
    """One sign-in under way, as its cookie holds it."""

    state: str
    nonce: str
    code_verifier: str
    next_path: str
    redirect_uri: str


@dataclass(frozen=True)
class SignedIn:
    """Who the provider signed in, as a Ratify user."""

    user_id: str
    subject: str
    #: True when this sign-in made the link (first sign-in by the configured claim).
    linked_now: bool


class OidcSignIn:
    """The authorization code flow with PKCE against one provider (module docstring)."""

    def __init__(
        self,
        *,
        issuer: str,
        client_id: str,
        client_secret: str | None = None,
        scopes: str = "openid profile",
        redirect_url: str | None = None,
        user_claim: str = "preferred_username",
        link_by_claim: bool = False,
        flow_secret: str | None = None,
        leeway: float = 60,
        timeout_seconds: float = 10,
        discovery_cache_seconds: float = 3600,
        secure_cookies: bool = True,
    ) -> None:
        if not issuer:
            raise ValueError("issuer: give the provider's issuer URL")
        if not client_id:
            raise ValueError("client_id: give the client id Ratify is registered under")
        if "openid" not in scopes.split():
            raise ValueError("scopes: must include openid")
        self.issuer = issuer
        self.client_id = client_id
        self._client_secret = client_secret
        self.scopes = " ".join(scopes.split())
        self.redirect_url = redirect_url
        self.user_claim = user_claim
        self.link_by_claim = link_by_claim
        self.leeway = leeway
        self.timeout_seconds = timeout_seconds
        self.discovery_cache_seconds = discovery_cache_seconds
        self.secure_cookies = secure_cookies
        self._serializer = URLSafeTimedSerializer(
            flow_secret or secrets.token_urlsafe(48), salt=_SALT
        )
        self._metadata: ProviderMetadata | None = None
        self._metadata_at = 0.0
        self._verifier: OidcVerifier | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> OidcSignIn | None:
        """The flow the settings describe, or None while it is not configured."""
        if not settings.oidc_web_sign_in:
            return None
        secret = settings.oidc_client_secret
        session_secret = settings.session_secret
        return cls(
            issuer=settings.oidc_issuer or "",
            client_id=settings.oidc_client_id or "",
            # An empty secret (e.g. `RATIFY_OIDC_CLIENT_SECRET=` in an env file) is none.
            client_secret=(secret.get_secret_value() or None) if secret is not None else None,
            scopes=settings.oidc_scopes,
            redirect_url=settings.oidc_redirect_url,
            user_claim=settings.oidc_user_claim,
            link_by_claim=settings.oidc_link_by_claim,
            flow_secret=(session_secret.get_secret_value() if session_secret is not None else None),
            leeway=settings.oidc_leeway,
            secure_cookies=settings.secure_cookies,
        )

    # -- the provider -------------------------------------------------------------------------

    async def metadata(self) -> ProviderMetadata:
        """The provider's endpoints, from its discovery document (cached; two requests at
        once may both fetch it, which is harmless)."""
        fresh = time.monotonic() - self._metadata_at < self.discovery_cache_seconds
        if self._metadata is not None and fresh:
            return self._metadata
        url = f"{self.issuer.rstrip('/')}/.well-known/openid-configuration"
        try:
            async with httpx2.AsyncClient(timeout=self.timeout_seconds) as http:
                response = await http.get(url, headers={"Accept": "application/json"})
            response.raise_for_status()
            document = response.json()
        except (httpx2.HTTPError, ValueError) as exc:
            raise _unavailable(
                f"the provider's discovery document at {url} cannot be read "
                f"({type(exc).__name__}): try again later"
            ) from None
        if not isinstance(document, dict):
            raise _unavailable(f"the provider's discovery document at {url} is not an object")
        if document.get("issuer") != self.issuer:
            raise _unavailable(
                f"the provider's discovery document names issuer "
                f"{str(document.get('issuer'))[:200]!r}, not the configured "
                f"RATIFY_OIDC_ISSUER {self.issuer!r}"
            )
        methods = document.get("code_challenge_methods_supported")
        if isinstance(methods, list) and "S256" not in methods:
            raise _unavailable("the provider does not support PKCE with S256")
        metadata = ProviderMetadata(
            issuer=self.issuer,
            authorization_endpoint=_endpoint(
                document.get("authorization_endpoint"), "authorization_endpoint"
            ),
            token_endpoint=_endpoint(document.get("token_endpoint"), "token_endpoint"),
            jwks_uri=_endpoint(document.get("jwks_uri"), "jwks_uri"),
        )
        if self._verifier is None or self._verifier.jwks_source != metadata.jwks_uri:
            self._verifier = OidcVerifier(
                self.issuer,
                self.client_id,
                metadata.jwks_uri,
                user_claim=self.user_claim,
                leeway=self.leeway,
                jwks_timeout_seconds=self.timeout_seconds,
            )
        self._metadata, self._metadata_at = metadata, time.monotonic()
        return metadata

    def _client(self, redirect_uri: str) -> AsyncOAuth2Client:
        return AsyncOAuth2Client(
            client_id=self.client_id,
            client_secret=self._client_secret,
            token_endpoint_auth_method=(
                "client_secret_basic" if self._client_secret is not None else "none"
            ),
            scope=self.scopes,
            redirect_uri=redirect_uri,
            code_challenge_method="S256",
            timeout=self.timeout_seconds,
        )

    # -- starting -----------------------------------------------------------------------------

    def redirect_uri(self, base_url: str) -> str:
        """The callback the provider sends the browser back to: the configured
        `RATIFY_OIDC_REDIRECT_URL`, else this server's own (from the request's base URL)."""
        if self.redirect_url:
            return self.redirect_url
        return f"{base_url.rstrip('/')}{CALLBACK_PATH}"

    async def start(self, next_path: str, redirect_uri: str) -> tuple[str, str]:
        """(the provider's authorization URL to send the browser to, the flow cookie)."""
        next_path = check_next(next_path)
        metadata = await self.metadata()
        flow = Flow(
            state=secrets.token_urlsafe(32),
            nonce=secrets.token_urlsafe(32),
            # 64 characters of [A-Za-z0-9_-]: within RFC 7636's 43 to 128 unreserved ones.
            code_verifier=secrets.token_urlsafe(48),
            next_path=next_path,
            redirect_uri=redirect_uri,
        )
        async with self._client(redirect_uri) as client:
            url, _state = client.create_authorization_url(
                metadata.authorization_endpoint,
                state=flow.state,
                code_verifier=flow.code_verifier,
                nonce=flow.nonce,
            )
        cookie = self._serializer.dumps(
            {
                "s": flow.state,
                "n": flow.nonce,
                "v": flow.code_verifier,
                "x": flow.next_path,
                "r": flow.redirect_uri,
            }
        )
        return str(url), cookie

    def read_flow(self, cookie: str | None) -> Flow:
        """The sign-in under way in this browser; `OidcSignInError` (400) if there is none,
        it has expired, or the cookie was altered."""
        again = 'start again with "Sign in with your organisation"'
        if not cookie:
            raise OidcSignInError(
                "oidc_no_flow",
                "This browser has no sign-in with your organisation under way (it may have "
                f"been started in another browser, or cookies are blocked): {again}.",
            )
        try:
            data = self._serializer.loads(cookie, max_age=FLOW_MAX_AGE)
        except SignatureExpired:
            raise OidcSignInError(
                "oidc_expired",
                f"The sign-in took more than {FLOW_MAX_AGE // 60} minutes and has expired: "
                f"{again}.",
            ) from None
        except BadSignature:
            raise OidcSignInError(
                "oidc_no_flow", f"The sign-in cookie is not valid: {again}."
            ) from None
        keys = ("s", "n", "v", "x", "r")
        if not isinstance(data, dict) or not all(isinstance(data.get(k), str) for k in keys):
            raise OidcSignInError("oidc_no_flow", f"The sign-in cookie is not valid: {again}.")
        return Flow(
            state=data["s"],
            nonce=data["n"],
            code_verifier=data["v"],
            next_path=check_next(data["x"]),
            redirect_uri=data["r"],
        )

    # -- finishing ----------------------------------------------------------------------------

    async def finish(self, flow: Flow, *, state: str, code: str, directory: Directory) -> SignedIn:
        """Check the state, exchange the code, verify the ID token, find the Ratify user."""
        if not hmac.compare_digest(state.encode(), flow.state.encode()):
            raise OidcSignInError(
                "oidc_state",
                "state: the provider's answer is not for the sign-in this browser started "
                "(it may be an old tab, or a link from someone else): start again with "
                '"Sign in with your organisation".',
            )
        metadata = await self.metadata()
        try:
            async with self._client(flow.redirect_uri) as client:
                token = await client.fetch_token(
                    metadata.token_endpoint,
                    grant_type="authorization_code",
                    code=code,
                    code_verifier=flow.code_verifier,
                )
        except OAuthError as exc:
            error = str(getattr(exc, "error", "") or "error")[:MAX_ERROR]
            raise OidcSignInError(
                "oidc_refused",
                f"code: the provider refused to exchange the sign-in code ({error}); it may "
                'have been used already or expired: start again with "Sign in with your '
                'organisation".',
            ) from None
        except (httpx2.HTTPError, ValueError) as exc:
            raise _unavailable(
                "the provider's token endpoint could not be reached or answered wrongly "
                f"({type(exc).__name__}): try again later"
            ) from None
        id_token = token.get("id_token") if isinstance(token, dict) else None
        if not isinstance(id_token, str) or not id_token:
            raise OidcSignInError(
                "oidc_refused", "the provider's answer has no ID token (is openid a scope?)"
            )
        claims = await self._verify(id_token, flow)
        return await run_in_threadpool(self._user, claims, directory)

    async def _verify(self, id_token: str, flow: Flow) -> dict[str, Any]:
        verifier = self._verifier
        assert verifier is not None  # set with the metadata
        try:
            claims = await run_in_threadpool(verifier.claims, id_token)
        except OidcUnavailable as exc:
            raise _unavailable(f"ID token: {exc}") from None
        except OidcError as exc:
            raise OidcSignInError("oidc_id_token", f"ID token: {exc}") from None
        nonce = claims.get("nonce")
        if not isinstance(nonce, str) or not hmac.compare_digest(
            nonce.encode(), flow.nonce.encode()
        ):
            raise OidcSignInError(
                "oidc_nonce",
                "ID token: its nonce is not this sign-in's (the token was issued for another "
                'request): start again with "Sign in with your organisation".',
            )
        if not isinstance(claims.get("iat"), int | float):
            raise OidcSignInError("oidc_id_token", "ID token: it has no iat claim")
        audiences = claims.get("aud")
        azp = claims.get("azp")
        several = isinstance(audiences, list) and len(audiences) > 1
        if (several or azp is not None) and azp != self.client_id:
            raise OidcSignInError(
                "oidc_id_token",
                "ID token: its authorized party (azp) is not Ratify's client id "
                f"{self.client_id!r}",
            )
        return claims

    def _user(self, claims: dict[str, Any], directory: Directory) -> SignedIn:
        """The active Ratify user the token's (issuer, sub) is linked to. Blocking."""
        subject = claims.get("sub")
        try:
            check_subject(subject if isinstance(subject, str) else "")
        except IdentityError:
            raise OidcSignInError(
                "oidc_id_token",
                f"ID token: its sub is not a subject (1 to {MAX_SUBJECT} printable characters)",
            ) from None
        assert isinstance(subject, str)
        links = OidcSubjects(directory)
        user_id = links.user_for(self.issuer, subject)
        linked_now = False
        if user_id is None and self.link_by_claim:
            claimed = claims.get(self.user_claim)
            if (
                isinstance(claimed, str)
                and 0 < len(claimed) <= 200
                and links.link_on_first_sign_in(self.issuer, subject, claimed)
            ):
                user_id, linked_now = claimed, True
        if user_id is None:
            raise OidcSignInError(
                "oidc_unknown_user",
                "Your organisation signed you in, but that account is not linked to a Ratify "
                f"user. Ask a Ratify administrator to link it: ratify users link-oidc "
                f"<your user id> --subject {subject}",
            )
        if directory.principal_for(user_id) is None:
            raise OidcSignInError(
                "oidc_deactivated",
                f"Your organisation's account is linked to the Ratify user {user_id}, who is "
                "deactivated: an administrator must reactivate them.",
            )
        return SignedIn(user_id=user_id, subject=subject, linked_now=linked_now)


def default_oidc_sign_in() -> OidcSignIn | None:
    """The flow of the environment's settings (`RATIFY_OIDC_*`), or None while it is off."""
    return OidcSignIn.from_settings(load_settings())
