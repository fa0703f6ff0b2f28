"""The history of roles: who held which role on which London day (`held_role_on`), as
granted and revoked, for judging a step taken on paper by its taker's roles on its date."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa

from domain.roles import Role
from ratify.services.identity.directory import Directory
from ratify.services.identity.errors import InvalidInput
from ratify.services.identity.tables import role_grants, user_roles
from tests.services.identity.conftest import FAST_HASHER


class Days:
    """A clock the test moves from day to day (10:00 UTC each day)."""

    def __init__(self, day: date) -> None:
        self.day = day

    def __call__(self) -> datetime:
        return datetime(self.day.year, self.day.month, self.day.day, 10, tzinfo=UTC)


def test_a_role_is_held_from_its_grant_until_its_revocation(engine: sa.Engine) -> None:
    clock = Days(date(2022, 3, 1))
    people = Directory(engine, hasher=FAST_HASHER, clock=clock)
    people.add_user("sophie.linden", "Sophie Linden", [Role.DMPC])
    clock.day = date(2022, 3, 10)
    people.grant_role("sophie.linden", Role.AUDITOR)
    clock.day = date(2022, 3, 20)
    people.revoke_role("sophie.linden", Role.DMPC)
    clock.day = date(2022, 4, 1)
    people.grant_role("sophie.linden", Role.DMPC)

    def held(role: Role, day: date) -> bool:
        return people.held_role_on("sophie.linden", role, day)

    assert not held(Role.DMPC, date(2022, 2, 28))  # before she was added
    assert held(Role.DMPC, date(2022, 3, 1)) and held(Role.DMPC, date(2022, 3, 14))
    assert held(Role.DMPC, date(2022, 3, 20))  # the day it was revoked still counts
    assert not held(Role.DMPC, date(2022, 3, 25))  # between revocation and the new grant
    assert held(Role.DMPC, date(2022, 4, 1)) and held(Role.DMPC, date(2030, 1, 1))
    assert not held(Role.AUDITOR, date(2022, 3, 9)) and held(Role.AUDITOR, date(2022, 3, 10))
    assert not people.held_role_on("nobody", Role.DMPC, date(2022, 3, 14))


def test_roles_held_before_the_history_began_count_as_held_since_ever(
    engine: sa.Engine,
) -> None:
    """What the migration backfills: a role in `user_roles` with an open, undated grant."""
    people = Directory(engine, hasher=FAST_HASHER)
    people.add_user("craig.mackey", "Craig Mackey", [Role.CHIEF_EXECUTIVE])
    with engine.begin() as conn:
        conn.execute(role_grants.delete())
        conn.execute(
            role_grants.insert().from_select(
                ["user_id", "role"], sa.select(user_roles.c.user_id, user_roles.c.role)
            )
        )
    assert people.held_role_on("craig.mackey", Role.CHIEF_EXECUTIVE, date(2001, 1, 1))


def test_a_role_held_before_ratify_is_granted_from_that_day_and_never_from_the_future(
    engine: sa.Engine,
) -> None:
    # Adopting Ratify on 1 December 2026: the DMPC, added today, signed on paper in March
    # 2022; the administrator says she has held the role since 2021, so a records officer
    # can record that signature as hers.
    clock = Days(date(2026, 12, 1))
    people = Directory(engine, hasher=FAST_HASHER, clock=clock)
    people.add_user("sophie.linden", "Sophie Linden", [Role.AUDITOR])
    people.grant_role("sophie.linden", Role.DMPC, held_since=date(2021, 5, 10))
    assert people.held_role_on("sophie.linden", Role.DMPC, date(2022, 3, 14))
    assert not people.held_role_on("sophie.linden", Role.DMPC, date(2021, 5, 9))
    # Held already: an earlier day moves the start back, a later one never forward.
    people.grant_role("sophie.linden", Role.AUDITOR, held_since=date(2020, 1, 1))
    assert people.held_role_on("sophie.linden", Role.AUDITOR, date(2020, 6, 1))
    people.grant_role("sophie.linden", Role.AUDITOR, held_since=date(2025, 1, 1))
    assert people.held_role_on("sophie.linden", Role.AUDITOR, date(2020, 6, 1))
    with pytest.raises(InvalidInput) as refused:
        people.grant_role("sophie.linden", Role.AUDITOR, held_since=date(2026, 12, 2))
    assert refused.value.field == "held_since"
