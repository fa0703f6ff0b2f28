"""Ratify's web pages: server-rendered HTML under `/ui` for officers, approvers, the board
secretariat, auditors and the public register (see `ratify.web.pages`).

`router` is a FastAPI `APIRouter`; the application includes it with
`app.include_router(router)` (import it inside `create_app`: the pages use the API's own
code, so `ratify.api.app` must be loaded first). It serves its stylesheet itself, at
`/ui/static/ratify.css`. "Sign in with your organisation" (`ratify.web.oidc_login`) is part
of it.
"""

from ratify.web import oidc_login  # noqa: F401  (adds its routes to the pages' router)
from ratify.web.pages import router

__all__ = ["router"]
