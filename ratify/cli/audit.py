"""`ratify audit ...`: the auditors' commands."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.text import Text
from sqlalchemy.exc import OperationalError, ProgrammingError

from domain.casefile import dump_case
from domain.clock import LONDON
from domain.state import CaseState
from domain.timeline import TimelineEntry
from eventstore import EventStore, create_engine_for
from eventstore.digest import Digest, digest, verify_since
from eventstore.log import store_consistency
from ratify.cli.common import (
    JsonOption,
    database_url,
    echo_json,
    fail,
    london,
    london_text,
    make_table,
    output,
    parse_instant,
)
from ratify.cli.remote import DEFAULT_API_URL, ApiUrlOption, TokenOption, api_client, stage_label
from ratify.services.evidence import (
    ConsistencyProof,
    bundle_sha256,
    check_bundle,
    read_evidence,
)
from ratify.services.projections import agenda

audit_app = typer.Typer(
    help="Auditors: timelines, as-of views, evidence bundles and their offline check, "
    "digests and proofs, reconciling and replaying the workflows."
)


@audit_app.command("digest")
def audit_digest(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Print the store-wide digest now: keep it somewhere Ratify cannot write."""
    with EventStore.from_url(database_url(ctx)) as store:
        found = digest(store)
    if as_json:
        typer.echo(found.model_dump_json())
        return
    typer.echo(f"position {found.position}, {found.streams} streams, root {found.root}")
    typer.echo(found.model_dump_json())


@audit_app.command("verify")
def audit_verify(
    ctx: typer.Context,
    since: Annotated[
        Path | None,
        typer.Option(
            help="A digest kept earlier (its JSON file): prove nothing it covered changed."
        ),
    ] = None,
) -> None:
    """Check every stream's hash chain, and optionally consistency with an older digest."""
    old: Digest | None = None
    if since is not None:
        try:
            old = Digest.model_validate_json(since.read_text("utf-8"))
        except OSError as exc:
            fail(f"--since: {since}: {exc.strerror}")
        except ValidationError as exc:
            fail(f"--since: {since} is not a digest: {exc.errors()[0]['msg']}")
    with EventStore.from_url(database_url(ctx)) as store:
        chains = store.verify_all()
        if not chains.ok and chains.first_problem is not None:
            p = chains.first_problem
            fail(
                f"broken: {p.kind.value} at {p.stream_id} v{p.version} position {p.position} "
                f"(event {p.event_id}): {p.detail}",
                1,
            )
        typer.echo(f"ok: {chains.events_checked} events, every hash chain intact")
        if old is not None:
            result = verify_since(store, old)
            if not result.ok:
                fail(f"not consistent with the digest: {result.detail}", 1)
            typer.echo(f"ok: {result.detail}")


