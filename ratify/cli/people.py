"""The people's commands at the top level, through the HTTP API with their token: `tasks`,
`act`, `history` and `register` (the case commands are `ratify.cli.cases`).

They hold no rules (see `ratify.cli.remote`).
"""

from __future__ import annotations

import difflib
import json
import re
import shlex
from datetime import datetime
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.text import Text

from domain.state import Stage
from ratify.cli.common import (
    JsonOption,
    echo_json,
    fail,
    london,
    london_text,
    make_table,
    output,
    parse_date,
    parse_instant,
)
from ratify.cli.remote import (
    DEFAULT_API_URL,
    ApiUrlOption,
    CursorOption,
    TokenOption,
    api_client,
    dash,
    next_page,
    stage_label,
)
from workflows.actions import CATALOGUE

commands = typer.Typer()
"""The people's commands at the top level (`tasks`, `act`, `history`, `register`)."""

#: The actions a person takes on a case (`ratify act CASE ACTION`), from the catalogue.
PERSONS_ACTIONS = sorted(name for name, spec in CATALOGUE.items() if spec.direct)


# -- tasks and actions ----------------------------------------------------------------------


@commands.command("tasks")
def tasks_inbox(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option("--limit", min=1, max=200, help="Tasks a page.")] = 50,
    cursor: CursorOption = None,
    api_url: ApiUrlOption = DEFAULT_API_URL,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """My inbox: the open tasks of my roles (own and delegated), soonest due first (undated
    last), a page at a time, with how many there are and how to see the rest.

    --json prints the API's page: {"items", "total", "more", "next"}.
    """
    with api_client(ctx, api_url, token) as ratify:
        found = ratify.tasks(limit=limit, cursor=cursor)
    if as_json:
        echo_json(found)
        return
    table = make_table(
        "My tasks",
        *("due", "case", "title", "reference", "stage", "task", "role", "description"),
        keep={"due", "case", "reference", "stage", "task", "role"},
    )
    items = found["items"]
    for t in items:
        task = t["kind"] + (f" ({t['area']})" if t.get("area") else "")
        table.add_row(
            dash(t.get("due")),
            t["case_id"],
            t["title"],
            dash(t.get("reference")),
            t["stage"],
            task,
            t["role"],
            t["description"],
        )
    out = output()
    out.print(table)
    for t in items:
        out.print(f"  {next_command(t)}", markup=False, soft_wrap=True)
    total, more = int(found.get("total", len(items))), int(found.get("more", 0))
    shown_to = total - more
    if not items:
        out.print("no open tasks" if not cursor else "no more open tasks")
    elif len(items) == total:
        out.print(f"{total} open task{'s' if total != 1 else ''}")
    else:
        out.print(f"tasks {shown_to - len(items) + 1} to {shown_to} of {total}")
    following = next_page("tasks", found.get("next"), limit=limit if limit != 50 else None)
    if following:
        out.print(f"{more} more: {following}", markup=False, soft_wrap=True)


#: The fields to give with an action the inbox names, as a person would type them.
_EXAMPLE_FIELDS = {
    "declare_interests": " -f has_interest=false",
    "decide": " -f approve=true  (or -f approve=false -f reason=TEXT)",
}


def next_command(task: dict[str, Any]) -> str:
    """The command that takes an open task, e.g. `ratify act C sign_off -f area=finance`."""
    case_id, kind = shlex.quote(str(task["case_id"])), str(task["kind"])
    if kind == "place_on_agenda":
        return f"ratify meetings add MEETING {case_id}  (see `ratify meetings list`)"
    if kind == "record_board_advice":
        meeting = re.search(r"\(meeting ([^)]+)\)", str(task.get("description", "")))
        where = shlex.quote(meeting.group(1)) if meeting else "MEETING"
        return f"ratify meetings advice {where} {case_id} supported"
    if kind == "sign_off":
        return f"ratify act {case_id} sign_off -f area={task.get('area')}"
    if kind not in CATALOGUE or not CATALOGUE[kind].direct:
        return f"ratify case show {case_id}"
    return f"ratify act {case_id} {kind}{_EXAMPLE_FIELDS.get(kind, '')}"


def unknown_action(action: str) -> str | None:
    """The refusal for a mistyped action name, naming the nearest one (None: send it; the
    API refuses a name far from any with the list of them)."""
    if action in PERSONS_ACTIONS:
        return None
    near = difflib.get_close_matches(action, PERSONS_ACTIONS, n=1, cutoff=0.6)
    if near:
        return f"ACTION: no action {action!r}: did you mean {near[0]}?"
    return None  # the API's refusal lists them


