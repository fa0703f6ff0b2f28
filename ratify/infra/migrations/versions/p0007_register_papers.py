"""The register entry shows the whole of Part 1, the board's advice, who decided and why,
and a notice of Part 2 (its exemption and review date, never its text): `papers` (JSON).
`decided_by` (the decision maker's user id) serves the register's search by decision maker.

The views are projected again from zero, so entries published before fill the new columns.

Revision ID: p0007
Revises: p0006
Create Date: 2026-12-08
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "p0007"
down_revision: str | None = "p0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("register_entries") as batch:
        batch.add_column(
            sa.Column("papers", sa.Text(), nullable=True, comment="JSON: RegisterPapers")
        )
        batch.add_column(sa.Column("decided_by", sa.String(200), nullable=True))
    op.create_index(
        "ix_register_entries_decided_by", "register_entries", ["decided_by", "published_at"]
    )
    # Project again from zero, so published entries fill the new columns.
    op.execute("DELETE FROM projection_positions")


def downgrade() -> None:
    op.drop_index("ix_register_entries_decided_by", table_name="register_entries")
    with op.batch_alter_table("register_entries") as batch:
        batch.drop_column("decided_by")
        batch.drop_column("papers")