@audit_app.command("timeline")
def audit_timeline(
    ctx: typer.Context,
    case_id: Annotated[str, typer.Argument(metavar="CASE")],
    api_url: ApiUrlOption = DEFAULT_API_URL,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Every event of a case in plain words: who, when, for whom, under which rules, and
    each revision section by section (Part 2 changes only with Part 2 clearance)."""
    with api_client(ctx, api_url, token) as ratify:
        entries = ratify.timeline(case_id)
    if as_json:
        echo_json(entries)
        return
    table = make_table(
        f"Timeline of {case_id}",
        *("v", "when (London)", "what", "who", "role", "for", "rules"),
        keep={"v", "what", "who"},
    )
    parsed = [TimelineEntry.model_validate(raw) for raw in entries]
    for e in parsed:
        table.add_row(
            str(e.version),
            (e.effective_at or e.occurred_at).astimezone(LONDON).strftime("%d %b %Y %H:%M"),
            Text(
                e.summary
                + (f"\n({e.recorded})" if e.recorded else "")
                + (" (changes below)" if e.changes else "")
            ),
            e.actor,
            e.role.replace("_", " "),
            e.on_behalf_of or "",
            e.rule_set or "",
        )
    out = output()
    out.print(table)
    for e in (e for e in parsed if e.changes):
        out.print(Text(f"\nVersion {e.version}: what changed", style="bold"))
        for section in e.changes:
            out.print(Text(f"{section.label}", style="underline"))
            for line in section.describe():
                out.print(f"  {line}", markup=False, soft_wrap=True, highlight=False)


@audit_app.command("as-of")
def audit_as_of(
    ctx: typer.Context,
    case_id: Annotated[str, typer.Argument(metavar="CASE")],
    version: Annotated[
        int | None, typer.Option("--version", help="The case as of this version.", min=1)
    ] = None,
    at: Annotated[
        str | None,
        typer.Option("--at", help="The case as of this instant, e.g. 2019-12-13T17:00:00Z."),
    ] = None,
    api_url: ApiUrlOption = DEFAULT_API_URL,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """The case's state and papers as they stood at a version or an instant (the same fold
    the workflows use; Part 2 only if you are cleared for it, and then the read is recorded)."""
    if (version is None) == (at is None):
        fail("give one of --version N or --at INSTANT")
    instant = parse_instant(at, "--at") if at is not None else None
    with api_client(ctx, api_url, token) as ratify:
        shown = ratify.show(case_id, version=version, as_of=instant)
    if as_json:
        echo_json(shown)
        return
    state = CaseState.model_validate(
        {k: v for k, v in shown.items() if k in CaseState.model_fields}
    )
    out = output()
    when = f"version {version}" if version is not None else london(instant)
    out.print(Text(f"{case_id} as of {when}: version {state.version}", style="bold"))
    out.print(f"stage {state.stage.value} ({stage_label(state.stage.value)})", markup=False)
    if state.reference:
        out.print(f"reference {state.reference}", markup=False)
    for area, signoff in state.signoffs.items():
        by = f" by {signoff.by.user_id}" if signoff.by else ""
        out.print(f"  {area.value}: {signoff.status.value}{by}", markup=False)
    if state.case is not None:
        out.print(Text(f"\nThe papers (revision {state.case_revision}):", style="bold"))
        out.print(dump_case(state.case, "yaml"), markup=False)
        if shown.get("part2_exists") and not shown.get("part2_visible"):
            out.print("Part 2: withheld (needs the part2_clearance role)", markup=False)


@audit_app.command("export")
def audit_export(
    ctx: typer.Context,
    ref: Annotated[
        str, typer.Argument(metavar="REF", help="A case id, or a reference: 'PCD 679'.")
    ],
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Where to write the bundle (default: evidence-REF.html)."),
    ] = None,
    api_url: ApiUrlOption = DEFAULT_API_URL,
    token: TokenOption = None,
) -> None:
    """Write one evidence file: the case's events, hashes, the inclusion proof against the
    store's digest, and a report. The export is recorded in the case's access log."""
    target = out or Path(f"evidence-{ref.replace(' ', '-')}.html")
    if target.exists() and target.is_dir():
        fail(f"--out: {target} is a directory")
    with api_client(ctx, api_url, token) as ratify:
        content = ratify.bundle(ref)
    try:
        target.write_bytes(content)
    except OSError as exc:
        fail(f"--out: {target}: {exc.strerror}", 1)

    evidence = read_evidence(content.decode("utf-8"))
    typer.echo(
        f"wrote {target}: {len(evidence.events)} events of {evidence.case_id}, "
        f"sha256 {bundle_sha256(content)}"
    )
    typer.echo(f"proven against digest {evidence.digest.model_dump_json()}")


@audit_app.command("check")
def audit_check(
    bundle: Annotated[Path, typer.Argument(metavar="BUNDLE", help="An evidence bundle file.")],
    digest_file: Annotated[
        Path | None,
        typer.Option(
            "--digest", help="A digest kept outside Ratify (its JSON file) to check against."
        ),
    ] = None,
    proof_file: Annotated[
        Path | None,
        typer.Option(
            "--proof",
            help="For a digest kept after the export: the consistency proof from the export's "
            "position to it (its JSON file, from `ratify audit prove`).",
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Check an evidence bundle with no database and no server; exit 1 if it fails.

    The kept digest may be the one taken at the export, or one kept earlier (from the case's
    first event on: the bundle carries the store's events since), or one kept later (with
    --proof); the check says which of the bundle's events it covers and which came after."""
    try:
        document = bundle.read_bytes().decode("utf-8")
    except OSError as exc:
        fail(f"BUNDLE: {bundle}: {exc.strerror}")
    except UnicodeDecodeError:
        fail(f"BUNDLE: {bundle} is not UTF-8 text: not an evidence bundle")
    kept: Digest | None = None
    if digest_file is not None:
        try:
            kept = Digest.model_validate_json(digest_file.read_text("utf-8"))
        except OSError as exc:
            fail(f"--digest: {digest_file}: {exc.strerror}")
        except ValidationError as exc:
            fail(f"--digest: {digest_file} is not a digest: {exc.errors()[0]['msg']}")
    later: ConsistencyProof | None = None
    if proof_file is not None:
        try:
            later = ConsistencyProof.model_validate_json(_bounded(proof_file, "--proof"))
        except ValidationError as exc:
            fail(f"--proof: {proof_file} is not a consistency proof: {exc.errors()[0]['msg']}")
    result = check_bundle(document, kept, later)
    if as_json:
        echo_json(
            {
                "ok": result.ok,
                "problems": result.problems,
                "proven": result.proven,
                "covered_versions": result.covered,
                "versions_after_digest": result.after,
            }
        )
    elif result.ok:
        for line in result.proven:
            typer.echo(f"ok: {line}")
    else:
        for line in result.problems:
            typer.echo(f"FAILED: {line}", err=True)
    if not result.ok:
        raise typer.Exit(1)


