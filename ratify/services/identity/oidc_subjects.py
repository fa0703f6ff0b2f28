"""Which person at the organisation's identity provider is which Ratify user.

An OIDC provider names a person by its issuer and a subject (`iss` and `sub` of the ID
token): the pair is stable for the person's life at the provider and never reassigned,
unlike a username or an e-mail address. `oidc_subjects` holds one row per linked person,
(issuer, subject) -> Ratify user id, made either

- by an administrator: `ratify users link-oidc USER --subject SUB` (`OidcSubjects.link`), or
- on a person's first sign-in with the provider, when `RATIFY_OIDC_LINK_BY_CLAIM` is on and
  the configured claim (`RATIFY_OIDC_USER_CLAIM`) names an active Ratify user who has no
  link at that issuer yet (`OidcSubjects.link_on_first_sign_in`).

A link says only who the person is: their roles always come from Ratify. A user has at most
one subject per issuer, and a subject belongs to one user, so once linked an account cannot
be taken over by another provider account whose claim happens to carry the same name.

Migration `ratify/infra/migrations/versions/i0003_oidc_subjects.py` (branch `identity`) creates
the table and must match it (a test compares the two).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict
from sqlalchemy.exc import IntegrityError

from eventstore.engine import write_engine
from eventstore.schema import UTCDateTime
from ratify.infra.db import metadata
from ratify.services.identity.directory import Directory
from ratify.services.identity.errors import InvalidInput, UnknownUser
from ratify.services.identity.rules import check_user_id
from ratify.services.identity.tables import users

#: The longest subject OpenID Connect allows (Core 1.0, section 2: at most 255 ASCII chars).
MAX_SUBJECT = 255
MAX_ISSUER = 500
#: How a link was made: by an administrator, or on first sign-in by the configured claim.
VIA_ADMIN = "admin"
VIA_CLAIM = "claim"

_SUBJECT = re.compile(r"^[\x21-\x7e]{1,255}$")

oidc_subjects = sa.Table(
    "oidc_subjects",
    metadata,
    sa.Column("issuer", sa.String(MAX_ISSUER), nullable=False, comment="the provider's iss"),
    sa.Column("subject", sa.String(MAX_SUBJECT), nullable=False, comment="the ID token's sub"),
    sa.Column("user_id", sa.String(200), nullable=False),
    sa.Column("linked_at", UTCDateTime(), nullable=False),
    sa.Column("linked_via", sa.String(20), nullable=False, comment="admin or claim"),
    sa.PrimaryKeyConstraint("issuer", "subject", name="pk_oidc_subjects"),
    sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_oidc_subjects_user_id_users"),
    sa.UniqueConstraint("issuer", "user_id", name="uq_oidc_subjects_issuer_user_id"),
    sa.Index("ix_oidc_subjects_user_id", "user_id"),
)


class OidcLink(BaseModel):
    """One person at one provider, linked to one Ratify user."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    issuer: str
    subject: str
    user_id: str
    linked_at: datetime
    linked_via: str


def check_subject(value: str, field: str = "subject") -> str:
    """A subject as OIDC defines it: 1 to 255 printable ASCII characters, no spaces."""
    if not isinstance(value, str) or not _SUBJECT.match(value):
        raise InvalidInput(
            field,
            f"must be the provider's subject (the ID token's sub): 1 to {MAX_SUBJECT} "
            "printable ASCII characters without spaces",
        )
    return value


def check_issuer(value: str, field: str = "issuer") -> str:
    """An issuer URL: https (http only on localhost), at most 500 characters."""
    if not isinstance(value, str) or not value or len(value) > MAX_ISSUER:
        raise InvalidInput(
            field, f"must be the provider's issuer URL, 1 to {MAX_ISSUER} characters"
        )
    if not (
        value.startswith("https://")
        or re.match(r"^http://(localhost|127\.0\.0\.1|\[::1\])(:\d+)?(/|$)", value)
    ):
        raise InvalidInput(field, f"{value!r} must be an https URL (plain http only on localhost)")
    return value


def _link(row: sa.Row[tuple[str, str, str, datetime, str]]) -> OidcLink:
    return OidcLink(
        issuer=row.issuer,
        subject=row.subject,
        user_id=row.user_id,
        linked_at=row.linked_at,
        linked_via=row.linked_via,
    )


