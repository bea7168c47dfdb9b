"""household applications 申报 and their receipts (issue 14.4)

``applications``: one household's application for one peril of a policy, recorded by a village clerk or the
county's hotline staff, verified or rejected by the insurer (claims/lifecycle/applications.py);
``application_receipts``: its receipt scans (PDF, JPEG, PNG), kept as bytes.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import claims.lifecycle.store

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "applications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("policy_id", sa.Integer(), nullable=False),
        sa.Column("household_no", sa.String(length=40), nullable=False),
        sa.Column("village_code", sa.String(length=12), nullable=False),
        sa.Column("id_no", sa.String(length=18), nullable=True),
        sa.Column("peril", sa.String(length=30), nullable=False),
        sa.Column("department", sa.String(length=20), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("event_date", sa.Date(), nullable=False),
        sa.Column("bill_no", sa.String(length=60), nullable=True),
        sa.Column("amount", claims.lifecycle.store.Money(), nullable=False),
        sa.Column("compensated", claims.lifecycle.store.Money(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("decided_by", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.Column("batch_id", sa.Integer(), nullable=True),
        sa.Column("duplicate_row_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("state IN ('submitted', 'verified', 'duplicate', 'rejected')",
                           name=op.f("ck_applications_state")),
        sa.CheckConstraint("channel IN ('village', 'hotline', 'self')", name=op.f("ck_applications_channel")),
        sa.CheckConstraint("amount >= 0 AND compensated >= 0", name=op.f("ck_applications_amounts_non_negative")),
        sa.ForeignKeyConstraint(["policy_id"], ["policies.id"], name=op.f("fk_applications_policy_id_policies")),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], name=op.f("fk_applications_created_by_users")),
        sa.ForeignKeyConstraint(["decided_by"], ["users.id"], name=op.f("fk_applications_decided_by_users")),
        sa.ForeignKeyConstraint(["batch_id"], ["import_batches.id"],
                                name=op.f("fk_applications_batch_id_import_batches")),
        sa.ForeignKeyConstraint(["duplicate_row_id"], ["import_rows.id"],
                                name=op.f("fk_applications_duplicate_row_id_import_rows")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_applications")),
    )
    op.create_index(op.f("ix_applications_policy_id"), "applications", ["policy_id"])
    op.create_index(op.f("ix_applications_household_no"), "applications", ["household_no"])
    op.create_index(op.f("ix_applications_village_code"), "applications", ["village_code"])
    op.create_table(
        "application_receipts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("file_name", sa.String(length=255), nullable=False),
        sa.Column("media_type", sa.String(length=40), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["application_id"], ["applications.id"],
                                name=op.f("fk_application_receipts_application_id_applications")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_application_receipts")),
    )
    op.create_index(op.f("ix_application_receipts_application_id"), "application_receipts", ["application_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_application_receipts_application_id"), table_name="application_receipts")
    op.drop_table("application_receipts")
    op.drop_index(op.f("ix_applications_village_code"), table_name="applications")
    op.drop_index(op.f("ix_applications_household_no"), table_name="applications")
    op.drop_index(op.f("ix_applications_policy_id"), table_name="applications")
    op.drop_table("applications")
