"""Sign in with your organisation: the OIDC code flow with PKCE against a local provider.

The pages run in process (httpx over ASGI, one cookie jar per browser); the provider is
`oidc-provider-mock` on localhost behind a guard that enforces PKCE as real providers do.
What the person does at the provider (type a subject, press Authorize) is a form POST.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from html import unescape
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import httpx
import pytest
import pytest_asyncio
import structlog
from pydantic import ValidationError

from ratify.http.auth import Authenticator
from ratify.http.oidc_login import FLOW_COOKIE, OidcSignIn
from ratify.http.sessions import SESSION_COOKIE
from ratify.infra.settings import Settings
from tests.web.oidc_provider import Provider, oidc_provider, s256
from tests.web.oidc_site import CLIENT_ID, Site, oidc_site

BUTTON = "Sign in with your organisation"


@pytest.fixture(scope="module")
def provider() -> Iterator[Provider]:
    with oidc_provider() as running:
        yield running


@pytest.fixture
def site(tmp_path: Path, provider: Provider) -> Iterator[Site]:
    with oidc_site(tmp_path, provider) as s:
        yield s


@pytest.fixture
def claim_site(tmp_path: Path, provider: Provider) -> Iterator[Site]:
    with oidc_site(tmp_path, provider, link_by_claim=True) as s:
        yield s


@pytest_asyncio.fixture(loop_scope="session")
async def browsers() -> AsyncIterator[list[httpx.AsyncClient]]:
    made: list[httpx.AsyncClient] = []
    yield made
    for client in made:
        await client.aclose()


def browser(site: Site, made: list[httpx.AsyncClient]) -> httpx.AsyncClient:
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=site.app), base_url="http://ratify.test"
    )
    made.append(client)
    return client


async def start(client: httpx.AsyncClient, next_path: str = "/ui/") -> str:
    """Press the button: the provider's authorization URL the browser is sent to."""
    response = await client.get("/ui/sign-in/oidc", params={"next": next_path})
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    assert not location.startswith("/"), location
    return location


async def come_back(client: httpx.AsyncClient, callback_url: str) -> httpx.Response:
    """The browser following the provider's redirect to Ratify's callback."""
    parts = urlsplit(callback_url)
    assert parts.path == "/ui/sign-in/oidc/callback", callback_url
    return await client.get(f"{parts.path}?{parts.query}")


def with_param(url: str, name: str, value: str) -> str:
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    query[name] = value
    return urlunsplit(parts._replace(query=urlencode(query)))


def alert(response: httpx.Response) -> str:
    text = response.text
    start_at = text.index('role="alert"')
    return unescape(text[start_at : text.index("</div>", start_at)])


def signed_in_cookie(client: httpx.AsyncClient) -> str | None:
    return client.cookies.get(SESSION_COOKIE)


