"""notices: posting records and filed-list digests (issue 14.5)

Reserved in the chain so that parallel work on issue 14 does not fork the migration history; until its work
lands it changes nothing.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02
"""

from __future__ import annotations

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
