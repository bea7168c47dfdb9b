"""eligibility: roster categories and 供养方式 (issue 14.1)

``households.support_mode``: the roster's 供养方式 (集中供养 / 分散供养, blank when the roster has no such
column), read by the products' ``exclude_supported`` (助农保 per ../shared/seeds/000 and 002 篇七: "不包含
集中供养五保户、稳定脱贫户").

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("households") as batch:
        batch.add_column(sa.Column("support_mode", sa.String(20), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("households") as batch:
        batch.drop_column("support_mode")
