"""Users, roles, delegations and what a principal may act as, on every backend."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from domain.errors import DomainError
from domain.fold.people import four_eyes_rule
from domain.roles import Actor, Role
from ratify.http.errors import status_of
from ratify.services.identity.directory import Directory
from ratify.services.identity.errors import InvalidInput, NotPermitted, UnknownUser
from ratify.services.identity.tables import delegations, user_roles, users
from tests.services.identity.conftest import FAST_HASHER

AUG_1, AUG_10, AUG_15, AUG_16 = (date(2099, 8, d) for d in (1, 10, 15, 16))


def count(engine: sa.Engine, table: sa.Table) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


@pytest.fixture
def people(engine: sa.Engine) -> Directory:
    # In the summer of 2099: a delegation starts today or later, within 90 days.
    directory = Directory(
        engine, hasher=FAST_HASHER, clock=lambda: datetime(2099, 7, 20, 9, tzinfo=UTC)
    )
    directory.add_user("fiona.fry", "Fiona Fry", [Role.FINANCE_ADVISER])
    directory.add_user("dan.deputy", "Dan Deputy", [Role.DRAFTING_OFFICER])
    directory.add_user("lee.legal", "Lee Legal", [Role.LEGAL_ADVISER, Role.FINANCE_ADVISER])
    return directory


# -- users and roles ----------------------------------------------------------------------------


def test_add_get_and_list_users(directory: Directory) -> None:
    added = directory.add_user(
        "ollie.lane",
        "Ollie Lane",
        ["originating_officer", Role.DRAFTING_OFFICER],
        email="ollie.lane@example.org",
    )
    assert added.roles == {Role.ORIGINATING_OFFICER, Role.DRAFTING_OFFICER}
    assert added.active and not added.has_password
    assert added.created_at.tzinfo is not None
    assert directory.get_user("ollie.lane") == added
    directory.add_user("ann.audit", "Ann Audit", ["Auditor"])  # case forgiven
    assert [u.id for u in directory.list_users()] == ["ann.audit", "ollie.lane"]
    assert directory.get_user("ann.audit").roles == {Role.AUDITOR}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"user_id": "Ollie Lane"}, "user_id: 'Ollie Lane' is not a user id"),
        ({"roles": ["dmcp"]}, "roles: 'dmcp' is not a role; the roles are: originating_officer"),
        ({"roles": [Role.SYSTEM]}, "roles: system is Ratify's own role"),
        ({"roles": []}, "roles: give a user at least one role"),
        ({"name": "  "}, "name: must not be empty"),
        ({"email": "ollie"}, "email: 'ollie' is not an e-mail address"),
        ({"password": "short"}, "password: must be at least 12 characters"),
    ],
)
def test_add_user_refusals_name_the_rule_and_write_nothing(
    directory: Directory, engine: sa.Engine, kwargs: dict[str, object], message: str
) -> None:
    args: dict[str, object] = {"user_id": "ollie.lane", "name": "Ollie", "roles": ["dmpc"]}
    args.update(kwargs)
    with pytest.raises(InvalidInput) as refused:
        directory.add_user(**args)  # type: ignore[arg-type]
    assert str(refused.value).startswith(message)
    assert status_of(refused.value) == 422
    assert count(engine, users) == 0 and count(engine, user_roles) == 0


def test_duplicate_user_is_refused(people: Directory) -> None:
    with pytest.raises(
        InvalidInput, match=re.escape("user_id: a user with id 'fiona.fry' exists already")
    ):
        people.add_user("fiona.fry", "Another Fiona", [Role.DMPC])
    assert people.get_user("fiona.fry").name == "Fiona Fry"


def test_grant_revoke_deactivate(people: Directory) -> None:
    assert people.grant_role("fiona.fry", "dmpc").roles == {Role.FINANCE_ADVISER, Role.DMPC}
    assert people.grant_role("fiona.fry", "dmpc").roles == {Role.FINANCE_ADVISER, Role.DMPC}
    assert people.revoke_role("fiona.fry", Role.DMPC).roles == {Role.FINANCE_ADVISER}
    with pytest.raises(
        InvalidInput, match=re.escape("role: fiona.fry does not hold the role dmpc")
    ):
        people.revoke_role("fiona.fry", Role.DMPC)
    with pytest.raises(UnknownUser, match=re.escape("user_id: there is no user 'nobody'")):
        people.grant_role("nobody", Role.DMPC)
    assert people.principal_for("fiona.fry") is not None
    assert people.deactivate("fiona.fry").active is False
    assert people.principal_for("fiona.fry") is None
    assert [u.id for u in people.list_users(include_inactive=False)] == ["dan.deputy", "lee.legal"]
    assert people.reactivate("fiona.fry").active is True


# -- delegations --------------------------------------------------------------------------------


def test_a_deputy_acts_for_the_principal_within_the_range(people: Directory) -> None:
    made = people.delegate(
        "fiona.fry", "dan.deputy", "finance_adviser", AUG_1, AUG_15, "annual leave"
    )
    assert made.id.startswith("del_") and made.role is Role.FINANCE_ADVISER
    dan = people.principal_for("dan.deputy")
    assert dan is not None

    actor = dan.acting_as(Role.FINANCE_ADVISER, today=AUG_10)
    assert actor == Actor(user_id="dan.deputy", role=Role.FINANCE_ADVISER, on_behalf_of="fiona.fry")
    assert actor.accountable_user == "fiona.fry"
    assert actor.describe() == "dan.deputy for fiona.fry (finance adviser)"
    assert dan.acting_as(Role.FINANCE_ADVISER, "fiona.fry", AUG_1) == actor  # first day
    assert dan.acting_as(Role.FINANCE_ADVISER, "fiona.fry", AUG_15) == actor  # last day
    assert dan.acting_as(Role.DRAFTING_OFFICER, today=AUG_10) == Actor(
        user_id="dan.deputy", role=Role.DRAFTING_OFFICER
    )
    assert dan.roles_today(AUG_10) == {
        (Role.DRAFTING_OFFICER, None),
        (Role.FINANCE_ADVISER, "fiona.fry"),
    }
    assert dan.roles_today(AUG_16) == {(Role.DRAFTING_OFFICER, None)}

    for day in (date(2099, 7, 31), AUG_16):
        with pytest.raises(NotPermitted) as refused:
            dan.acting_as(Role.FINANCE_ADVISER, today=day)
        assert str(refused.value) == (
            "role: dan.deputy does not hold the role finance_adviser and no delegation gives "
            f"it today ({day.isoformat()})"
        )
        assert status_of(refused.value) == 403
    with pytest.raises(NotPermitted, match=re.escape("on_behalf_of: no delegation from lee.legal")):
        dan.acting_as(Role.FINANCE_ADVISER, "lee.legal", AUG_10)
    with pytest.raises(NotPermitted, match=re.escape("does not hold the role dmpc")):
        dan.acting_as(Role.DMPC, today=AUG_10)


def test_the_principal_keeps_acting_in_their_own_right(people: Directory) -> None:
    people.delegate("fiona.fry", "dan.deputy", Role.FINANCE_ADVISER, AUG_1, AUG_15, "leave")
    fiona = people.principal_for("fiona.fry")
    assert fiona is not None
    assert fiona.acting_as(Role.FINANCE_ADVISER, today=AUG_10).on_behalf_of is None


@pytest.mark.parametrize(
    ("args", "error", "message"),
    [
        (
            ("fiona.fry", "dan.deputy", Role.DMPC, AUG_1, AUG_15),
            NotPermitted,
            "role: fiona.fry does not hold the role dmpc, so cannot delegate it",
        ),
        (
            ("fiona.fry", "dan.deputy", Role.FINANCE_ADVISER, AUG_15, AUG_1),
            InvalidInput,
            "ends_on: a delegation cannot end (2099-08-01) before it starts (2099-08-15)",
        ),
        (
            ("fiona.fry", "fiona.fry", Role.FINANCE_ADVISER, AUG_1, AUG_15),
            InvalidInput,
            "deputy: a person cannot be their own deputy",
        ),
        (
            ("fiona.fry", "nobody", Role.FINANCE_ADVISER, AUG_1, AUG_15),
            UnknownUser,
            "deputy: there is no user 'nobody'",
        ),
        (
            ("nobody", "dan.deputy", Role.FINANCE_ADVISER, AUG_1, AUG_15),
            UnknownUser,
            "principal: there is no user 'nobody'",
        ),
        (
            ("fiona.fry", "dan.deputy", "treasurer", AUG_1, AUG_15),
            InvalidInput,
            "role: 'treasurer' is not a role",
        ),
        (
            ("fiona.fry", "dan.deputy", Role.ADMIN, AUG_1, AUG_15),
            InvalidInput,
            "role: admin is granted by an administrator only and cannot be delegated",
        ),
        (
            ("fiona.fry", "dan.deputy", Role.AUDITOR, AUG_1, AUG_15),
            InvalidInput,
            "role: auditor is granted by an administrator only and cannot be delegated",
        ),
        (
            ("fiona.fry", "dan.deputy", Role.PART2_CLEARANCE, AUG_1, AUG_15),
            InvalidInput,
            "role: part2_clearance is granted by an administrator only and cannot be delegated",
        ),
        (
            ("fiona.fry", "dan.deputy", Role.FINANCE_ADVISER, date(2020, 1, 1), AUG_15),
            InvalidInput,
            "starts_on: a delegation cannot start in the past (2020-01-01; today is ",
        ),
        (
            ("fiona.fry", "dan.deputy", Role.FINANCE_ADVISER, AUG_1, date(2099, 12, 1)),
            InvalidInput,
            "ends_on: a delegation lasts at most 90 days; 2099-08-01 to 2099-12-01 is 123 days",
        ),
    ],
)
def test_delegation_rules(
    people: Directory,
    engine: sa.Engine,
    args: tuple[str, str, Role | str, date, date],
    error: type,
    message: str,
) -> None:
    if args[2] in (Role.ADMIN, Role.AUDITOR, Role.PART2_CLEARANCE):
        people.grant_role("fiona.fry", args[2])  # held, and still not to be handed on
    with pytest.raises(error) as refused:
        people.delegate(*args, "leave")
    assert str(refused.value).startswith(message)
    assert count(engine, delegations) == 0


def test_a_delegation_may_last_the_configured_maximum_and_not_a_day_more(
    people: Directory,
) -> None:
    short = Directory(
        people.engine, clock=lambda: datetime(2099, 7, 1, tzinfo=UTC), delegation_max_days=15
    )
    today = date(2099, 7, 1)
    made = short.delegate(
        "fiona.fry", "dan.deputy", Role.FINANCE_ADVISER, today, date(2099, 7, 15), "leave"
    )  # starts today: 15 days with both ends
    assert made.starts_on == today
    with pytest.raises(InvalidInput, match="at most 15 days; 2099-07-01 to 2099-07-16 is 16"):
        short.delegate(
            "fiona.fry", "dan.deputy", Role.FINANCE_ADVISER, today, date(2099, 7, 16), "leave"
        )
    with pytest.raises(InvalidInput, match="cannot start in the past"):
        short.delegate(
            "fiona.fry",
            "dan.deputy",
            Role.FINANCE_ADVISER,
            date(2099, 6, 30),
            date(2099, 7, 2),
            "leave",
        )
    assert [d.id for d in people.list_delegations()] == [made.id]


def test_revoked_delegation_gives_nothing(people: Directory) -> None:
    made = people.delegate("fiona.fry", "dan.deputy", Role.FINANCE_ADVISER, AUG_1, AUG_15, "leave")
    revoked = people.revoke_delegation(made.id)
    assert revoked.revoked_at is not None and not revoked.active_on(AUG_10)
    dan = people.principal_for("dan.deputy")
    assert dan is not None and dan.roles_today(AUG_10) == {(Role.DRAFTING_OFFICER, None)}
    with pytest.raises(NotPermitted):
        dan.acting_as(Role.FINANCE_ADVISER, today=AUG_10)
    with pytest.raises(
        InvalidInput, match=re.escape(f"delegation_id: {made.id} was revoked already")
    ):
        people.revoke_delegation(made.id)
    with pytest.raises(
        InvalidInput, match=re.escape("delegation_id: there is no delegation 'del_nope'")
    ):
        people.revoke_delegation("del_nope")
    assert [d.id for d in people.list_delegations("fiona.fry")] == [made.id]


def test_a_deputy_never_has_more_than_the_principal_has_now(people: Directory) -> None:
    people.delegate("fiona.fry", "dan.deputy", Role.FINANCE_ADVISER, AUG_1, AUG_15, "leave")
    people.revoke_role("fiona.fry", Role.FINANCE_ADVISER)
    dan = people.principal_for("dan.deputy")
    assert dan is not None and dan.roles_today(AUG_10) == {(Role.DRAFTING_OFFICER, None)}

    people.grant_role("fiona.fry", Role.FINANCE_ADVISER)
    people.deactivate("fiona.fry")
    dan = people.principal_for("dan.deputy")
    assert dan is not None and not dan.holds(Role.FINANCE_ADVISER, AUG_10)

    people.reactivate("fiona.fry")
    dan = people.principal_for("dan.deputy")
    assert dan is not None and dan.holds(Role.FINANCE_ADVISER, AUG_10)


def test_several_principals_must_be_told_apart(people: Directory) -> None:
    people.delegate("fiona.fry", "dan.deputy", Role.FINANCE_ADVISER, AUG_1, AUG_15, "leave")
    people.delegate("lee.legal", "dan.deputy", Role.FINANCE_ADVISER, AUG_10, AUG_15, "course")
    dan = people.principal_for("dan.deputy")
    assert dan is not None
    assert dan.acting_as(Role.FINANCE_ADVISER, today=AUG_1).on_behalf_of == "fiona.fry"
    with pytest.raises(
        InvalidInput, match=re.escape("on_behalf_of: fiona.fry, lee.legal have each")
    ):
        dan.acting_as(Role.FINANCE_ADVISER, today=AUG_10)
    assert dan.acting_as(Role.FINANCE_ADVISER, "lee.legal", AUG_10).on_behalf_of == "lee.legal"


def test_the_deputy_of_the_submitter_meets_the_four_eyes_rule(people: Directory) -> None:
    """The domain refuses a sign-off by anyone acting for the officer who submitted."""
    people.grant_role("fiona.fry", Role.ORIGINATING_OFFICER)
    people.delegate("fiona.fry", "dan.deputy", Role.FINANCE_ADVISER, AUG_1, AUG_15, "leave")
    fiona, dan = people.principal_for("fiona.fry"), people.principal_for("dan.deputy")
    assert fiona is not None and dan is not None
    state = SimpleNamespace(
        submitted_by=fiona.acting_as(Role.ORIGINATING_OFFICER, today=AUG_1),
        submitted_at=None,
        drafted_at=None,
    )
    with pytest.raises(DomainError, match=re.escape("fiona.fry submitted this case")):
        four_eyes_rule(state, dan.acting_as(Role.FINANCE_ADVISER, today=AUG_10), "sign off")  # type: ignore[arg-type]
    lee = people.principal_for("lee.legal")
    assert lee is not None
    four_eyes_rule(state, lee.acting_as(Role.FINANCE_ADVISER, today=AUG_10), "sign off")  # type: ignore[arg-type]


def test_now_must_be_aware(people: Directory) -> None:
    made = people.delegate("fiona.fry", "dan.deputy", Role.FINANCE_ADVISER, AUG_1, AUG_15, "leave")
    with pytest.raises(InvalidInput, match=r"now: .* has no time zone"):
        people.revoke_delegation(made.id, now=datetime(2099, 8, 2))
    assert people.revoke_delegation(made.id, now=datetime(2025, 8, 2, tzinfo=UTC)).revoked_at