def _bounded(path: Path, option: str, limit: int = 1_000_000) -> str:
    """A small JSON file's text, or exit 2 naming the option."""
    try:
        with path.open("rb") as handle:
            data = handle.read(limit + 1)
    except OSError as exc:
        fail(f"{option}: {path}: {exc.strerror}")
    if len(data) > limit:
        fail(f"{option}: {path} is larger than {limit} bytes")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        fail(f"{option}: {path} is not UTF-8 text")


@audit_app.command("prove")
def audit_prove(
    ctx: typer.Context,
    old: Annotated[
        int, typer.Argument(metavar="OLD", help="The earlier position: a bundle's export.", min=0)
    ],
    to: Annotated[
        int | None,
        typer.Option("--to", help="The later position: a digest's (default: now).", min=0),
    ] = None,
) -> None:
    """Print the consistency proof (RFC 6962) that the store's log at position OLD is a
    prefix of the log at --to: what `ratify audit check --proof` needs to check a bundle
    exported at OLD against a digest kept later. It holds hashes only."""
    with EventStore.from_url(database_url(ctx)) as store:
        new = store.last_position() if to is None else to
        if not old <= new <= store.last_position():
            fail(
                f"positions: need OLD <= --to <= {store.last_position()} (the store's last); "
                f"got {old} and {new}"
            )
        proof = ConsistencyProof(
            old_size=old, new_size=new, proof=store_consistency(store, old, new)
        )
    typer.echo(proof.model_dump_json())


