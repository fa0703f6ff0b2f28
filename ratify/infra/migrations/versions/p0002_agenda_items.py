"""Create agenda_items: the meetings each case went to, with the board's advice.

Revision ID: p0002
Revises: p0001
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "p0002"
down_revision: str | None = "p0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "agenda_items",
        sa.Column("meeting_id", sa.String(200), primary_key=True),
        sa.Column("case_id", sa.String(200), primary_key=True),
        sa.Column("board", sa.String(10), nullable=False),
        sa.Column("meeting_date", sa.Date(), nullable=False),
        sa.Column("title", sa.String(500), nullable=False),
        sa.Column("advice", sa.String(40), nullable=True),
        sa.Column("conditions", sa.Text(), nullable=True),
        comment="every case placed on a board meeting's agenda, with the advice recorded",
    )
    op.create_index("ix_agenda_items_meeting_date", "agenda_items", ["meeting_date"])
    # Project again from zero (rows are replaced case by case), so existing cases fill it.
    op.execute("DELETE FROM projection_positions")


def downgrade() -> None:
    op.drop_index("ix_agenda_items_meeting_date", table_name="agenda_items")
    op.drop_table("agenda_items")
