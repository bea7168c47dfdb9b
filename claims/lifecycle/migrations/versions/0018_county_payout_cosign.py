"""county pages: payout batch co-signing by the county and upward reports (issue 15.1)

The county office's co-sign (会签) of a payout batch: one row per batch in ``payout_batch_signoffs``
(:mod:`claims.lifecycle.batch_signoffs`, the rule in :mod:`claims.lifecycle.batch_cosign`), and
``policies.county_cosign``: whether the county co-signs before a batch is paid (bank file, bank return).  The upward report
itself reads existing tables and needs no schema.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "payout_batch_signoffs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("role", sa.String(length=30), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["actor_id"], ["users.id"], name=op.f("fk_payout_batch_signoffs_actor_id_users")),
        sa.ForeignKeyConstraint(["batch_id"], ["payout_batches.id"],
                                name=op.f("fk_payout_batch_signoffs_batch_id_payout_batches")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payout_batch_signoffs")),
        sa.UniqueConstraint("batch_id", name=op.f("uq_payout_batch_signoffs_batch_id")),
    )
    op.add_column("policies", sa.Column("county_cosign", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("policies") as batch:
        batch.drop_column("county_cosign")
    op.drop_table("payout_batch_signoffs")
