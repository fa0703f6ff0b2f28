"""`ratify users ...`: people, their roles, passwords, sessions, OIDC links and deputies."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from ratify.cli.common import (
    JsonOption,
    cli_settings,
    echo_json,
    fail,
    iso,
    london,
    make_table,
    open_directory,
    output,
    parse_date,
)
from ratify.services import delegations
from ratify.services.identity.oidc_subjects import OidcSubjects
from ratify.services.identity.rules import check_user_id, parse_role
from ratify.services.identity.values import Delegation, User

users_app = typer.Typer(help="People, their roles and their deputies.", no_args_is_help=True)


def _user_json(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "name": user.name,
        "email": user.email,
        "active": user.active,
        "roles": sorted(r.value for r in user.roles),
        "has_password": user.has_password,
        "created_at": iso(user.created_at),
    }


def _delegation_json(d: Delegation) -> dict[str, Any]:
    return {
        "id": d.id,
        "principal": d.principal_id,
        "deputy": d.deputy_id,
        "role": d.role.value,
        "from": iso(d.starts_on),
        "to": iso(d.ends_on),
        "reason": d.reason,
        "created_at": iso(d.created_at),
        "revoked_at": iso(d.revoked_at),
    }


def _print_user(user: User, verb: str) -> None:
    roles = ", ".join(sorted(r.value for r in user.roles)) or "no roles"
    state = "" if user.active else " (deactivated)"
    typer.echo(f"{verb} {user.id} ({user.name}){state}: {roles}")


# -- users ------------------------------------------------------------------------------------


@users_app.command("add")
def users_add(
    ctx: typer.Context,
    user_id: Annotated[str, typer.Argument(metavar="ID", help="e.g. ollie.lane")],
    name: Annotated[str, typer.Option("--name", help="Full name.")],
    role: Annotated[
        list[str],
        typer.Option(
            "--role",
            help="A role (repeat for several), e.g. originating_officer, finance_adviser, "
            "dmpc, publication_officer, records_officer (records steps taken on paper for "
            "the people who took them), auditor, admin.",
            show_default=False,
        ),
    ],
    email: Annotated[str | None, typer.Option("--email")] = None,
    password_prompt: Annotated[
        bool, typer.Option("--password-prompt", help="Ask for a password for the web sign-in.")
    ] = False,
) -> None:
    """Add a person with their roles."""
    with open_directory(ctx) as directory:
        check_user_id(user_id)
        roles = [parse_role(r) for r in role]
        password = None
        if password_prompt:
            password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
        user = directory.add_user(user_id, name, roles, email=email, password=password)
    _print_user(user, "added")


@users_app.command("list")
def users_list(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Everyone, with their roles."""
    with open_directory(ctx) as directory:
        people = directory.list_users()
    if as_json:
        echo_json([_user_json(u) for u in people])
        return
    table = make_table(
        "Users", "id", "name", "email", "roles", "active", "password", keep={"id", "roles", "email"}
    )
    for u in people:
        table.add_row(
            u.id,
            u.name,
            u.email or "-",
            "\n".join(sorted(r.value for r in u.roles)),
            "yes" if u.active else "no",
            "set" if u.has_password else "-",
        )
    output().print(table)


@users_app.command("grant")
def users_grant(
    ctx: typer.Context,
    user_id: Annotated[str, typer.Argument(metavar="ID")],
    role: Annotated[str, typer.Argument(metavar="ROLE")],
    since: Annotated[
        str | None,
        typer.Option(
            "--since",
            help=(
                "The day they have held the role from, when before today (YYYY-MM-DD): a "
                "person whose steps taken on paper before Ratify are to be recorded."
            ),
        ),
    ] = None,
) -> None:
    """Give a person a role (or, with --since, say they have held it since an earlier day)."""
    held_since = parse_date(since, "--since") if since is not None else None
    with open_directory(ctx) as directory:
        user = directory.grant_role(user_id, role, held_since=held_since)
    _print_user(user, "granted:")


