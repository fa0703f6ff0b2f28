"""Who may do what, and who may read Part 2: every role x every action x every stage, through
the API.

The rules are written down here, in `ALLOWED` and `cleared`, from DOMAIN.md and the README's
lifecycle table, NOT read from the code under test (`domain.fold`, `domain.state.open_tasks`,
`domain.visibility`): if the code and this table disagree, one of them is wrong.

For each of ten stages a probe case (MetTrace, whose Part 2 carries a unique marker added by
a revision in draft) is brought to the stage. Then:

1. The sweep: every role (one user per role a person can hold, 17) tries every action (28,
   counting each advice area of the three advice actions, and the meeting's two steps) the
   rules do not allow it at that stage, naming its own role, so that the workflow's rules are
   what refuse it; and, at one stage per action, naming none, so that the API infers the role
   the action needs and the sign-in refuses whoever lacks it (see `sweep_cells`). Every
   attempt is refused with 403, 409 or 422, and the store's last position does not move:
   nothing is written, to any stream. About 3,300 attempts.
2. Part 2: every user reads the probe every way the API offers (the case now, at version 2,
   as of now, its events, timeline, access log, evidence bundle; the task list, the case
   list, the register, the meetings), and the refusal bodies of the sweep are kept too. The
   marker appears in none of them for a user the rules do not clear; it does appear in the
   case (now, at version 2, as of now) for those they do.
3. Every action the rules allow at that stage is then taken by each role allowed it, on the
   probe or on a copy of it brought to the same stage, and succeeds.

The person dimension: holding a role is not enough. The probes are ollie.lane's cases, and
`OTHERS` are people in the roles who are not parties to them: another originating officer
(olga.other), a finance adviser whose colleague gives the finance advice (fred.fin), and a
deputy whose delegation of the legal adviser's role has ended (deputy.dan). In the sweep,
the other officer tries every officer's step (revise, submit, withdraw, move the date) at
every stage, naming the role, and is refused with nothing written; in the reads, each of them
reads Part 2 exactly when `cleared` says (the other officer never, the finance colleague only
while finance advice is open, the deputy never).

How it fails if a rule breaks: allow one more role in the fold (say the legal adviser may
sign off finance) and its attempt in the sweep returns 200 and writes an event (both caught);
forbid one (say the chief executive may no longer change the required-by date) and step 3
gets a refusal; show Part 2 to an auditor without clearance (drop the clearance test in
`domain.visibility.part2_clearance`) and the marker turns up in aud.bob's responses.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx

from domain.roles import Role
from tests.faults.conftest import ALL_PEOPLE, ALTERNATE, Stack
from tests.faults.helpers import (
    SIGNOFFS,
    act,
    check_store,
    london_today,
    mettrace,
    ok,
    settle,
    upload,
)

# -- the rules, as DOMAIN.md and the README state them -------------------------------------

OO = Role.ORIGINATING_OFFICER
DO = Role.DRAFTING_OFFICER
SEC = Role.BOARD_SECRETARIAT
CHAIR = Role.BOARD_CHAIR
CEO = Role.CHIEF_EXECUTIVE
DMPC = Role.DMPC
PO = Role.PUBLICATION_OFFICER
AREAS = [area for _, area in SIGNOFFS]
ADVISER = {
    "finance": Role.FINANCE_ADVISER,
    "legal": Role.LEGAL_ADVISER,
    "commercial": Role.COMMERCIAL_ADVISER,
    "equalities": Role.EQUALITIES_ADVISER,
    "information_assurance": Role.INFORMATION_ASSURANCE_ADVISER,
}

#: One user per role a person can hold, acting in that role only.
ACTORS: dict[Role, str] = {
    OO: "ollie.lane",
    DO: "no.body",
    SEC: "sam.sec",
    CHAIR: "bo.chair",
    Role.FINANCE_ADVISER: "fran.fin",
    Role.LEGAL_ADVISER: "lee.legal",
    Role.COMMERCIAL_ADVISER: "cat.com",
    Role.EQUALITIES_ADVISER: "eve.eq",
    Role.INFORMATION_ASSURANCE_ADVISER: "ian.ia",
    CEO: "rl.ceo",
    DMPC: "sl.dmpc",
    Role.ALTERNATE_DECISION_MAKER: ALTERNATE,
    Role.MPS_DECISION_MAKER: "mps.dm",
    PO: "pat.pub",
    Role.AUDITOR: "aud.bob",
    Role.PART2_CLEARANCE: "clear.only",
    Role.ADMIN: "ad.min",
}
#: Everyone who reads the probes: the actors, and the auditor with Part 2 clearance.
READERS = [*ACTORS.values(), "aud.ann"]

#: People in the roles who are not parties to the probes (the person dimension): made by
#: the test, with the roles they hold today.
OTHERS: dict[str, set[Role]] = {
    # another originating officer: the probes are ollie.lane's cases
    "olga.other": {OO},
    # a finance adviser who holds no task once fran.fin has given the finance advice
    "fred.fin": {Role.FINANCE_ADVISER},
    # was lee.legal's deputy; the delegation has ended (own role: drafting officer)
    "deputy.dan": {DO},
}
#: The case's own officers: who drafted the probes.
CASE_OFFICERS = frozenset({"ollie.lane"})
#: The steps only the case's own officers (or, for the date, the chief executive) may take.
OFFICERS_STEPS = ["revise", "submit", "withdraw", "change_required_by"]

#: Any person may record an irregularity, at any stage ("recorded, not hidden"); Ratify
#: itself never does.
ANYONE = frozenset(ACTORS)
#: The case's officer and the chief executive may move the required-by date
#: while the case is open.
DEADLINE = frozenset({OO, CEO})

STAGES = [
    "draft",
    "board",  # awaiting a meeting's agenda (IAB route)
    "board on agenda",
    "board extremis",  # an urgent case outside the meeting cycle, for the board chair
    "advice",
    "chief executive",
    "decision: interests",  # the DMPC declares interests first...
    "decision: decide",  # ...then decides
    "approved",  # Part 1 published; Part 2 exempt, its review years away
    "part 2 review due",
]

OPEN = {"withdraw": frozenset({OO}), "change_required_by": DEADLINE}

#: stage -> action -> the roles that may take it. Anything not listed: nobody.
ALLOWED: dict[str, dict[str, frozenset[Role]]] = {
    "draft": {
        "revise": frozenset({OO}),
        "submit": frozenset({OO}),
        **OPEN,
    },
    "board": {"add_to_agenda": frozenset({SEC}), **OPEN},
    "board on agenda": {"record_board_advice": frozenset({SEC}), **OPEN},
    "board extremis": {"agree_extremis": frozenset({CHAIR}), **OPEN},
    "advice": {
        **{f"sign_off {a}": frozenset({ADVISER[a]}) for a in AREAS},
        **{f"advice_not_required {a}": frozenset({ADVISER[a]}) for a in AREAS},
        **{f"request_changes {a}": frozenset({ADVISER[a]}) for a in AREAS},
        **OPEN,
    },
    "chief executive": {
        "consult_chief_executive": frozenset({CEO}),
        "chief_executive_send_back": frozenset({CEO}),
        **OPEN,
    },
    "decision: interests": {"declare_interests": frozenset({DMPC}), **OPEN},
    "decision: decide": {"decide": frozenset({DMPC}), **OPEN},
    "approved": {},
    "part 2 review due": {"review_part2": frozenset({PO})},
}
for _rules in ALLOWED.values():
    _rules["record_irregularity"] = ANYONE

#: What the rules allow but Ratify cannot do yet, and refuses (422 wrong_stage): once the
#: decision is taken its workflow ends, so an irregularity found afterwards ("grants paid
#: before the case was referred") cannot be recorded on the case. A gap, reported; when it
#: is closed these entries go, and step 3 checks the irregularities are recorded.
NOT_YET = {("approved", "record_irregularity"), ("part 2 review due", "record_irregularity")}

#: Roles holding an open task at each stage (they act on the case, so they read Part 2).
TASK_ROLES: dict[str, frozenset[Role]] = {
    "draft": frozenset({OO}),
    "board": frozenset({SEC}),
    "board on agenda": frozenset({SEC}),
    "board extremis": frozenset({CHAIR}),
    "advice": frozenset(ADVISER.values()),
    "chief executive": frozenset({CEO}),
    "decision: interests": frozenset({DMPC}),
    "decision: decide": frozenset({DMPC}),
    "approved": frozenset(),
    "part 2 review due": frozenset({PO}),
}


def cleared(user: str, roles: set[Role], stage: str, acted: set[str]) -> bool:
    """May `user` read the probe's unpublished Part 2 at `stage`? An auditor with the
    clearance; the publication officer once the review is due; whoever holds an open task
    of the case (an officer's task: only the case's own officers) or took one of its
    lifecycle steps (recording an irregularity or moving the required-by date, open to
    anyone, does not count: see the second test)."""
    if Role.AUDITOR in roles and Role.PART2_CLEARANCE in roles:
        return True
    if stage == "part 2 review due" and PO in roles:
        return True
    holders = TASK_ROLES[stage]
    if user not in CASE_OFFICERS:
        holders = holders - {OO}
    return bool(roles & holders) or user in acted


# -- the actions ---------------------------------------------------------------------------

NEW_DATE = (date.today() + timedelta(days=90)).isoformat()


def action_bodies(case: dict[str, Any]) -> dict[str, tuple[str, dict[str, Any]]]:
    """Every action: its API action name and a well-formed body. `case` is the case a revision
    sends (without the Part 2 marker, so that no refusal can echo it back)."""
    bodies: dict[str, tuple[str, dict[str, Any]]] = {
        "revise": ("revise", {"case": case}),
        "submit": ("submit", {}),
        "withdraw": ("withdraw", {"reason": "No longer needed."}),
        "change_required_by": (
            "change_required_by",
            {"required_by": NEW_DATE, "reason": "The funding year ends."},
        ),
        "agree_extremis": ("agree_extremis", {"reason": "Funding lapses this week."}),
        "consult_chief_executive": ("consult_chief_executive", {}),
        "chief_executive_send_back": (
            "chief_executive_send_back",
            {"reasons": ["Explain the equality impact."]},
        ),
        "declare_interests": ("declare_interests", {"has_interest": False}),
        "decide": ("decide", {"approve": True}),
        "record_irregularity": (
            "record_irregularity",
            {"description": "The kits were ordered before the case was referred."},
        ),
        "review_part2": ("review_part2", {"outcome": "publish", "reason": "Contract complete."}),
        # the meeting's steps (POST /meetings/{id}/cases and /advice)
        "add_to_agenda": ("cases", {}),
        "record_board_advice": ("advice", {"advice": "supported"}),
    }
    for a in AREAS:
        bodies[f"sign_off {a}"] = ("sign_off", {"area": a})
        bodies[f"advice_not_required {a}"] = (
            "advice_not_required",
            {"area": a, "reason": "Covered elsewhere."},
        )
        bodies[f"request_changes {a}"] = (
            "request_changes",
            {"area": a, "reasons": ["Say more about it."]},
        )
    return bodies


MEETING_ACTIONS = {"add_to_agenda", "record_board_advice"}


# -- the probes ----------------------------------------------------------------------------


@dataclass
class Probe:
    stage: str
    case_id: str
    marker: str | None = None
    #: Users who took a step of the case (they read its Part 2 as people acting on it).
    acted: set[str] = field(default_factory=set)

    @property
    def meeting(self) -> str:
        return f"M-{self.case_id}"


def _extremis(text: str) -> str:
    board = "board:\n  board: IAB\n  intended_meeting: 2019-07-01\n"
    assert board in text
    return text.replace(board, "extremis_reason: Funding lapses before the next board.\n")


async def bring_to(stack: Stack, probe: Probe) -> None:
    """Upload the probe's case and take it to its stage, recording who acted."""
    stage, case_id = probe.stage, probe.case_id
    exempt_until = date(2099, 4, 1) if stage == "approved" else None
    text = mettrace(part2_until=exempt_until)
    if stage == "board extremis":
        text = _extremis(text)
    await upload(stack, text, case_id=case_id)
    probe.acted.add("ollie.lane")
    if probe.marker is not None:
        # the marker arrives by a revision, so the auditors' timeline shows it as a change
        case = (await stack.get("ollie.lane", f"/cases/{case_id}")).json()["case"]
        case["part2"]["content"] += f" {probe.marker}"
        ok(await act(stack, "ollie.lane", case_id, "revise", {"case": case}))
    today = await london_today(stack)
    r = await stack.post(
        "sam.sec", "/meetings", {"meeting_id": probe.meeting, "board": "IAB", "meeting_date": today}
    )
    assert r.status_code == 201, r.text
    if stage == "draft":
        return
    ok(await act(stack, "ollie.lane", case_id, "submit"))
    if stage in ("board", "board extremis"):
        return
    ok(await stack.post("sam.sec", f"/meetings/{probe.meeting}/cases", {"case_id": case_id}))
    probe.acted.add("sam.sec")
    if stage == "board on agenda":
        return
    ok(
        await stack.post(
            "sam.sec",
            f"/meetings/{probe.meeting}/advice",
            {"case_id": case_id, "advice": "supported"},
        )
    )
    if stage == "advice":
        return
    for user, area in SIGNOFFS:
        ok(await act(stack, user, case_id, "sign_off", {"area": area}))
        probe.acted.add(user)
    if stage == "chief executive":
        return
    ok(await act(stack, "rl.ceo", case_id, "consult_chief_executive"))
    probe.acted.add("rl.ceo")
    if stage == "decision: interests":
        return
    ok(await act(stack, "sl.dmpc", case_id, "declare_interests", {"has_interest": False}))
    probe.acted.add("sl.dmpc")
    if stage == "decision: decide":
        return
    ok(await act(stack, "sl.dmpc", case_id, "decide", {"approve": True}))
    # Part 1 is published by the workflow; a due review is recorded by the review workflow
    wanted = "publication.part1_published" if stage == "approved" else "part2.review_due"
    for _ in range(400):
        if wanted in {r.event_type for r in stack.store.read_stream(case_id)}:
            break
        await asyncio.sleep(0.025)
    else:
        raise AssertionError(f"{case_id}: no {wanted}")
    if stage == "approved":
        # ...and the review stays years away
        await asyncio.sleep(0.2)
        assert "part2.review_due" not in {r.event_type for r in stack.store.read_stream(case_id)}


