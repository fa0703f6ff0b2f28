"""The register entry shows the engine's answer: the appendix each grant line falls in and
each group's total (`grants`, JSON), the decisions the paper refers to
(`cross_references`, JSON), and whether the decision was late (`late`, `timeliness`).

The views are projected again from zero, so entries published before fill the new columns.

Revision ID: p0005
Revises: p0004
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "p0005"
down_revision: str | None = "p0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("register_entries") as batch:
        batch.add_column(sa.Column("late", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("timeliness", sa.String(200), nullable=True))
        batch.add_column(
            sa.Column("grants", sa.Text(), nullable=True, comment="JSON: lines and groups")
        )
        batch.add_column(
            sa.Column("cross_references", sa.Text(), nullable=True, comment="JSON list")
        )
    # Project again from zero, so published entries fill the new columns.
    op.execute("DELETE FROM projection_positions")


def downgrade() -> None:
    with op.batch_alter_table("register_entries") as batch:
        batch.drop_column("cross_references")
        batch.drop_column("grants")
        batch.drop_column("timeliness")
        batch.drop_column("late")
