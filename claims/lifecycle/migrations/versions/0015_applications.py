"""household applications 申报 and their receipts (issue 14.4)

Reserved in the chain so that parallel work on issue 14 does not fork the migration history; until its work
lands it changes nothing.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02
"""

from __future__ import annotations

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