async def test_sign_in_with_the_organisation_lands_signed_in_as_the_linked_user(
    site: Site, provider: Provider, browsers: list[httpx.AsyncClient]
) -> None:
    provider.add_user(
        "entra-fran-0001",
        preferred_username="someone.else",
        name="Fran at the provider",
        roles=["dmpc", "admin"],  # the provider's roles grant nothing in Ratify
    )
    site.links.link("fran.fin", "entra-fran-0001", provider.issuer)
    fran = browser(site, browsers)

    sign_in_page = await fran.get("/ui/sign-in")
    assert BUTTON in sign_in_page.text
    with structlog.testing.capture_logs() as logs:
        authorize_url = await start(fran, "/ui/cases?title=video")
        # The request: code flow, openid, state, nonce, and the PKCE challenge (S256).
        request = {k: v[0] for k, v in parse_qs(urlsplit(authorize_url).query).items()}
        assert authorize_url.startswith(f"{provider.issuer}/oauth2/authorize?")
        assert request["response_type"] == "code" and request["client_id"] == CLIENT_ID
        assert "openid" in request["scope"].split()
        assert request["code_challenge_method"] == "S256"
        assert len(request["state"]) >= 32 and len(request["nonce"]) >= 32
        assert "code_verifier" not in request  # the verifier never leaves Ratify but once
        assert request["redirect_uri"] == "http://ratify.test/ui/sign-in/oidc/callback"
        assert fran.cookies.get(FLOW_COOKIE)

        callback = provider.authorize(authorize_url, "entra-fran-0001")
        code = parse_qs(urlsplit(callback).query)["code"][0]
        landed = await come_back(fran, callback)

    assert landed.status_code == 303, landed.text
    assert landed.headers["location"] == "/ui/cases?title=video"
    assert signed_in_cookie(fran) and not fran.cookies.get(FLOW_COOKIE)
    # The code was exchanged with the verifier of this very challenge (the guard checked).
    exchange = provider.guard.token_requests[-1]
    assert exchange["code"] == code
    assert s256(exchange["code_verifier"]) == request["code_challenge"]
    # Signed in as the linked Ratify user, with Ratify's roles only.
    inbox = await fran.get("/ui/")
    assert inbox.status_code == 200 and "Fran Finance" in inbox.text
    me = (await fran.get("/session")).json()
    assert me["user"]["id"] == "fran.fin" and me["signed_in_with"] == "session"
    assert [r["role"] for r in me["roles"]] == ["finance_adviser"]
    # Nothing of the callback's query string (code, state) reached a log line.
    logged = repr(logs)
    assert code not in logged and request["state"] not in logged
    assert request["nonce"] not in logged
    assert {"event": "signed_in", "user_id": "fran.fin", "via": "oidc"}.items() <= next(
        e for e in logs if e["event"] == "signed_in"
    ).items()


async def test_a_state_that_is_not_this_browsers_is_refused(
    site: Site, provider: Provider, browsers: list[httpx.AsyncClient]
) -> None:
    site.links.link("sam.sec", "entra-sam", provider.issuer)
    sam = browser(site, browsers)
    callback = provider.authorize(await start(sam), "entra-sam")

    forged = await come_back(sam, with_param(callback, "state", "x" * 43))
    assert forged.status_code == 400
    assert "state: the provider's answer is not for the sign-in this browser started" in alert(
        forged
    )
    assert signed_in_cookie(sam) is None

    # A browser that started no sign-in (login CSRF: someone else's callback link).
    other = browser(site, browsers)
    planted = await come_back(other, callback)
    assert planted.status_code == 400 and signed_in_cookie(other) is None
    assert "no sign-in with your organisation under way" in alert(planted)


async def test_an_id_token_minted_for_another_nonce_is_refused(
    site: Site, provider: Provider, browsers: list[httpx.AsyncClient]
) -> None:
    site.links.link("lee.legal", "entra-lee", provider.issuer)
    lee = browser(site, browsers)
    authorize_url = await start(lee)
    # The provider is asked (by someone in the middle) with another nonce: the ID token
    # carries that one, not the one this sign-in is bound to.
    callback = provider.authorize(with_param(authorize_url, "nonce", "n" * 43), "entra-lee")
    refused = await come_back(lee, callback)
    assert refused.status_code == 401
    assert "ID token: its nonce is not this sign-in's" in alert(refused)
    assert signed_in_cookie(lee) is None


async def test_a_stolen_code_is_useless_without_its_verifier(
    site: Site, provider: Provider, browsers: list[httpx.AsyncClient]
) -> None:
    site.links.link("rl.ceo", "entra-ceo", provider.issuer)
    victim, attacker = browser(site, browsers), browser(site, browsers)
    stolen = provider.authorize(await start(victim), "entra-ceo")
    code = parse_qs(urlsplit(stolen).query)["code"][0]
    # The attacker starts their own sign-in and replays the stolen code with their state.
    own = parse_qs(urlsplit(await start(attacker)).query)["state"][0]
    refused = await attacker.get("/ui/sign-in/oidc/callback", params={"code": code, "state": own})
    assert refused.status_code == 401
    assert "the provider refused to exchange the sign-in code (invalid_grant)" in alert(refused)
    assert signed_in_cookie(attacker) is None


