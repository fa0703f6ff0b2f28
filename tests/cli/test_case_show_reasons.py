"""`ratify case show` gives the officer of a declined case the reason, and the board's
advice with its conditions (on their own lines) and its comment."""

from __future__ import annotations

from tests.api.conftest import Api, api  # noqa: F401  (the fixture)
from tests.cli.test_client_cli import Run, run  # noqa: F401  (the fixture)
from tests.services.projections.stories import Story, declined_with_conditions


async def test_case_show_gives_the_officer_the_reason_for_the_decline(
    api: Api,  # noqa: F811
    run: Run,  # noqa: F811
):
    declined_with_conditions(Story(api.store, "declined-1"))
    r = await run("ollie.lane", "case", "show", "declined-1")
    assert r.exit_code == 0, r.output
    lines = [" ".join(line.split()) for line in r.stdout.splitlines()]
    assert "reason Not value for money at this price." in lines
    assert "board advice supported with conditions" in lines
    # Two conditions typed on two lines print on two lines.
    at = lines.index("conditions Report the uptake each quarter")
    assert lines[at + 1] == "Return to the board before year 2"
    assert "board comment A pilot first." in lines
