"""background jobs: the job list with progress (issue 15.5)

Reserved in the chain so that parallel work on issue 15 does not fork the migration history; until its work
lands it changes nothing.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02
"""

from __future__ import annotations

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