class OidcSubjects:
    """The links of the directory's database (see the module docstring)."""

    def __init__(self, directory: Directory) -> None:
        self.engine = directory.engine
        self._writer = write_engine(directory.engine)

    def user_for(self, issuer: str, subject: str) -> str | None:
        """The Ratify user id this provider's subject is linked to, if any."""
        with self.engine.connect() as conn:
            found: str | None = conn.execute(
                sa.select(oidc_subjects.c.user_id).where(
                    oidc_subjects.c.issuer == issuer, oidc_subjects.c.subject == subject
                )
            ).scalar()
        return found

    def links(self, user_id: str | None = None) -> list[OidcLink]:
        """Every link (of one user), by user id and issuer."""
        query = sa.select(oidc_subjects).order_by(oidc_subjects.c.user_id, oidc_subjects.c.issuer)
        if user_id is not None:
            query = query.where(oidc_subjects.c.user_id == user_id)
        with self.engine.connect() as conn:
            return [_link(row) for row in conn.execute(query)]

    def link(
        self,
        user_id: str,
        subject: str,
        issuer: str,
        *,
        replace: bool = False,
        now: datetime | None = None,
    ) -> OidcLink:
        """An administrator links a user to the provider's subject. Refused (nothing
        written) if the user is unknown, the subject is another user's, or the user is
        already linked to another subject at this issuer (unless `replace`)."""
        check_user_id(user_id)
        check_subject(subject)
        check_issuer(issuer)
        when = now or datetime.now(UTC)
        with self._writer.begin() as conn:
            if conn.execute(sa.select(users.c.id).where(users.c.id == user_id)).first() is None:
                raise UnknownUser(user_id)
            owner = conn.execute(
                sa.select(oidc_subjects.c.user_id).where(
                    oidc_subjects.c.issuer == issuer, oidc_subjects.c.subject == subject
                )
            ).scalar()
            if owner is not None and owner != user_id:
                raise InvalidInput(
                    "subject",
                    f"this subject at {issuer} is linked to {owner} already: unlink it first "
                    f"(ratify users unlink-oidc {owner})",
                )
            current = conn.execute(
                sa.select(oidc_subjects.c.subject).where(
                    oidc_subjects.c.issuer == issuer, oidc_subjects.c.user_id == user_id
                )
            ).scalar()
            if current is not None and current != subject and not replace:
                raise InvalidInput(
                    "subject",
                    f"{user_id} is linked to another subject at {issuer} already: pass "
                    "--replace to link this one instead",
                )
            conn.execute(
                oidc_subjects.delete().where(
                    oidc_subjects.c.issuer == issuer, oidc_subjects.c.user_id == user_id
                )
            )
            conn.execute(
                oidc_subjects.insert().values(
                    issuer=issuer,
                    subject=subject,
                    user_id=user_id,
                    linked_at=when,
                    linked_via=VIA_ADMIN,
                )
            )
            row = conn.execute(
                sa.select(oidc_subjects).where(
                    oidc_subjects.c.issuer == issuer, oidc_subjects.c.subject == subject
                )
            ).one()
            return _link(row)

    def unlink(self, user_id: str, issuer: str) -> OidcLink:
        """Remove the user's link at this issuer; refused if there is none."""
        with self._writer.begin() as conn:
            row = conn.execute(
                sa.select(oidc_subjects).where(
                    oidc_subjects.c.issuer == issuer, oidc_subjects.c.user_id == user_id
                )
            ).first()
            if row is None:
                raise InvalidInput("user_id", f"{user_id} has no link at {issuer}")
            conn.execute(
                oidc_subjects.delete().where(
                    oidc_subjects.c.issuer == issuer, oidc_subjects.c.user_id == user_id
                )
            )
            return _link(row)

    def link_on_first_sign_in(
        self, issuer: str, subject: str, user_id: str, now: datetime | None = None
    ) -> bool:
        """Link on a first sign-in by the configured claim: only if `user_id` is an
        active user with no link at this issuer and the subject is nobody's. True if the
        link now exists (made here, or by a racing sign-in of the same person)."""
        check_subject(subject)
        when = now or datetime.now(UTC)
        try:
            with self._writer.begin() as conn:
                active = conn.execute(
                    sa.select(users.c.active).where(users.c.id == user_id)
                ).scalar()
                if not active:
                    return False
                taken = conn.execute(
                    sa.select(oidc_subjects.c.subject).where(
                        sa.or_(
                            sa.and_(
                                oidc_subjects.c.issuer == issuer,
                                oidc_subjects.c.user_id == user_id,
                            ),
                            sa.and_(
                                oidc_subjects.c.issuer == issuer,
                                oidc_subjects.c.subject == subject,
                            ),
                        )
                    )
                ).first()
                if taken is None:
                    conn.execute(
                        oidc_subjects.insert().values(
                            issuer=issuer,
                            subject=subject,
                            user_id=user_id,
                            linked_at=when,
                            linked_via=VIA_CLAIM,
                        )
                    )
        except IntegrityError:
            pass  # another sign-in linked first: the row decides
        return self.user_for(issuer, subject) == user_id
