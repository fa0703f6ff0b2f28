"""The directory of people: users and roles, delegations, API tokens, passwords, principals.

`Directory(engine)` manages the identity tables (sync SQLAlchemy; every change is one
write transaction, so a refused change writes nothing). Signing in (`authenticate_token`,
`verify_password`) gives a `Principal` (`ratify.services.identity.values`): who the person
is, the roles they hold, and the delegations made to them. `Principal.acting_as(role,
on_behalf_of, today)` turns that into the domain's `Actor` for one step, which records both
the deputy who acted and the person they acted for.

`Directory` is one object with every step; each concern is its own module:

- `users`: users and roles (`add_user`, `grant_role`, `deactivate`, `set_password`, ...);
- `sessions`: web sessions (`create_session`, `find_session`, `end_sessions`, ...);
- `signin`: passwords and the lockout (`verify_password`, `begin_sign_in`, `unlock`, ...);
- `delegations`: `delegate`, `revoke_delegation`, `list_delegations`;
- `tokens`: API tokens (`create_token`, `authenticate_token`, ...);
- `base`: what they share (engine, transactions, clock, password hasher);
- `rules`, `values`, `errors`, `rows`: the checks, the values handed out, the refusals, and
  reading rows into values.

Rules:

- A user id is lower-case letters, digits, `.`, `-` and `_` (e.g. `ollie.lane`).
- `system` is Ratify's own role and is never given to a person.
- A delegation gives a deputy one role of the principal for a range of London days
  (inclusive). The principal must hold the role when delegating *and* when the deputy
  acts, and must still be active: a deputy never has rights the principal would not have.
  `admin` is granted, never delegated.
- API tokens look like `rat_<prefix>_<secret>`; only the SHA-256 of the whole token is
  stored. Passwords are stored as argon2id hashes, upgraded when the parameters change.
- Web sessions are rows of `sessions`, found by the SHA-256 of the secret their cookie
  carries: signing out ends one; a password change (by the user or an admin),
  deactivation and `end_sessions` end all of a user's at once.
- Failed password sign-ins are counted per user id tried (`begin_sign_in`, a
  `SignInPolicy`): after a few, each further attempt must wait longer, and after
  `lockout_after` the user id is locked for a while, whatever password is given, until
  it passes or an admin calls `unlock`.

Every refusal is an `IdentityError` (`ratify.services.identity.errors`) whose message
starts with the field it concerns and names the rule (`ends_on: a delegation cannot end (…)
before it starts (…)`); its `code` is the kind of refusal, which `ratify.http.errors` maps
to the HTTP status a front door answers with (403, 422 or 429).
"""

from __future__ import annotations

from ratify.services.identity.delegations import DelegationDirectory
from ratify.services.identity.sessions import SessionDirectory
from ratify.services.identity.signin import SignInDirectory
from ratify.services.identity.tokens import TokenDirectory
from ratify.services.identity.users import UserDirectory


class Directory(
    UserDirectory, SessionDirectory, SignInDirectory, DelegationDirectory, TokenDirectory
):
    """Users, roles, sessions, sign-ins, delegations and tokens in the identity tables of
    one database."""