def _action_fields(
    fields: list[str],
    json_body: str | None,
    role: str | None,
    on_behalf_of: str | None,
    expected_version: int | None,
) -> dict[str, Any]:
    """The action's body: `--json-body`, then each `--field key=value` (JSON if it parses)."""
    body: dict[str, Any] = {}
    if json_body is not None:
        try:
            parsed = json.loads(json_body)
        except json.JSONDecodeError as exc:
            fail(f"--json-body: not JSON ({exc.msg} at character {exc.pos})")
        if not isinstance(parsed, dict):
            fail('--json-body: must be a JSON object, e.g. \'{"area": "finance"}\'')
        body.update(parsed)
    given: set[str] = set()
    for item in fields:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key:
            fail(f"--field: {item!r} must be key=value, e.g. area=finance")
        if key in given:
            fail(f"--field: {key} is given twice")
        given.add(key)
        try:
            body[key] = json.loads(raw)
        except json.JSONDecodeError:
            body[key] = raw
    for key, value in (
        ("role", role),
        ("on_behalf_of", on_behalf_of),
        ("expected_version", expected_version),
    ):
        if value is not None:
            if key in body and body[key] != value:
                fail(f"--{key.replace('_', '-')}: also given as a field, with another value")
            body[key] = value
    return body


def _on_paper(
    for_user: str | None, effective: str | None, evidence: str | None, sha256: str | None
) -> dict[str, Any] | None:
    """The `on_paper` part of the body from the options, or None without `--on-paper-for`."""
    if for_user is None:
        if effective is not None or evidence is not None or sha256 is not None:
            fail("--effective, --evidence: only with --on-paper-for USER (a step on paper)")
        return None
    if effective is None or evidence is None:
        fail("--on-paper-for: give --effective DATE and --evidence KIND:REFERENCE too")
    kind, sep, reference = evidence.partition(":")
    if not sep or not kind.strip() or not reference.strip():
        fail(f"--evidence: {evidence!r} must be KIND:REFERENCE, e.g. signed_form:PCD-512-scan")
    found: dict[str, Any] = {"kind": kind.strip(), "reference": reference.strip()}
    if sha256 is not None:
        found["sha256"] = sha256.strip().lower()
    return {"effective_at": effective, "for_user": for_user, "evidence": found}


