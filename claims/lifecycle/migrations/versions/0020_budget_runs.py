"""budget runs of the actuary (issue 15.3, claims.lifecycle.budget_runs): one row per budget started from the
database history, its headline figures and the folder of its report

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import claims.lifecycle.store

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    money = claims.lifecycle.store.Money()
    op.create_table(
        "budget_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("policy_id", sa.Integer(), nullable=False),
        sa.Column("county", sa.String(length=6), nullable=False),
        sa.Column("product_code", sa.String(length=60), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("trial", sa.Boolean(), nullable=False),
        sa.Column("history_years", sa.String(length=20), nullable=True),
        sa.Column("history_months", sa.Integer(), nullable=True),
        sa.Column("person_years", sa.Float(), nullable=True),
        sa.Column("heads", sa.Integer(), nullable=True),
        sa.Column("budget_total", money, nullable=True),
        sa.Column("budget_per_head", money, nullable=True),
        sa.Column("expected_per_head", money, nullable=True),
        sa.Column("premium_per_head", money, nullable=True),
        sa.Column("prob_exceed", sa.Float(), nullable=True),
        sa.Column("lines", sa.JSON(), nullable=True),
        sa.Column("warnings", sa.JSON(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("report_dir", sa.String(length=40), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["policy_id"], ["policies.id"], name=op.f("fk_budget_runs_policy_id_policies")),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], name=op.f("fk_budget_runs_job_id_jobs")),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], name=op.f("fk_budget_runs_created_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_budget_runs")),
    )
    op.create_index(op.f("ix_budget_runs_policy_id"), "budget_runs", ["policy_id"], unique=False)
    op.create_index(op.f("ix_budget_runs_county"), "budget_runs", ["county"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_budget_runs_county"), table_name="budget_runs")
    op.drop_index(op.f("ix_budget_runs_policy_id"), table_name="budget_runs")
    op.drop_table("budget_runs")
