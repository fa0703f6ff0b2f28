"""Linking a person's account at the identity provider to a Ratify user: the admin CLI
(`ratify users link-oidc / unlink-oidc / oidc-links`) and its rules."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import URL
from typer.testing import CliRunner

from domain.roles import Role
from ratify.cli.main import app
from ratify.services.identity.directory import Directory
from ratify.services.identity.oidc_subjects import OidcSubjects, oidc_subjects

runner = CliRunner()
ISSUER = "https://login.example.org/tenant/v2.0"


@pytest.fixture
def cli(identity_url: URL, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("RATIFY_DATABASE_URL", identity_url.render_as_string(hide_password=False))
    monkeypatch.setenv("RATIFY_OIDC_ISSUER", ISSUER)
    monkeypatch.setenv("RATIFY_OIDC_CLIENT_ID", "ratify")
    for name in ("RATIFY_OIDC_AUDIENCE", "RATIFY_OIDC_JWKS_URL"):
        monkeypatch.delenv(name, raising=False)

    def run(*args: str):
        return runner.invoke(app, list(args))

    return run


def links(engine: sa.Engine) -> list[tuple[str, str, str, str]]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(
                oidc_subjects.c.issuer,
                oidc_subjects.c.subject,
                oidc_subjects.c.user_id,
                oidc_subjects.c.linked_via,
            ).order_by(oidc_subjects.c.user_id)
        )
        return [tuple(r) for r in rows]


def test_link_list_replace_and_unlink(cli, directory: Directory, engine: sa.Engine) -> None:
    directory.add_user("fran.fin", "Fran Finance", [Role.FINANCE_ADVISER])
    linked = cli(
        "users", "link-oidc", "fran.fin", "--subject", "AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ"
    )
    assert linked.exit_code == 0, linked.output
    assert (
        f"linked: fran.fin is subject AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ at {ISSUER}"
        in (linked.stdout)
    )
    assert links(engine) == [
        (ISSUER, "AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ", "fran.fin", "admin")
    ]
    assert (
        OidcSubjects(directory).user_for(ISSUER, "AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ")
        == "fran.fin"
    )
    listed = json.loads(cli("users", "oidc-links", "--json").stdout)
    assert [(e["user_id"], e["subject"], e["linked_via"]) for e in listed] == [
        ("fran.fin", "AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ", "admin")
    ]
    # Another subject for the same user at the same issuer: only with --replace.
    again = cli("users", "link-oidc", "fran.fin", "--subject", "new-subject")
    assert again.exit_code == 2 and "pass --replace" in again.stderr
    replaced = cli("users", "link-oidc", "fran.fin", "--subject", "new-subject", "--replace")
    assert replaced.exit_code == 0, replaced.output
    assert links(engine) == [(ISSUER, "new-subject", "fran.fin", "admin")]
    unlinked = cli("users", "unlink-oidc", "fran.fin")
    assert unlinked.exit_code == 0 and links(engine) == []


def test_refusals_name_the_rule_and_write_nothing(
    cli, directory: Directory, engine: sa.Engine
) -> None:
    directory.add_user("fran.fin", "Fran Finance", [Role.FINANCE_ADVISER])
    directory.add_user("lee.legal", "Lee Legal", [Role.LEGAL_ADVISER])
    assert cli("users", "link-oidc", "fran.fin", "--subject", "sub-1").exit_code == 0
    cases = {
        ("nobody", "sub-2"): "user_id: there is no user 'nobody'",
        ("lee.legal", "sub-1"): "subject: this subject at",  # fran.fin's already
        ("lee.legal", "has space"): "subject: must be the provider's subject",
        ("lee.legal", "x" * 256): "subject: must be the provider's subject",
    }
    for (user, subject), message in cases.items():
        refused = cli("users", "link-oidc", user, "--subject", subject)
        assert refused.exit_code == 2 and message in refused.stderr, refused.output
    insecure = cli(
        "users", "link-oidc", "lee.legal", "--subject", "s", "--issuer", "http://idp.example"
    )
    assert insecure.exit_code == 2 and "must be an https URL" in insecure.stderr
    missing = cli("users", "unlink-oidc", "lee.legal")
    assert missing.exit_code == 2 and "lee.legal has no link at" in missing.stderr
    assert links(engine) == [(ISSUER, "sub-1", "fran.fin", "admin")]


def test_first_sign_in_links_only_an_active_unlinked_user(directory: Directory) -> None:
    directory.add_user("eve.eq", "Eve", [Role.EQUALITIES_ADVISER])
    directory.add_user("pat.pub", "Pat", [Role.PUBLICATION_OFFICER])
    directory.deactivate("pat.pub")
    subjects = OidcSubjects(directory)
    assert not subjects.link_on_first_sign_in(ISSUER, "s-pat", "pat.pub")  # deactivated
    assert not subjects.link_on_first_sign_in(ISSUER, "s-x", "no.such.user")
    assert subjects.link_on_first_sign_in(ISSUER, "s-eve", "eve.eq")
    assert subjects.link_on_first_sign_in(ISSUER, "s-eve", "eve.eq")  # the same, again
    assert not subjects.link_on_first_sign_in(ISSUER, "s-other", "eve.eq")  # linked already
    assert [(link.subject, link.user_id) for link in subjects.links()] == [("s-eve", "eve.eq")]