async def test_an_unknown_subject_is_refused_and_nothing_is_written(
    site: Site, provider: Provider, browsers: list[httpx.AsyncClient]
) -> None:
    # The provider names an existing Ratify user, but no administrator linked the account
    # (and first sign-in by the claim is off): refused.
    provider.add_user("entra-stranger", preferred_username="fran.fin")
    stranger = browser(site, browsers)
    refused = await come_back(stranger, provider.authorize(await start(stranger), "entra-stranger"))
    assert refused.status_code == 403
    message = alert(refused)
    assert "not linked to a Ratify user" in message
    assert "ratify users link-oidc <your user id> --subject entra-stranger" in message
    assert signed_in_cookie(stranger) is None and not stranger.cookies.get(FLOW_COOKIE)
    assert site.link_rows() == []
    assert (await stranger.get("/ui/", follow_redirects=False)).status_code == 303


async def test_a_deactivated_user_is_refused(
    site: Site, provider: Provider, browsers: list[httpx.AsyncClient]
) -> None:
    site.links.link("pat.pub", "entra-pat", provider.issuer)
    site.directory.deactivate("pat.pub")
    pat = browser(site, browsers)
    refused = await come_back(pat, provider.authorize(await start(pat), "entra-pat"))
    assert refused.status_code == 403
    assert "linked to the Ratify user pat.pub, who is deactivated" in alert(refused)
    assert signed_in_cookie(pat) is None


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/ui/",
        "//evil.example/ui/",
        "/\\evil.example",
        "/ui//evil.example",
        "/ui/\\evil.example",
        "javascript:alert(1)",
        "/register",
        "/ui/\r\nLocation: https://evil.example",
    ],
)
async def test_an_open_redirect_is_refused_before_the_provider(
    site: Site, browsers: list[httpx.AsyncClient], target: str
) -> None:
    client = browser(site, browsers)
    refused = await client.get("/ui/sign-in/oidc", params={"next": target})
    assert refused.status_code == 422
    assert "location" not in refused.headers
    assert "next: must be a path of Ratify's pages" in alert(refused)
    assert not client.cookies.get(FLOW_COOKIE)


async def test_declining_at_the_provider_signs_no_one_in(
    site: Site, provider: Provider, browsers: list[httpx.AsyncClient]
) -> None:
    client = browser(site, browsers)
    authorize_url = await start(client)
    denied = httpx.post(authorize_url, data={"action": "deny"})
    assert denied.status_code == 302
    answer = await come_back(client, denied.headers["location"])
    assert answer.status_code == 401
    assert "Your organisation did not sign you in (access_denied)" in alert(answer)
    assert signed_in_cookie(client) is None


async def test_first_sign_in_by_the_claim_links_the_subject_once(
    claim_site: Site, provider: Provider, browsers: list[httpx.AsyncClient]
) -> None:
    site = claim_site
    provider.add_user("entra-eve-1", preferred_username="eve.eq")
    eve = browser(site, browsers)
    landed = await come_back(eve, provider.authorize(await start(eve), "entra-eve-1"))
    assert landed.status_code == 303 and signed_in_cookie(eve)
    assert [(r[0], r[1], r[2], r[4]) for r in site.link_rows()] == [
        (provider.issuer, "entra-eve-1", "eve.eq", "claim")
    ]
    # Another provider account claiming the same name cannot take the linked user over.
    provider.add_user("entra-eve-2", preferred_username="eve.eq")
    imposter = browser(site, browsers)
    refused = await come_back(imposter, provider.authorize(await start(imposter), "entra-eve-2"))
    assert refused.status_code == 403 and signed_in_cookie(imposter) is None
    # Nor does a claim naming nobody in Ratify (or a deactivated user) make a link.
    provider.add_user("entra-nobody", preferred_username="not.a.user")
    nobody = browser(site, browsers)
    refused = await come_back(nobody, provider.authorize(await start(nobody), "entra-nobody"))
    assert refused.status_code == 403
    assert len(site.link_rows()) == 1
    # The linked person signs in again by the link, whatever the claim now says.
    provider.add_user("entra-eve-1", preferred_username="renamed")
    again = browser(site, browsers)
    landed = await come_back(again, provider.authorize(await start(again), "entra-eve-1"))
    assert landed.status_code == 303
    assert (await again.get("/session")).json()["user"]["id"] == "eve.eq"


