"""The services as the two HTTP front doors (the API, the pages) take them: with sign-in.

`HttpServices` is `ratify.services.commands.Services` and what only HTTP needs: the
sessions, CSRF and tokens (`auth`) and "Sign in with your organisation" (`oidc_sign_in`).
The processes that serve HTTP, and the tests that stand up an app, build one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ratify.http.auth import Authenticator, default_authenticator
from ratify.http.oidc_login import OidcSignIn, default_oidc_sign_in
from ratify.services.commands import Services


@dataclass
class HttpServices(Services):
    #: Sign-in: sessions, CSRF, OIDC. Default: from the environment's settings.
    auth: Authenticator = field(default_factory=default_authenticator)
    #: "Sign in with your organisation" on the pages (OIDC code flow with PKCE); None: off.
    oidc_sign_in: OidcSignIn | None = field(default_factory=default_oidc_sign_in)

    def __post_init__(self) -> None:
        # Sessions are kept in the directory's database.
        self.auth.bind(self.directory)
