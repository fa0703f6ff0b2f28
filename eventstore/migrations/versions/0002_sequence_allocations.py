"""Create the sequence_allocations table (gap-free references such as PCD numbers).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sequence_allocations",
        sa.Column("sequence", sa.String(50), primary_key=True),
        sa.Column(
            "number",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=False,
        ),
        sa.Column("owner", sa.String(200), nullable=False),
        sa.Column("allocated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("sequence", "owner", name="uq_sequence_allocations_owner"),
        sa.CheckConstraint("number > 0", name="ck_sequence_allocations_number_positive"),
        comment="gap-free numbers (e.g. PCD references), one per owner, never reused",
    )


def downgrade() -> None:
    op.drop_table("sequence_allocations")
