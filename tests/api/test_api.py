"""The HTTP API end to end: sign-in, roles, refusals, Part 2 clearance, the public register."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from domain.clock import london_date
from domain.roles import Role
from tests.api.conftest import Api
from tests.services.projections.stories import Story, required_by

METTRACE = (Path(__file__).resolve().parents[2] / "examples" / "mettrace.yaml").read_text()
PART2_TEXT = "held separately"  # a phrase of the MetTrace example's Part 2 placeholder


async def _upload(api: Api, user: str = "ollie.lane", text: str = METTRACE) -> str:
    response = await api.http.post(
        "/cases/upload",
        content=text,
        headers={**api.auth(user), "Content-Type": "text/plain"},
        params={"filename": "mettrace.yaml"},
    )
    assert response.status_code == 201, response.text
    return str(response.json()["case_id"])


async def _through_board(api: Api, case_id: str, meeting: str = "IAB-1") -> None:
    assert (await api.post("ollie.lane", f"/cases/{case_id}/actions/submit", {})).status_code == 200
    today = (await api.env.get_current_time()).date().isoformat()
    r = await api.post(
        "sam.sec", "/meetings", {"meeting_id": meeting, "board": "IAB", "meeting_date": today}
    )
    assert r.status_code == 201, r.text
    r = await api.post("sam.sec", f"/meetings/{meeting}/cases", {"case_id": case_id})
    assert r.status_code == 200, r.text
    r = await api.post(
        "sam.sec", f"/meetings/{meeting}/advice", {"case_id": case_id, "advice": "supported"}
    )
    assert r.status_code == 200, r.text


async def test_sign_in_is_required_except_for_the_register_and_health(api: Api):
    assert (await api.http.get("/cases")).status_code == 401
    r = await api.http.get("/tasks", headers={"Authorization": "Bearer rat_nope_nope"})
    assert r.status_code == 401 and "unknown, revoked or expired" in r.json()["detail"]
    assert (await api.http.get("/register")).status_code == 200
    assert (await api.http.get("/healthz")).json() == {"status": "ok"}
    ready = await api.http.get("/readyz")
    assert ready.status_code == 200 and ready.json() == {"database": "ok", "temporal": "ok"}
    assert (
        "/cases/{case_id}/actions/{action}" in (await api.http.get("/openapi.json")).json()["paths"]
    )


async def test_a_bad_case_file_is_refused_with_the_field_and_nothing_is_started(api: Api):
    bad = METTRACE.replace("title: Met Trace", "titel: Met Trace")
    r = await api.http.post(
        "/cases/upload",
        content=bad,
        params={"filename": "x.yaml"},
        headers={**api.auth("ollie.lane"), "Content-Type": "text/plain"},
    )
    assert r.status_code == 422
    assert "extra field 'titel' is not allowed" in r.json()["detail"]
    assert api.store.read_all() == []
    # only an originating officer may create a case
    r = await api.http.post(
        "/cases/upload",
        content=METTRACE,
        params={"filename": "x.yaml"},
        headers={**api.auth("fran.fin"), "Content-Type": "text/plain"},
    )
    assert r.status_code == 403 and "originating_officer" in r.json()["detail"]


async def test_an_officer_submits_mettrace_and_approvers_act_from_their_inbox(api: Api):
    case_id = await _upload(api)
    await _through_board(api, case_id)
    inbox = (await api.get("fran.fin", "/tasks")).json()
    assert [(t["case_id"], t["kind"], t["area"]) for t in inbox["items"]] == [
        (case_id, "sign_off", "finance")
    ]
    assert (inbox["total"], inbox["more"], inbox["next"]) == (1, 0, None)
    # wrong role: a legal adviser cannot give finance advice
    r = await api.post(
        "lee.legal",
        f"/cases/{case_id}/actions/sign_off",
        {"area": "finance", "role": "legal_adviser"},
    )
    assert r.status_code == 403 and "only the finance adviser" in r.json()["detail"]
    # stale: acting on a version of the case the person no longer sees
    version = (await api.get("fran.fin", f"/cases/{case_id}")).json()["version"]
    r = await api.post(
        "fran.fin",
        f"/cases/{case_id}/actions/sign_off",
        {"area": "finance", "expected_version": version - 1},
    )
    assert r.status_code == 409 and r.json()["code"] == "stale"
    assert r.json()["state"]["version"] == version
    r = await api.post(
        "fran.fin",
        f"/cases/{case_id}/actions/sign_off",
        {"area": "finance", "expected_version": version},
    )
    assert r.status_code == 200 and r.json()["events"][0]["event_type"] == "advice.signed_off"
    # the same sign-off again is refused, naming the rule
    r = await api.post("fran.fin", f"/cases/{case_id}/actions/sign_off", {"area": "finance"})
    assert r.status_code == 409 and r.json()["code"] == "already_done"
    assert r.json()["state"]["signoffs"]["finance"]["status"] == "signed_off"
    for user, area in [
        ("lee.legal", "legal"),
        ("cat.com", "commercial"),
        ("eve.eq", "equalities"),
        ("ian.ia", "information_assurance"),
    ]:
        r = await api.post(user, f"/cases/{case_id}/actions/sign_off", {"area": area})
        assert r.status_code == 200, r.text
    assert (
        await api.post("rl.ceo", f"/cases/{case_id}/actions/consult_chief_executive", {})
    ).status_code == 200
    r = await api.post("sl.dmpc", f"/cases/{case_id}/actions/decide", {"approve": True})
    assert r.status_code == 422 and r.json()["code"] == "interests_not_declared"
    assert (
        await api.post(
            "sl.dmpc", f"/cases/{case_id}/actions/declare_interests", {"has_interest": False}
        )
    ).status_code == 200
    r = await api.post("sl.dmpc", f"/cases/{case_id}/actions/decide", {"approve": True})
    assert r.status_code == 200, r.text
    await api.env.sleep(timedelta(seconds=5))  # Part 1 is published by the workflow
    listed = (await api.get(None, "/register")).json()
    register = listed["items"]
    assert [e["title"] for e in register] == ["Met Trace"] and listed["next"] is None
    # the list shows the summary; the entry has the papers
    assert register[0]["executive_summary"].startswith("MetTrace")
    entry = (await api.get(None, f"/register/{register[0]['reference']}")).json()
    assert entry["executive_summary"].startswith("MetTrace is the MPS flagship")
    assert PART2_TEXT not in str(listed) and entry.get("part2_text") is None
    # the whole of Part 1, who decided by name, and a notice of Part 2 without its text
    assert PART2_TEXT not in str(entry) and entry["papers"]["part2"]["foi_exemptions"]
    assert "Legal comments" in [s["heading"] for s in entry["papers"]["sections"]]
    assert entry["decision_maker_name"] == register[0]["decision_maker_name"] == "Sophie Linden"
    # MetTrace's Part 2 ceased to be exempt on 01/04/2024: its review is due at once
    r = await api.post(
        "fran.fin",
        f"/cases/{case_id}/actions/review_part2",
        {"outcome": "publish", "reason": "The contract is complete."},
    )
    assert r.status_code == 403
    r = await api.post(
        "pat.pub",
        f"/cases/{case_id}/actions/review_part2",
        {"outcome": "publish", "reason": "The contract is complete."},
    )
    assert r.status_code == 200, r.text
    assert r.json()["events"][0]["event_type"] == "part2.published"
    entry = (await api.get(None, f"/register/{register[0]['reference']}")).json()
    assert PART2_TEXT in entry["part2_text"]


async def test_part2_is_shown_only_to_those_cleared_for_it(api: Api):
    case_id = await _upload(api)
    outsider = (await api.get("no.body", f"/cases/{case_id}")).json()
    assert outsider["part2_exists"] and not outsider["part2_visible"]
    assert outsider["case"]["part2"] is None and PART2_TEXT not in str(outsider)
    auditor = (await api.get("aud.ann", f"/cases/{case_id}")).json()
    assert auditor["part2_visible"] and PART2_TEXT in auditor["case"]["part2"]["content"]
    officer = (await api.get("ollie.lane", f"/cases/{case_id}")).json()
    assert officer["part2_visible"]  # the officer drafted it
    r = await api.get("no.body", f"/cases/{case_id}/events")
    assert r.status_code == 403
    events = (await api.get("aud.ann", f"/cases/{case_id}/events")).json()
    assert [e["type"] for e in events] == ["case.drafted"] and len(events[0]["hash"]) == 64


async def test_a_deputy_acts_for_the_principal_and_the_history_shows_both(api: Api):
    case_id = await _upload(api)
    await _through_board(api, case_id, "IAB-2")
    today = london_date(datetime.now(UTC))
    api.directory.delegate(
        "lee.legal",
        "cat.com",
        Role.LEGAL_ADVISER,
        today,
        today + timedelta(days=7),
        "Annual leave",
    )
    tasks = (await api.get("cat.com", "/tasks")).json()["items"]
    assert {t["area"] for t in tasks} >= {"commercial", "legal"}
    r = await api.post(
        "cat.com", f"/cases/{case_id}/actions/sign_off", {"area": "legal", "role": "legal_adviser"}
    )
    assert r.status_code == 200, r.text
    last = api.store.read_stream(case_id)[-1]
    assert (last.actor_id, last.metadata) == ("cat.com", {"on_behalf_of": "lee.legal"})


async def test_bad_actions_get_clear_errors(api: Api):
    case_id = await _upload(api)
    r = await api.post("ollie.lane", f"/cases/{case_id}/actions/teleport", {})
    assert r.status_code == 404 and "no action 'teleport'" in r.json()["detail"]
    r = await api.post("ollie.lane", f"/cases/{case_id}/actions/withdraw", {"reason": ""})
    assert r.status_code == 422 and r.json()["detail"].startswith("reason")
    r = await api.post("ollie.lane", "/cases/case-nope/actions/submit", {})
    assert r.status_code == 404
    assert (await api.get("ollie.lane", "/cases/case-nope")).status_code == 404


async def _upload_text(api: Api, text: str) -> tuple[int, str]:
    r = await api.http.post(
        "/cases/upload",
        content=text,
        params={"filename": "bad.yaml"},
        headers={**api.auth("ollie.lane"), "Content-Type": "text/plain"},
    )
    return r.status_code, r.json()["detail"] if r.status_code != 201 else ""


async def test_bad_case_files_name_the_field_and_rule_and_store_nothing(api: Api):
    cases = {
        "malformed YAML": (
            METTRACE.replace("title: Met Trace", "title: [Met Trace"),
            "not valid YAML",
        ),
        "negative amount": (
            METTRACE.replace("amount: 1120000", "amount: -1120000", 1),
            "an amount cannot be negative",
        ),
        "absurd amount": (
            METTRACE.replace("amount: 1120000", "amount: 99000000000", 1),
            "cannot exceed",
        ),
        "dates in the wrong order": (
            METTRACE.replace(
                "\npart2:",
                "\ntime_sensitivity: {required_by: 2019-12-13, reason: Funding}\n"
                "part1_deferral: {until: 2019-12-01, reason: Tender open}\npart2:",
                1,
            ),
            "part1_deferral.until is before time_sensitivity.required_by",
        ),
    }
    for name, (text, rule) in cases.items():
        assert text != METTRACE, f"the {name} edit did not apply"
        status, detail = await _upload_text(api, text)
        assert status == 422, name
        assert rule in detail, (name, detail)
    assert api.store.read_all() == []
    # an action body with a field of the wrong kind
    case_id = await _upload(api)
    r = await api.post(
        "ollie.lane",
        f"/cases/{case_id}/actions/change_required_by",
        {"required_by": "someday", "reason": "x"},
    )
    assert r.status_code == 422 and "required_by" in r.json()["detail"]
    assert len(api.store.read_stream(case_id)) == 1


async def test_a_case_file_that_is_neither_yaml_nor_json_is_refused(api: Api):
    r = await api.http.post(
        "/cases/upload",
        content=METTRACE,
        params={"filename": "case.docx"},
        headers={**api.auth("ollie.lane"), "Content-Type": "text/plain"},
    )
    assert r.status_code == 422 and r.json()["detail"].startswith("filename:")


async def test_a_duplicate_case_or_meeting_id_is_a_conflict(api: Api):
    case_id = await _upload(api)
    r = await api.http.post(
        "/cases/upload",
        content=METTRACE,
        params={"filename": "m.yaml", "case_id": case_id},
        headers={**api.auth("ollie.lane"), "Content-Type": "text/plain"},
    )
    assert r.status_code == 409 and r.json()["code"] == "exists"
    body = {"meeting_id": "IAB-dup", "board": "IAB", "meeting_date": "2030-01-01"}
    assert (await api.post("sam.sec", "/meetings", body)).status_code == 201
    r = await api.post("sam.sec", "/meetings", body)
    assert r.status_code == 409 and "exists" in r.json()["detail"]


async def test_the_id_of_a_finished_case_or_meeting_is_never_used_again(api: Api):
    """A case withdrawn (its workflow finished) keeps its id: sending the case file again
    under it is a 409, not a 201 with a workflow run that fails to draft over the stored
    case."""
    case_id = await _upload(api)
    r = await api.post("ollie.lane", f"/cases/{case_id}/actions/withdraw", {"reason": "Done."})
    assert r.status_code == 200, r.text
    handle = api.env.client.get_workflow_handle(case_id)
    await handle.result()  # the decision workflow has ended
    before = api.store.last_position()
    r = await api.http.post(
        "/cases/upload",
        content=METTRACE,
        params={"filename": "m.yaml", "case_id": case_id},
        headers={**api.auth("ollie.lane"), "Content-Type": "text/plain"},
    )
    assert r.status_code == 409
    assert r.json()["detail"] == f"case {case_id} already exists: it is withdrawn"
    described = await api.env.client.get_workflow_handle(case_id).describe()
    assert described.status is not None and described.status.name == "COMPLETED"
    assert api.store.last_position() == before


async def test_a_malformed_body_is_a_422_naming_the_field(api: Api):
    r = await api.http.post("/cases", json={"case": {"title": "x"}}, headers=api.auth("ollie.lane"))
    assert r.status_code == 422 and r.json()["code"] == "invalid"
    assert "case.executive_summary: Field required" in r.json()["detail"]


async def test_a_person_delegates_their_own_role_while_out_of_office(api: Api):
    today = london_date(datetime.now(UTC))
    body = {
        "deputy_id": "cat.com",
        "role": "legal_adviser",
        "reason": "Annual leave",
        "starts_on": today.isoformat(),
        "ends_on": (today + timedelta(days=5)).isoformat(),
    }
    r = await api.post("fran.fin", "/delegations", body)  # fran does not hold the legal role
    assert r.status_code in (403, 422) and "legal_adviser" in r.json()["detail"]
    r = await api.post("lee.legal", "/delegations", {**body, "ends_on": "2000-01-01"})
    assert r.status_code == 422 and "ends_on" in r.json()["detail"]
    r = await api.post("lee.legal", "/delegations", body)
    assert r.status_code == 201, r.text
    mine = (await api.get("cat.com", "/delegations")).json()
    assert [(d["principal_id"], d["role"]) for d in mine] == [("lee.legal", "legal_adviser")]


async def test_clearance_cannot_be_handed_on_and_a_delegation_is_bounded(api: Api):
    """A cleared auditor cannot share their clearance or their auditor role; a delegation
    starts today or later and lasts at most 90 days (RATIFY_DELEGATION_MAX_DAYS)."""
    today = london_date(datetime.now(UTC))
    body = {
        "deputy_id": "aud.bob",
        "role": "part2_clearance",
        "reason": "Sharing",
        "starts_on": today.isoformat(),
        "ends_on": (today + timedelta(days=5)).isoformat(),
    }
    r = await api.post("aud.ann", "/delegations", body)
    assert r.status_code == 422
    assert r.json()["detail"] == (
        "role: part2_clearance is granted by an administrator only and cannot be delegated"
    )
    r = await api.post(
        "aud.ann", "/delegations", {**body, "deputy_id": "cat.com", "role": "auditor"}
    )
    assert r.status_code == 422 and "auditor is granted by an administrator only" in r.text
    legal = {**body, "deputy_id": "cat.com", "role": "legal_adviser"}
    r = await api.post(
        "lee.legal", "/delegations", {**legal, "starts_on": str(today - timedelta(days=1))}
    )
    assert r.status_code == 422 and "starts_on: a delegation cannot start in the past" in r.text
    r = await api.post(
        "lee.legal", "/delegations", {**legal, "ends_on": str(today + timedelta(days=90))}
    )
    assert r.status_code == 422 and "ends_on: a delegation lasts at most 90 days" in r.text
    assert (await api.get("aud.bob", "/delegations")).json() == []
    assert (await api.get("cat.com", "/delegations")).json() == []


# -- pages of the register and the inbox ---------------------------------------------------


def _published(api: Api, n: int, title: str = "") -> str:
    """Decision n, published n days after 6 January 2020 (events written as the workflow
    would, straight to the store; the API reads the projection)."""
    start = datetime(2020, 1, 6, 9, tzinfo=UTC) + timedelta(days=n)
    story = Story(api.store, f"dec-{n:02}", start=start, title=title or f"Decision {n}")
    story.to_advice().sign_all().approve(f"PCD {800 + n}").publish_part1()
    return f"PCD {800 + n}"


def _refs(page: dict[str, Any]) -> list[str]:
    return [e["reference"] for e in page["items"]]


async def test_register_page_two_follows_page_one_while_decisions_are_published(api: Api):
    for n in range(1, 6):
        _published(api, n)
    first = (await api.get(None, "/register?limit=2")).json()
    assert _refs(first) == ["PCD 805", "PCD 804"] and first["next"]
    # two more decisions are published before the person asks for page 2
    _published(api, 6)
    _published(api, 7)
    second = (await api.get(None, "/register", params={"limit": 2, "cursor": first["next"]})).json()
    assert _refs(second) == ["PCD 803", "PCD 802"]  # nothing repeated, nothing skipped
    third = (await api.get(None, "/register", params={"limit": 2, "cursor": second["next"]})).json()
    assert _refs(third) == ["PCD 801"] and third["next"] is None
    fresh = (await api.get(None, "/register?limit=2")).json()
    assert _refs(fresh) == ["PCD 807", "PCD 806"]
    item = fresh["items"][0]
    assert set(item) == {
        "case_id",
        "reference",
        "title",
        "date_signed",
        "decision_maker",
        "published_at",
        "part2_published_at",
        "executive_summary",
        "decided_by",
        "decision_maker_name",
    }
    # 50 a page unless asked
    assert len((await api.get(None, "/register")).json()["items"]) == 7


async def test_the_register_is_searched_by_reference_title_and_date_signed(api: Api):
    _published(api, 1, "Body Worn Video Renewal")
    _published(api, 2, "Data Environment Solution")
    _published(api, 3, "Body Worn Video Training")

    async def search(**params: str) -> list[str]:
        r = await api.get(None, "/register", params=params)
        assert r.status_code == 200, r.text
        return _refs(r.json())

    assert await search(title="worn VIDEO") == ["PCD 803", "PCD 801"]
    assert await search(reference="pcd 802") == ["PCD 802"]
    signed = {
        e["reference"]: e["date_signed"] for e in (await api.get(None, "/register")).json()["items"]
    }
    assert await search(signed_from=signed["PCD 802"]) == ["PCD 803", "PCD 802"]
    assert await search(signed_to=signed["PCD 802"], title="video") == ["PCD 801"]
    assert await search(title="zebra") == []


async def test_the_inbox_shows_the_most_urgent_first_and_how_many_more(api: Api):
    for case_id, due in [("late", "2020-02-28"), ("soon", "2019-12-13"), ("mid", "2020-01-31")]:
        Story(api.store, case_id, time_sensitivity=required_by(due)).to_advice()
    Story(api.store, "undated").to_advice()
    first = (await api.get("fran.fin", "/tasks?limit=2")).json()
    assert [(t["case_id"], t["due"]) for t in first["items"]] == [
        ("soon", "2019-12-13"),
        ("mid", "2020-01-31"),
    ]
    assert (first["total"], first["more"]) == (4, 2) and first["next"]
    rest = (await api.get("fran.fin", "/tasks", params={"cursor": first["next"]})).json()
    assert [(t["case_id"], t["due"]) for t in rest["items"]] == [
        ("late", "2020-02-28"),
        ("undated", None),
    ]
    assert (rest["total"], rest["more"], rest["next"]) == (4, 0, None)
    assert (await api.get("no.body", "/tasks")).json() == {
        "items": [],
        "total": 0,
        "more": 0,
        "next": None,
    }


async def test_bad_cursors_and_limits_get_a_422_naming_the_parameter(api: Api):
    for n in range(1, 4):
        _published(api, n)
    Story(api.store, "waiting").to_advice()
    Story(api.store, "waiting-too").to_advice()
    register_next = (await api.get(None, "/register?limit=1")).json()["next"]
    tasks_next = (await api.get("fran.fin", "/tasks?limit=1")).json()["next"]
    cases_next = (await api.get("fran.fin", "/cases?limit=1")).json()["next"]
    refused = [
        (None, "/register", {"cursor": "not-a-cursor"}, "cursor: not a cursor of this list"),
        (None, "/register", {"cursor": tasks_next}, "cursor: not a cursor of this list"),
        (None, "/register", {"cursor": "x" * 2000}, "query.cursor: String should have at most"),
        (None, "/register", {"limit": 0}, "query.limit: Input should be greater than or equal"),
        (None, "/register", {"limit": 201}, "query.limit: Input should be less than or equal"),
        (None, "/register", {"limit": "many"}, "query.limit: Input should be a valid integer"),
        (None, "/register", {"signed_from": "2020-02-01", "signed_to": "2020-01-01"}, "signed_to:"),
        (None, "/register", {"signed_from": "13/12/2019"}, "query.signed_from: Input should be"),
        ("fran.fin", "/tasks", {"cursor": register_next}, "cursor: not a cursor of this list"),
        ("fran.fin", "/tasks", {"limit": 500}, "query.limit: Input should be less than or equal"),
        ("fran.fin", "/cases", {"cursor": tasks_next}, "cursor: not a cursor of this list"),
        ("fran.fin", "/cases", {"limit": 501}, "query.limit: Input should be less than or equal"),
        ("fran.fin", "/cases", {"cursor": cases_next, "offset": 1}, "offset: give a cursor or"),
        ("fran.fin", "/cases", {"offset": -1}, "query.offset: Input should be greater than"),
    ]
    for user, url, params, message in refused:
        r = await api.get(user, url, params=params)
        assert r.status_code == 422, (url, params, r.text)
        assert r.json()["code"] == "invalid", (url, params)
        assert r.json()["detail"].startswith(message), (url, params, r.json()["detail"])


async def test_the_case_search_comes_a_page_at_a_time(api: Api):
    for n in range(3):
        Story(api.store, f"draft-{n}", start=datetime(2020, 1, 6 + n, 9, tzinfo=UTC)).draft()
    first = (await api.get("ollie.lane", "/cases?limit=2")).json()
    assert [c["case_id"] for c in first["items"]] == ["draft-2", "draft-1"]
    rest = (
        await api.get("ollie.lane", "/cases", params={"limit": 2, "cursor": first["next"]})
    ).json()
    assert [c["case_id"] for c in rest["items"]] == ["draft-0"] and rest["next"] is None
    old_style = (await api.get("ollie.lane", "/cases?limit=1&offset=1")).json()  # still taken
    assert [c["case_id"] for c in old_style["items"]] == ["draft-1"]
    assert old_style["next"] is not None


async def test_a_step_sent_again_with_its_idempotency_key_gets_the_first_outcome(api: Api):
    """A retry after a lost answer (timeout, dropped connection, double click) is one step:
    the same key gets the first attempt's result, not a refusal and not a second event."""
    case_id = await _upload(api)
    await _through_board(api, case_id)
    url = f"/cases/{case_id}/actions/sign_off"
    key = {"Idempotency-Key": "7f9c2ba4-e88f-4e1d-8bd3-0b2c1f6b1a11"}
    first = await api.http.post(
        url, json={"area": "finance"}, headers={**api.auth("fran.fin"), **key}
    )
    assert first.status_code == 200, first.text
    again = await api.http.post(
        url, json={"area": "finance"}, headers={**api.auth("fran.fin"), **key}
    )
    assert again.status_code == 200, again.text
    assert again.json() == first.json()
    stored = [r for r in api.store.read_stream(case_id) if r.event_type == "advice.signed_off"]
    assert len(stored) == 1
    # without the key, sending it again is a new attempt: refused, naming the rule
    r = await api.post("fran.fin", url, {"area": "finance"})
    assert r.status_code == 409 and r.json()["code"] == "already_done"
    # the same key with another action is that action's own attempt, not the first's result
    r = await api.http.post(
        url,
        json={"area": "finance", "comment": "Changed my mind about the wording."},
        headers={**api.auth("fran.fin"), **key},
    )
    assert r.status_code == 409 and r.json()["code"] == "already_done"
    # a key is the person's own: someone else's identical key is their own new attempt
    r = await api.http.post(
        f"/cases/{case_id}/actions/sign_off",
        json={"area": "legal"},
        headers={**api.auth("lee.legal"), **key},
    )
    assert r.status_code == 200 and r.json()["version"] == first.json()["version"] + 1
    # a malformed key is refused before anything is sent, naming the header
    r = await api.http.post(
        url,
        json={"area": "commercial"},
        headers={**api.auth("cat.com"), "Idempotency-Key": "not a key!"},
    )
    assert r.status_code == 422 and r.json()["detail"].startswith("Idempotency-Key:")
    assert len(api.store.read_stream(case_id)) == first.json()["version"] + 1


