"""`ratify case show` and `ratify audit timeline` on a decision signed on paper five days
after its deadline and recorded three days later: both dates, and who recorded it from
which document (the events are written into the store as a paper recording writes them)."""

from __future__ import annotations

from tests.api.conftest import Api, api  # noqa: F401  (the fixture)
from tests.cli.test_client_cli import Run, run  # noqa: F401  (the fixture)
from tests.services.projections.stories import PAPER_FORM, PAPER_RECORDED_BY, paper_decision

RECORDED = f"recorded 17 March 2022 by {PAPER_RECORDED_BY}, from the signed form ({PAPER_FORM})"


async def test_case_show_gives_the_signature_date_and_when_and_how_it_was_recorded(
    api: Api,  # noqa: F811
    run: Run,  # noqa: F811
):
    paper_decision(api.store)
    r = await run("aud.ann", "case", "show", "paper-512")
    assert r.exit_code == 0, r.output
    flat = " ".join(r.stdout.split())
    [decided] = [line for line in r.stdout.splitlines() if line.startswith("decided")]
    assert "14 Mar 2022" in decided or "2022-03-14" in decided or "14 March 2022" in decided
    assert RECORDED in flat
    assert "late: required by 9 March 2022, decided 14 March 2022" in flat


async def test_audit_timeline_gives_the_decision_its_own_date_and_the_recording(
    api: Api,  # noqa: F811
    run: Run,  # noqa: F811
):
    paper_decision(api.store)
    r = await run("aud.ann", "audit", "timeline", "paper-512")
    assert r.exit_code == 0, r.output
    flat = " ".join(r.stdout.split())
    [row] = [line for line in r.stdout.splitlines() if "Approved as PCD 512" in line]
    assert row.split("│")[2].strip().startswith("14 Mar")  # when it happened
    assert f"({RECORDED})" in flat  # on the line below the summary
