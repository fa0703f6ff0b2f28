"""Identity: server-side web sessions, and failed sign-ins per user id (throttling).

`sessions` holds one row per web session (its id is the SHA-256 of the secret the cookie
carries), so that signing out, a password change, deactivation or an administrator's
`ratify users end-sessions` end a session at once, wherever its cookie has been copied.
`sign_in_failures` counts failed password sign-ins per user id tried (known or not, so
that the throttle does not tell which user ids exist), for the growing delay and the
temporary lockout that `ratify users unlock` lifts. Sessions made before this migration
were only signed cookies: they are no longer accepted (everyone signs in again).

Revision ID: i0002
Revises: i0001
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "i0002"
down_revision: str | None = "i0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sessions",
        sa.Column(
            "id", sa.String(64), primary_key=True, comment="SHA-256 hex of the cookie's secret"
        ),
        sa.Column("user_id", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "last_seen_at", sa.DateTime(timezone=True), nullable=False, comment="to the minute"
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "end_reason",
            sa.String(40),
            nullable=True,
            comment="signed_out, replaced, password_changed, deactivated or ended_by_admin",
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_sessions_user_id_users"),
    )
    op.create_index("ix_sessions_user_id", "sessions", ["user_id"])
    op.create_index("ix_sessions_expires_at", "sessions", ["expires_at"])
    op.create_table(
        "sign_in_failures",
        sa.Column(
            "user_id",
            sa.String(200),
            primary_key=True,
            comment="the user id tried, whether or not such a user exists",
        ),
        sa.Column(
            "failures", sa.Integer(), nullable=False, comment="counted since the last success"
        ),
        sa.Column("last_failure_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_sign_in_failures_last_failure_at", "sign_in_failures", ["last_failure_at"])


def downgrade() -> None:
    op.drop_index("ix_sign_in_failures_last_failure_at", table_name="sign_in_failures")
    op.drop_table("sign_in_failures")
    op.drop_index("ix_sessions_expires_at", table_name="sessions")
    op.drop_index("ix_sessions_user_id", table_name="sessions")
    op.drop_table("sessions")
