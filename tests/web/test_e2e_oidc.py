"""Sign in with your organisation, end to end in a real browser.

Playwright drives Debian's Chromium against Ratify's pages (uvicorn on 127.0.0.1) and a
local OpenID provider (`oidc-provider-mock`, with PKCE enforced in front of it, on
localhost): the person asks for a page, is sent to sign in, presses "Sign in with your
organisation", authorises at the provider as their account there, and lands signed in on
the page they asked for as the Ratify user that account is linked to, with Ratify's roles.

Skipped only when /usr/bin/chromium is missing (CI installs it: `.ci/ensure-chromium`).
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from tests.web.axe import AxeScan
from tests.web.oidc_provider import Provider, oidc_provider, s256
from tests.web.oidc_site import Site, oidc_site
from tests.web.test_e2e import CHROMIUM, CHROMIUM_ARGS

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists() and os.environ.get("CI") != "true",
        reason="end-to-end browser test needs Debian's Chromium at /usr/bin/chromium "
        "(apt-get install -y chromium)",
    ),
]


class LiveSite:
    """The site's app under uvicorn on 127.0.0.1:<free port>, in a thread."""

    def __init__(self, site: Site) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        config = uvicorn.Config(site.app, log_level="warning", lifespan="off", access_log=False)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True
        )

    def __enter__(self) -> LiveSite:
        self.thread.start()
        for _ in range(300):
            if self.server.started:
                return self
            self.thread.join(0.05)
        raise RuntimeError("the live site did not start within 15 s")

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(15)
        self.sock.close()


@pytest.fixture
def provider() -> Iterator[Provider]:
    with oidc_provider() as running:
        yield running


@pytest.fixture
def live(tmp_path: Path, provider: Provider) -> Iterator[tuple[LiveSite, Site]]:
    with oidc_site(tmp_path, provider) as site, LiveSite(site) as server:
        yield server, site


def test_sign_in_with_the_organisation_in_a_browser(
    live: tuple[LiveSite, Site], provider: Provider
) -> None:
    from playwright.sync_api import expect, sync_playwright

    server, site = live
    # The administrator linked Sam's account at the provider to the Ratify user sam.sec.
    provider.add_user("entra-3f2a9c", preferred_username="sam.s", name="Sam at the provider")
    site.links.link("sam.sec", "entra-3f2a9c", provider.issuer)
    axe = AxeScan()  # Ratify's pages (the provider's own form is not ours to fix)

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        expect.set_options(timeout=15_000)
        page = browser.new_context(base_url=server.url).new_page()
        page.goto("/ui/meetings")  # a page that needs signing in: sent to sign in first
        expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
        axe(page, "sign in")
        page.get_by_role("link", name="Sign in with your organisation").click()

        # At the provider: its own form, on its own origin.
        expect(page.get_by_role("heading", name="Authorize Client")).to_be_visible()
        assert page.url.startswith(f"{provider.issuer}/oauth2/authorize?")
        page.get_by_placeholder("sub").fill("entra-3f2a9c")
        page.get_by_role("button", name="Authorize").click()

        # Back at Ratify, signed in as the linked user, on the page asked for.
        expect(page.get_by_role("heading", name="Board meetings")).to_be_visible()
        assert page.url == f"{server.url}/ui/meetings"
        axe(page, "meetings, signed in through the provider")
        expect(page.get_by_text("Signed in as")).to_contain_text("Sam Secretariat")
        expect(page.get_by_text("Signed in as")).to_contain_text("sam.sec")
        page.get_by_role("link", name="My tasks").click()
        expect(page.get_by_role("heading", name="My tasks")).to_be_visible()
        axe(page, "tasks")
        cookies = {c["name"]: c for c in page.context.cookies()}
        assert cookies["ratify_session"]["httpOnly"]
        assert "ratify_oidc" not in cookies  # the flow's secrets are gone once used
        browser.close()
    axe.assert_clean()

    # The provider saw the PKCE challenge, and the code was redeemed with its verifier.
    [request] = provider.guard.authorize_requests
    [exchange] = provider.guard.token_requests
    assert request["code_challenge_method"] == "S256"
    assert s256(exchange["code_verifier"]) == request["code_challenge"]
