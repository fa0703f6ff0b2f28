"""A case id is used once: submitting a file under an id that exists says which case it is
and where it stands (409 `exists`), never a Temporal error, and the server logs one line."""

from __future__ import annotations

from tests.api.conftest import Api, api  # noqa: F401  (the fixture)
from tests.cli.test_client_cli import METTRACE, METTRACE_PATH, Run, run  # noqa: F401


async def test_submitting_an_existing_case_id_says_it_exists_and_where_it_stands(
    api: Api,  # noqa: F811
    run: Run,  # noqa: F811
) -> None:
    first = await run("ollie.lane", "case", "submit", str(METTRACE_PATH), "--case-id", "mt-x")
    assert first.exit_code == 0, first.output
    again = await run("ollie.lane", "case", "submit", str(METTRACE_PATH), "--case-id", "mt-x")
    assert again.exit_code == 2, again.output
    assert again.stderr.splitlines()[0] == (
        "error: exists: case mt-x already exists: it is with the board"
    )
    assert "Temporal" not in again.stderr and "Traceback" not in again.stderr
    assert api.store.stream_version("mt-x") == 2  # nothing written by the second try

    r = await api.http.post(
        "/cases/upload",
        params={"filename": "m.yaml", "case_id": "mt-x"},
        content=METTRACE,
        headers={**api.auth("ollie.lane"), "Content-Type": "text/plain"},
    )
    assert r.status_code == 409, r.text
    assert r.json() == {
        "code": "exists",
        "detail": "case mt-x already exists: it is with the board",
    }