async def attempt(
    stack: Stack,
    user: str,
    probe: Probe,
    name: str,
    bodies: dict[str, tuple[str, dict[str, Any]]],
    role: Role | None,
) -> httpx.Response:
    action, body = bodies[name]
    if name in MEETING_ACTIONS:
        # A meeting's steps are the secretariat's: they take no role.
        return await stack.post(
            user, f"/meetings/{probe.meeting}/{action}", {**body, "case_id": probe.case_id}
        )
    if role is not None:
        body = {**body, "role": role.value}
    return await act(stack, user, probe.case_id, action, body)


async def bounded(aws: list[Awaitable[Any]], limit: int = 24) -> list[Any]:
    gate = asyncio.Semaphore(limit)

    async def one(aw: Awaitable[Any]) -> Any:
        async with gate:
            return await aw

    return list(await asyncio.gather(*(one(a) for a in aws)))


#: The allowed steps taken on copies of the probe at the same stage (each group in order on
#: one copy), because each moves the case on or excludes the others; the rest on the probe
#: itself, the listed one last.
ON_COPIES: dict[str, list[list[str]]] = {
    "draft": [["withdraw"]],
    "board": [["withdraw"]],
    "board on agenda": [["withdraw"]],
    "board extremis": [["withdraw"]],
    "advice": [
        [f"advice_not_required {a}" for a in AREAS],
        *[[f"request_changes {a}"] for a in AREAS],
        ["withdraw"],
    ],
    "chief executive": [["chief_executive_send_back"], ["withdraw"]],
    "decision: interests": [["withdraw"]],
    "decision: decide": [["withdraw"]],
    "approved": [],
    "part 2 review due": [],
}
#: Taken on the probe after the stage-keeping ones (irregularity, required-by, a revision).
LAST_ON_PROBE: dict[str, list[str]] = {
    "draft": ["revise", "submit"],
    "board": ["add_to_agenda"],
    "board on agenda": ["record_board_advice"],
    "board extremis": ["agree_extremis"],
    "advice": [f"sign_off {a}" for a in AREAS],
    "chief executive": ["consult_chief_executive"],
    "decision: interests": ["declare_interests"],
    "decision: decide": ["decide"],
    "approved": [],
    "part 2 review due": ["review_part2"],
}
KEEPS_STAGE = ["record_irregularity", "change_required_by"]


