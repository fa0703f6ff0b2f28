"""The API's looser staleness check: `expected_revision` (the papers read), with the stage
and the task; another adviser's step in between is not a change, a revision is."""

from __future__ import annotations

from tests.api.conftest import Api
from tests.api.test_api import _through_board, _upload


async def test_expected_revision_is_stale_only_when_the_papers_were_revised(api: Api):
    case_id = await _upload(api)
    await _through_board(api, case_id)
    seen = (await api.get("lee.legal", f"/cases/{case_id}")).json()
    loose = {
        "expected_revision": seen["case_revision"],
        "expected_stage": seen["stage"],
    }
    r = await api.post("fran.fin", f"/cases/{case_id}/actions/sign_off", {"area": "finance"})
    assert r.status_code == 200, r.text
    r = await api.post(
        "lee.legal",
        f"/cases/{case_id}/actions/sign_off",
        {"area": "legal", "comment": "Content.", **loose, "expected_task": "sign_off:legal"},
    )
    assert r.status_code == 200, r.text
    r = await api.post(
        "eve.eq",
        f"/cases/{case_id}/actions/request_changes",
        {"area": "equalities", "reasons": ["Attach the EIA"]},
    )
    assert r.status_code == 200, r.text
    case = (await api.get("ollie.lane", f"/cases/{case_id}")).json()["case"]
    case["equality_comments"] = "The EIA is attached."
    r = await api.post(
        "ollie.lane", f"/cases/{case_id}/actions/revise", {"case": case, "note": "EIA"}
    )
    assert r.status_code == 200, r.text
    r = await api.post(
        "cat.com", f"/cases/{case_id}/actions/sign_off", {"area": "commercial", **loose}
    )
    assert r.status_code == 409 and r.json()["code"] == "stale"
    assert "the papers were revised" in r.json()["detail"]
    r = await api.post(
        "cat.com",
        f"/cases/{case_id}/actions/sign_off",
        {"area": "commercial", "expected_revision": -1},
    )
    assert r.status_code == 422 and "expected_revision" in r.json()["detail"]
