"""`GET /cases/{id}/checks` and the checks' refusal over HTTP: a submission with an open
check is a 409 `checks_open` naming it; the officer acknowledges it (`acknowledge_check`);
every reader of the case sees the acknowledgement."""

from __future__ import annotations

from typing import Any

from tests.api.conftest import Api
from tests.factories import case_data


def mismatched() -> dict[str, Any]:
    data = case_data()
    data["money_lines"] = [{**data["money_lines"][0], "id": "M1"}]
    data["recommendations"] = [
        {"number": 1, "text": "Approve £650,000.", "covers": ["M1"], "amount": "650000"}
    ]
    return data


async def test_checks_are_read_refused_at_submission_acknowledged_and_shown(api: Api):
    r = await api.post("ollie.lane", "/cases", {"case": mismatched()})
    assert r.status_code == 201, r.text
    case_id = r.json()["case_id"]

    assert (await api.get(None, f"/cases/{case_id}/checks")).status_code == 401
    assert (await api.get("fran.fin", "/cases/case-nope/checks")).status_code == 404
    r = await api.get("fran.fin", f"/cases/{case_id}/checks")
    assert r.status_code == 200, r.text
    view = r.json()
    assert (view["case_id"], view["stage"], view["open"]) == (case_id, "draft", 1)
    [check] = view["checks"]
    assert (check["kind"], check["severity"], check["open"]) == (
        "recommendation",
        "acknowledge",
        True,
    )
    assert check["acknowledgement"] is None
    assert "Recommendation 1 states £650,000" in check["message"]

    r = await api.post("ollie.lane", f"/cases/{case_id}/actions/submit", {})
    assert r.status_code == 409 and r.json()["code"] == "checks_open", r.text
    assert check["key"] in r.json()["detail"]

    r = await api.post(
        "ollie.lane",
        f"/cases/{case_id}/actions/acknowledge_check",
        {"check": "figures:0123456789ab", "reason": "Nothing."},
    )
    assert r.status_code == 422 and r.json()["code"] == "invalid", r.text
    r = await api.post(
        "ollie.lane",
        f"/cases/{case_id}/actions/acknowledge_check",
        {"check": "not a key", "reason": "Nothing."},
    )
    assert r.status_code == 422 and r.json()["detail"].startswith("check"), r.text
    reason = "The contingency is held in the reserve."
    r = await api.post(
        "ollie.lane",
        f"/cases/{case_id}/actions/acknowledge_check",
        {"check": check["key"], "reason": reason},
    )
    assert r.status_code == 200, r.text

    view = (await api.get("fran.fin", f"/cases/{case_id}/checks")).json()
    assert view["open"] == 0
    ack = view["checks"][0]["acknowledgement"]
    assert (ack["by"], ack["reason"], ack["message"]) == ("ollie.lane", reason, check["message"])

    r = await api.post("ollie.lane", f"/cases/{case_id}/actions/submit", {})
    assert r.status_code == 200, r.text
    view = (await api.get("fran.fin", f"/cases/{case_id}/checks")).json()
    assert view["stage"] == "board" and view["checks"][0]["acknowledgement"]["reason"] == reason
