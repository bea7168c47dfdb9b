"""notices: posting records and filed-list digests (issue 14.5)

``notice_sheets``: each printed sheet of a notice (the 行政村 sheet and one per 自然村) with the SHA-256 digest
of the list the county filed; ``notice_postings``: who posted a notice, when, where, with an optional photo.
The claims' state guard learns one more pair, filed → payable (``release_without_notice``: a product whose
document says ``notice_required: false``).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import claims.lifecycle.store

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notice_sheets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("notice_id", sa.Integer(), nullable=False),
        sa.Column("village_code", sa.String(length=12), nullable=False),
        sa.Column("natural_village", sa.String(length=100), nullable=True),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("total", claims.lifecycle.store.Money(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("filed_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["notice_id"], ["notices.id"], name=op.f("fk_notice_sheets_notice_id_notices")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notice_sheets")),
    )
    with op.batch_alter_table("notice_sheets", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notice_sheets_digest"), ["digest"], unique=False)
        batch_op.create_index(batch_op.f("ix_notice_sheets_notice_id"), ["notice_id"], unique=False)
    op.create_table(
        "notice_postings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("notice_id", sa.Integer(), nullable=False),
        sa.Column("posted_by", sa.Integer(), nullable=True),
        sa.Column("posted_by_name", sa.String(length=60), nullable=True),
        sa.Column("posted_at", sa.DateTime(), nullable=False),
        sa.Column("place", sa.String(length=200), nullable=False),
        sa.Column("photo", sa.LargeBinary(), nullable=True),
        sa.Column("photo_type", sa.String(length=20), nullable=True),
        sa.Column("photo_sha256", sa.String(length=64), nullable=True),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["notice_id"], ["notices.id"], name=op.f("fk_notice_postings_notice_id_notices")),
        sa.ForeignKeyConstraint(["posted_by"], ["users.id"], name=op.f("fk_notice_postings_posted_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notice_postings")),
    )
    with op.batch_alter_table("notice_postings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notice_postings_notice_id"), ["notice_id"], unique=False)
    pairs = sa.table("allowed_transitions", sa.column("from_state", sa.String), sa.column("to_state", sa.String))
    op.bulk_insert(pairs, [{"from_state": "filed", "to_state": "payable"}])


def downgrade() -> None:
    op.execute("DELETE FROM allowed_transitions WHERE from_state = 'filed' AND to_state = 'payable'")
    with op.batch_alter_table("notice_postings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notice_postings_notice_id"))
    op.drop_table("notice_postings")
    with op.batch_alter_table("notice_sheets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notice_sheets_notice_id"))
        batch_op.drop_index(batch_op.f("ix_notice_sheets_digest"))
    op.drop_table("notice_sheets")
