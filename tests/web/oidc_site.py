"""Ratify's pages with "Sign in with your organisation" pointed at the local mock provider.

Only what signing in needs: a migrated SQLite database with the test people (no passwords),
the app of `build_app` (the API and the pages), and no Temporal (no step is taken in these
tests).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import sqlalchemy as sa
from argon2 import PasswordHasher
from fastapi import FastAPI
from temporalio.client import Client

from eventstore import EventStore, create_engine_for
from ratify.http.auth import Authenticator
from ratify.http.oidc_login import OidcSignIn
from ratify.http.services import HttpServices
from ratify.infra.db import migrate_all
from ratify.processes.app import build_app
from ratify.services.identity.directory import Directory
from ratify.services.identity.oidc_subjects import OidcSubjects, oidc_subjects
from tests.api.conftest import PEOPLE
from tests.web.oidc_provider import Provider
from workflows import messages as m

CLIENT_ID = "ratify-web"
CLIENT_SECRET = "ratify-web-client-secret"


@dataclass
class Site:
    app: FastAPI
    services: HttpServices
    directory: Directory
    engine: sa.Engine
    provider: Provider

    @property
    def links(self) -> OidcSubjects:
        return OidcSubjects(self.directory)

    def link_rows(self) -> list[tuple[Any, ...]]:
        with self.engine.connect() as conn:
            return [tuple(r) for r in conn.execute(sa.select(oidc_subjects))]


@contextmanager
def oidc_site(
    tmp_path: Path, provider: Provider, *, configured: bool = True, **options: Any
) -> Iterator[Site]:
    tmp_path.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{tmp_path / 'ratify.db'}"
    migrate_all(url)
    store = EventStore.from_url(url)
    engine = create_engine_for(url)
    directory = Directory(
        engine, hasher=PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )
    for user_id, (name, roles) in PEOPLE.items():
        directory.add_user(user_id, name, roles)
    sign_in = (
        OidcSignIn(
            issuer=provider.issuer,
            client_id=CLIENT_ID,
            # A confidential client (the mock's code grant takes client_secret_basic only).
            client_secret=CLIENT_SECRET,
            flow_secret="oidc-flow-tests-" + "f" * 40,
            secure_cookies=False,
            **options,
        )
        if configured
        else None
    )
    services = HttpServices(
        store=store,
        engine=engine,
        client=cast(Client, None),  # no step is taken: signing in needs no Temporal
        directory=directory,
        workflow_settings=m.Settings(),
        auth=Authenticator(session_secret="oidc-tests-" + "s" * 40, secure_cookies=False),
        oidc_sign_in=sign_in,
    )
    try:
        yield Site(build_app(services), services, directory, engine, provider)
    finally:
        store.close()
        engine.dispose()