def keeps_stage(stage: str) -> list[str]:
    return [name for name in KEEPS_STAGE if name in ALLOWED[stage]]


def _has(text: str, marker: str) -> bool:
    return marker in text or json.dumps(marker)[1:-1] in text


async def test_every_role_every_action_every_stage(stack: Stack):
    run = uuid.uuid4().hex[:6]
    probes = [
        Probe(stage, f"rbac-{i}-{run}", marker=f"PART2-MARKER-{i}-{uuid.uuid4().hex}")
        for i, stage in enumerate(STAGES)
    ]
    copies: list[tuple[Probe, list[str]]] = [
        (Probe(p.stage, f"{p.case_id}-copy{j}"), group)
        for p in probes
        for j, group in enumerate(ON_COPIES[p.stage])
    ]
    await others_join(stack)
    await asyncio.gather(*(bring_to(stack, p) for p in [*probes, *(c for c, _ in copies)]))
    # the plan covers every allowed step exactly once per allowed role
    for stage in STAGES:
        planned = [
            *keeps_stage(stage),
            *LAST_ON_PROBE[stage],
            *(a for g in ON_COPIES[stage] for a in g),
        ]
        assert sorted(planned) == sorted(ALLOWED[stage]), stage

    officer_view = (await stack.get("ollie.lane", f"/cases/{probes[0].case_id}")).json()["case"]
    marker0 = probes[0].marker
    assert marker0 is not None and marker0 in officer_view["part2"]["content"]
    clean_case = json.loads(json.dumps(officer_view).replace(marker0, "no marker here"))
    bodies = action_bodies(clean_case)

    # 1. the sweep: everything the rules do not allow is refused, and nothing is written
    before = await settle(stack.store)
    sweep = [(p, *cell) for i, p in enumerate(probes) for cell in sweep_cells(i, p.stage, bodies)]
    responses = await bounded(
        [attempt(stack, ACTORS[role], p, name, bodies, as_role) for p, role, name, as_role in sweep]
    )
    refusals: list[str] = []
    # the person dimension: another officer takes none of the officer's steps, at any stage
    others = [(p, name) for p in probes for name in OFFICERS_STEPS]
    other_responses = await bounded(
        [attempt(stack, "olga.other", p, name, bodies, OO) for p, name in others]
    )
    for (probe, name), r in zip(others, other_responses, strict=True):
        other = (probe.stage, "olga.other", name, r.status_code, r.text)
        assert r.status_code in (403, 409, 422), other
        if name in ALLOWED[probe.stage]:  # the case officer could: the person is refused
            assert (r.status_code, r.json()["code"]) == (403, "not_case_officer"), other
        refusals.append(r.text)
    for (probe, role, name, as_role), r in zip(sweep, responses, strict=True):
        where = (probe.stage, role.value, name, as_role and "own role", r.status_code, r.text)
        assert r.status_code in (403, 409, 422), where
        assert r.json()["code"], where
        if (probe.stage, name) in NOT_YET and as_role is not None:
            assert (r.status_code, r.json()["code"]) == (422, "wrong_stage"), where
        refusals.append(r.text)
    await asyncio.sleep(0.3)
    assert stack.store.last_position() == before, "a refused step wrote something"
    markers = [p.marker for p in probes if p.marker is not None]
    for text in refusals:
        assert not any(_has(text, m) for m in markers), text[:300]

    # 2. Part 2: only the cleared read it, on every route
    roles_of = {user: set(roles) for user, (_, roles) in ALL_PEOPLE.items()} | OTHERS
    readers = [*READERS, *OTHERS]
    await bounded([_case_reads(stack, p, user, roles_of[user]) for p in probes for user in readers])
    await bounded([_other_reads(stack, user, markers) for user in [*readers, None]])
    # nobody but the case officer has the officer's task in their inbox
    for user in readers:
        inbox = (await stack.get(user, "/tasks?limit=200")).json()["items"]
        officer_tasks = {(t["case_id"], t["kind"]) for t in inbox if t["role"] == OO.value}
        mine = {(probes[0].case_id, "submit")} if user in CASE_OFFICERS else set()
        assert {t for t in officer_tasks if t[0] == probes[0].case_id} == mine, user

    # 3. everything the rules allow succeeds, for each role allowed it
    async def take(probe: Probe, names: list[str]) -> None:
        for name in names:
            for role in sorted(ALLOWED[probe.stage][name]):
                if (probe.stage, name) in NOT_YET:
                    continue
                r = await attempt(stack, ACTORS[role], probe, name, bodies, role)
                assert r.status_code == 200, (probe.stage, name, role.value, r.text)

    async def on_probe(probe: Probe) -> None:
        await take(probe, keeps_stage(probe.stage))
        await take(probe, LAST_ON_PROBE[probe.stage])

    await asyncio.gather(
        *(on_probe(p) for p in probes), *(take(copy, group) for copy, group in copies)
    )
    await settle(stack.store)
    states = check_store(stack.store)
    expected_stage = {
        "draft": "board",
        "board": "board",
        "board on agenda": "advice",
        "board extremis": "advice",
        "advice": "chief_executive",
        "chief executive": "decision",
        "decision: interests": "decision",
        "decision: decide": "approved",
        "approved": "approved",
        "part 2 review due": "approved",
    }
    for probe in probes:
        state = states[probe.case_id]
        assert state.stage.value == expected_stage[probe.stage], probe.stage
        recorded = 0 if (probe.stage, "record_irregularity") in NOT_YET else len(ACTORS)
        assert len(state.irregularities) == recorded, probe.stage
    for copy, group in copies:
        after = {"withdraw": "withdrawn", "advice_not_required": "chief_executive"}
        assert states[copy.case_id].stage.value == after.get(group[-1].split()[0], "revision")


