"""Identity: OIDC subjects, (issuer, sub) of the organisation's provider -> Ratify user.

Revision ID: i0003
Revises: i0002
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "i0003"
down_revision: str | None = "i0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "oidc_subjects",
        sa.Column("issuer", sa.String(500), nullable=False, comment="the provider's iss"),
        sa.Column("subject", sa.String(255), nullable=False, comment="the ID token's sub"),
        sa.Column("user_id", sa.String(200), nullable=False),
        sa.Column("linked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("linked_via", sa.String(20), nullable=False, comment="admin or claim"),
        sa.PrimaryKeyConstraint("issuer", "subject", name="pk_oidc_subjects"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_oidc_subjects_user_id_users"),
        sa.UniqueConstraint("issuer", "user_id", name="uq_oidc_subjects_issuer_user_id"),
    )
    op.create_index("ix_oidc_subjects_user_id", "oidc_subjects", ["user_id"])


def downgrade() -> None:
    op.drop_index("ix_oidc_subjects_user_id", table_name="oidc_subjects")
    op.drop_table("oidc_subjects")
