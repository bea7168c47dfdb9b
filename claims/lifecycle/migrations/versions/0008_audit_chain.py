"""tamper-evident audit (issue 13, item 6): hash chains, guards, audit events with their actor

* ``claim_events``, ``fund_entries``, ``payout_lines``, ``import_rows`` gain ``chain_seq`` (unique),
  ``prev_hash`` and ``row_hash`` (:mod:`claims.lifecycle.audit` defines the canonical text); the rows
  stored before this revision are chained here, in id order.
* Guards: ``fund_entries`` refuse UPDATE and DELETE; ``payout_lines`` refuse DELETE and any UPDATE of
  their payee, account, amount or chain columns (the bank return still sets ``status``); ``import_rows``
  refuse DELETE too; a change of ``claims.state`` or ``claims.amount`` is refused unless the claim's
  newest event describes the new state and amount (so the event is written first, then the claim).
  A claim with no event at all (only made around the services) is left to the transition guard alone,
  and so is an amount worked on while the claim is ``computed`` or ``investigating``: the event that
  moves it on (``verify`` …) records the amount it leaves with, and from there every change needs one.
* ``fund_entries.actor_id``, ``objections.resolved_by``, ``import_batches.imported_by_name``, and
  ``audit_events`` (roster and bank-account changes, fund entries, objection resolutions).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import claims.lifecycle.store

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

CHAINED = ("claim_events", "fund_entries", "payout_lines", "import_rows")
BACKFILL_CHUNK = 20_000
PAYOUT_FIXED = "batch_id, claim_id, payee_name, payee_id_masked, account, amount, chain_seq, prev_hash, row_hash"
#: the claim's newest event must describe the new (state, amount); a claim without events, an amount worked on
#: while computed or investigating, or an invalid transition (refused by 0001's claims_state_guard with its
#: own message) is not this guard's business
#: the id of the claim's newest event; PostgreSQL's planner would answer max(id) by walking the primary key
#: backwards (a scan per updated row), so there the claim's few events are fetched first (OFFSET 0 fences it)
NEWEST = {"sqlite": "(SELECT max(id) FROM claim_events WHERE claim_id = NEW.id)",
          "postgresql": "(SELECT max(s.id) FROM (SELECT id FROM claim_events WHERE claim_id = NEW.id OFFSET 0) s)"}


def event_missing(dialect: str) -> str:
    return ("EXISTS (SELECT 1 FROM claim_events WHERE claim_id = NEW.id) AND NOT (NEW.state = OLD.state AND "
            "OLD.state IN ('computed', 'investigating')) AND (NEW.state = OLD.state OR EXISTS (SELECT 1 FROM "
            "allowed_transitions WHERE from_state = OLD.state AND to_state = NEW.state)) AND NOT EXISTS (SELECT 1 "
            f"FROM claim_events e WHERE e.id = {NEWEST[dialect]} AND e.to_state = NEW.state AND "
            "(NEW.amount = OLD.amount OR e.amount_after = NEW.amount))")


EVENT_MESSAGE = "claims.state/amount change without its event / 理赔状态或金额的变更没有对应的审计记录"

SQLITE_GUARDS = {
    "fund_entries_no_update": "BEFORE UPDATE ON fund_entries BEGIN SELECT RAISE(ABORT, "
                              "'fund_entries is append-only / 基金台账不可修改'); END",
    "fund_entries_no_delete": "BEFORE DELETE ON fund_entries BEGIN SELECT RAISE(ABORT, "
                              "'fund_entries is append-only / 基金台账不可删除'); END",
    "payout_lines_fixed": f"BEFORE UPDATE OF {PAYOUT_FIXED} ON payout_lines BEGIN SELECT RAISE(ABORT, "
                          "'payout_lines: payee, account and amount are append-only / 支付明细不可修改'); END",
    "payout_lines_no_delete": "BEFORE DELETE ON payout_lines BEGIN SELECT RAISE(ABORT, "
                              "'payout_lines is append-only / 支付明细不可删除'); END",
    "import_rows_no_delete": "BEFORE DELETE ON import_rows BEGIN SELECT RAISE(ABORT, "
                             "'import_rows are append-only / 导入数据不可删除'); END",
    "claims_with_event_guard": "BEFORE UPDATE OF state, amount ON claims WHEN (NEW.state <> OLD.state OR "
                               f"NEW.amount <> OLD.amount) AND {event_missing('sqlite')} BEGIN SELECT RAISE(ABORT, "
                               f"'{EVENT_MESSAGE}'); END",
}
POSTGRES_GUARDS = [
    """CREATE FUNCTION relief_payout_line_guard() RETURNS trigger AS $$
       BEGIN
         IF TG_OP = 'DELETE' OR (NEW.batch_id, NEW.claim_id, NEW.payee_name, NEW.payee_id_masked, NEW.account,
             NEW.amount, NEW.chain_seq, NEW.prev_hash, NEW.row_hash) IS DISTINCT FROM (OLD.batch_id, OLD.claim_id,
             OLD.payee_name, OLD.payee_id_masked, OLD.account, OLD.amount, OLD.chain_seq, OLD.prev_hash,
             OLD.row_hash) THEN
           RAISE EXCEPTION 'payout_lines: payee, account and amount are append-only / 支付明细不可修改';
         END IF;
         RETURN NEW;
       END $$ LANGUAGE plpgsql""",
    f"""CREATE FUNCTION relief_claim_event_guard() RETURNS trigger AS $$
       BEGIN
         IF {event_missing('postgresql')} THEN
           RAISE EXCEPTION '{EVENT_MESSAGE} (claim %)', NEW.id;
         END IF;
         RETURN NEW;
       END $$ LANGUAGE plpgsql SET enable_seqscan = off""",  # the index on claim_id, even before any ANALYZE
    "CREATE TRIGGER fund_entries_append_only BEFORE UPDATE OR DELETE ON fund_entries "
    "FOR EACH ROW EXECUTE FUNCTION relief_append_only()",
    "CREATE TRIGGER payout_lines_fixed BEFORE UPDATE OR DELETE ON payout_lines "
    "FOR EACH ROW EXECUTE FUNCTION relief_payout_line_guard()",
    "CREATE TRIGGER import_rows_no_delete BEFORE DELETE ON import_rows "
    "FOR EACH ROW EXECUTE FUNCTION relief_append_only()",
    # named to fire after 0001's claims_state_guard (PostgreSQL fires triggers in name order)
    "CREATE TRIGGER claims_with_event_guard BEFORE UPDATE OF state, amount ON claims FOR EACH ROW "
    "WHEN (NEW.state IS DISTINCT FROM OLD.state OR NEW.amount IS DISTINCT FROM OLD.amount) "
    "EXECUTE FUNCTION relief_claim_event_guard()",
]
#: 0001's guards of the two tables the backfill writes (lifted for its own statements only)
SQLITE_OLD = {
    "claim_events_no_update": "BEFORE UPDATE ON claim_events "
                              "BEGIN SELECT RAISE(ABORT, 'claim_events is append-only / 审计记录不可修改'); END",
    "import_rows_no_update": "BEFORE UPDATE ON import_rows "
                             "BEGIN SELECT RAISE(ABORT, 'import_rows are immutable / 导入数据不可修改'); END",
}
POSTGRES_OLD = {"claim_events": "claim_events_append_only", "import_rows": "import_rows_immutable"}


def _chain_columns(name: str) -> list[sa.Column]:
    from claims.lifecycle.audit import CHAINS, MONEY

    types = {"at": sa.DateTime(), "event_date": sa.Date(), "data": sa.JSON()}
    cols = [sa.column("id", sa.Integer)]
    for f in CHAINS[name]:
        kind = claims.lifecycle.store.Money() if f in MONEY[name] else types.get(f, sa.String())
        cols.append(sa.column(f, kind))
    return cols


def _backfill(name: str) -> None:
    """Chain the table's stored rows in id order (one pass, chunked by id)."""
    from claims.lifecycle.audit import CHAINS, GENESIS, row_digest

    bind = op.get_bind()
    table = sa.table(name, *_chain_columns(name), sa.column("chain_seq", sa.Integer),
                     sa.column("prev_hash", sa.String), sa.column("row_hash", sa.String))
    fields = CHAINS[name]
    update = (sa.update(table).where(table.c.id == sa.bindparam("b_id"))
              .values(chain_seq=sa.bindparam("b_seq"), prev_hash=sa.bindparam("b_prev"),
                      row_hash=sa.bindparam("b_hash")))
    last, seq, prev = 0, 0, GENESIS
    while True:
        rows = bind.execute(sa.select(table.c.id, *(table.c[f] for f in fields)).where(table.c.id > last)
                            .order_by(table.c.id).limit(BACKFILL_CHUNK)).all()
        if not rows:
            break
        params = []
        for r in rows:
            seq += 1
            digest = row_digest(name, seq, prev, [getattr(r, f) for f in fields])
            params.append({"b_id": r.id, "b_seq": seq, "b_prev": prev, "b_hash": digest})
            prev = digest
        bind.execute(update, params)
        last = rows[-1].id