@commands.command("act")
def act(
    ctx: typer.Context,
    case_id: Annotated[str, typer.Argument(metavar="CASE")],
    action: Annotated[
        str,
        typer.Argument(
            metavar="ACTION",
            help=f"One of: {', '.join(PERSONS_ACTIONS)}.",
        ),
    ],
    field: Annotated[
        list[str] | None,
        typer.Option(
            "--field",
            "-f",
            help="key=value (repeat); the value is read as JSON when it parses, e.g. "
            "approve=true, reasons='[\"x\"]', else as text.",
            show_default=False,
        ),
    ] = None,
    json_body: Annotated[
        str | None,
        typer.Option(
            "--json-body", help="The action's fields as one JSON object.", show_default=False
        ),
    ] = None,
    role: Annotated[
        str | None, typer.Option("--role", help="The role to act in, if you hold several.")
    ] = None,
    on_behalf_of: Annotated[
        str | None,
        typer.Option("--on-behalf-of", help="As a deputy: whose role you use.", show_default=False),
    ] = None,
    expected_version: Annotated[
        int | None,
        typer.Option(
            "--expected-version",
            help="The version you looked at: refused as stale if the case has moved on.",
            show_default=False,
        ),
    ] = None,
    on_paper_for: Annotated[
        str | None,
        typer.Option(
            "--on-paper-for",
            help="As a records officer: record a step USER took on paper, for them (with "
            "--effective and --evidence).",
            show_default=False,
        ),
    ] = None,
    effective: Annotated[
        str | None,
        typer.Option(
            "--effective",
            help="When the step on paper was taken: a day (2022-03-14, noon London) or an "
            "instant (2022-03-14T09:30:00Z).",
            show_default=False,
        ),
    ] = None,
    evidence: Annotated[
        str | None,
        typer.Option(
            "--evidence",
            help="What it is recorded from, KIND:REFERENCE, e.g. signed_form:'PCD form, scan "
            "42' (kinds: signed_form, email, minutes, letter, phone_note, register, other).",
            show_default=False,
        ),
    ] = None,
    evidence_sha256: Annotated[
        str | None,
        typer.Option(
            "--evidence-sha256",
            help="The SHA-256 (hex) of the evidence's document.",
            show_default=False,
        ),
    ] = None,
    api_url: ApiUrlOption = DEFAULT_API_URL,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Act on a case, e.g. `act C sign_off --field area=finance`, `act C decide -f approve=true`.

    A records officer records a step someone took on paper: `act C decide -f approve=true
    --on-paper-for sl.dmpc --effective 2022-03-14 --evidence signed_form:REF`. The person it
    is recorded for disputes it: `act C dispute -f version=12 -f reason=...`.
    """
    problem = unknown_action(action)
    if problem is not None:
        fail(problem)
    body = _action_fields(field or [], json_body, role, on_behalf_of, expected_version)
    paper = _on_paper(on_paper_for, effective, evidence, evidence_sha256)
    if paper is not None:
        body["on_paper"] = paper
    status = Console(stderr=True, highlight=False)
    reference = None
    with api_client(ctx, api_url, token) as ratify:
        with status.status(f"{action} on {case_id}: waiting for the case to record it..."):
            result = ratify.act(case_id, action, body)
        if result.get("stage") == Stage.APPROVED.value and not as_json:
            reference = ratify.show(case_id).get("reference")
    if as_json:
        echo_json(result)
        return
    events = ", ".join(str(e.get("event_type")) for e in result.get("events", [])) or "none"
    typer.echo(
        f"{action} on {result['case_id']}: now version {result['version']}, stage "
        f"{result['stage']} ({stage_label(result['stage'])}); recorded: {events}"
    )
    if reference:
        typer.echo(f"approved as {reference}")


# -- history and the register ---------------------------------------------------------------


@commands.command("history")
def history(
    ctx: typer.Context,
    case_id: Annotated[str, typer.Argument(metavar="CASE")],
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of", help="Only the events up to this instant, e.g. 2019-12-13T17:00:00Z."
        ),
    ] = None,
    api_url: ApiUrlOption = DEFAULT_API_URL,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Every stored event of a case, oldest first (auditors)."""
    until = parse_instant(as_of, "--as-of") if as_of is not None else None
    with api_client(ctx, api_url, token) as ratify:
        events = ratify.history(case_id)
    if until is not None:
        events = [e for e in events if datetime.fromisoformat(e["occurred_at"]) <= until]
    if as_json:
        echo_json(events)
        return
    title = f"History of {case_id}" + (f" as of {london(until)}" if until else "")
    table = make_table(
        title,
        "version",
        "time",
        "type",
        "actor",
        "on behalf of",
        "role",
        keep={"version", "time", "type", "actor", "on behalf of", "role"},
    )
    for e in events:
        table.add_row(
            str(e["version"]),
            london_text(e.get("occurred_at")),
            e["type"],
            dash(e.get("actor")),
            dash(e.get("on_behalf_of")),
            dash(e.get("role")),
        )
    output().print(table)


@commands.command("register")
def register(
    ctx: typer.Context,
    reference: Annotated[
        str | None, typer.Argument(metavar="[REFERENCE]", help="One decision, e.g. 'PCD 679'.")
    ] = None,
    title: Annotated[
        str | None, typer.Option("--title", help="Titles containing this (any letter case).")
    ] = None,
    signed_from: Annotated[
        str | None, typer.Option("--signed-from", help="Signed on or after, YYYY-MM-DD.")
    ] = None,
    signed_to: Annotated[
        str | None, typer.Option("--signed-to", help="Signed on or before, YYYY-MM-DD.")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=200, help="Decisions a page.")] = 50,
    cursor: CursorOption = None,
    api_url: ApiUrlOption = DEFAULT_API_URL,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """The public register (Part 1; no token needed): one decision with its papers, or the
    decisions most recently published first, a page at a time, searched by title and date
    signed. --json prints one decision, or the API's page: {"items": [...], "next"}."""
    searching = title is not None or signed_from is not None or signed_to is not None
    if reference and (searching or cursor):
        fail("REFERENCE shows one decision: give it, or --title/--signed-from/--signed-to")
    start = parse_date(signed_from, "--signed-from") if signed_from is not None else None
    end = parse_date(signed_to, "--signed-to") if signed_to is not None else None
    with api_client(ctx, api_url, token, need_token=False) as ratify:
        if reference:
            entry = ratify.register_entry(reference)
        else:
            found = ratify.register(
                limit=limit, cursor=cursor, title=title, signed_from=start, signed_to=end
            )
    if reference:
        _print_register_entry(entry, as_json)
        return
    if as_json:
        echo_json(found)
        return
    table = make_table(
        "Published decisions" if not searching else "Decisions found",
        *("reference", "title", "signed", "decision maker", "published"),
        keep={"reference", "signed", "published"},
    )
    for e in found["items"]:
        table.add_row(
            dash(e.get("reference")),
            e["title"],
            dash(e.get("date_signed")),
            e["decision_maker"],
            london_text(e.get("published_at")),
        )
    out = output()
    out.print(table)
    if not found["items"]:
        out.print("no decision matches" if searching or cursor else "no decision is published")
    following = next_page(
        "register",
        found.get("next"),
        title=title,
        signed_from=signed_from,
        signed_to=signed_to,
        limit=limit if limit != 50 else None,
    )
    if following:
        out.print(f"older decisions: {following}", markup=False, soft_wrap=True)


def _print_register_entry(entry: dict[str, Any], as_json: bool) -> None:
    if as_json:
        echo_json(entry)
        return
    out = output()
    out.print(Text(f"{entry['reference']}: {entry['title']}", style="bold"))
    out.print(
        f"signed {entry['date_signed']} by {entry['decision_maker']}; "
        f"published {london_text(entry['published_at'])}",
        markup=False,
    )
    out.print(entry["executive_summary"], markup=False)
    for r in entry.get("recommendations", []):
        out.print(f"  {r.get('number')}. {r.get('text')}", markup=False)
    if entry.get("part2_text"):
        out.print(f"Part 2 (published {london_text(entry.get('part2_published_at'))}):")
        out.print(entry["part2_text"], markup=False)
