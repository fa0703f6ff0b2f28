"""`ratify meetings list|show|create|add|advice|close`: the board secretariat's commands for
IAB/IAM meetings, through the HTTP API with their token.

    ratify meetings create IAB-2 --board IAB --date 2026-12-08
    ratify meetings add IAB-2 mettrace2
    ratify meetings advice IAB-2 mettrace2 supported [--conditions T] [--comment T]
    ratify meetings close IAB-2
    ratify meetings list [--from YYYY-MM-DD]        ratify meetings show IAB-2

They hold no rules (see `ratify.cli.remote`): the API refuses what the web refuses.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

import typer

from ratify.cli.common import JsonOption, echo_json, make_table, output, parse_date
from ratify.cli.remote import DEFAULT_API_URL, ApiUrlOption, TokenOption, api_client, dash

meetings_app = typer.Typer(
    help="Board meetings (IAB/IAM) through the HTTP API: list them, create one, put a case on "
    "its agenda, record the board's advice, close it.",
    no_args_is_help=True,
)


class Board(StrEnum):
    """The boards a meeting can be of (`domain.case.BoardName`)."""

    IAB = "IAB"
    IAM = "IAM"


class Advice(StrEnum):
    """What a board can advise on a case (`domain.case.BoardAdvice`)."""

    SUPPORTED = "supported"
    SUPPORTED_WITH_CONDITIONS = "supported_with_conditions"
    NOT_SUPPORTED = "not_supported"
    DEFERRED = "deferred"


MeetingArg = Annotated[str, typer.Argument(metavar="MEETING", help="The meeting id, e.g. IAB-2.")]
CaseArg = Annotated[str, typer.Argument(metavar="CASE", help="The case id.")]


def _step_line(what: str, result: dict[str, Any]) -> str:
    """One line saying what a step on a case did: the case's version and stage now."""
    if "stage" in result and "case_id" in result:
        version, stage = result.get("version"), result["stage"]
        return f"{what}: {result['case_id']} now version {version}, stage {stage}"
    return what


@meetings_app.command("list")
def list_meetings(
    ctx: typer.Context,
    from_date: Annotated[
        str | None,
        typer.Option(
            "--from", help="Meetings on or after this day, YYYY-MM-DD.", show_default=False
        ),
    ] = None,
    api_url: ApiUrlOption = DEFAULT_API_URL,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Meetings by date, each with its agenda and the advice recorded so far."""
    day = parse_date(from_date, "--from") if from_date is not None else None
    with api_client(ctx, api_url, token) as ratify:
        found = ratify.meetings(day)
    if as_json:
        echo_json(found)
        return
    table = make_table(
        "Board meetings",
        *("meeting", "board", "date", "case", "title", "advice"),
        keep={"meeting", "board", "date", "case", "advice"},
    )
    for meeting in found:
        agenda = meeting.get("agenda") or [{}]
        for n, item in enumerate(agenda):
            first = n == 0
            table.add_row(
                meeting["meeting_id"] if first else "",
                meeting["board"] if first else "",
                str(meeting["meeting_date"]) if first else "",
                dash(item.get("case_id")),
                dash(item.get("title")),
                dash(item.get("advice")),
            )
    out = output()
    out.print(table)
    if not found:
        out.print("no meetings" + (f" from {day}" if day else ""))


@meetings_app.command("show")
def show_meeting(
    ctx: typer.Context,
    meeting_id: MeetingArg,
    api_url: ApiUrlOption = DEFAULT_API_URL,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """One meeting: its board, date, agenda with advice and conditions, open or closed."""
    with api_client(ctx, api_url, token) as ratify:
        found = ratify.meeting(meeting_id)
    if as_json:
        echo_json(found)
        return
    out = output()
    state = "closed" if found.get("closed") else "open"
    out.print(
        f"{found['meeting_id']}: {found['board']} meeting on {found['meeting_date']} ({state})",
        markup=False,
    )
    for item in found.get("agenda", []):
        out.print(f"  {item['case_id']}: {dash(item.get('advice'))}", markup=False)
        if item.get("conditions"):
            for line in str(item["conditions"]).splitlines():
                out.print(f"      {line}", markup=False)
    if not found.get("agenda"):
        out.print("  no case on the agenda yet")


@meetings_app.command("create")
def create_meeting(
    ctx: typer.Context,
    meeting_id: MeetingArg,
    board: Annotated[Board, typer.Option("--board", help="Which board meets.")],
    meeting_date: Annotated[
        str, typer.Option("--date", help="The day it meets, YYYY-MM-DD.", show_default=False)
    ],
    api_url: ApiUrlOption = DEFAULT_API_URL,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Create a board meeting (board secretariat); meeting ids are used once."""
    day = parse_date(meeting_date, "--date")
    with api_client(ctx, api_url, token) as ratify:
        result = ratify.create_meeting(meeting_id, board.value, day)
    if as_json:
        echo_json(result)
        return
    typer.echo(f"created {board.value} meeting {meeting_id} on {day}")
    typer.echo(f"next: ratify meetings add {meeting_id} CASE")


@meetings_app.command("add")
def add_case(
    ctx: typer.Context,
    meeting_id: MeetingArg,
    case_id: CaseArg,
    api_url: ApiUrlOption = DEFAULT_API_URL,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Put a case waiting for the board on the meeting's agenda (board secretariat)."""
    with api_client(ctx, api_url, token) as ratify:
        result = ratify.meeting_step(meeting_id, "cases", {"case_id": case_id})
    if as_json:
        echo_json(result)
        return
    typer.echo(_step_line(f"added {case_id} to {meeting_id}", result))
    typer.echo(f"next: ratify meetings advice {meeting_id} {case_id} supported")


@meetings_app.command("advice")
def record_advice(
    ctx: typer.Context,
    meeting_id: MeetingArg,
    case_id: CaseArg,
    advice: Annotated[Advice, typer.Argument(metavar="ADVICE", help="The board's advice.")],
    conditions: Annotated[
        str | None,
        typer.Option("--conditions", help="The conditions of the support.", show_default=False),
    ] = None,
    comment: Annotated[
        str | None, typer.Option("--comment", help="The board's comment.", show_default=False)
    ] = None,
    api_url: ApiUrlOption = DEFAULT_API_URL,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Record the board's advice on a case on the agenda (board secretariat): supported,
    supported_with_conditions (give --conditions), not_supported or deferred."""
    fields: dict[str, Any] = {"case_id": case_id, "advice": advice.value}
    if conditions is not None:
        fields["conditions"] = conditions
    if comment is not None:
        fields["comment"] = comment
    with api_client(ctx, api_url, token) as ratify:
        result = ratify.meeting_step(meeting_id, "advice", fields)
    if as_json:
        echo_json(result)
        return
    typer.echo(_step_line(f"recorded {advice.value} for {case_id} at {meeting_id}", result))


@meetings_app.command("close")
def close_meeting(
    ctx: typer.Context,
    meeting_id: MeetingArg,
    api_url: ApiUrlOption = DEFAULT_API_URL,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Close the meeting (board secretariat): no case is added or advised on after."""
    with api_client(ctx, api_url, token) as ratify:
        result = ratify.meeting_step(meeting_id, "close", {})
    if as_json:
        echo_json(result)
        return
    typer.echo(f"closed {meeting_id}")
