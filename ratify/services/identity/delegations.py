"""Delegations: a deputy acts in one role of a principal for a range of London days.

The principal must hold the role when delegating *and* when the deputy acts, and must
still be active: a deputy never has rights the principal would not have. Roles an
administrator grants (`UNDELEGABLE_ROLES`) are never delegated.
"""

from __future__ import annotations

import secrets
from datetime import date, datetime, timedelta

import sqlalchemy as sa

from domain.clock import london_date
from domain.roles import Role
from ratify.services.identity.base import DirectoryBase
from ratify.services.identity.errors import InvalidInput, NotPermitted
from ratify.services.identity.rows import _delegation, _load_delegation, _load_user, _require_user
from ratify.services.identity.rules import UNDELEGABLE_ROLES, _text, parse_role
from ratify.services.identity.tables import delegations
from ratify.services.identity.values import Delegation


class DelegationDirectory(DirectoryBase):
    """The delegations part of a `Directory`."""

    def delegate(
        self,
        principal_id: str,
        deputy_id: str,
        role: Role | str,
        starts_on: date,
        ends_on: date,
        reason: str,
    ) -> Delegation:
        """Let `deputy_id` act in one of `principal_id`'s roles from `starts_on` to `ends_on`.

        Refused: roles an administrator grants (admin, auditor, Part 2 clearance); a start
        before today (London); an end before the start; more than `delegation_max_days`
        days, first and last included. Whether the deputy may use the role on a given case
        (separation of duties) is the case's rule, checked when they act.
        """
        parsed = parse_role(role)
        if parsed in UNDELEGABLE_ROLES:
            raise InvalidInput(
                "role",
                f"{parsed.value} is granted by an administrator only and cannot be delegated",
            )
        today = london_date(self._now(None))
        if starts_on < today:
            raise InvalidInput(
                "starts_on",
                f"a delegation cannot start in the past ({starts_on.isoformat()}; today is "
                f"{today.isoformat()})",
            )
        if ends_on < starts_on:
            raise InvalidInput(
                "ends_on",
                f"a delegation cannot end ({ends_on.isoformat()}) before it starts "
                f"({starts_on.isoformat()})",
            )
        latest_start = today + timedelta(days=self.delegation_max_days)
        if starts_on > latest_start:
            raise InvalidInput(
                "starts_on",
                f"a delegation starts within {self.delegation_max_days} days of today "
                f"(by {latest_start.isoformat()}), not on {starts_on.isoformat()}",
            )
        days = (ends_on - starts_on).days + 1
        if days > self.delegation_max_days:
            raise InvalidInput(
                "ends_on",
                f"a delegation lasts at most {self.delegation_max_days} days; "
                f"{starts_on.isoformat()} to {ends_on.isoformat()} is {days} days",
            )
        reason = _text(reason, "reason", max_length=2000)
        if deputy_id == principal_id:
            raise InvalidInput("deputy", "a person cannot be their own deputy")
        now = self._now(None)
        with self._write() as conn:
            principal = _load_user(conn, principal_id, field="principal")
            deputy = _load_user(conn, deputy_id, field="deputy")
            if not principal.active:
                raise NotPermitted("principal", f"{principal_id} is deactivated")
            if not deputy.active:
                raise InvalidInput("deputy", f"{deputy_id} is deactivated")
            if parsed not in principal.roles:
                raise NotPermitted(
                    "role",
                    f"{principal_id} does not hold the role {parsed.value}, so cannot delegate "
                    "it: a deputy only gets roles their principal holds",
                )
            # One running delegation of a role to one deputy at a time: back-to-back
            # delegations would chain past the longest a delegation may last.
            running = conn.execute(
                sa.select(delegations.c.id, delegations.c.ends_on).where(
                    delegations.c.principal_id == principal_id,
                    delegations.c.deputy_id == deputy_id,
                    delegations.c.role == parsed.value,
                    delegations.c.revoked_at.is_(None),
                    delegations.c.ends_on >= today,
                )
            ).first()
            if running is not None:
                raise InvalidInput(
                    "deputy",
                    f"{deputy_id} already deputises for {principal_id} as {parsed.value} until "
                    f"{running.ends_on} ({running.id}): a new delegation of that role to them "
                    "can be made once it has ended or been revoked",
                )
            delegation_id = f"del_{secrets.token_hex(6)}"
            conn.execute(
                delegations.insert().values(
                    id=delegation_id,
                    principal_id=principal_id,
                    deputy_id=deputy_id,
                    role=parsed.value,
                    starts_on=starts_on,
                    ends_on=ends_on,
                    reason=reason,
                    created_at=now,
                    revoked_at=None,
                )
            )
            return _load_delegation(conn, delegation_id)

    def revoke_delegation(self, delegation_id: str, now: datetime | None = None) -> Delegation:
        """End a delegation at once (it stays in the table, marked revoked)."""
        at = self._now(now)
        with self._write() as conn:
            found = _load_delegation(conn, delegation_id)
            if found.revoked_at is not None:
                raise InvalidInput(
                    "delegation_id", f"{delegation_id} was revoked already, at {found.revoked_at}"
                )
            conn.execute(
                delegations.update().where(delegations.c.id == delegation_id).values(revoked_at=at)
            )
            return _load_delegation(conn, delegation_id)

    def list_delegations(self, user_id: str | None = None) -> list[Delegation]:
        """Every delegation, or those `user_id` made or received, newest range first."""
        with self._read() as conn:
            query = sa.select(delegations).order_by(
                delegations.c.starts_on.desc(), delegations.c.id
            )
            if user_id is not None:
                _require_user(conn, user_id)
                query = query.where(
                    sa.or_(
                        delegations.c.principal_id == user_id, delegations.c.deputy_id == user_id
                    )
                )
            return [_delegation(row) for row in conn.execute(query)]
