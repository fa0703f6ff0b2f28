"""`ratify act --help` names every action a person can take, from the one catalogue."""

from __future__ import annotations

from typer.testing import CliRunner

from ratify.cli.main import app
from workflows.actions import CATALOGUE


def test_act_help_lists_every_action_of_the_catalogue() -> None:
    result = CliRunner().invoke(app, ["act", "--help"], env={"COLUMNS": "400"})
    assert result.exit_code == 0
    direct = {name for name, spec in CATALOGUE.items() if spec.direct}
    assert len(direct) >= 14
    for name in direct:
        assert name in result.output
    # The steps only a board meeting takes are not offered to a person.
    assert "place_on_agenda" not in result.output
