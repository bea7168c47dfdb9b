"""county pages: payout batch co-signing by the county and upward reports (issue 15.1)

Reserved in the chain so that parallel work on issue 15 does not fork the migration history; until its work
lands it changes nothing.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-02
"""

from __future__ import annotations

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
