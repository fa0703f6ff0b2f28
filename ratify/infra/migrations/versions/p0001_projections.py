"""Create the projection tables: case summaries, open tasks, the register, positions.

Revision ID: p0001
Revises:
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "p0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = ("projections",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "case_summaries",
        sa.Column("case_id", sa.String(200), primary_key=True),
        sa.Column("title", sa.String(500), nullable=False),
        sa.Column("stage", sa.String(30), nullable=False),
        sa.Column("reference", sa.String(20), nullable=True),
        sa.Column("decision_maker", sa.String(50), nullable=True),
        sa.Column("total_amount", sa.Numeric(14, 2), nullable=False),
        sa.Column("required_by", sa.Date(), nullable=True),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.Column("part1", sa.String(30), nullable=False),
        sa.Column("part2", sa.String(30), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        comment="one row per case: the fold of its stream, without Part 2 content",
    )
    op.create_index("ix_case_summaries_stage", "case_summaries", ["stage"])
    op.create_index("ix_case_summaries_reference", "case_summaries", ["reference"])
    op.create_index("ix_case_summaries_required_by", "case_summaries", ["required_by"])
    op.create_index("ix_case_summaries_title", "case_summaries", ["title"])

    op.create_table(
        "case_tasks",
        sa.Column("case_id", sa.String(200), primary_key=True),
        sa.Column("kind", sa.String(50), primary_key=True),
        sa.Column("role", sa.String(50), primary_key=True),
        sa.Column("area", sa.String(50), primary_key=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("due", sa.Date(), nullable=True),
        comment="the open tasks of each case (domain.state.open_tasks)",
    )
    op.create_index("ix_case_tasks_role_due", "case_tasks", ["role", "due"])

    op.create_table(
        "register_entries",
        sa.Column("case_id", sa.String(200), primary_key=True),
        sa.Column("reference", sa.String(20), nullable=True),
        sa.Column("title", sa.String(500), nullable=False),
        sa.Column("date_signed", sa.Date(), nullable=False),
        sa.Column("decision_maker", sa.String(200), nullable=False),
        sa.Column("executive_summary", sa.Text(), nullable=False),
        sa.Column("recommendations", sa.Text(), nullable=False, comment="JSON list"),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("part2_text", sa.Text(), nullable=True),
        sa.Column("part2_published_at", sa.DateTime(timezone=True), nullable=True),
        comment="the public register: Part 1 as published; Part 2 once a review published it",
    )
    op.create_index("ix_register_entries_reference", "register_entries", ["reference"])

    op.create_table(
        "projection_positions",
        sa.Column("name", sa.String(100), primary_key=True),
        sa.Column("position", sa.BigInteger(), nullable=False),
        comment="the last event position each projection has applied",
    )


def downgrade() -> None:
    op.drop_table("projection_positions")
    op.drop_index("ix_register_entries_reference", table_name="register_entries")
    op.drop_table("register_entries")
    op.drop_index("ix_case_tasks_role_due", table_name="case_tasks")
    op.drop_table("case_tasks")
    for name in ("title", "required_by", "reference", "stage"):
        op.drop_index(f"ix_case_summaries_{name}", table_name="case_summaries")
    op.drop_table("case_summaries")
