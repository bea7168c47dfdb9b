"""eligibility: roster categories and 供养方式 (issue 14.1; filled by the eligibility work)

Reserved in the chain so that parallel work on issue 14 does not fork the migration history; until its work
lands it changes nothing.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02
"""

from __future__ import annotations

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
