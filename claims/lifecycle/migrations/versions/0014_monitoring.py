"""防贫监测: watched households and their monthly tracking (issue 14.2)

Reserved in the chain so that parallel work on issue 14 does not fork the migration history; until its work
lands it changes nothing.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02
"""

from __future__ import annotations

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
