"""claims queue sort indexes: (amount, id) and (updated_at, id)

Measured with benchmarks/load.py at 100,000 claims on PostgreSQL: ``GET /api/v1/claims?sort=-amount`` at page
100 read and sorted the whole table (156 ms of SQL); with the index 15 ms.  ``sort=-updated_at``: 102 ms → 0.2 ms.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02
"""

from __future__ import annotations

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_claims_amount_id", "claims", ["amount", "id"])
    op.create_index("ix_claims_updated_id", "claims", ["updated_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_claims_updated_id", table_name="claims")
    op.drop_index("ix_claims_amount_id", table_name="claims")
