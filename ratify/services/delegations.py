"""Delegating a role, with the rule that needs the cases: separation of duties.

`Directory.delegate` checks what the identity tables know (who holds the role, the dates,
roles an administrator grants). A decision maker's role (the DMPC's, the alternate's, the
MPS decision maker's) may not go to a deputy who has already acted in another role on a
case still open: they would be deciding a case they advised on, submitted or confirmed.
The fold refuses such a decision anyway (`domain.fold.check_people`); refusing the
delegation tells the principal now, naming the cases, rather than on the day of the
decision. The cases come from the read views (`case_participants`), as fresh as the
projector.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy.engine import Engine

from domain.roles import Role
from ratify.services.identity.directory import Directory
from ratify.services.identity.errors import NotPermitted
from ratify.services.identity.rules import parse_role
from ratify.services.identity.values import Delegation
from ratify.services.projections.case_search import cases_acted_on

#: The roles that take decisions.
DECISION_MAKER_ROLES: frozenset[Role] = frozenset(
    {Role.DMPC, Role.ALTERNATE_DECISION_MAKER, Role.MPS_DECISION_MAKER}
)
#: How many conflicting cases a refusal names before "and N more".
_NAMED = 5


def decision_maker_conflicts(engine: Engine, deputy_id: str) -> list[tuple[str, Role]]:
    """The open cases on which `deputy_id` acted in a role other than a decision maker's:
    (case_id, role) pairs."""
    return [
        (case_id, role)
        for case_id, role in cases_acted_on(engine, deputy_id)
        if role not in DECISION_MAKER_ROLES
    ]


def delegate(
    directory: Directory,
    engine: Engine,
    principal_id: str,
    deputy_id: str,
    role: Role | str,
    starts_on: date,
    ends_on: date,
    reason: str,
) -> Delegation:
    """`Directory.delegate`, refusing a decision maker's role to a deputy who acted on an
    open case in another role (`NotPermitted` on the field `deputy`, naming the cases)."""
    parsed = parse_role(role)
    if parsed in DECISION_MAKER_ROLES:
        conflicts = decision_maker_conflicts(engine, deputy_id)
        if conflicts:
            named = ", ".join(
                f"{case_id} (as {acted.value.replace('_', ' ')})"
                for case_id, acted in conflicts[:_NAMED]
            )
            more = f" and {len(conflicts) - _NAMED} more" if len(conflicts) > _NAMED else ""
            raise NotPermitted(
                "deputy",
                f"{deputy_id} has acted on open cases in another role and may not take their "
                f"decision as {parsed.value.replace('_', ' ')} (separation of duties): "
                f"{named}{more}",
            )
    return directory.delegate(principal_id, deputy_id, parsed, starts_on, ends_on, reason)
