"""`ratify case show`: the engine's full answer on a decided grants case, as the case page
shows it (the case is written into the store with its routing; the CLI reads it through
the API)."""

from __future__ import annotations

import re

from tests.api.conftest import Api, api  # noqa: F401  (the fixture)
from tests.cli.test_client_cli import Run, run  # noqa: F401  (the fixture)
from tests.services.projections.answers import BRIGHT, SECRET, SPLIT_WARNING, decided_grants_case


def cells(output: str, first: str) -> list[str]:
    """The cells of the table row whose first cell is `first` (a row on one line)."""
    for line in output.splitlines():
        parts = [p.strip() for p in re.split(r"[│┃]", line)[1:-1]]
        if parts and parts[0] == first:
            return parts
    raise AssertionError(f"no row starting {first!r} in:\n{output}")


async def test_case_show_gives_each_grant_line_its_appendix_and_each_group_its_total(
    api: Api,  # noqa: F811
    run: Run,  # noqa: F811
):
    decided_grants_case(api.store, late=True)
    r = await run("aud.ann", "case", "show", "vr-grants")
    assert r.exit_code == 0, r.output
    out = r.stdout
    assert cells(out, "G1") == [
        "G1", "Bright Futures Ltd", "£30,000", BRIGHT, "£55,000", "approve",
        "grants to third parties",
    ]  # fmt: skip
    assert cells(out, "G3")[4:6] == ["£12,000", "note"]
    assert cells(out, "G4")[:3] == ["G4", "23 grants (largest £48,000)", "£402,118"]
    assert cells(out, "G4")[4:6] == ["£48,000", "note"]
    assert cells(out, BRIGHT)[1:6] == [
        "declared by the paper", "G1, G2", "£55,000", "£55,000", "approve",
    ]  # fmt: skip
    # late, worded as the timeline words it
    assert "late: required by 20 November 2019, decided 22 November 2019" in out
    # procedure, VAT basis, term, the Regulations and the assessment
    flat = " ".join(out.split())
    assert "negotiated without prior publication, on the ground reg 32(2)(b)" in flat
    assert "not stated: compared both ways" in flat
    assert "3 years, with extension options of up to 2 years" in flat
    assert "PCR 2015 engaged" in flat and "procedure allowed" in flat
    # the offer, the table (negative with a minus), references, form, sections, extremis
    assert "Offer of grant funding from Home Office: £2,100,000" in out
    assert "match funding: £250,000 from MOPAC Violence Reduction budget" in out
    assert cells(out, "Mentoring") == ["Mentoring", "£67,000", "£70,000", "(£3,000)"]
    assert "builds on: pcd 512 (the first year)" in out
    assert "form: dmpc-2021" in out and "commercial comments: not applicable" in flat
    assert "extremis submission to the IAB" in out
    # the check, in a table whose cells wrap: its words, and its status beside it
    assert "checks: 2 open, 0 acknowledged" in out
    assert all(word in flat for word in SPLIT_WARNING.split())
    assert "open: fix it, or acknowledge it with a" in out
    # Part 2 for the cleared: FOI subsections with titles, no basis the paper did not cite
    assert "s31(1)(a) Law enforcement; s43(2) Commercial interests" in out
    assert "exempt under" not in out and SECRET in out


async def test_case_show_without_clearance_shows_the_appendices_but_not_part2(
    api: Api,  # noqa: F811
    run: Run,  # noqa: F811
):
    decided_grants_case(api.store, late=False)
    out = (await run("aud.bob", "case", "show", "vr-grants")).stdout
    assert cells(out, "G5")[5] == "approve"
    assert "on time (required by 20 November 2019)" in out
    assert SECRET not in out and "s31" not in out
