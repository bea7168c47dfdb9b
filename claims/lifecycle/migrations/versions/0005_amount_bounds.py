"""claims: manual amounts above the computed entitlement (flag and second approval)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # a plain ADD COLUMN (not a batch copy): on SQLite a copied table would lose the claims triggers
    op.add_column("claims", sa.Column("above_entitlement", sa.Boolean(), server_default=sa.text("false"),
                                      nullable=False))


def downgrade() -> None:
    op.drop_column("claims", "above_entitlement")
