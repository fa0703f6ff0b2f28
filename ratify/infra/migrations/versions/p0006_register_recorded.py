"""The register entry says when a decision was recorded, where that is not the day it was
signed (signed on paper, imported from an earlier register): `recorded`, the date only.

The views are projected again from zero, so entries published before fill the new column.

Revision ID: p0006
Revises: p0005
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "p0006"
down_revision: str | None = "p0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("register_entries") as batch:
        batch.add_column(sa.Column("recorded", sa.String(200), nullable=True))
    # Project again from zero, so published entries fill the new column.
    op.execute("DELETE FROM projection_positions")


def downgrade() -> None:
    with op.batch_alter_table("register_entries") as batch:
        batch.drop_column("recorded")
