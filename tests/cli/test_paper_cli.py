"""`ratify act ... --on-paper-for USER --effective DAY --evidence KIND:REF`: a records
officer records a sign-off someone gave on paper; the options are checked before anything
is sent, and the step is refused with its code when the date or the person is wrong."""

from __future__ import annotations

from datetime import timedelta

from domain.clock import london_date
from domain.roles import Role
from tests import factories as f
from tests.api.conftest import Api, api  # noqa: F401  (the fixture)
from tests.cli.test_client_cli import Run, _json, run  # noqa: F401  (the fixture)

RECORDS = "rec.rory"
SHA = "ab" * 32


async def test_a_records_officer_records_a_paper_sign_off_from_the_cli(api: Api, run: Run):  # noqa: F811
    api.directory.add_user(RECORDS, "Rory Records", [Role.RECORDS_OFFICER])
    api.tokens[RECORDS] = api.directory.create_token(RECORDS, "tests")[1]
    today = london_date(await api.env.get_current_time())
    made = await api.post("ollie.lane", "/cases", {"case": f.case_data(), "case_id": "p1"})
    assert made.status_code == 201, made.text
    assert (await api.post("ollie.lane", "/cases/p1/actions/submit", {})).status_code == 200
    meeting = {"meeting_id": "IAM-P1", "board": "IAM", "meeting_date": today.isoformat()}
    assert (await api.post("sam.sec", "/meetings", meeting)).status_code == 201
    assert (await api.post("sam.sec", "/meetings/IAM-P1/cases", {"case_id": "p1"})).is_success
    advice = {"case_id": "p1", "advice": "supported"}
    assert (await api.post("sam.sec", "/meetings/IAM-P1/advice", advice)).status_code == 200
    before = api.store.stream_version("p1")
    sign_off = ["act", "p1", "sign_off", "-f", "area=finance"]

    # options checked before anything is sent
    for extra, message in [
        (["--effective", today.isoformat()], "only with --on-paper-for"),
        (["--on-paper-for", "fran.fin"], "give --effective DATE and --evidence"),
        (
            ["--on-paper-for", "fran.fin", "--effective", today.isoformat(), "--evidence", "x"],
            "--evidence: 'x' must be KIND:REFERENCE",
        ),
    ]:
        r = await run(RECORDS, *sign_off, *extra)
        assert r.exit_code == 2 and message in r.stderr, r.output
    paper = ["--on-paper-for", "fran.fin", "--evidence", "email:Fran to Rory, 09:14"]
    # dated in the future, or before the adviser held the role: refused with the code
    tomorrow = (today + timedelta(days=1)).isoformat()
    r = await run(RECORDS, *sign_off, *paper, "--effective", tomorrow)
    assert r.exit_code == 2 and r.stderr.startswith("error: effective_in_future: "), r.output
    yesterday = (today - timedelta(days=1)).isoformat()
    r = await run(RECORDS, *sign_off, *paper, "--effective", yesterday)
    assert r.exit_code == 2 and r.stderr.startswith("error: role_not_held: "), r.output
    assert "fran.fin did not hold the role finance_adviser" in r.stderr
    assert "your token's user" not in r.stderr
    # not a records officer
    r = await run("lee.legal", *sign_off, *paper, "--effective", today.isoformat())
    assert r.exit_code == 2 and r.stderr.startswith("error: wrong_role: "), r.output
    assert api.store.stream_version("p1") == before

    done = await run(
        RECORDS, *sign_off, *paper, "--effective", today.isoformat(),
        "--evidence-sha256", SHA, "--json",
    )  # fmt: skip
    assert [e["event_type"] for e in _json(done)["events"]] == ["advice.signed_off"]
    stored = api.store.read_stream("p1")[-1]
    assert (stored.actor_id, stored.actor_role) == ("fran.fin", "finance_adviser")
    assert stored.data["provenance"] == {
        "how": "on_paper",
        "recorded_by": RECORDS,
        "evidence": {"kind": "email", "reference": "Fran to Rory, 09:14", "sha256": SHA},
        "source_sha256": None,
    }