@users_app.command("revoke")
def users_revoke(
    ctx: typer.Context,
    user_id: Annotated[str, typer.Argument(metavar="ID")],
    role: Annotated[str, typer.Argument(metavar="ROLE")],
) -> None:
    """Take a role away (delegations of it stop giving it at once)."""
    with open_directory(ctx) as directory:
        user = directory.revoke_role(user_id, role)
    _print_user(user, "revoked:")


@users_app.command("deactivate")
def users_deactivate(
    ctx: typer.Context, user_id: Annotated[str, typer.Argument(metavar="ID")]
) -> None:
    """Stop a person signing in (their tokens, sessions and delegations stop working)."""
    with open_directory(ctx) as directory:
        user = directory.deactivate(user_id)
    _print_user(user, "deactivated")


@users_app.command("reactivate")
def users_reactivate(
    ctx: typer.Context, user_id: Annotated[str, typer.Argument(metavar="ID")]
) -> None:
    """Let a deactivated person sign in again."""
    with open_directory(ctx) as directory:
        user = directory.reactivate(user_id)
    _print_user(user, "reactivated")


@users_app.command("set-password")
def users_set_password(
    ctx: typer.Context,
    user_id: Annotated[str, typer.Argument(metavar="ID")],
    password_stdin: Annotated[
        bool,
        typer.Option(
            "--password-stdin",
            help="Read the password from the first line of standard input (for scripts), "
            "instead of asking twice.",
        ),
    ] = False,
) -> None:
    """Set or reset a person's password for the web sign-in: ends all their sessions and
    lifts a sign-in lockout."""
    with open_directory(ctx) as directory:
        directory.get_user(user_id)  # an unknown user is refused before the prompt
        if password_stdin:
            password = sys.stdin.readline().rstrip("\r\n")
        else:
            password = typer.prompt(
                "New password", hide_input=True, confirmation_prompt=True, err=True
            )
        ended = directory.set_password(user_id, password)
    typer.echo(f"password set for {user_id}; {_sessions_text(ended)} ended")


@users_app.command("unlock")
def users_unlock(ctx: typer.Context, user_id: Annotated[str, typer.Argument(metavar="ID")]) -> None:
    """Lift a sign-in lockout (after too many failed passwords) and forget the failures."""
    with open_directory(ctx) as directory:
        until = directory.locked_until(user_id)
        cleared = directory.unlock(user_id)
    if until is not None:
        typer.echo(f"unlocked {user_id} (it was locked until {london(until)} London time)")
    elif cleared:
        typer.echo(f"{user_id} was not locked; its failed sign-ins were forgotten")
    else:
        typer.echo(f"{user_id} was not locked")


@users_app.command("end-sessions")
def users_end_sessions(
    ctx: typer.Context, user_id: Annotated[str, typer.Argument(metavar="ID")]
) -> None:
    """Sign a person out everywhere: end all their web sessions at once."""
    with open_directory(ctx) as directory:
        ended = directory.end_sessions(user_id, "ended_by_admin")
    typer.echo(f"{_sessions_text(ended)} of {user_id} ended")


def _sessions_text(count: int) -> str:
    return f"{count} session" + ("" if count == 1 else "s")


def _oidc_issuer(issuer: str | None) -> str:
    """The issuer given, else RATIFY_OIDC_ISSUER."""
    if issuer:
        return issuer
    configured = cli_settings().oidc_issuer
    if not configured:
        fail("--issuer: give the provider's issuer (RATIFY_OIDC_ISSUER is unset)")
    return configured


IssuerOption = Annotated[
    str | None,
    typer.Option(
        "--issuer",
        help="The provider's issuer, as in its tokens' iss (default: RATIFY_OIDC_ISSUER).",
    ),
]


@users_app.command("link-oidc")
def users_link_oidc(
    ctx: typer.Context,
    user_id: Annotated[str, typer.Argument(metavar="ID")],
    subject: Annotated[
        str, typer.Option("--subject", help="The person's sub at the provider (ID token's sub).")
    ],
    issuer: IssuerOption = None,
    replace: Annotated[
        bool, typer.Option("--replace", help="Replace the user's link at this issuer.")
    ] = False,
) -> None:
    """Link a person's account at the organisation's identity provider to a Ratify user, for
    "Sign in with your organisation" (their roles still come from Ratify)."""
    with open_directory(ctx) as directory:
        link = OidcSubjects(directory).link(user_id, subject, _oidc_issuer(issuer), replace=replace)
    typer.echo(f"linked: {link.user_id} is subject {link.subject} at {link.issuer}")


