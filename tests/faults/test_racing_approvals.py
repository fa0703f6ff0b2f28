"""Racing approvals: two people fire the same step on the same task at the same moment.

23 MetTrace cases go through their whole lifecycle in lockstep. At each of the nine steps
with a task (submit; the finance, legal, commercial, equalities and information assurance
sign-offs; the chief executive; the DMPC's declaration of interests; the decision) two
requests for that one task are sent concurrently (`asyncio.gather`) for every case at once:
23 x 9 = 207 racing pairs, 414 requests. The pairs vary: the same person twice; the
principal and their deputy (a delegation of the role); each of those with both requests
carrying the `expected_version` they both saw.

Each pair: exactly one 200; the other a 409 `already_done` or `stale` carrying the case's
current state, in which the task is done; never a 5xx, never a 422 (a "wrong stage" for a
task someone has just done would tell the loser nothing useful, and the API promises them
the state). Afterwards every step's event is stored exactly once per case, every event id
once, every chain verifies and every case folds.

How this test fails if a rule breaks: without the lock and re-fold in the workflow's update
handlers, both racers' validators pass against the same state and both events are stored
(two `advice.signed_off` for one area: the per-case counts catch it, and so does the fold of
the stored stream). If the fold refused the loser with `wrong_stage` once the winner had moved
the case on (it did, for the last sign-off, the chief executive, the decision and submit,
before the fix in `domain/fold/`), the loser gets a 422 without the state: the status
assertion catches it.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import httpx

from domain.clock import london_date
from domain.roles import Role
from tests.faults.conftest import Stack
from tests.faults.helpers import SIGNOFFS, act, check_store, settle, through_board, upload

CASES = 23

#: (principal, role) of each step's task, delegated to that role's deputy for the test.
PRINCIPALS: dict[Role, str] = {
    Role.ORIGINATING_OFFICER: "ollie.lane",
    Role.FINANCE_ADVISER: "fran.fin",
    Role.LEGAL_ADVISER: "lee.legal",
    Role.COMMERCIAL_ADVISER: "cat.com",
    Role.EQUALITIES_ADVISER: "eve.eq",
    Role.INFORMATION_ASSURANCE_ADVISER: "ian.ia",
    Role.CHIEF_EXECUTIVE: "rl.ceo",
    Role.DMPC: "sl.dmpc",
}

#: The steps in order: name, role of the task, action, body, event type it stores.
STEPS: list[tuple[str, Role, str, dict[str, Any], str]] = [
    ("submit", Role.ORIGINATING_OFFICER, "submit", {}, "case.submitted"),
    *[
        (
            f"sign_off {area}",
            Role(f"{area}_adviser"),
            "sign_off",
            {"area": area},
            "advice.signed_off",
        )
        for _, area in SIGNOFFS
    ],
    ("chief executive", Role.CHIEF_EXECUTIVE, "consult_chief_executive", {}, "ceo.consulted"),
    (
        "declare interests",
        Role.DMPC,
        "declare_interests",
        {"has_interest": False},
        "decision.interests_declared",
    ),
    ("decide", Role.DMPC, "decide", {"approve": True}, "decision.approved"),
]

#: Who races whom, and whether both requests carry the version they saw.
VARIANTS: list[tuple[str, str, bool]] = [
    ("principal", "principal", False),
    ("principal", "deputy", False),
    ("deputy", "principal", True),
    ("principal", "principal", True),
]


def _deputy(role: Role) -> str:
    """The deputy of one role: one person per role, since one person may not act in two of
    the roles officer, adviser, chief executive and decision maker on a case (separation of
    duties), in person or as a deputy."""
    return f"deputy.{role.value.replace('_', '-')}"


def _who(kind: str, role: Role) -> str:
    return PRINCIPALS[role] if kind == "principal" else _deputy(role)


def _task_done(step: str, state: dict[str, Any]) -> bool:
    """Whether the loser's state shows the task it raced for as done."""
    if step == "submit":
        return state["submitted_by"] is not None
    if step.startswith("sign_off "):
        return bool(state["signoffs"][step.split()[1]]["status"] == "signed_off")
    if step == "chief executive":
        return state["ceo_consulted_by"] is not None
    if step == "declare interests":
        return state["interests_declared_by"] is not None
    return bool(state["decided_by"] is not None)


async def _race(
    stack: Stack, case_id: str, index: int, step: tuple[str, Role, str, dict[str, Any], str]
) -> tuple[httpx.Response, httpx.Response, int | None]:
    name, role, action, body, _ = step
    first, second, with_version = VARIANTS[(index + len(name)) % len(VARIANTS)]
    seen = None
    if with_version:
        seen = (await stack.get(_who(first, role), f"/cases/{case_id}")).json()["version"]
        body = {**body, "expected_version": seen}
    a, b = await asyncio.gather(
        act(stack, _who(first, role), case_id, action, body),
        act(stack, _who(second, role), case_id, action, body),
    )
    return a, b, seen


