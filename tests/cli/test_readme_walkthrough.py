"""The README's CLI walk-through, run as written against the real API stack.

The commands are read from README.md itself (the `sh` block after "The same with the CLI"):
`eval "$(.venv/bin/ratify demo --env)"` runs `ratify demo --env` on the stack's database and
takes its `export NAME=token` lines; `export RATIFY_TOKEN=$X` and `RATIFY_TOKEN=$X ratify ...`
set the token as a shell would; `$(date +%F)` is the stack's today. Every command must exit 0,
and the last ones must show a decision approved and published in the register.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from ratify.cli.admin import DEMO_ENV_NAMES, DEMO_PEOPLE
from tests.api.conftest import Api, api  # noqa: F401  (the fixture)
from tests.cli.test_client_cli import Run, run  # noqa: F401  (the fixture)

README = Path(__file__).resolve().parents[2] / "README.md"
RATIFY = ".venv/bin/ratify"
ROOT = README.parent


def walkthrough() -> list[str]:
    """The lines of the README's CLI block (continuations joined)."""
    text = README.read_text()
    start = text.index("The same with the CLI")
    block = re.search(r"```sh\n(.*?)```", text[start:], re.S)
    assert block is not None, "the README has no sh block after 'The same with the CLI'"
    return [line for line in block.group(1).replace("\\\n", " ").splitlines() if line.strip()]


def test_the_walkthrough_uses_the_names_demo_env_prints() -> None:
    lines = walkthrough()
    used = {m for line in lines for m in re.findall(r"\$([A-Z_]+)", line)}
    assert used <= set(DEMO_ENV_NAMES.values()), used - set(DEMO_ENV_NAMES.values())
    assert {role for _, _, role in DEMO_PEOPLE} <= set(DEMO_ENV_NAMES)  # a name per role
    assert any("meetings add" in line for line in lines)  # the board step is in the CLI


async def test_the_readme_cli_walkthrough_runs_to_a_published_decision(
    api: Api,  # noqa: F811
    run: Run,  # noqa: F811
    tmp_path: Path,
) -> None:
    today = (await api.env.get_current_time()).date().isoformat()
    database = f"sqlite:///{tmp_path / 'ratify.db'}"  # the stack's database (api_stack)
    shell: dict[str, str] = {}
    outputs: list[str] = []
    for line in walkthrough():
        line = line.replace("$(date +%F)", today)
        if line.startswith("eval "):
            assert line.split("#")[0].strip() == f'eval "$({RATIFY} demo --env)"', line
            made = await run(
                None, "--database-url", database, "demo", "--env", "--i-know-this-is-not-production"
            )
            assert made.exit_code == 0, made.output
            for export in made.stdout.splitlines():
                words = shlex.split(export, comments=True)
                assert words[0] == "export", export
                name, _, value = words[1].partition("=")
                shell[name] = value
            continue
        words = [
            re.sub(r"\$([A-Z_]+)", lambda m: shell[m.group(1)], w)
            for w in shlex.split(line, comments=True)
        ]
        if words[0] == "export":
            name, _, value = words[1].partition("=")
            shell[name] = value
            continue
        env = dict(shell)
        while "=" in words[0]:
            name, _, value = words.pop(0).partition("=")
            env[name] = value
        assert words[0] == RATIFY, line
        args = [str(ROOT / w) if w.startswith("examples/") else w for w in words[1:]]
        token = env.get("RATIFY_TOKEN")
        result = await run(None, *args, env={"RATIFY_TOKEN": token})
        assert result.exit_code == 0, (line, result.output)
        outputs.append(result.stdout)

    assert "approved as PCD 1" in outputs[-4]  # the decide step
    assert "Met Trace" in outputs[-1] and "PCD 1" in outputs[-1]  # published in the register
    published = await api.get(None, "/register/PCD%201")
    assert published.status_code == 200, published.text
    assert published.json()["title"] == "Met Trace"
