"""A step taken on paper through the API: a records officer records the DMPC's signature
for them (`on_paper`), judged by the DMPC's role on its date; the DMPC disputes it, after
the case has closed; auditors see the dispute on the timeline."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from domain.clock import london_date
from domain.roles import Role
from ratify.services.identity.directory import Directory
from tests import factories as f
from tests.api.conftest import Api

RECORDS = "rec.rory"


def _paper(day: str, for_user: str = "sl.dmpc") -> dict[str, Any]:
    return {
        "effective_at": day,
        "for_user": for_user,
        "evidence": {"kind": "signed_form", "reference": "DMPC form, scan 0042"},
    }


async def _at_decision(api: Api) -> tuple[str, str]:
    """A £600,000 DMPC case required in ten days, the DMPC's interests declared; returns
    its id and today (London, on the test server's clock)."""
    today = london_date(await api.env.get_current_time())
    case = f.case_data(
        time_sensitivity={
            "required_by": (today + timedelta(days=10)).isoformat(),
            "reason": "Year end.",
        }
    )
    r = await api.post("ollie.lane", "/cases", {"case": case})
    assert r.status_code == 201, r.text
    case_id = str(r.json()["case_id"])
    r = await api.post("ollie.lane", f"/cases/{case_id}/actions/submit", {})
    assert r.status_code == 200, r.text
    meeting: dict[str, Any] = {
        "meeting_id": f"IAM-{case_id[-6:]}",
        "board": "IAM",
        "meeting_date": str(today),
    }
    assert (await api.post("sam.sec", "/meetings", meeting)).status_code == 201
    url = f"/meetings/{meeting['meeting_id']}"
    assert (await api.post("sam.sec", f"{url}/cases", {"case_id": case_id})).status_code == 200
    r = await api.post("sam.sec", f"{url}/advice", {"case_id": case_id, "advice": "supported"})
    assert r.status_code == 200, r.text
    steps: list[tuple[str, str, dict[str, Any]]] = [
        ("fran.fin", "sign_off", {"area": "finance"}),
        ("lee.legal", "sign_off", {"area": "legal"}),
        ("eve.eq", "sign_off", {"area": "equalities"}),
        ("rl.ceo", "consult_chief_executive", {}),
        ("sl.dmpc", "declare_interests", {"has_interest": False}),
    ]
    for user, action, body in steps:
        r = await api.post(user, f"/cases/{case_id}/actions/{action}", body)
        assert r.status_code == 200, (action, r.text)
    return case_id, today.isoformat()


async def test_a_records_officer_records_the_dmpcs_paper_signature_and_the_dmpc_disputes_it(
    api: Api,
):
    api.directory.add_user(RECORDS, "Rory Records", [Role.RECORDS_OFFICER])
    api.tokens[RECORDS] = api.directory.create_token(RECORDS, "tests")[1]
    # A former DMPC whose role ended yesterday.
    api.directory.add_user("old.dmpc", "Old DMPC", [Role.DMPC])
    yesterday = datetime.now(UTC) - timedelta(days=1)
    Directory(api.directory.engine, clock=lambda: yesterday).revoke_role("old.dmpc", Role.DMPC)
    case_id, today = await _at_decision(api)
    decide = f"/cases/{case_id}/actions/decide"
    body = {"approve": True, "comment": "Approved.", "on_paper": _paper(today)}

    # only a records officer records a step on paper
    r = await api.post("sam.sec", decide, body)
    assert r.status_code == 403 and r.json()["code"] == "wrong_role", r.text
    # the person must have held the role on the step's date
    r = await api.post(RECORDS, decide, {**body, "on_paper": _paper(today, "old.dmpc")})
    assert r.status_code == 403 and r.json()["code"] == "role_not_held", r.text
    assert "old.dmpc" in r.json()["detail"] and "dmpc" in r.json()["detail"]
    # not in the future
    tomorrow = (datetime.fromisoformat(today) + timedelta(days=1)).date().isoformat()
    r = await api.post(RECORDS, decide, {**body, "on_paper": _paper(tomorrow)})
    assert r.status_code == 422 and r.json()["code"] == "effective_in_future", r.text
    assert r.json()["detail"].startswith("effective_at:")
    # the evidence is part of the record
    r = await api.post(
        RECORDS, decide, {**body, "on_paper": {**_paper(today), "evidence": {"kind": "x"}}}
    )
    assert r.status_code == 422 and "on_paper.evidence" in r.json()["detail"], r.text

    r = await api.post(RECORDS, decide, body)
    assert r.status_code == 200, r.text
    version = r.json()["events"][0]["version"]
    shown = (await api.get("sl.dmpc", f"/cases/{case_id}")).json()
    assert shown["stage"] == "approved" and shown["decided_by"]["user_id"] == "sl.dmpc"

    # Part 1 is published and the workflow ends; the dispute is still taken.
    await api.env.sleep(timedelta(seconds=5))
    handle = api.env.client.get_workflow_handle(case_id)
    status = (await handle.describe()).status
    assert status is not None and status.name == "COMPLETED"
    dispute = f"/cases/{case_id}/actions/dispute"
    reason = {"version": version, "reason": "I signed on the 3rd, not on this date."}
    r = await api.post("rl.ceo", dispute, reason)
    assert r.status_code == 403 and r.json()["code"] == "not_yours", r.text
    r = await api.post("sl.dmpc", dispute, reason)
    assert r.status_code == 200, r.text
    assert [e["event_type"] for e in r.json()["events"]] == ["step.disputed"]
    r = await api.post("sl.dmpc", dispute, reason)
    assert r.status_code == 409 and r.json()["code"] == "already_done", r.text

    timeline = (await api.get("aud.ann", f"/cases/{case_id}/timeline")).json()
    disputes = [e for e in timeline if e["event_type"] == "step.disputed"]
    assert [(e["actor"], e["summary"]) for e in disputes] == [
        (
            "sl.dmpc",
            f"Disputed the step of version {version} (decision approved), recorded on paper "
            f"by {RECORDS}: I signed on the 3rd, not on this date.",
        )
    ]
