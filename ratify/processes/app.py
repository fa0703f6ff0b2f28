"""The whole HTTP service: the API (`ratify.api.app.create_app`) and the web pages
(`ratify.web.pages.router`) in one app, as `ratify serve` and `ratify api` serve it.

The two front doors never import each other: they meet here.
"""

from __future__ import annotations

from fastapi import FastAPI

from ratify.api.app import create_app
from ratify.http.services import HttpServices
from ratify.web.pages import router as web_router


def build_app(services: HttpServices) -> FastAPI:
    """The API's app with the pages (and their stylesheet, and "Sign in with your
    organisation") included."""
    app = create_app(services)
    app.include_router(web_router)
    return app