async def test_the_button_shows_only_when_configured(tmp_path: Path, provider: Provider) -> None:
    with oidc_site(tmp_path, provider, configured=False) as site:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=site.app), base_url="http://ratify.test"
        ) as client:
            page = await client.get("/ui/sign-in")
            assert page.status_code == 200 and BUTTON not in page.text
            off = await client.get("/ui/sign-in/oidc")
            assert off.status_code == 404 and "not set up here" in alert(off)


def test_settings_turn_the_flow_on_with_an_issuer_and_a_client_id() -> None:
    issuer = "https://login.example.org/tenant/v2.0"
    web_only = Settings(
        _env_file=None, oidc_issuer=issuer, oidc_client_id="ratify", session_secret="x" * 40
    )
    assert web_only.oidc_web_sign_in and not web_only.oidc_bearer
    assert Authenticator.from_settings(web_only).oidc is None  # no bearer JWTs without audience
    flow = OidcSignIn.from_settings(web_only)
    assert flow is not None and flow.client_id == "ratify" and flow.scopes == "openid profile"
    assert OidcSignIn.from_settings(Settings(_env_file=None)) is None
    with pytest.raises(
        ValidationError, match="RATIFY_OIDC_CLIENT_ID is set: set RATIFY_OIDC_ISSUER"
    ):
        Settings(_env_file=None, oidc_client_id="ratify")
    with pytest.raises(ValidationError, match="RATIFY_OIDC_SCOPES must include openid"):
        Settings(_env_file=None, oidc_issuer=issuer, oidc_client_id="r", oidc_scopes="profile")
    with pytest.raises(ValidationError, match="set RATIFY_OIDC_JWKS_URL"):
        Settings(_env_file=None, oidc_issuer=issuer, oidc_client_id="r", oidc_audience="api://r")
    secret = Settings(
        _env_file=None, oidc_issuer=issuer, oidc_client_id="r", oidc_client_secret="s3cret-value"
    )
    assert "s3cret-value" not in repr(secret)


async def test_the_callback_bounds_its_query_naming_the_field(
    site: Site, browsers: list[httpx.AsyncClient]
) -> None:
    client = browser(site, browsers)
    state = parse_qs(urlsplit(await start(client)).query)["state"][0]
    cases = {
        f"code={'x' * 2049}&state={state}": "code: must be at most 2048 characters",
        f"code=abc&state={'s' * 129}": "state: must be at most 128 characters",
        f"code=abc&state={state}&state={state}": "state: given more than once",
        f"state={state}": "code: required",
    }
    for query, message in cases.items():
        # Each refusal ends the sign-in under way, so start a fresh one first.
        fresh = parse_qs(urlsplit(await start(client)).query)["state"][0]
        refused = await client.get(f"/ui/sign-in/oidc/callback?{query.replace(state, fresh)}")
        assert refused.status_code == 422, query
        assert message in alert(refused)
        assert signed_in_cookie(client) is None


async def test_a_provider_that_cannot_be_used_is_a_503_page(
    tmp_path: Path, provider: Provider
) -> None:
    # The discovery document names another issuer than the configured one.
    with oidc_site(tmp_path / "a", provider) as site:
        assert site.services.oidc_sign_in is not None
        site.services.oidc_sign_in.issuer = provider.issuer + "/"
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=site.app), base_url="http://ratify.test"
        ) as client:
            refused = await client.get("/ui/sign-in/oidc")
    assert refused.status_code == 503
    assert f"names issuer '{provider.issuer}', not the configured RATIFY_OIDC_ISSUER" in alert(
        refused
    )
    # Nobody answers at the issuer at all.
    with oidc_site(tmp_path / "b", provider) as site:
        assert site.services.oidc_sign_in is not None
        site.services.oidc_sign_in.issuer = "http://127.0.0.1:9"
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=site.app), base_url="http://ratify.test"
        ) as client:
            down = await client.get("/ui/sign-in/oidc")
    assert down.status_code == 503
    assert "discovery document at http://127.0.0.1:9/.well-known" in alert(down)
    assert "cannot be read" in alert(down)
