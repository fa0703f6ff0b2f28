"""Part 2 is need-to-know by person, officers act only on their own cases, and one person
takes one part in a case: through the API, as a user notices it.

Before the fix every originating officer read every draft's Part 2 (the draft's task was
held by the role), saw its task in their inbox, and could submit or withdraw it.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta

from domain.roles import Role
from tests.api.conftest import Api
from tests.faults.helpers import SIGNOFFS, act, mettrace, ok, settle, through_board, upload

OO = Role.ORIGINATING_OFFICER


def person(api: Api, user_id: str, *roles: Role) -> str:
    api.directory.add_user(user_id, user_id.replace(".", " ").title(), list(roles))
    api.tokens[user_id] = api.directory.create_token(user_id, "tests")[1]
    return user_id


async def reads_part2(api: Api, user: str, case_id: str, marker: str) -> bool:
    r = await api.get(user, f"/cases/{case_id}")
    assert r.status_code == 200, r.text
    visible = bool(r.json()["part2_visible"])
    assert (marker in r.text) is visible, (user, r.text[:300])
    return visible


async def task_kinds(api: Api, user: str, case_id: str) -> list[str]:
    r = await api.get(user, "/tasks")
    assert r.status_code == 200, r.text
    return [t["kind"] for t in r.json()["items"] if t["case_id"] == case_id]


async def test_another_officer_neither_reads_nor_sees_nor_acts_on_a_draft_or_revision(api: Api):
    olga = person(api, "olga.other", OO)
    marker = f"PART2-{uuid.uuid4().hex}"
    case_id = await upload(api, mettrace(marker))
    assert await reads_part2(api, "ollie.lane", case_id, marker)
    assert not await reads_part2(api, olga, case_id, marker)
    assert await task_kinds(api, "ollie.lane", case_id) == ["submit"]
    assert await task_kinds(api, olga, case_id) == []
    before = await settle(api.store)
    for action, body in [
        ("submit", {}),
        ("withdraw", {"reason": "Not mine."}),
        ("change_required_by", {"required_by": "2099-01-01", "reason": "Later."}),
    ]:
        r = await act(api, olga, case_id, action, body)
        assert r.status_code == 403, (action, r.text)
        assert r.json()["code"] == "not_case_officer", r.text
        assert "only the case's own officers (ollie.lane)" in r.json()["detail"]
        assert marker not in r.text
    assert api.store.last_position() == before, "a refused step wrote something"

    # sent back for changes: the revision is the case officers' too
    await through_board(api, [case_id], f"M-{case_id}")
    ok(
        await act(
            api, "lee.legal", case_id, "request_changes", {"area": "legal", "reasons": ["More."]}
        )
    )
    assert await task_kinds(api, "ollie.lane", case_id) == ["revise"]
    assert await task_kinds(api, olga, case_id) == []
    assert await reads_part2(api, "ollie.lane", case_id, marker)
    assert not await reads_part2(api, olga, case_id, marker)
    case = (await api.get("ollie.lane", f"/cases/{case_id}")).json()["case"]
    r = await act(api, olga, case_id, "revise", {"case": case})
    assert (r.status_code, r.json()["code"]) == (403, "not_case_officer"), r.text
    r = await act(api, olga, case_id, "withdraw", {"reason": "Not mine."})
    assert (r.status_code, r.json()["code"]) == (403, "not_case_officer"), r.text


async def test_a_co_officer_and_a_deputy_of_the_officer_share_the_case(api: Api):
    cora = person(api, "cora.co", OO)
    marker = f"PART2-{uuid.uuid4().hex}"
    text = mettrace(marker).replace("board:\n", "co_officers: [cora.co]\nboard:\n", 1)
    case_id = await upload(api, text)
    assert await reads_part2(api, cora, case_id, marker)
    assert await task_kinds(api, cora, case_id) == ["submit"]
    # a deputy the officer named today sees the officer's tasks and may act on them
    dan = person(api, "dan.deputy", Role.DRAFTING_OFFICER)
    today = date.today()
    r = await api.post(
        "ollie.lane",
        "/delegations",
        {
            "deputy_id": dan,
            "role": OO.value,
            "starts_on": today.isoformat(),
            "ends_on": (today + timedelta(days=2)).isoformat(),
            "reason": "Leave.",
        },
    )
    assert r.status_code == 201, r.text
    assert await task_kinds(api, dan, case_id) == ["submit"]
    assert await reads_part2(api, dan, case_id, marker)
    ok(await act(api, cora, case_id, "submit"))


async def test_advisers_read_while_their_advice_is_open_and_after_they_acted_only(api: Api):
    fred = person(api, "fred.fin", Role.FINANCE_ADVISER)
    dan = person(api, "dan.legaldep", Role.DRAFTING_OFFICER)
    marker = f"PART2-{uuid.uuid4().hex}"
    case_id = await upload(api, mettrace(marker))
    await through_board(api, [case_id], f"M-{case_id}")
    # while finance advice is open, both finance advisers read it
    assert await reads_part2(api, fred, case_id, marker)
    ok(await act(api, "fran.fin", case_id, "sign_off", {"area": "finance"}))
    # fran signed off: she keeps reading it; her colleague, who holds no task, no longer does
    assert await reads_part2(api, "fran.fin", case_id, marker)
    assert not await reads_part2(api, fred, case_id, marker)
    # a deputy for legal reads it while the delegation runs, not once it has ended
    made = api.directory.delegate(
        "lee.legal", dan, Role.LEGAL_ADVISER, date.today(), date.today(), "Out of office."
    )
    assert await reads_part2(api, dan, case_id, marker)
    api.directory.revoke_delegation(made.id)
    assert not await reads_part2(api, dan, case_id, marker)
    # the access log keeps every read, with its basis
    r = await api.get("aud.ann", f"/cases/{case_id}/access")
    bases = {(e["user_id"], e["basis"]) for e in r.json() if e.get("basis")}
    assert ("fran.fin", "acted on the case") in bases
    assert (fred, "open task as finance adviser") in bases


async def test_one_person_cannot_advise_and_confirm_the_same_case(api: Api):
    dee = person(api, "dee.dual", Role.COMMERCIAL_ADVISER, Role.CHIEF_EXECUTIVE)
    case_id = await upload(api, mettrace())
    await through_board(api, [case_id], f"M-{case_id}")
    for user, area in SIGNOFFS:
        ok(
            await act(
                api, dee if area == "commercial" else user, case_id, "sign_off", {"area": area}
            )
        )
    before = await settle(api.store)
    r = await act(api, dee, case_id, "consult_chief_executive", {"role": "chief_executive"})
    assert r.status_code == 403, r.text
    assert r.json()["code"] == "separation_of_duties"
    assert "dee.dual signed off commercial advice on this case on" in r.json()["detail"]
    assert "may not act on it as chief executive" in r.json()["detail"]
    assert api.store.last_position() == before
    ok(await act(api, "rl.ceo", case_id, "consult_chief_executive"))


async def test_co_officers_must_be_originating_officers_and_a_refusal_writes_nothing(api: Api):
    before = await settle(api.store)
    for named in ("no.such.person", "fran.fin"):
        text = mettrace().replace("board:\n", f"co_officers: [{named}]\nboard:\n", 1)
        r = await api.http.post(
            "/cases/upload",
            content=text,
            params={"filename": "mettrace.yaml"},
            headers={**api.auth("ollie.lane"), "Content-Type": "text/plain"},
        )
        assert r.status_code == 422, r.text
        assert r.json()["detail"].startswith(f"co_officers.0: '{named}' is not an active user")
    r = await api.http.post(
        "/cases/upload",
        content=mettrace().replace("board:\n", "co_officers: [Not An Id]\nboard:\n", 1),
        params={"filename": "mettrace.yaml"},
        headers={**api.auth("ollie.lane"), "Content-Type": "text/plain"},
    )
    assert r.status_code == 422 and "co_officers.0" in r.text, r.text
    assert api.store.last_position() == before


async def test_the_decision_makers_role_is_not_delegated_to_someone_who_acted_on_an_open_case(
    api: Api,
):
    """An adviser who signed off an open case cannot become the DMPC's deputy: they would
    decide a case they advised on. Someone who has not acted on it can."""
    case_id = await upload(api, mettrace())
    await through_board(api, [case_id], f"M-{case_id}")
    ok(await act(api, "fran.fin", case_id, "sign_off", {"area": "finance"}))
    api.projector.catch_up()
    today = date.today()
    body = {
        "deputy_id": "fran.fin",
        "role": "dmpc",
        "reason": "Out of office.",
        "starts_on": today.isoformat(),
        "ends_on": (today + timedelta(days=3)).isoformat(),
    }
    r = await api.post("sl.dmpc", "/delegations", body)
    assert r.status_code == 403, r.text
    assert r.json()["detail"] == (
        "deputy: fran.fin has acted on open cases in another role and may not take their "
        f"decision as dmpc (separation of duties): {case_id} (as finance adviser)"
    )
    assert (await api.get("sl.dmpc", "/delegations")).json() == []
    # a finance adviser may still deputise in their own kind of role, and someone who has
    # not acted on the case may take the DMPC's
    clean = person(api, "dora.deputy", Role.DRAFTING_OFFICER)
    r = await api.post("sl.dmpc", "/delegations", {**body, "deputy_id": clean})
    assert r.status_code == 201, r.text