@users_app.command("unlink-oidc")
def users_unlink_oidc(
    ctx: typer.Context,
    user_id: Annotated[str, typer.Argument(metavar="ID")],
    issuer: IssuerOption = None,
) -> None:
    """Remove a user's link to the identity provider (they can no longer sign in with it)."""
    with open_directory(ctx) as directory:
        link = OidcSubjects(directory).unlink(user_id, _oidc_issuer(issuer))
    typer.echo(f"unlinked: {link.user_id} from subject {link.subject} at {link.issuer}")


@users_app.command("oidc-links")
def users_oidc_links(
    ctx: typer.Context,
    user_id: Annotated[str | None, typer.Argument(metavar="[USER]")] = None,
    as_json: JsonOption = False,
) -> None:
    """The links between provider subjects and Ratify users (of one user)."""
    with open_directory(ctx) as directory:
        links = OidcSubjects(directory).links(user_id)
    if as_json:
        echo_json([{**link.model_dump(), "linked_at": iso(link.linked_at)} for link in links])
        return
    table = make_table("OIDC links", "user", "issuer", "subject", "linked", "via", keep={"subject"})
    for link in links:
        table.add_row(
            link.user_id, link.issuer, link.subject, london(link.linked_at), link.linked_via
        )
    output().print(table)


@users_app.command("delegate")
def users_delegate(
    ctx: typer.Context,
    principal: Annotated[str, typer.Argument(metavar="PRINCIPAL", help="Who is away.")],
    deputy: Annotated[str, typer.Argument(metavar="DEPUTY", help="Who acts for them.")],
    role: Annotated[str, typer.Argument(metavar="ROLE", help="One of the principal's roles.")],
    starts_on: Annotated[str, typer.Option("--from", help="First day, YYYY-MM-DD.")],
    ends_on: Annotated[str, typer.Option("--to", help="Last day, YYYY-MM-DD (inclusive).")],
    reason: Annotated[str, typer.Option("--reason", help="e.g. annual leave.")],
    as_json: JsonOption = False,
) -> None:
    """Let a deputy act in one of a person's roles for a range of days (out of office)."""
    start = parse_date(starts_on, "--from")
    end = parse_date(ends_on, "--to")
    with open_directory(ctx) as directory:
        made = delegations.delegate(
            directory, directory.engine, principal, deputy, role, start, end, reason
        )
    if as_json:
        echo_json(_delegation_json(made))
        return
    typer.echo(
        f"{made.id}: {made.deputy_id} acts as {made.role.value} for {made.principal_id} "
        f"from {made.starts_on} to {made.ends_on}"
    )


@users_app.command("delegations")
def users_delegations(
    ctx: typer.Context,
    user_id: Annotated[
        str | None, typer.Argument(metavar="[USER]", help="Made or received by this person.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Delegations, newest first."""
    with open_directory(ctx) as directory:
        found = directory.list_delegations(user_id)
    if as_json:
        echo_json([_delegation_json(d) for d in found])
        return
    table = make_table(
        "Delegations",
        *("id", "principal", "deputy", "role", "days", "reason", "revoked"),
        keep={"id", "principal", "deputy", "role", "days", "revoked"},
    )
    for d in found:
        table.add_row(
            d.id,
            d.principal_id,
            d.deputy_id,
            d.role.value,
            f"{d.starts_on.isoformat()} to {d.ends_on.isoformat()}",
            d.reason,
            london(d.revoked_at),
        )
    output().print(table)


@users_app.command("undelegate")
def users_undelegate(
    ctx: typer.Context, delegation_id: Annotated[str, typer.Argument(metavar="DELEGATION_ID")]
) -> None:
    """Revoke a delegation at once."""
    with open_directory(ctx) as directory:
        revoked = directory.revoke_delegation(delegation_id)
    typer.echo(f"revoked {revoked.id}")
