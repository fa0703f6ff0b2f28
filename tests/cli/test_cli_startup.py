"""`ratify --help` starts fast: the root lists every command without importing the rooms
behind them (the database, Temporal, the services), and its list says what the commands say."""

from __future__ import annotations

import importlib
import inspect
import json
import subprocess
import sys

import typer.main
from typer.testing import CliRunner

from ratify.cli.main import COMMANDS, app, load_command

HEAVY = ("sqlalchemy", "temporalio", "alembic", "eventstore", "ratify.services", "httpx")


def test_the_root_help_imports_neither_the_database_nor_temporal():
    probe = (
        "import json, sys\n"
        "from typer.testing import CliRunner\n"
        "from ratify.cli.main import app\n"
        "result = CliRunner().invoke(app, ['--help'], env={'COLUMNS': '80'})\n"
        "assert result.exit_code == 0, result.output\n"
        f"print(json.dumps([m for m in sys.modules if m.split('.')[0] in {HEAVY!r}"
        f" or m.startswith('ratify.services')]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    )
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


def _first_paragraph(text: str) -> str:
    return " ".join(inspect.cleandoc(text).split("\n\n")[0].split())


def test_the_root_lists_each_command_with_its_own_help():
    for name, listed in COMMANDS.items():
        command = load_command(name)
        assert command.name == name
        assert _first_paragraph(command.short_help or command.help or "") == listed.help, name
    # Every command of the rooms is listed: none is left unreachable.
    for module, attribute in {(x.module, x.attribute) for x in COMMANDS.values() if not x.group}:
        room = importlib.import_module(f"ratify.cli.{module}")
        assert set(typer.main.get_group(getattr(room, attribute)).commands) <= set(COMMANDS)


def test_the_root_help_lists_every_command_and_a_group_loads_when_used():
    result = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "80"})
    assert result.exit_code == 0
    for name in COMMANDS:
        assert f"│ {name} " in result.output, name
    users = CliRunner().invoke(app, ["users", "--help"], env={"COLUMNS": "80"})
    assert users.exit_code == 0 and "set-password" in users.output


def test_a_mistyped_command_is_answered_with_the_one_meant():
    result = CliRunner().invoke(app, ["tsks"], env={"COLUMNS": "80"})
    assert result.exit_code == 2
    assert "No such command 'tsks'. Did you mean 'tasks'" in " ".join(result.output.split())