async def others_join(stack: Stack) -> None:
    """The people of the person dimension: another officer and a second finance adviser get
    an account; deputy.dan is lee.legal's deputy for today, and the delegation ends (it is
    revoked) before anyone reads."""
    for user, roles in OTHERS.items():
        if user not in stack.tokens:
            stack.directory.add_user(user, user.replace(".", " ").title(), sorted(roles))
            stack.tokens[user] = stack.directory.create_token(user, "tests")[1]
    today = date.today()
    made = stack.directory.delegate(
        "lee.legal", "deputy.dan", Role.LEGAL_ADVISER, today, today, "Out of office."
    )
    assert (await stack.get("deputy.dan", "/session")).status_code == 200
    stack.directory.revoke_delegation(made.id)


def sweep_cells(
    index: int, stage: str, bodies: dict[str, tuple[str, dict[str, Any]]]
) -> list[tuple[Role, str, Role | None]]:
    """The attempts the sweep makes at one stage: (role, action, the role named or None).

    Naming its own role, each role tries every action it may not take here. The sign-off
    family (sign off, not required, request changes) is tried for all five areas at the advice
    stage and by each area's own adviser; elsewhere, the stage check comes first whatever the
    area, so one area per stage (a different one at each). Naming no role, each role tries each
    action at one stage (a different one per action): the API infers the role the action
    needs, and the sign-in refuses whoever does not hold it, whatever the stage.
    """
    cells: list[tuple[Role, str, Role | None]] = []
    for role in ACTORS:
        for position, name in enumerate(bodies):
            if role in ALLOWED[stage].get(name, frozenset()) and (stage, name) not in NOT_YET:
                continue
            area = name.split()[1] if " " in name else None
            if (
                area is None
                or stage == "advice"
                or ADVISER[area] is role
                or area == AREAS[index % len(AREAS)]
            ):
                cells.append((role, name, role))
            if name not in MEETING_ACTIONS and position % len(STAGES) == index:
                cells.append((role, name, None))
    return cells


