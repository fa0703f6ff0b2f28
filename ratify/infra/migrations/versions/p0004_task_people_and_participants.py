"""Personal tasks and participants: who may see an officer's task, who acted on each case.

* `case_tasks.personal`: a task only the people of `case_task_people` see in their inbox
  (the officer's submit and revise tasks name the case's officers); the others stay open to
  anyone holding the role.
* `case_task_people` (case_id, kind, role, area, user_id): those people.
* `case_participants` (case_id, user_id, role, first_acted_at): who took a step of each
  case in which role (not an irregularity or a date change), the deputy and the principal
  (`ratify.services.projections.case_search.cases_acted_on`).

The views are projected again from zero (rows are replaced case by case), so existing cases
fill the new tables and the officers' tasks of existing cases become personal.

Revision ID: p0004
Revises: p0003
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "p0004"
down_revision: str | None = "p0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("case_tasks") as batch:
        batch.add_column(
            sa.Column("personal", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.create_table(
        "case_task_people",
        sa.Column("case_id", sa.String(200), primary_key=True),
        sa.Column("kind", sa.String(50), primary_key=True),
        sa.Column("role", sa.String(50), primary_key=True),
        sa.Column("area", sa.String(50), primary_key=True),
        sa.Column("user_id", sa.String(200), primary_key=True),
        comment="who may act on each personal open task (Task.people: the case's officers)",
    )
    op.create_table(
        "case_participants",
        sa.Column("case_id", sa.String(200), primary_key=True),
        sa.Column("user_id", sa.String(200), primary_key=True),
        sa.Column("role", sa.String(50), primary_key=True),
        sa.Column("first_acted_at", sa.DateTime(timezone=True), nullable=False),
        comment=(
            "who took a step of each case in which role (not an irregularity or a date "
            "change): the deputy and the principal they acted for"
        ),
    )
    op.create_index("ix_case_participants_user", "case_participants", ["user_id", "case_id"])
    # Project again from zero, so existing cases fill the new tables.
    op.execute("DELETE FROM projection_positions")


def downgrade() -> None:
    op.drop_index("ix_case_participants_user", table_name="case_participants")
    op.drop_table("case_participants")
    op.drop_table("case_task_people")
    with op.batch_alter_table("case_tasks") as batch:
        batch.drop_column("personal")
