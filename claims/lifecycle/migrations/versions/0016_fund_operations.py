"""fund operations: who paid a premium (payer), and the carry-over between policy years

* ``fund_entries.payer``: 财政 / 个人 / 其他 (``government`` / ``individual`` / ``other``) on premium entries;
  chained only when set (``claims.lifecycle.audit.CHAINS_ADDED``), so rows written before keep their hashes.
* kind ``carry_over``: the year's closing balance moved to the next year's policy (滚动发展, seed 002): − on
  the closing policy, + (the opening balance) on the next.

SQLite cannot change a CHECK constraint in place: the table is copied (batch mode), which drops its two
append-only triggers of 0008; they are created again, word for word.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

KINDS = "'premium_due', 'premium_received', 'claim_paid', 'reversal', 'recovery', 'settlement'"
SQLITE_GUARDS = {
    "fund_entries_no_update": "BEFORE UPDATE ON fund_entries BEGIN SELECT RAISE(ABORT, "
                              "'fund_entries is append-only / 基金台账不可修改'); END",
    "fund_entries_no_delete": "BEFORE DELETE ON fund_entries BEGIN SELECT RAISE(ABORT, "
                              "'fund_entries is append-only / 基金台账不可删除'); END",
}


def _kinds(kinds: str) -> None:
    if op.get_bind().dialect.name == "sqlite":
        for trigger in SQLITE_GUARDS:
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        with op.batch_alter_table("fund_entries", schema=None, recreate="always") as batch_op:
            batch_op.drop_constraint(batch_op.f("ck_fund_entries_kind"), type_="check")
            batch_op.create_check_constraint(batch_op.f("ck_fund_entries_kind"), f"kind IN ({kinds})")
        for trigger, body in SQLITE_GUARDS.items():
            op.execute(f"CREATE TRIGGER {trigger} {body}")
    else:
        op.drop_constraint(op.f("ck_fund_entries_kind"), "fund_entries", type_="check")
        op.create_check_constraint(op.f("ck_fund_entries_kind"), "fund_entries", f"kind IN ({kinds})")


def upgrade() -> None:
    op.add_column("fund_entries", sa.Column("payer", sa.String(length=20), nullable=True))
    _kinds(KINDS + ", 'carry_over'")


def downgrade() -> None:
    _kinds(KINDS)
    if op.get_bind().dialect.name == "sqlite":
        for trigger in SQLITE_GUARDS:
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        with op.batch_alter_table("fund_entries", schema=None) as batch_op:
            batch_op.drop_column("payer")
        for trigger, body in SQLITE_GUARDS.items():
            op.execute(f"CREATE TRIGGER {trigger} {body}")
    else:
        op.drop_column("fund_entries", "payer")
