"""Identity: users, their roles, delegations to deputies, and API tokens.

Revision ID: i0001
Revises:
Create Date: 2025-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "i0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = ("identity",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.String(200), primary_key=True, comment="e.g. ollie.lane"),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("email", sa.String(320), nullable=True),
        sa.Column(
            "password_hash", sa.String(200), nullable=True, comment="argon2id, never the password"
        ),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "user_roles",
        sa.Column("user_id", sa.String(200), nullable=False),
        sa.Column("role", sa.String(100), nullable=False, comment="a domain.roles.Role value"),
        sa.PrimaryKeyConstraint("user_id", "role", name="pk_user_roles"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_user_roles_user_id_users"),
    )
    op.create_table(
        "delegations",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("principal_id", sa.String(200), nullable=False),
        sa.Column("deputy_id", sa.String(200), nullable=False),
        sa.Column("role", sa.String(100), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False, comment="first London day, inclusive"),
        sa.Column("ends_on", sa.Date(), nullable=False, comment="last London day, inclusive"),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["principal_id"], ["users.id"], name="fk_delegations_principal_id_users"
        ),
        sa.ForeignKeyConstraint(["deputy_id"], ["users.id"], name="fk_delegations_deputy_id_users"),
        sa.CheckConstraint("ends_on >= starts_on", name="ck_delegations_range"),
        sa.CheckConstraint("deputy_id <> principal_id", name="ck_delegations_not_self"),
    )
    op.create_index("ix_delegations_deputy_id", "delegations", ["deputy_id"])
    op.create_index("ix_delegations_principal_id", "delegations", ["principal_id"])
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("user_id", sa.String(200), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, comment="SHA-256 hex of the token"),
        sa.Column("prefix", sa.String(32), nullable=False, comment="shown to identify the token"),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_api_tokens_user_id_users"),
        sa.UniqueConstraint("prefix", name="uq_api_tokens_prefix"),
        sa.UniqueConstraint("token_hash", name="uq_api_tokens_token_hash"),
    )
    op.create_index("ix_api_tokens_user_id", "api_tokens", ["user_id"])


def downgrade() -> None:
    op.drop_index("ix_api_tokens_user_id", table_name="api_tokens")
    op.drop_table("api_tokens")
    op.drop_index("ix_delegations_principal_id", table_name="delegations")
    op.drop_index("ix_delegations_deputy_id", table_name="delegations")
    op.drop_table("delegations")
    op.drop_table("user_roles")
    op.drop_table("users")