@audit_app.command("access")
def audit_access(
    ctx: typer.Context,
    case_id: Annotated[str, typer.Argument(metavar="CASE")],
    api_url: ApiUrlOption = DEFAULT_API_URL,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Who read the case's confidential Part 2, and who exported its evidence, and when."""
    with api_client(ctx, api_url, token) as ratify:
        records = ratify.access(case_id)
    if as_json:
        echo_json(records)
        return
    table = make_table(
        f"Access to {case_id}",
        *("when", "what", "who", "basis", "via", "version"),
        keep={"when", "what", "who"},
    )
    for r in records:
        what = "exported evidence" if r["kind"].endswith("exported") else "read Part 2"
        table.add_row(
            london_text(r["at"]), what, r["user_id"], r["basis"], r["via"], str(r["case_version"])
        )
    output().print(table)


TemporalOption = Annotated[
    str | None,
    typer.Option(
        "--temporal-address",
        help="host:port of Temporal (default: TEMPORAL_ADDRESS, else the dev server that "
        "`ratify serve` runs on this machine).",
        show_default=False,
    ),
]


async def _temporal(address: str | None) -> Any:
    """A Temporal client for the auditors' commands, or exit 1 naming the address."""
    # Start-up cost: the Temporal SDK and the settings (~0.4 s) load only for these commands.
    from temporalio.client import Client

    from ratify.infra.observability.startup import StartupError
    from ratify.infra.settings import load_settings
    from ratify.infra.temporal import temporal_tls

    settings = load_settings()
    target = address or settings.temporal_address or f"127.0.0.1:{settings.dev_server_port}"
    try:
        tls = temporal_tls(settings)
    except StartupError as exc:
        fail(exc.message, exc.exit_code)
    try:
        return await Client.connect(
            target,
            namespace=settings.temporal_namespace,
            data_converter=settings.data_converter(),
            header_codec_behavior=settings.header_codec,
            tls=tls,
        )
    except RuntimeError as exc:
        fail(f"--temporal-address: cannot reach Temporal at {target}: {exc}", 1)


@audit_app.command("reconcile")
def audit_reconcile(
    ctx: typer.Context, temporal_address: TemporalOption = None, as_json: JsonOption = False
) -> None:
    """Compare every live case's workflow state with the fold of its stored events, and list
    stored cases with no workflow, workflows with no stored case, and open cases whose
    workflow was ended (terminated, cancelled, failed) outside Ratify; exit 1 on any."""
    # Start-up cost: reconciling loads the workflows and the Temporal SDK (~0.3 s).
    from ratify.services.reconcile import reconcile

    async def run() -> Any:
        client = await _temporal(temporal_address)
        with EventStore.from_url(database_url(ctx)) as store:
            return await reconcile(client, store)

    report = asyncio.run(run())
    if as_json:
        echo_json(report.model_dump(mode="json"))
    else:
        typer.echo(
            f"{report.checked} stored cases; {report.compared} running workflows compared with "
            "their stored events"
        )
        for d in report.differences:
            typer.echo(f"DIFFERS: {d}")
        for case_id in report.cases_without_workflow:
            typer.echo(f"NO WORKFLOW: case {case_id} is stored but has no workflow")
        for workflow_id in report.workflows_without_case:
            typer.echo(f"NO CASE: workflow {workflow_id} has no stored case")
        for unqueried in report.not_queried:
            typer.echo(f"NOT QUERIED: {unqueried}")
        for ended in report.ended_workflows:
            typer.echo(f"WORKFLOW ENDED: {ended}: tell an operator")
        if report.ok:
            typer.echo("ok: the workflows agree with the record")
    if not report.ok:
        raise typer.Exit(1)


@audit_app.command("replay-workflows")
def audit_replay_workflows(
    ctx: typer.Context, temporal_address: TemporalOption = None, as_json: JsonOption = False
) -> None:
    """Replay every decision's, Part 2 review's and board meeting's Temporal history against
    the current code; exit 1 naming each workflow the code would not reproduce."""
    # Start-up cost: replaying loads the workflows and the Temporal SDK (~0.4 s).
    from ratify.services.replay import replay_workflows, workflow_ids

    async def run() -> tuple[int, dict[str, str]]:
        client = await _temporal(temporal_address)
        url = database_url(ctx)
        with EventStore.from_url(url) as store:
            ids = workflow_ids(store, _meeting_ids(url))
        return await replay_workflows(client, ids)

    replayed, failures = asyncio.run(run())
    if as_json:
        echo_json({"replayed": replayed, "failures": failures})
    else:
        typer.echo(f"replayed {replayed} workflow histories against the current code")
        for workflow_id, error in failures.items():
            typer.echo(f"NON-DETERMINISTIC: {workflow_id}: {error}")
        if not failures:
            typer.echo("ok: every history replays")
    if failures:
        raise typer.Exit(1)


def _meeting_ids(url: str) -> list[str]:
    """The board meetings Ratify knows of (from the read views; none if not built yet)."""
    engine = create_engine_for(url)
    try:
        return sorted({m.meeting_id for m in agenda.meetings(engine)})
    except (OperationalError, ProgrammingError):
        return []
    finally:
        engine.dispose()