async def _case_reads(stack: Stack, probe: Probe, user: str, roles: set[Role]) -> None:
    """Everything `user` can read of the probe: Part 2 exactly when the rules clear them."""
    marker = probe.marker
    assert marker is not None
    case_id, stage = probe.case_id, probe.stage
    may = cleared(user, roles, stage, probe.acted)
    now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    for query in ("", "?version=2", f"?as_of={now}"):
        url = f"/cases/{case_id}{query}"
        r = await stack.get(user, url)
        assert r.status_code == 200, (user, url, r.text)
        assert _has(r.text, marker) is may, (stage, user, url, may)
        assert r.json()["part2_visible"] is may, (stage, user, url)
    auditor = Role.AUDITOR in roles
    for url in (f"/cases/{case_id}/events", f"/cases/{case_id}/timeline"):
        r = await stack.get(user, url)
        assert r.status_code == (200 if auditor else 403), (user, url, r.text)
        assert _has(r.text, marker) is (may and auditor), (stage, user, url)
    r = await stack.get(user, f"/cases/{case_id}/bundle")
    assert r.status_code == (200 if auditor and may else 403), (user, r.text[:200])
    assert _has(r.text, marker) is (auditor and may), (stage, user, "bundle")
    for url in (f"/cases/{case_id}/access", f"/meetings/{probe.meeting}"):
        r = await stack.get(user, url)
        assert r.status_code in (200, 403), (user, url, r.status_code, r.text[:200])
        assert not _has(r.text, marker), (stage, user, url)


