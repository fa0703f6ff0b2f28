"""Identity: the history of roles, who held which role from when until when.

`user_roles` says who holds a role today; `role_grants` says on which London days they
held it, so that a step taken on paper is judged by the roles its taker held on its date.
`add_user` and `grant_role` open a grant (from today), `revoke_role` closes it (until
today). Every role held when this migration runs is backfilled as held since before the
history began (`held_from` null) and still held.

Revision ID: i0004
Revises: i0003
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "i0004"
down_revision: str | None = "i0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "role_grants",
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
    )
    op.create_index("ix_role_grants_user_id_role", "role_grants", ["user_id", "role"])
    op.execute(
        "INSERT INTO role_grants (user_id, role, held_from, held_until) "
        "SELECT user_id, role, NULL, NULL FROM user_roles"
    )


def downgrade() -> None:
    op.drop_index("ix_role_grants_user_id_role", table_name="role_grants")
    op.drop_table("role_grants")