async def test_delegations_do_not_chain_past_their_limit_and_either_side_ends_one(api: Api):
    """Back-to-back delegations of one role to one deputy would chain past the 90 days; one
    runs at a time, and it starts within 90 days. The principal (or the deputy) ends it."""
    today = london_date(datetime.now(UTC))
    body = {
        "deputy_id": "cat.com",
        "role": "legal_adviser",
        "reason": "Leave",
        "starts_on": today.isoformat(),
        "ends_on": (today + timedelta(days=89)).isoformat(),
    }
    r = await api.post("lee.legal", "/delegations", body)
    assert r.status_code == 201, r.text
    first = r.json()["id"]
    later = {
        **body,
        "starts_on": str(today + timedelta(days=90)),
        "ends_on": str(today + timedelta(days=179)),
    }
    r = await api.post("lee.legal", "/delegations", later)
    assert r.status_code == 422, r.text
    assert r.json()["detail"].startswith(
        "deputy: cat.com already deputises for lee.legal as legal_adviser until "
    )
    far = {
        **body,
        "starts_on": str(today + timedelta(days=91)),
        "ends_on": str(today + timedelta(days=92)),
    }
    r = await api.post("fran.fin", "/delegations", {**far, "role": "finance_adviser"})
    assert r.status_code == 422 and "starts_on: a delegation starts within 90 days" in r.text
    # another person cannot end it; the principal can, and then a new one may be made
    r = await api.http.delete(f"/delegations/{first}", headers=api.auth("fran.fin"))
    assert r.status_code == 404, r.text
    r = await api.http.delete("/delegations/not-an-id", headers=api.auth("lee.legal"))
    assert r.status_code == 422
    r = await api.http.delete(f"/delegations/{first}", headers=api.auth("lee.legal"))
    assert r.status_code == 200 and r.json()["revoked_at"], r.text
    r = await api.post("lee.legal", "/delegations", body)
    assert r.status_code == 201, r.text
