"""The one table from a refusal's code to the HTTP status the API and the pages answer with.

The services refuse with a `ratify.services.commands.Refusal`, the directory of people with
an `IdentityError` (`ratify.services.identity.errors`), sign-in with an `AuthRefusal`
(`ratify.http.refusal`) or an `OidcSignInError` (`ratify.http.oidc_login`): each carries a
code and a message naming the rule, never an HTTP status. The front doors answer with
`status_of(refusal)`. A code not in the table (a workflow's or the domain's own
refusal, e.g. `wrong_stage`, `limit`, `rules`) is the person's mistake: 422.
"""

from __future__ import annotations

from typing import Protocol


class Refused(Protocol):
    """Any refusal: it has a code."""

    @property
    def code(self) -> str: ...


#: Refusal code -> HTTP status.
STATUS_FOR_CODE: dict[str, int] = {
    # What was sent cannot be read at all (not JSON, a bad Content-Length).
    "malformed": 400,
    # Not signed in, or the sign-in failed.
    "unauthenticated": 401,
    # Without the role, or against the rules over persons: another officer's case; two parts
    # in one case; the same person twice where four eyes are needed; a form from another site.
    # The directory's `NotPermitted` (a role not held, a delegation not in force) is wrong_role.
    "wrong_role": 403,
    "four_eyes": 403,
    "not_case_officer": 403,
    "separation_of_duties": 403,
    # Steps recorded on paper: the person did not hold the role on the step's date; a
    # records officer recording for themself or on a case they took part in; a dispute of
    # a step recorded for someone else.
    "role_not_held": 403,
    "records_officer_conflict": 403,
    "not_yours": 403,
    "csrf": 403,
    "not_found": 404,
    "unknown_action": 404,
    "exists": 409,
    "stale": 409,
    # Two people acting on the same task: the second is told what has happened since.
    "already_done": 409,
    # Submitting (or sending back on its way) a case with checks open: the request is well
    # formed, but the case as it stands conflicts with the step until the officer fixes or
    # acknowledges each check; the same request succeeds then, as for `stale`.
    "checks_open": 409,
    # The input breaks a rule; also every other refusal of the directory (`IdentityError`).
    "invalid": 422,
    "invalid_case_file": 422,
    "wrong_stage": 422,
    # A step on paper dated in the future or before the case's previous step.
    "effective_in_future": 422,
    "effective_before_previous_step": 422,
    # Too many sign-ins: wait (`Retry-After`).
    "throttled": 429,
    # The workflow did not accept the API's own proof: the API and the workers do not share
    # RATIFY_ACTION_SIGNING_KEY (or their clocks are far apart). Not the person's mistake.
    "unsigned_action": 500,
    "internal": 500,
    # Something Ratify needs did not answer: try again (`Retry-After` where known).
    "temporal_unavailable": 503,
    "outcome_unknown": 503,
    "busy": 503,
    "oidc_unavailable": 503,
    # Signing in with the organisation's identity provider (`ratify.http.oidc_login`).
    "oidc_no_flow": 400,
    "oidc_expired": 400,
    "oidc_state": 400,
    "oidc_refused": 401,
    "oidc_declined": 401,
    "oidc_id_token": 401,
    "oidc_nonce": 401,
    "oidc_unknown_user": 403,
    "oidc_deactivated": 403,
}

#: The status of a code the table does not name: the person's mistake.
DEFAULT_STATUS = 422


def status_of(refusal: Refused) -> int:
    """The HTTP status a front door answers a refusal with."""
    return STATUS_FOR_CODE.get(refusal.code, DEFAULT_STATUS)
