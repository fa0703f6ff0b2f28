"""`ratify case checks`: the checks on a case through the API, open or acknowledged."""

from __future__ import annotations

import json

from tests.api.conftest import Api, api  # noqa: F401  (the fixture)
from tests.api.test_checks_api import mismatched
from tests.cli.test_client_cli import Run, run  # noqa: F401  (the fixture)


async def test_case_checks_shows_each_check_open_then_acknowledged(api: Api, run: Run):  # noqa: F811
    r = await api.post("ollie.lane", "/cases", {"case": mismatched(), "case_id": "ck-1"})
    assert r.status_code == 201, r.text

    shown = await run("fran.fin", "case", "checks", "ck-1")
    assert shown.exit_code == 0, shown.output
    assert "ck-1 (version 1, draft): 1 check(s), 1 open" in shown.stdout
    assert "open" in shown.stdout and "Recommendation 1 states" in shown.stdout

    summary = await run("ollie.lane", "case", "show", "ck-1")
    assert "checks: 1 open, 0 acknowledged" in summary.stdout
    view = json.loads((await run("fran.fin", "case", "checks", "ck-1", "--json")).stdout)
    key = view["checks"][0]["key"]
    acted = await run(
        "ollie.lane",
        "act",
        "ck-1",
        "acknowledge_check",
        "-f",
        f"check={key}",
        "-f",
        "reason=Held in the reserve.",
    )
    assert acted.exit_code == 0, acted.output

    shown = await run("fran.fin", "case", "checks", "ck-1")
    assert "1 check(s), 0 open" in shown.stdout
    assert "acknowledged by ollie.lane" in shown.stdout and "Held in the reserve." in shown.stdout
    summary = await run("ollie.lane", "case", "show", "ck-1")
    assert "checks: 0 open, 1 acknowledged" in summary.stdout
    assert "acknowledged by ollie.lane" in summary.stdout and "Held in the" in summary.stdout
    missing = await run("fran.fin", "case", "checks", "case-nope")
    assert missing.exit_code != 0
