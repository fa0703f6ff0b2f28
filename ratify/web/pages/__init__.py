"""The web pages: server-rendered HTML under `/ui`, plain forms that work without JavaScript.

Pages: sign-in, changing one's own password, my inbox, case search, a case (documents,
timeline, the forms for the open tasks the signed-in person holds), a new case from a case
file, board meetings and their agendas, an auditor's history of a case as of a version or
an instant, and the public register with one page per published decision laid out like the
published papers.

Signing in uses the API's session (`ratify.http.auth`): the same `ratify_session` cookie as
`POST /session`, so a person signed in on the pages is signed in on the API and the other
way round. The pages read only the cookie (never an `Authorization` header), and every
form POST must carry the session's CSRF token in its `csrf_token` field (or the
`X-CSRF-Token` header); the sign-in form carries its own token, double-submitted in a
short-lived cookie, so no one can sign a browser in as someone else. Sessions are kept in
the database: signing out, or changing the password (which ends every session of the
person and starts a new one here), ends them at once. Password checks are throttled like
the API's (`Authenticator.check_sign_in`).

Every step goes through `ratify.services.commands`, the service the HTTP API calls too
(actor from the principal, workflow message, update, refusal code and status). A refusal is
shown on the page it came from, as a message naming the rule, with the API's status (401,
403, 404, 409, 422); an unexpected error is logged and shown as a short message, never a
stack trace.

The rooms: `common` (who is asking, the page context, error pages, and `router`),
`actions` (the steps the pages offer, their form fields and what a page says once one is
accepted), and one module an area, each adding its routes to `router` when imported:
`signin`, `oidc_login` (sign in with your organisation), `password`, `inbox` (and case
search), `cases` (a new case, a case's page and its steps), `audit` (a case's history, its
evidence bundle, the checks of the whole store), `meetings`, `register`.

The areas are imported below, so importing this package registers every route. Their
paths do not overlap across modules, so the order of these imports does not matter;
within a module a fixed path (`/cases/new`, `/meetings/new`) is declared before the
parametrised one (`/cases/{case_id}`, `/meetings/{meeting_id}`) it would otherwise match.
"""

from ratify.web.pages import (  # noqa: F401  (each adds its routes to `router`)
    audit,
    cases,
    inbox,
    meetings,
    oidc_login,
    password,
    register,
    signin,
)
from ratify.web.pages.common import router

__all__ = ["router"]
