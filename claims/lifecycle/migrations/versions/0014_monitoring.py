"""防贫监测: watched households and their monthly tracking (issue 14.2)

watched_households: a household on (or once on) a policy's early-warning list, its latest assessment and
state (watching / aided / closed / claimed, with the claim it moved to); watch_records: its tracking record
(claims/lifecycle/monitoring.py).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import claims.lifecycle.store

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

STATES = "state IN ('watching', 'aided', 'closed', 'claimed')"
ACTIONS = "action IN ('enter', 'monitor', 'aided', 'closed', 'claimed')"


def upgrade() -> None:
    money = claims.lifecycle.store.Money
    op.create_table(
        "watched_households",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("policy_id", sa.Integer(), nullable=False),
        sa.Column("household_no", sa.String(length=40), nullable=False),
        sa.Column("village_code", sa.String(length=12), nullable=False),
        sa.Column("natural_village", sa.String(length=100), nullable=True),
        sa.Column("category", sa.String(length=20), nullable=False),
        sa.Column("grade", sa.String(length=10), nullable=False),
        sa.Column("per_capita_income", money(), nullable=False),
        sa.Column("rigid_costs", money(), nullable=False),
        sa.Column("reasons", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("claim_id", sa.Integer(), nullable=True),
        sa.Column("entered_month", sa.String(length=7), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(STATES, name=op.f("ck_watched_households_state")),
        sa.ForeignKeyConstraint(["claim_id"], ["claims.id"], name=op.f("fk_watched_households_claim_id_claims")),
        sa.ForeignKeyConstraint(["policy_id"], ["policies.id"], name=op.f("fk_watched_households_policy_id_policies")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_watched_households")),
        sa.UniqueConstraint("policy_id", "household_no", name=op.f("uq_watched_households_policy_id")),
    )
    op.create_index(op.f("ix_watched_households_policy_id"), "watched_households", ["policy_id"], unique=False)
    op.create_index("ix_watched_households_village_state", "watched_households", ["village_code", "state"],
                    unique=False)
    op.create_table(
        "watch_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("watched_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("action", sa.String(length=10), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("grade", sa.String(length=10), nullable=False),
        sa.Column("rigid_costs", money(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor_name", sa.String(length=60), nullable=False),
        sa.CheckConstraint(ACTIONS, name=op.f("ck_watch_records_action")),
        sa.ForeignKeyConstraint(["actor_id"], ["users.id"], name=op.f("fk_watch_records_actor_id_users")),
        sa.ForeignKeyConstraint(["watched_id"], ["watched_households.id"],
                                name=op.f("fk_watch_records_watched_id_watched_households")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_watch_records")),
    )
    op.create_index(op.f("ix_watch_records_watched_id"), "watch_records", ["watched_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_watch_records_watched_id"), table_name="watch_records")
    op.drop_table("watch_records")
    op.drop_index("ix_watched_households_village_state", table_name="watched_households")
    op.drop_index(op.f("ix_watched_households_policy_id"), table_name="watched_households")
    op.drop_table("watched_households")
