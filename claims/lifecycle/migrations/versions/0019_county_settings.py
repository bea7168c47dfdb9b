"""village registry and county settings (issue 15.4)

``county_settings``: one row per county holding its one hotline (:mod:`claims.lifecycle.county_settings`),
shown by the village notices and the 明白卡 alike.  The village registry itself (code → 行政村 and 乡镇
names, :mod:`claims.lifecycle.villages`) lives in the existing ``divisions`` table, which already has a
name per code: no column is added there.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "county_settings",
        sa.Column("county_code", sa.String(length=6), nullable=False),
        sa.Column("hotline", sa.String(length=40), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("updated_by", sa.String(length=60), nullable=True),
        sa.PrimaryKeyConstraint("county_code", name=op.f("pk_county_settings")),
    )


def downgrade() -> None:
    op.drop_table("county_settings")