async def _other_reads(stack: Stack, user: str | None, markers: list[str]) -> None:
    """The lists (tasks, cases, meetings, the register...) never carry Part 2, for anyone."""
    urls = ["/register"]
    if user is not None:
        urls += ["/tasks", "/cases", "/cases?title=Met", "/meetings", "/delegations", "/session"]
    else:
        for entry in (await stack.get(None, "/register")).json()["items"]:
            urls.append(f"/register/{entry['reference']}")
    for url in urls:
        r = await stack.get(user, url)
        assert r.status_code == 200, (user, url, r.text[:200])
        assert not any(_has(r.text, m) for m in markers), (user, url)


async def test_a_step_anyone_may_take_does_not_open_part2_to_them(stack: Stack):
    """Any person may record an irregularity on any case, and the chief executive may move
    its required-by date: neither makes them someone acting on the case, or a bogus
    irregularity would be the way round the Part 2 clearance. (It was, before the fix in
    `domain.visibility.part2_clearance`.) A drafting officer may no longer move the date."""
    marker = f"PART2-MARKER-{uuid.uuid4().hex}"
    case_id = await upload(stack, mettrace(marker))
    date_body = {"required_by": NEW_DATE, "reason": "Soon.", "role": DO.value}
    r = await act(stack, "no.body", case_id, "change_required_by", date_body)
    assert (r.status_code, r.json()["code"]) == (403, "wrong_role"), r.text
    for user, role, action, body in [
        ("aud.bob", Role.AUDITOR, "record_irregularity", {"description": "Looks odd."}),
        ("rl.ceo", CEO, "change_required_by", {"required_by": NEW_DATE, "reason": "Soon."}),
        ("clear.only", Role.PART2_CLEARANCE, "record_irregularity", {"description": "Odd."}),
    ]:
        ok(await act(stack, user, case_id, action, {**body, "role": role.value}))
        for url in (f"/cases/{case_id}", f"/cases/{case_id}?version=1"):
            r = await stack.get(user, url)
            assert r.status_code == 200 and not _has(r.text, marker), (user, url)
        if role is Role.AUDITOR:
            for url in (f"/cases/{case_id}/events", f"/cases/{case_id}/timeline"):
                r = await stack.get(user, url)
                assert r.status_code == 200 and not _has(r.text, marker), (user, url)
    # the officer who drafted it still reads it, and so does a cleared auditor
    for user in ("ollie.lane", "aud.ann"):
        assert _has((await stack.get(user, f"/cases/{case_id}")).text, marker), user
