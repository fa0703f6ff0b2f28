"""No one can jam a case by filling it: what one case holds is bounded at the step.

Before the bound, anyone signed in could record irregularities on any case in a loop; at
about 280 of 80 KB each the case's history passed Temporal's limit and its workflow was
ended, with every later step refused.
"""

from __future__ import annotations

from tests.api.conftest import Api
from tests.faults.helpers import act, mettrace, ok, settle, upload


async def test_one_person_cannot_fill_a_case_with_irregularities_and_the_case_goes_on(api: Api):
    case_id = await upload(api, mettrace())
    for n in range(10):
        ok(
            await act(
                api,
                "fran.fin",
                case_id,
                "record_irregularity",
                {"description": f"Note {n}.", "role": "finance_adviser"},
            )
        )
    before = await settle(api.store)
    r = await act(
        api,
        "fran.fin",
        case_id,
        "record_irregularity",
        {"description": "Note 10.", "role": "finance_adviser"},
    )
    assert r.status_code == 422, r.text
    assert r.json()["code"] == "limit"
    assert "has recorded 10 on this case, the most one person may" in r.json()["detail"]
    assert api.store.last_position() == before, "a refused step wrote something"
    # someone else may still record one, and the case takes its next step
    ok(
        await act(
            api,
            "lee.legal",
            case_id,
            "record_irregularity",
            {"description": "Mine.", "role": "legal_adviser"},
        )
    )
    ok(await act(api, "ollie.lane", case_id, "submit", {}))
