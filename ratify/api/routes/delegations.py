"""Out of office: delegate one of my roles to a deputy for a while, list and end them."""

from __future__ import annotations

import re

from fastapi import APIRouter

from ratify.api.deps import Me, SignedInFirst, Svc
from ratify.api.schemas import REFUSED, NewDelegation
from ratify.services import commands, delegations
from ratify.services.commands import Refusal
from ratify.services.identity.values import Delegation

#: A delegation's id as the directory makes it.
_DELEGATION_ID = re.compile(r"del_[0-9a-f]{12}")

router = APIRouter(tags=["identity"], route_class=SignedInFirst, responses=REFUSED)


@router.post("/delegations", status_code=201)
def delegate(me: Me, services: Svc, body: NewDelegation) -> Delegation:
    """Let a named deputy act in one of my roles for a date range (out of office)."""
    commands.check_dates(services, body)
    return delegations.delegate(
        services.directory,
        services.engine,
        me.user_id,
        body.deputy_id,
        body.role,
        body.starts_on,
        body.ends_on,
        body.reason,
    )


@router.get("/delegations")
def my_delegations(me: Me, services: Svc) -> list[Delegation]:
    """The delegations I made or received."""
    return services.directory.list_delegations(me.user_id)


@router.delete("/delegations/{delegation_id}")
def end_delegation(me: Me, services: Svc, delegation_id: str) -> Delegation:
    """End a delegation I made or received, at once (back from leave, or declined)."""
    if _DELEGATION_ID.fullmatch(delegation_id) is None:
        raise Refusal("invalid", "delegation_id: not a delegation id (del_ and 12 hex)")
    mine = services.directory.list_delegations(me.user_id)
    if not any(d.id == delegation_id for d in mine):
        raise Refusal("not_found", f"no delegation {delegation_id} made by or to you")
    return services.directory.revoke_delegation(delegation_id)