async def test_two_people_racing_for_one_task_one_wins_the_other_is_told(stack: Stack):
    today = london_date(datetime.now(UTC))
    for role, principal in PRINCIPALS.items():
        deputy = _deputy(role)
        stack.directory.add_user(deputy, f"Deputy {role.value}", [Role.DRAFTING_OFFICER])
        stack.tokens[deputy] = stack.directory.create_token(deputy, "tests")[1]
        stack.directory.delegate(principal, deputy, role, today, today + timedelta(days=7), "Leave")
    case_ids = list(
        await asyncio.gather(*(upload(stack, case_id=f"race-{i:02d}") for i in range(CASES)))
    )
    winners: dict[tuple[str, str], str] = {}  # (case, step) -> the winner's event id
    pairs = 0
    for step in STEPS:
        name = step[0]
        results = await asyncio.gather(
            *(_race(stack, case_id, i, step) for i, case_id in enumerate(case_ids))
        )
        for case_id, (a, b, seen) in zip(case_ids, results, strict=True):
            pairs += 1
            where = f"{case_id}, {name}: {a.status_code} {a.text[:300]} / {b.text[:300]}"
            assert sorted([a.status_code, b.status_code]) == [200, 409], where
            won, lost = (a, b) if a.status_code == 200 else (b, a)
            events = won.json()["events"]
            assert [e["event_type"] for e in events] == [step[4]], where
            winners[(case_id, name)] = events[0]["event_id"]
            refusal = lost.json()
            assert refusal["code"] in ("already_done", "stale"), where
            state = refusal["state"]
            assert state["case_id"] == case_id and state["version"] >= won.json()["version"]
            assert _task_done(name, state), where
            if seen is None:
                assert refusal["code"] == "already_done", where
        if name == "submit":
            await through_board(stack, case_ids, "IAB-RACE", submit=False)
    assert pairs == CASES * len(STEPS) >= 200

    await settle(stack.store)
    states = check_store(stack.store)
    stored = {r.event_id: r for r in stack.store.read_all()}
    for case_id in case_ids:
        assert states[case_id].stage.value == "approved"
        kinds = Counter(r.event_type for r in stack.store.read_stream(case_id))
        assert kinds["case.submitted"] == 1
        assert kinds["advice.signed_off"] == len(SIGNOFFS)
        areas = Counter(
            r.data["area"]
            for r in stack.store.read_stream(case_id)
            if r.event_type == "advice.signed_off"
        )
        assert set(areas.values()) == {1}, areas
        for kind in ("ceo.consulted", "decision.interests_declared", "decision.approved"):
            assert kinds[kind] == 1, (case_id, kind, kinds)
        for step in STEPS:
            event_id = winners[(case_id, step[0])]
            assert stored[UUID(event_id)].stream_id == case_id
    # the deputies won some races, and their steps name the principal they acted for
    deputies = {_deputy(role) for role in PRINCIPALS}
    deputised = [r for r in stored.values() if r.actor_id in deputies and r.stream_id in states]
    assert deputised
    assert all(r.metadata["on_behalf_of"] == PRINCIPALS[Role(r.actor_role)] for r in deputised)
    # one PCD number per case, none reused
    numbers = stack.store.allocations("PCD")
    assert sorted(numbers) == sorted(case_ids)
    assert sorted(numbers.values()) == list(range(1, CASES + 1))


async def test_two_steps_sent_against_the_same_version_are_not_both_applied(stack: Stack):
    """Two advisers look at the case at version v and sign off at the same moment, each
    saying `expected_version: v`. Only one can be applied to the version its adviser saw;
    the other must be refused as stale. Both are applied today."""
    case_ids = [await upload(stack, case_id=f"stale-{i}") for i in range(6)]
    await through_board(stack, case_ids, "IAB-STALE")
    for case_id in case_ids:
        seen = (await stack.get("fran.fin", f"/cases/{case_id}")).json()["version"]
        finance, legal = await asyncio.gather(
            *(
                act(stack, user, case_id, "sign_off", {"area": area, "expected_version": seen})
                for user, area in SIGNOFFS[:2]
            )
        )
        codes = sorted([finance.status_code, legal.status_code])
        assert codes == [200, 409], (case_id, finance.text, legal.text)
        refused = finance if finance.status_code == 409 else legal
        assert refused.json()["code"] == "stale"
