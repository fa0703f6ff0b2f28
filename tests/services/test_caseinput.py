"""The start-input helper: a good case file becomes a DecisionInput, a bad one a clear error."""

from __future__ import annotations

from pathlib import Path

import pytest

from ratify.services.caseinput import main
from workflows.messages import DecisionInput

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "mettrace.yaml"


def test_a_case_file_becomes_the_workflow_input(capsys: pytest.CaptureFixture[str]):
    assert main([str(EXAMPLE), "--case-id", "mettrace-1", "--officer", "matt.turner"]) == 0
    started = DecisionInput.model_validate_json(capsys.readouterr().out)
    assert (started.case_id, started.officer.user_id) == ("mettrace-1", "matt.turner")
    assert started.case.title == "Met Trace"


def test_a_bad_case_file_names_the_field(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    bad = tmp_path / "bad.yaml"
    bad.write_text(EXAMPLE.read_text().replace("title: Met Trace", "titel: Met Trace"))
    assert main([str(bad), "--case-id", "x", "--officer", "o"]) == 2
    err = capsys.readouterr().err
    assert "extra field 'titel' is not allowed" in err and "title: this field is required" in err


def test_the_workflow_settings_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    monkeypatch.setenv("RATIFY_FIRST_REFERENCE", "679")
    monkeypatch.setenv("RATIFY_ALTERNATE_DECISION_MAKER", "jane.alternate")
    monkeypatch.setenv("RATIFY_REMINDER_WORKING_DAYS", "[10, 2]")
    assert main([str(EXAMPLE), "--case-id", "m", "--officer", "o"]) == 0
    settings = DecisionInput.model_validate_json(capsys.readouterr().out).settings
    assert (settings.first_reference, settings.alternate_decision_maker) == (679, "jane.alternate")
    assert settings.reminder_working_days == [10, 2]
