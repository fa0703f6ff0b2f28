"""`ratify import`: bring in an existing register (history files, `docs/import.md`)."""

from __future__ import annotations

import asyncio
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from domain.clock import london_date
from domain.roles import Role
from eventstore import EventStore
from ratify.cli.common import (
    JsonOption,
    cli_settings,
    database_url,
    echo_json,
    fail,
    make_table,
    open_directory,
    output,
)
from ratify.services.importing import (
    ImportReport,
    import_histories,
    read_sources,
    start_part2_reviews,
)

commands = typer.Typer()
"""`import` at the top level."""

_LABELS = {
    "imported": "imported",
    "would_import": "would import",
    "skipped": "skipped (already imported)",
    "refused": "refused",
}


@commands.command("import")
def import_register(
    ctx: typer.Context,
    path: Annotated[
        Path,
        typer.Argument(
            metavar="DIR_OR_FILE",
            help="A history file, or a directory of them (*.history.yaml or *.history.json; "
            "the case files they name sit beside them).",
        ),
    ],
    by: Annotated[
        str,
        typer.Option("--by", help="The administrator importing (a user holding the admin role)."),
    ],
    check: Annotated[
        bool, typer.Option("--check", help="Dry run: report everything, write nothing.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Import decisions taken before Ratify as closed cases with their real dates and
    references; each case is written whole or not at all, and importing twice changes
    nothing. Exit 1 if any case was refused."""
    with open_directory(ctx) as directory:
        principal = directory.principal_for(by)
        if principal is None or Role.ADMIN not in principal.roles:
            fail(f"--by: {by!r} is not an active user holding the admin role")
    try:
        histories, beside = read_sources(path)
    except ValueError as exc:
        fail(f"DIR_OR_FILE: {exc}")
    with EventStore.from_url(database_url(ctx)) as store:
        report = import_histories(
            store,
            histories,
            beside=beside,
            importer=by,
            now=datetime.now(UTC),
            check=check,
        )
    reviews: dict[str, str] = {}
    review_error: str | None = None
    if not check and report.reviews:
        try:
            reviews = asyncio.run(_start_reviews(report))
        except Exception as exc:  # Temporal unreachable, misconfigured: the import stands
            review_error = type(exc).__name__
    if as_json:
        echo_json(
            {
                "check": check,
                "cases": [_case_json(asdict(c)) for c in report.cases],
                "part2_reviews": reviews,
                "part2_reviews_not_started": review_error,
            }
        )
    else:
        _print(report, reviews, review_error)
    if report.with_status("refused"):
        raise typer.Exit(1)


async def _start_reviews(report: ImportReport) -> dict[str, str]:
    """Start the Part 2 reviews on the Temporal the worker uses (TEMPORAL_ADDRESS, else the
    dev server `ratify serve` runs on this machine), never on a server started for this
    command (it would stop with it, and the timers with it)."""
    # Start-up cost: the Temporal SDK and the settings (~0.4 s) only when a review is due.
    from temporalio.client import Client

    from ratify.infra.observability.interceptors import client_interceptors
    from ratify.infra.signing import signed
    from ratify.infra.temporal import temporal_tls

    settings = cli_settings()
    target = settings.temporal_address or f"127.0.0.1:{settings.dev_server_port}"
    client = await Client.connect(
        target,
        namespace=settings.temporal_namespace,
        data_converter=settings.data_converter(),
        header_codec_behavior=settings.header_codec,
        interceptors=client_interceptors(),
        tls=temporal_tls(settings),
    )
    # The keys only once Temporal answered (the embedded key file is made on first use).
    client = signed(client, settings.action_keys())
    return await start_part2_reviews(
        client,
        report.reviews,
        task_queue=settings.task_queue,
        today=london_date(datetime.now(UTC)),
    )


def _case_json(data: dict[str, Any]) -> dict[str, Any]:
    review = data.get("part2_review")
    data["part2_review"] = review.isoformat() if review else None
    return data


def _print(report: ImportReport, reviews: dict[str, str], review_error: str | None) -> None:
    console = output()
    title = "Import (dry run: nothing written)" if report.check else "Import"
    table = make_table(
        title, "file", "case", "reference", "outcome", "status", "events", keep={"case"}
    )
    for c in report.cases:
        table.add_row(
            c.source,
            c.case_id or "-",
            c.reference or "-",
            c.outcome or "-",
            _LABELS[c.status],
            str(c.events) if c.events else "-",
        )
    console.print(table)
    counts = {status: len(report.with_status(status)) for status in _LABELS}  # type: ignore[arg-type]
    console.print(", ".join(f"{n} {_LABELS[s]}" for s, n in counts.items() if n) or "no files")
    for c in report.with_status("refused"):
        console.print(f"[bold]{c.source}[/bold] refused:")
        for problem in c.problems:
            console.print(f"  {problem.field}: {problem.rule}", markup=False)
    with_findings = [c for c in report.cases if c.findings]
    if with_findings:
        console.print("Findings (the record differs from the rules; recorded on the case):")
        for c in with_findings:
            for finding in c.findings:
                console.print(f"  {c.case_id}: {finding}", markup=False)
    for case_id, what in reviews.items():
        console.print(f"Part 2 of {case_id}: {what}", markup=False)
    if review_error is not None:
        console.print(
            f"Part 2 reviews not started ({review_error}): run the same import again once "
            "Temporal is reachable; it changes nothing else and starts them."
        )
