"""The identity tables: users, their roles, delegations, API tokens, web sessions, and the
failed sign-ins that throttle password guessing.

They are on the application's shared `ratify.infra.db.metadata`; migrations
`ratify/infra/migrations/versions/i0001_identity.py`, `i0002_sessions.py` and
`i0004_role_grants.py` (the history of who held which role when) (branch `identity`)
create them and must match them exactly (a test compares the two). Timestamps are aware
UTC datetimes on every backend (`eventstore.schema.UTCDateTime`); delegation ranges are
London calendar days.
Secrets are never stored: passwords as argon2 hashes, API tokens and session secrets as
SHA-256 hex digests.
"""

from __future__ import annotations

import sqlalchemy as sa

from eventstore.schema import UTCDateTime
from ratify.infra.db import metadata

users = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.String(200), primary_key=True, comment="e.g. ollie.lane"),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("email", sa.String(320), nullable=True),
    sa.Column(
        "password_hash", sa.String(200), nullable=True, comment="argon2id, never the password"
    ),
    sa.Column("active", sa.Boolean(), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
)

user_roles = sa.Table(
    "user_roles",
    metadata,
    sa.Column("user_id", sa.String(200), nullable=False),
    sa.Column("role", sa.String(100), nullable=False, comment="a domain.roles.Role value"),
    sa.PrimaryKeyConstraint("user_id", "role", name="pk_user_roles"),
    sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_user_roles_user_id_users"),
)

role_grants = sa.Table(
    "role_grants",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column("user_id", sa.String(200), nullable=False),
    sa.Column("role", sa.String(100), nullable=False, comment="a domain.roles.Role value"),
    sa.Column(
        "held_from",
        sa.Date(),
        nullable=True,
        comment="first London day held, inclusive; null: held since before the history began",
    ),
    sa.Column(
        "held_until",
        sa.Date(),
        nullable=True,
        comment="last London day held (the day it was revoked), inclusive; null: still held",
    ),
    sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_role_grants_user_id_users"),
    sa.Index("ix_role_grants_user_id_role", "user_id", "role"),
)

delegations = sa.Table(
    "delegations",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("principal_id", sa.String(200), nullable=False),
    sa.Column("deputy_id", sa.String(200), nullable=False),
    sa.Column("role", sa.String(100), nullable=False),
    sa.Column("starts_on", sa.Date(), nullable=False, comment="first London day, inclusive"),
    sa.Column("ends_on", sa.Date(), nullable=False, comment="last London day, inclusive"),
    sa.Column("reason", sa.Text(), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("revoked_at", UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(
        ["principal_id"], ["users.id"], name="fk_delegations_principal_id_users"
    ),
    sa.ForeignKeyConstraint(["deputy_id"], ["users.id"], name="fk_delegations_deputy_id_users"),
    sa.CheckConstraint("ends_on >= starts_on", name="ck_delegations_range"),
    sa.CheckConstraint("deputy_id <> principal_id", name="ck_delegations_not_self"),
    sa.Index("ix_delegations_deputy_id", "deputy_id"),
    sa.Index("ix_delegations_principal_id", "principal_id"),
)

api_tokens = sa.Table(
    "api_tokens",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("user_id", sa.String(200), nullable=False),
    sa.Column("token_hash", sa.String(64), nullable=False, comment="SHA-256 hex of the token"),
    sa.Column("prefix", sa.String(32), nullable=False, comment="shown to identify the token"),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("expires_at", UTCDateTime(), nullable=True),
    sa.Column("revoked_at", UTCDateTime(), nullable=True),
    sa.Column("last_used_at", UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_api_tokens_user_id_users"),
    sa.UniqueConstraint("prefix", name="uq_api_tokens_prefix"),
    sa.UniqueConstraint("token_hash", name="uq_api_tokens_token_hash"),
    sa.Index("ix_api_tokens_user_id", "user_id"),
)

sessions = sa.Table(
    "sessions",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True, comment="SHA-256 hex of the cookie's secret"),
    sa.Column("user_id", sa.String(200), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("last_seen_at", UTCDateTime(), nullable=False, comment="to the minute"),
    sa.Column("expires_at", UTCDateTime(), nullable=False),
    sa.Column("ended_at", UTCDateTime(), nullable=True),
    sa.Column(
        "end_reason",
        sa.String(40),
        nullable=True,
        comment="signed_out, replaced, password_changed, deactivated or ended_by_admin",
    ),
    sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_sessions_user_id_users"),
    sa.Index("ix_sessions_user_id", "user_id"),
    sa.Index("ix_sessions_expires_at", "expires_at"),
)

sign_in_failures = sa.Table(
    "sign_in_failures",
    metadata,
    sa.Column(
        "user_id",
        sa.String(200),
        primary_key=True,
        comment="the user id tried, whether or not such a user exists",
    ),
    sa.Column("failures", sa.Integer(), nullable=False, comment="counted since the last success"),
    sa.Column("last_failure_at", UTCDateTime(), nullable=False),
    sa.Column("locked_until", UTCDateTime(), nullable=True),
    sa.Index("ix_sign_in_failures_last_failure_at", "last_failure_at"),
)
