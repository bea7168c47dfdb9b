"""API tokens and user administration (issue 13, item 7)

``api_tokens``: many tokens per user, each with a name, a scope (read / write), an expiry, its last use and
its revocation; only the sha256 of the secret is stored.  It replaces ``users.api_token_hash`` (one token per
user, no scope, no expiry): an existing hash moves over as a write token named ``migrated`` that expires 90
days after the upgrade.  ``user_events``: every administrative change to a user or their tokens, with the
actor (claims/lifecycle/users.py).

SQLite rebuilds ``users`` with its foreign-key checks deferred to the commit.  Downgrade keeps, per user, the newest live write token in ``users.api_token_hash``.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""

from __future__ import annotations

import datetime as dt
import re

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


_COLUMN = re.compile(r",\s*api_token_hash VARCHAR\(64\)")
_UNIQUE = re.compile(r",\s*CONSTRAINT uq_users_api_token_hash UNIQUE \(api_token_hash\)")


def _rebuild_sqlite_users(edit) -> None:  # noqa: ANN001
    """SQLite: rebuild ``users`` with its CREATE statement edited by ``edit``.  Alembic's batch rebuild drops
    the old table after copying it, which fails while other tables refer to users (foreign keys are on and
    cannot be turned off inside the migration's transaction).  Here the checks are deferred to the commit, the
    rows are kept aside, the table is dropped and created anew, and putting the rows back into it settles
    every reference before the commit checks them."""
    bind = op.get_bind()
    old = bind.exec_driver_sql("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'users'").scalar()
    new = edit(old)
    columns = ", ".join(r[1] for r in bind.exec_driver_sql("PRAGMA table_info(users)") if r[1] != "api_token_hash")
    op.execute("PRAGMA defer_foreign_keys = ON")
    op.execute("CREATE TEMPORARY TABLE _users_0009 AS SELECT * FROM users")
    op.execute("DROP TABLE users")
    op.execute(new)
    op.execute(f"INSERT INTO users ({columns}) SELECT {columns} FROM _users_0009")
    op.execute("DROP TABLE _users_0009")


def _without_token(sql: str) -> str:
    new = _UNIQUE.sub("", _COLUMN.sub("", sql, count=1), count=1)
    if new.count("api_token_hash"):
        raise RuntimeError(f"unexpected users table: {sql}")
    return new


def _with_token(sql: str) -> str:
    head, tail = sql.rsplit(")", 1)
    head = head.replace("id INTEGER NOT NULL, ", "id INTEGER NOT NULL, \n\tapi_token_hash VARCHAR(64), ", 1)
    return f"{head}, \n\tCONSTRAINT uq_users_api_token_hash UNIQUE (api_token_hash)\n){tail}"


def upgrade() -> None:
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("scope", sa.String(length=5), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("last_used_at", sa.DateTime(), nullable=True),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint("scope IN ('read', 'write')", name=op.f("ck_api_tokens_scope")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_api_tokens_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
    )
    op.create_index(op.f("ix_api_tokens_user_id"), "api_tokens", ["user_id"], unique=False)
    op.create_table(
        "user_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=30), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["actor_id"], ["users.id"], name=op.f("fk_user_events_actor_id_users")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_user_events_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_events")),
    )
    op.create_index(op.f("ix_user_events_user_id"), "user_events", ["user_id"], unique=False)
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    op.get_bind().execute(sa.text(
        "INSERT INTO api_tokens (user_id, name, scope, token_hash, created_at, expires_at) "
        "SELECT id, 'migrated', 'write', api_token_hash, :now, :expires FROM users WHERE api_token_hash IS NOT NULL"),
        {"now": now, "expires": now + dt.timedelta(days=90)})
    if op.get_bind().dialect.name == "sqlite":
        _rebuild_sqlite_users(_without_token)
        return
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_users_api_token_hash"), type_="unique")
        batch_op.drop_column("api_token_hash")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _rebuild_sqlite_users(_with_token)
    else:
        with op.batch_alter_table("users", schema=None) as batch_op:
            batch_op.add_column(sa.Column("api_token_hash", sa.String(length=64), nullable=True))
            batch_op.create_unique_constraint(batch_op.f("uq_users_api_token_hash"), ["api_token_hash"])
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    op.get_bind().execute(sa.text(
        "UPDATE users SET api_token_hash = (SELECT t.token_hash FROM api_tokens t WHERE t.user_id = users.id "
        "AND t.scope = 'write' AND t.revoked_at IS NULL AND t.expires_at > :now ORDER BY t.id DESC LIMIT 1)"),
        {"now": now})
    op.drop_index(op.f("ix_user_events_user_id"), table_name="user_events")
    op.drop_table("user_events")
    op.drop_index(op.f("ix_api_tokens_user_id"), table_name="api_tokens")
    op.drop_table("api_tokens")