def _backfill_all(sqlite: bool) -> None:
    for name in CHAINED:
        old = [t for t in SQLITE_OLD if t.startswith(name)] if sqlite else []
        for trigger in old:
            op.execute(f"DROP TRIGGER {trigger}")
        if not sqlite and name in POSTGRES_OLD:
            op.execute(f"ALTER TABLE {name} DISABLE TRIGGER {POSTGRES_OLD[name]}")
        _backfill(name)
        for trigger in old:
            op.execute(f"CREATE TRIGGER {trigger} {SQLITE_OLD[trigger]}")
        if not sqlite and name in POSTGRES_OLD:
            op.execute(f"ALTER TABLE {name} ENABLE TRIGGER {POSTGRES_OLD[name]}")


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    # the two FK columns by batch (SQLite cannot ADD a constraint); neither table has triggers yet
    with op.batch_alter_table("fund_entries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("actor_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f("fk_fund_entries_actor_id_users"), "users", ["actor_id"], ["id"])
    with op.batch_alter_table("objections", schema=None) as batch_op:
        batch_op.add_column(sa.Column("resolved_by", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f("fk_objections_resolved_by_users"), "users", ["resolved_by"], ["id"])
    # plain ADD COLUMN elsewhere: a batch copy would drop 0001's triggers on SQLite
    op.add_column("import_batches", sa.Column("imported_by_name", sa.String(length=60), nullable=True))
    for name in CHAINED:
        op.add_column(name, sa.Column("chain_seq", sa.Integer(), nullable=True))
        op.add_column(name, sa.Column("prev_hash", sa.String(length=64), nullable=True))
        op.add_column(name, sa.Column("row_hash", sa.String(length=64), nullable=True))
    _backfill_all(sqlite)
    for name in CHAINED:
        op.create_index(op.f(f"ix_{name}_chain_seq"), name, ["chain_seq"], unique=True)
    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor_name", sa.String(length=60), nullable=True),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("subject", sa.String(length=100), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["actor_id"], ["users.id"], name=op.f("fk_audit_events_actor_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
    )
    op.create_index(op.f("ix_audit_events_at"), "audit_events", ["at"], unique=False)
    if sqlite:
        for trigger, body in SQLITE_GUARDS.items():
            op.execute(f"CREATE TRIGGER {trigger} {body}")
    else:
        for statement in POSTGRES_GUARDS:
            op.execute(statement)


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        for trigger in SQLITE_GUARDS:
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    else:
        op.execute("DROP TRIGGER IF EXISTS claims_with_event_guard ON claims")
        op.execute("DROP TRIGGER IF EXISTS import_rows_no_delete ON import_rows")
        op.execute("DROP TRIGGER IF EXISTS payout_lines_fixed ON payout_lines")
        op.execute("DROP TRIGGER IF EXISTS fund_entries_append_only ON fund_entries")
        op.execute("DROP FUNCTION IF EXISTS relief_claim_event_guard()")
        op.execute("DROP FUNCTION IF EXISTS relief_payout_line_guard()")
    op.drop_index(op.f("ix_audit_events_at"), table_name="audit_events")
    op.drop_table("audit_events")
    for name in CHAINED:
        op.drop_index(op.f(f"ix_{name}_chain_seq"), table_name=name)
        op.drop_column(name, "row_hash")
        op.drop_column(name, "prev_hash")
        op.drop_column(name, "chain_seq")
    op.drop_column("import_batches", "imported_by_name")
    with op.batch_alter_table("objections", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_objections_resolved_by_users"), type_="foreignkey")
        batch_op.drop_column("resolved_by")
    with op.batch_alter_table("fund_entries", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_fund_entries_actor_id_users"), type_="foreignkey")
        batch_op.drop_column("actor_id")
