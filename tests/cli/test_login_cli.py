"""`ratify login|whoami`, a sign-off with no area or role, the inbox's next command, and a
mistyped action: the CLI for people, against the real API stack."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from tests.api.conftest import Api, api  # noqa: F401  (the fixture)
from tests.cli.test_client_cli import (  # noqa: F401  (the fixture)
    BASE_URL,
    METTRACE_PATH,
    Run,
    _through_board,
    run,
)


async def test_login_keeps_the_token_privately_and_the_commands_use_it(
    api: Api,  # noqa: F811
    run: Run,  # noqa: F811
    tmp_path: Path,
) -> None:
    config = tmp_path / "config"
    env = {"XDG_CONFIG_HOME": str(config)}
    before = await run(None, "whoami", env=env)
    assert before.exit_code == 2 and "ratify login" in before.stderr

    wrong = await run(None, "login", "--token", "not-a-token", env=env)
    assert wrong.exit_code == 2, wrong.output
    assert not (config / "ratify" / "tokens.json").exists()  # a refused token is not kept

    made = await run(None, "login", "--token", api.tokens["fran.fin"], env=env)
    assert made.exit_code == 0, made.output
    assert "as fran.fin (finance_adviser)" in made.stdout
    kept = config / "ratify" / "tokens.json"
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert stat.S_IMODE(kept.parent.stat().st_mode) == 0o700
    assert json.loads(kept.read_text())[BASE_URL]["user"] == "fran.fin"

    me = await run(None, "whoami", env=env)
    assert me.exit_code == 0, me.output
    assert me.stdout.splitlines() == [
        f"fran.fin (Fran Finance) at {BASE_URL}",
        "roles: finance_adviser",
    ]
    other = await run("lee.legal", "whoami", env=env)  # RATIFY_TOKEN comes first
    assert other.stdout.startswith("lee.legal ")
    elsewhere = await run(None, "whoami", env={**env, "RATIFY_API_URL": "http://other.test"})
    assert elsewhere.exit_code == 2 and "ratify login" in elsewhere.stderr  # per API URL

    gone = await run(None, "logout", env=env)
    assert gone.exit_code == 0 and BASE_URL not in json.loads(kept.read_text())
    after = await run(None, "whoami", env=env)
    assert after.exit_code == 2


async def test_an_adviser_signs_off_from_the_inbox_command_without_area_or_role(
    api: Api,  # noqa: F811
    run: Run,  # noqa: F811
) -> None:
    r = await run("ollie.lane", "case", "submit", str(METTRACE_PATH), "--case-id", "mt-in")
    assert r.exit_code == 0, r.output
    secretariat = await run("sam.sec", "tasks")
    assert "ratify meetings add MEETING mt-in" in secretariat.stdout
    await _through_board(api, "mt-in")

    inbox = await run("fran.fin", "tasks")
    assert inbox.exit_code == 0, inbox.output
    assert "ratify act mt-in sign_off -f area=finance" in inbox.stdout

    typo = await run("fran.fin", "act", "mt-in", "sign_of")
    assert typo.exit_code == 2
    assert typo.stderr.strip() == "error: ACTION: no action 'sign_of': did you mean sign_off?"

    signed = await run("fran.fin", "act", "mt-in", "sign_off")  # no area, no role
    assert signed.exit_code == 0, signed.output
    events = api.store.read_stream("mt-in")
    assert events[-1].event_type == "advice.signed_off"
    assert events[-1].data["area"] == "finance" and events[-1].actor_role == "finance_adviser"
