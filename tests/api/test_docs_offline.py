"""/docs and /redoc work on a network with no way out: every script, style sheet and icon
they load is served by Ratify itself, never by a CDN."""

from __future__ import annotations

import re

import pytest

from tests.api.conftest import Api

#: The URLs a page loads: <script src>, <link href>, and the JS bundle names in its inline
#: script (Swagger UI's page passes its OpenAPI URL in a string).
ASSET = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']""")


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_the_api_docs_load_only_assets_the_app_serves(api: Api, page: str):
    r = await api.http.get(page)
    assert r.status_code == 200
    html = r.text
    assert "cdn." not in html and "fonts.googleapis" not in html
    urls = ASSET.findall(html)
    assert any(u.endswith(".js") for u in urls), urls  # the page's UI bundle is among them
    for url in urls:
        # Local: a path on this server, not another host's.
        assert url.startswith("/") and not url.startswith("//"), url
        asset = await api.http.get(url)
        assert asset.status_code == 200, url
        assert len(asset.content) > 1000, url  # the real file, not an empty placeholder
    assert (await api.http.get("/openapi.json")).status_code == 200
