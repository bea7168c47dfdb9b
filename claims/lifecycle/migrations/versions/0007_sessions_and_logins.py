"""sessions and login hardening (issue 13, item 4): a per-user session version, login events

``users.session_version`` is stored in the session at login and checked on every request; logout and a
password change increment it (every older session ends).  ``login_events`` records every login attempt
(success or failure, the reason, the name tried, the remote address) and every logout.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("session_version", sa.Integer(), server_default="0", nullable=False))
    op.create_table(
        "login_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("username", sa.String(length=60), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("success", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.String(length=30), nullable=True),
        sa.Column("remote_addr", sa.String(length=64), nullable=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_login_events_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_events")),
    )
    op.create_index(op.f("ix_login_events_user_id"), "login_events", ["user_id"], unique=False)
    op.create_index(op.f("ix_login_events_at"), "login_events", ["at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_login_events_at"), table_name="login_events")
    op.drop_index(op.f("ix_login_events_user_id"), table_name="login_events")
    op.drop_table("login_events")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("session_version")
