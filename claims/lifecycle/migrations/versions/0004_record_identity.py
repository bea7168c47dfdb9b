"""import rows: record identity, corrections and refunds; recovery of overpayments

* ``import_rows`` gains ``record_key`` and ``content_digest`` (:mod:`claims.reports.identity`); rows
  stored before this revision get theirs computed here from their stored canonical values, so a later
  re-send of an old file is recognised too.  The unique index on ``setl_id`` becomes a plain index: a
  correction or a refund row carries the settlement number of the row it corrects or refunds.
* ``import_batches.rows_corrected``; ``import_row_events`` (a correction supersedes an earlier row).
* ``recoveries`` (overpayments to recover) and the fund ledger kind ``recovery``.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import claims.lifecycle.store

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

KINDS_BEFORE = "kind IN ('premium_due', 'premium_received', 'claim_paid', 'reversal', 'settlement')"
KINDS_AFTER = "kind IN ('premium_due', 'premium_received', 'claim_paid', 'reversal', 'recovery', 'settlement')"
BACKFILL_CHUNK = 50_000

#: import_rows refuse UPDATE (0001's guard); the backfill lifts the guard for its own statements only.
SQLITE_GUARD = ("CREATE TRIGGER import_rows_no_update BEFORE UPDATE ON import_rows "
                "BEGIN SELECT RAISE(ABORT, 'import_rows are immutable / 导入数据不可修改'); END")


def _backfill_identity() -> None:
    """record_key / content_digest of every stored row, from its canonical values (chunked by id)."""
    bind = op.get_bind()
    rows = sa.table("import_rows", sa.column("id", sa.Integer), sa.column("department", sa.String),
                    sa.column("line", sa.Integer), sa.column("data", sa.JSON),
                    sa.column("record_key", sa.String), sa.column("content_digest", sa.String))
    if bind.execute(sa.select(sa.func.count()).select_from(rows)).scalar() == 0:
        return
    from claims.lifecycle.recompute import records_to_frame
    from claims.reports.identity import content_digests, record_keys

    sqlite = bind.dialect.name == "sqlite"
    op.execute("DROP TRIGGER import_rows_no_update" if sqlite
               else "ALTER TABLE import_rows DISABLE TRIGGER import_rows_immutable")
    update = (sa.update(rows).where(rows.c.id == sa.bindparam("b_id"))
              .values(record_key=sa.bindparam("b_key"), content_digest=sa.bindparam("b_digest")))
    last = 0
    while True:
        chunk = bind.execute(sa.select(rows.c.id, rows.c.department, rows.c.line, rows.c.data)
                             .where(rows.c.id > last).order_by(rows.c.id).limit(BACKFILL_CHUNK)).all()
        if not chunk:
            break
        last = chunk[-1].id
        for department in sorted({r.department for r in chunk}):
            part = [r for r in chunk if r.department == department]
            frame = records_to_frame(department, [r.data for r in part], [""] * len(part), [r.line for r in part])
            keys, digests = record_keys(department, frame), content_digests(department, frame)
            bind.execute(update, [{"b_id": r.id, "b_key": k, "b_digest": d}
                                  for r, k, d in zip(part, keys.tolist(), digests.tolist())])
    op.execute(SQLITE_GUARD if sqlite else "ALTER TABLE import_rows ENABLE TRIGGER import_rows_immutable")


def upgrade() -> None:
    # plain ADD COLUMN / CREATE INDEX, never a batch copy of import_rows (SQLite would drop its guard)
    op.add_column("import_batches", sa.Column("rows_corrected", sa.Integer(), server_default="0", nullable=False))
    # NOT NULL needs a default to add on SQLite; every row gets its real value in the backfill
    op.add_column("import_rows", sa.Column("record_key", sa.String(length=255), server_default="", nullable=False))
    op.add_column("import_rows", sa.Column("content_digest", sa.String(length=64), server_default="",
                                           nullable=False))
    _backfill_identity()
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column("import_rows", "record_key", server_default=None)
        op.alter_column("import_rows", "content_digest", server_default=None)
    op.drop_index("uq_import_rows_setl_id", table_name="import_rows")
    op.create_index(op.f("ix_import_rows_setl_id"), "import_rows", ["setl_id"], unique=False)
    op.create_index("ix_import_rows_record_key", "import_rows", ["department", "record_key"], unique=False)

    op.create_table(
        "import_row_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("row_id", sa.Integer(), nullable=False),
        sa.Column("superseded_by", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("old_values", sa.JSON(), nullable=False),
        sa.Column("new_values", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["batch_id"], ["import_batches.id"],
                                name=op.f("fk_import_row_events_batch_id_import_batches")),
        sa.ForeignKeyConstraint(["row_id"], ["import_rows.id"], name=op.f("fk_import_row_events_row_id_import_rows")),
        sa.ForeignKeyConstraint(["superseded_by"], ["import_rows.id"],
                                name=op.f("fk_import_row_events_superseded_by_import_rows")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_row_events")),
        sa.UniqueConstraint("row_id", name=op.f("uq_import_row_events_row_id")),
    )
    op.create_index(op.f("ix_import_row_events_batch_id"), "import_row_events", ["batch_id"], unique=False)
    op.create_index(op.f("ix_import_row_events_superseded_by"), "import_row_events", ["superseded_by"], unique=False)

    op.create_table(
        "recoveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("policy_id", sa.Integer(), nullable=False),
        sa.Column("claim_id", sa.Integer(), nullable=False),
        sa.Column("line_id", sa.String(length=40), nullable=False),
        sa.Column("unit_id", sa.String(length=40), nullable=False),
        sa.Column("amount", claims.lifecycle.store.Money(), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("opened_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.Column("closed_by", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.CheckConstraint("state IN ('open', 'recovered', 'waived', 'cancelled')", name=op.f("ck_recoveries_state")),
        sa.CheckConstraint("amount > 0", name=op.f("ck_recoveries_amount_positive")),
        sa.ForeignKeyConstraint(["claim_id"], ["claims.id"], name=op.f("fk_recoveries_claim_id_claims")),
        sa.ForeignKeyConstraint(["closed_by"], ["users.id"], name=op.f("fk_recoveries_closed_by_users")),
        sa.ForeignKeyConstraint(["policy_id"], ["policies.id"], name=op.f("fk_recoveries_policy_id_policies")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recoveries")),
    )
    op.create_index(op.f("ix_recoveries_claim_id"), "recoveries", ["claim_id"], unique=False)
    op.create_index(op.f("ix_recoveries_policy_id"), "recoveries", ["policy_id"], unique=False)
    op.create_index("uq_recoveries_open", "recoveries", ["policy_id", "line_id", "unit_id"], unique=True,
                    sqlite_where=sa.text("state = 'open'"), postgresql_where=sa.text("state = 'open'"))

    with op.batch_alter_table("fund_entries", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_fund_entries_kind"), type_="check")
        batch_op.create_check_constraint("kind", sa.text(KINDS_AFTER))


def downgrade() -> None:
    with op.batch_alter_table("fund_entries", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_fund_entries_kind"), type_="check")
        batch_op.create_check_constraint("kind", sa.text(KINDS_BEFORE))
    op.drop_index("uq_recoveries_open", table_name="recoveries")
    op.drop_index(op.f("ix_recoveries_policy_id"), table_name="recoveries")
    op.drop_index(op.f("ix_recoveries_claim_id"), table_name="recoveries")
    op.drop_table("recoveries")
    op.drop_index(op.f("ix_import_row_events_superseded_by"), table_name="import_row_events")
    op.drop_index(op.f("ix_import_row_events_batch_id"), table_name="import_row_events")
    op.drop_table("import_row_events")
    op.drop_index("ix_import_rows_record_key", table_name="import_rows")
    op.drop_index(op.f("ix_import_rows_setl_id"), table_name="import_rows")
    op.create_index("uq_import_rows_setl_id", "import_rows", ["setl_id"], unique=True,
                    sqlite_where=sa.text("setl_id IS NOT NULL"), postgresql_where=sa.text("setl_id IS NOT NULL"))
    op.drop_column("import_rows", "content_digest")
    op.drop_column("import_rows", "record_key")
    op.drop_column("import_batches", "rows_corrected")
