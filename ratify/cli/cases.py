"""`ratify case submit|show|checks|list`: the people's case commands, through the HTTP API
with their token.

They hold no rules (see `ratify.cli.remote`). `case show` works out the open tasks from the
case view with the domain's own `open_tasks`, as the API's view does not carry them.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table
from rich.text import Text

from domain.case import foi_title
from domain.state import CaseState, Stage, open_tasks
from ratify.cli import answer
from ratify.cli.client import ApiRefusal
from ratify.cli.common import (
    JsonOption,
    echo_json,
    fail,
    london_text,
    make_table,
    output,
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
    refused,
    stage_label,
)
from ratify.services.checks import checks_of
from ratify.services.commands import today

case_app = typer.Typer(
    help="Cases through the HTTP API: submit a case file, show a case, search.",
    no_args_is_help=True,
)


def _money(value: Any) -> str:
    try:
        return f"£{Decimal(str(value)):,.2f}"
    except (InvalidOperation, ValueError):
        return str(value)


def _actor_text(actor: Any) -> str:
    if not isinstance(actor, dict):
        return "-"
    text = f"{actor.get('user_id')} ({actor.get('role')})"
    if actor.get("on_behalf_of"):
        text += f" for {actor['on_behalf_of']}"
    return text


def _state(view: dict[str, Any]) -> CaseState | None:
    """The case state of a case view (without the view's own keys); None if it is not one."""
    data = {k: v for k, v in view.items() if k in CaseState.model_fields}
    try:
        return CaseState.model_validate(data)
    except ValidationError:
        return None


def _open_tasks(view: dict[str, Any]) -> list[dict[str, Any]] | None:
    """The open tasks of a case view, by the domain's own rule; None if it cannot tell."""
    state = _state(view)
    if state is None:
        return None
    return [t.model_dump(mode="json") for t in open_tasks(state)]


# -- case ---------------------------------------------------------------------------------


@case_app.command("submit")
def case_submit(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(metavar="FILE", help="A case file (.yaml or .json).")],
    case_id: Annotated[
        str | None,
        typer.Option(
            "--case-id", help="The case's id (default: one is made up).", show_default=False
        ),
    ] = None,
    draft_only: Annotated[
        bool, typer.Option("--draft-only", help="Store the draft; do not submit it yet.")
    ] = False,
    api_url: ApiUrlOption = DEFAULT_API_URL,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Upload a case file as a draft and submit it (originating officers)."""
    if not file.is_file():
        fail(f"FILE: {file} is not a file" if file.exists() else f"FILE: no such file {file}")
    if file.suffix.lower() not in (".yaml", ".yml", ".json"):
        fail(f"FILE: {file.name}: a case file ends in .yaml, .yml or .json")
    try:
        text = file.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        fail(f"FILE: {file} is not UTF-8 text")
    except OSError as exc:
        fail(f"FILE: cannot read {file}: {exc.strerror}")
    status = Console(stderr=True, highlight=False)
    submitted: dict[str, Any] | None = None
    with api_client(ctx, api_url, token) as ratify:
        with status.status(f"Uploading {file.name} to {ratify.base_url}..."):
            draft = ratify.upload_case(text, file.name, case_id)
        new_id = str(draft["case_id"])
        if not as_json:
            typer.echo(f"drafted {new_id} (version {draft['version']})")
        if not draft_only:
            try:
                with status.status(f"Submitting {new_id}: the rules fix its route..."):
                    submitted = ratify.submit(new_id)
            except ApiRefusal as exc:
                refused(
                    exc,
                    f"the draft {new_id} is stored but not submitted: fix the cause "
                    f"(`ratify act {new_id} revise ...`), then `ratify act {new_id} submit`",
                )
    if as_json:
        echo_json({"case_id": new_id, "draft": draft, "submitted": submitted})
    elif submitted is not None:
        typer.echo(
            f"submitted {new_id}: version {submitted['version']}, stage {submitted['stage']} "
            f"({stage_label(submitted['stage'])})"
        )


@case_app.command("show")
def case_show(
    ctx: typer.Context,
    case_id: Annotated[str, typer.Argument(metavar="CASE")],
    version: Annotated[
        int | None, typer.Option("--version", help="As it was at this version.", min=1)
    ] = None,
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="As it was at this instant, e.g. 2019-12-13T17:00:00Z."),
    ] = None,
    api_url: ApiUrlOption = DEFAULT_API_URL,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """A case: its stage, reference, deadline, sign-offs and open tasks (Part 2 if cleared)."""
    when = parse_instant(as_of, "--as-of") if as_of is not None else None
    with api_client(ctx, api_url, token) as ratify:
        view = ratify.show(case_id, version=version, as_of=when)
    if as_json:
        echo_json(view)
        return
    _print_case(view)


def _reasons(view: dict[str, Any]) -> list[tuple[str, str]]:
    """The decision's reason or comment and the board's advice with its conditions and
    comment, line breaks kept (two conditions typed on two lines print on two lines)."""
    rows: list[tuple[str, str]] = []
    if view.get("board_advice"):
        rows.append(("board advice", str(view["board_advice"]).replace("_", " ")))
        if view.get("board_conditions"):
            rows.append(("conditions", str(view["board_conditions"])))
        if view.get("board_comment"):
            rows.append(("board comment", str(view["board_comment"])))
    if view.get("decision_comment"):
        declined = view.get("stage") == Stage.DECLINED.value
        rows.append(("reason" if declined else "comment", str(view["decision_comment"])))
    return rows


def _print_case(view: dict[str, Any]) -> None:
    out = output()
    case = view.get("case") or {}
    routing = view.get("routing") or {}
    out.print(Text(str(case.get("title") or view.get("case_id")), style="bold"))
    facts = Table.grid(padding=(0, 2))
    facts.add_column(style="dim", no_wrap=True)
    facts.add_column(overflow="fold")
    decision_maker = view.get("decision_maker_role") or routing.get("decision_maker")
    rows = [
        ("case", f"{view.get('case_id')} (version {view.get('version')})"),
        ("stage", f"{view.get('stage')} ({stage_label(view.get('stage'))})"),
        ("reference", dash(view.get("reference"))),
        ("required by", dash(view.get("required_by"))),
        ("route", dash(routing.get("route"))),
        ("decision by", dash(decision_maker)),
        (
            "drafted",
            f"{london_text(view.get('drafted_at'))} by {_actor_text(view.get('drafted_by'))}",
        ),
        ("submitted", london_text(view.get("submitted_at"))),
        (
            "decided",
            london_text(view.get("decided_at"))
            + (f" ({view['decision_recorded']})" if view.get("decision_recorded") else "")
            + (f", {view['timeliness']}" if view.get("timeliness") else ""),
        ),
        *_reasons(view),
        ("Part 1", dash(view.get("part1"))),
        ("Part 2", dash(view.get("part2"))),
    ]
    if view.get("deadline_missed"):
        rows.append(("deadline", "missed"))
    returned = view.get("returned")
    if isinstance(returned, dict) and view.get("stage") == Stage.REVISION.value:
        reasons = "; ".join(str(r) for r in returned.get("reasons", []))
        rows.append(("sent back", f"by {_actor_text(returned.get('by'))}: {reasons}"))
    for note in view.get("irregularities") or []:
        rows.append(("irregularity", str(note)))
    for key, value in rows:
        facts.add_row(key, value)
    out.print(facts)

    signoffs = view.get("signoffs") or {}
    if signoffs:
        table = make_table(
            "Sign-offs",
            "area",
            "status",
            "round",
            "by",
            "at",
            "note",
            keep={"area", "status", "round", "at"},
        )
        for area, s in signoffs.items():
            table.add_row(
                area,
                str(s.get("status")),
                str(s.get("round")),
                _actor_text(s.get("by")) if s.get("by") else "-",
                london_text(s.get("at")),
                dash(s.get("note")),
            )
        out.print(table)

    tasks = _open_tasks(view)
    if tasks is None:
        out.print("open tasks: cannot be worked out from this view")
    elif tasks:
        table = make_table(
            "Open tasks",
            "task",
            "role",
            "area",
            "due",
            "description",
            keep={"task", "role", "area", "due"},
        )
        for t in tasks:
            table.add_row(
                t["kind"], t["role"], dash(t.get("area")), dash(t.get("due")), t["description"]
            )
        out.print(table)
    else:
        out.print("open tasks: none")

    state = _state(view)
    if state is not None and state.case is not None:
        answer.print_answer(out, state.case, state.routing)
        _print_checks_summary(out, state)

    part2 = case.get("part2")
    if isinstance(part2, dict):
        out.print(Text(f"Part 2 ({part2.get('security_marking')}; confidential)", style="bold"))
        review = part2.get("review_on") or part2.get("ceases_to_be_exempt_on")
        if part2.get("exemption_basis"):
            out.print(f"  exempt under {part2['exemption_basis']}", markup=False)
        sections = "; ".join(foi_title(str(s)) for s in part2.get("foi_sections") or [])
        out.print(f"  FOI Act exemptions: {dash(sections)}; review on {dash(review)}", markup=False)
        out.print(f"  {part2.get('content')}", markup=False)
    elif view.get("part2_exists"):
        out.print("Part 2: exists; you are not cleared to see it")


@case_app.command("list")
def case_list(
    ctx: typer.Context,
    stage: Annotated[str | None, typer.Option("--stage", help="e.g. advice, decision.")] = None,
    title: Annotated[str | None, typer.Option("--title", help="Title contains this.")] = None,
    reference: Annotated[str | None, typer.Option("--reference", help="e.g. 'PCD 679'.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=500, help="Cases a page.")] = 50,
    cursor: CursorOption = None,
    api_url: ApiUrlOption = DEFAULT_API_URL,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Search the cases, most recently changed first, a page at a time (no Part 2 content).

    --json prints the API's page: {"items": [...], "next": cursor or null}.
    """
    with api_client(ctx, api_url, token) as ratify:
        found = ratify.list_cases(
            stage=stage, title=title, reference=reference, limit=limit, cursor=cursor
        )
    if as_json:
        echo_json(found)
        return
    table = make_table(
        "Cases",
        *("case", "title", "stage", "reference", "amount", "required by", "updated", "version"),
        keep={"case", "stage", "reference", "amount", "required by", "updated", "version"},
    )
    for r in found["items"]:
        table.add_row(
            r["case_id"],
            r["title"],
            r["stage"],
            dash(r.get("reference")),
            _money(r.get("total_amount")),
            dash(r.get("required_by")),
            london_text(r.get("updated_at")),
            str(r.get("version")),
        )
    out = output()
    out.print(table)
    more = next_page(
        "case list",
        found.get("next"),
        stage=stage,
        title=title,
        reference=reference,
        limit=limit if limit != 50 else None,
    )
    if more:
        out.print(f"more cases: {more}", markup=False, soft_wrap=True)


#: What a person does about a check that is still open, by its severity.
_TO_DO = {
    "info": "for information",
    "acknowledge": "open: fix it, or acknowledge it with a reason",
    "fix": "open: fix it before submission",
}


def _print_checks_summary(out: Console, state: CaseState) -> None:
    """Every check on the case with its status: open (and what to do) or acknowledged, by
    whom and why. What every approver must see before reading on."""
    found = checks_of(state, today())
    acknowledged = sum(1 for c in found.checks if c.acknowledgement is not None)
    out.print(
        f"checks: {found.open} open, {acknowledged} acknowledged "
        f"(`ratify case checks {state.case_id}` gives their keys)",
        markup=False,
    )
    if found.problem:
        out.print(f"  no checks could be judged: {found.problem}", markup=False)
    if not found.checks:
        return
    table = make_table("Checks", "check", "concerns", "found", "status", keep={"check"})
    for c in found.checks:
        ack = c.acknowledgement
        status = (
            f"acknowledged by {ack.by} on {london_text(ack.at)}: {ack.reason}"
            if ack is not None
            else _TO_DO[c.severity.value]
        )
        table.add_row(c.kind.value, Text(c.subject), Text(c.message), Text(status))
    out.print(table)


@case_app.command("checks")
def case_checks(
    ctx: typer.Context,
    case_id: Annotated[str, typer.Argument(metavar="CASE")],
    api_url: ApiUrlOption = DEFAULT_API_URL,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """The checks on a case: which are open, and how each was acknowledged.

    The checks are the engine's warnings, the recommendations against the routing, the
    totals of the tables and the officer declaration. Acknowledge one with
    `ratify act CASE acknowledge_check -f check=KEY -f reason="..."`.
    """
    with api_client(ctx, api_url, token) as ratify:
        view = ratify.checks(case_id)
    if as_json:
        echo_json(view)
        return
    out = output()
    checks = view.get("checks") or []
    out.print(
        f"{view.get('case_id')} (version {view.get('version')}, {view.get('stage')}): "
        f"{len(checks)} check(s), {view.get('open')} open; judged on {view.get('judged_on')}"
    )
    if view.get("problem"):
        out.print(f"no checks could be judged: {view['problem']}", markup=False)
    if checks:
        table = make_table(
            "Checks", "key", "kind", "severity", "status", "check", keep={"key", "severity"}
        )
        for c in checks:
            ack = c.get("acknowledgement")
            status = (
                f"acknowledged by {ack.get('by')} on {london_text(ack.get('at'))}: "
                f"{ack.get('reason')}"
                if isinstance(ack, dict)
                else ("open" if c.get("open") else "-")
            )
            table.add_row(
                str(c.get("key")),
                str(c.get("kind")),
                str(c.get("severity")),
                Text(status),
                Text(str(c.get("message"))),
            )
        out.print(table)
    earlier = view.get("earlier_acknowledgements") or []
    if earlier:
        table = make_table(
            "Earlier acknowledgements (checks the case no longer has)",
            "key",
            "by",
            "at",
            "reason",
            "check as seen",
            keep={"key", "at"},
        )
        for a in earlier:
            table.add_row(
                str(a.get("check")),
                str(a.get("by")),
                london_text(a.get("at")),
                Text(str(a.get("reason"))),
                Text(str(a.get("message"))),
            )
        out.print(table)
