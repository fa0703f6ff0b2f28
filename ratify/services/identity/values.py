"""What the directory hands out: users, delegations, tokens, sessions and the `Principal`.

A `Principal` is a signed-in person; `Principal.acting_as(role, on_behalf_of, today)`
turns it into the domain's `Actor` for one step, which records both the deputy who acted
and the person they acted for.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from pydantic import BaseModel, ConfigDict

from domain.clock import london_date
from domain.roles import Actor, Role
from ratify.services.identity.errors import InvalidInput, NotPermitted


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class User(_Frozen):
    id: str
    name: str
    email: str | None
    active: bool
    roles: frozenset[Role]
    created_at: datetime
    has_password: bool


class Delegation(_Frozen):
    """A delegation as stored: `principal_id` lets `deputy_id` act in `role` for a while."""

    id: str
    principal_id: str
    deputy_id: str
    role: Role
    starts_on: date
    ends_on: date
    reason: str
    created_at: datetime
    revoked_at: datetime | None

    def active_on(self, day: date) -> bool:
        return self.revoked_at is None and self.starts_on <= day <= self.ends_on


class Delegated(_Frozen):
    """A delegation made to a principal (the signed-in deputy), as `Principal` carries it."""

    delegation_id: str
    principal_id: str
    role: Role
    starts_on: date
    ends_on: date

    def active_on(self, day: date) -> bool:
        return self.starts_on <= day <= self.ends_on


class ApiToken(_Frozen):
    """A token's record (never its secret or hash)."""

    id: str
    user_id: str
    name: str
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None

    def status(self, now: datetime) -> str:
        """`active`, `revoked` or `expired` at `now`."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and now >= self.expires_at:
            return "expired"
        return "active"


class StoredSession(_Frozen):
    """A web session as stored (never its secret)."""

    id: str
    user_id: str
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    ended_at: datetime | None
    end_reason: str | None

    def live(self, now: datetime) -> bool:
        return self.ended_at is None and now < self.expires_at


class Principal(_Frozen):
    """A signed-in person: their roles, and the delegations that let them act for others.

    Only delegations that are not revoked, from an active principal who still holds the
    role, are carried; `acting_as` and `roles_today` pick those in force on a given day.
    """

    user_id: str
    name: str
    roles: frozenset[Role]
    delegations: tuple[Delegated, ...] = ()

    def acting_as(
        self, role: Role, on_behalf_of: str | None = None, today: date | None = None
    ) -> Actor:
        """The `Actor` for one step in `role` on `today` (a London day; default: today).

        Without `on_behalf_of`: the person's own role if they hold it, else the one
        delegation giving it today. With `on_behalf_of`: the delegation from that person.
        Raises `NotPermitted` naming the rule when neither gives the role, and
        `InvalidInput` when several people delegated it today and none was named.
        """
        role = Role(role)
        day = today if today is not None else london_date(datetime.now(UTC))
        if on_behalf_of is None or on_behalf_of == self.user_id:
            if role in self.roles:
                return Actor(user_id=self.user_id, role=role)
            givers = sorted(
                {d.principal_id for d in self.delegations if d.role is role and d.active_on(day)}
            )
            if len(givers) == 1:
                return Actor(user_id=self.user_id, role=role, on_behalf_of=givers[0])
            if givers:
                raise InvalidInput(
                    "on_behalf_of",
                    f"{', '.join(givers)} have each delegated the role {role.value} to "
                    f"{self.user_id} on {day.isoformat()}: say on whose behalf you act",
                )
            raise NotPermitted(
                "role",
                f"{self.user_id} does not hold the role {role.value} and no delegation "
                f"gives it today ({day.isoformat()})",
            )
        if any(
            d.principal_id == on_behalf_of and d.role is role and d.active_on(day)
            for d in self.delegations
        ):
            return Actor(user_id=self.user_id, role=role, on_behalf_of=on_behalf_of)
        raise NotPermitted(
            "on_behalf_of",
            f"no delegation from {on_behalf_of} gives {self.user_id} the role {role.value} "
            f"today ({day.isoformat()})",
        )

    def roles_today(self, today: date | None = None) -> set[tuple[Role, str | None]]:
        """(role, principal) pairs held on `today`: principal None for the person's own roles."""
        day = today if today is not None else london_date(datetime.now(UTC))
        held: set[tuple[Role, str | None]] = {(r, None) for r in self.roles}
        held |= {(d.role, d.principal_id) for d in self.delegations if d.active_on(day)}
        return held

    def holds(self, role: Role, today: date | None = None) -> bool:
        """True if the person may act in `role` today, in their own right or as a deputy."""
        return any(r is role for r, _ in self.roles_today(today))
