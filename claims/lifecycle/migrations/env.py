"""Alembic environment: the models' metadata; batch mode so SQLite can alter tables."""

from __future__ import annotations

from alembic import context

import claims.lifecycle.models  # noqa: F401 - registers the claims tables on the shared metadata
from claims.lifecycle.database import make_engine
from claims.lifecycle.store import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_offline() -> None:
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata,
                      literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = make_engine(config.get_main_option("sqlalchemy.url"))
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # Batch mode rebuilds a table to alter it (copy, drop the old one, rename): with foreign keys on, the
            # drop fails once other tables' rows refer to it (users, claims … in any database in use).  The
            # pragma counts only outside a transaction, so it is set on the driver's connection before the first
            # statement; every reference is checked when the migrations are done.
            connection.connection.driver_connection.execute("PRAGMA foreign_keys = OFF")
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        if sqlite:
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            connection.commit()
            connection.connection.driver_connection.execute("PRAGMA foreign_keys = ON")
            if broken:
                raise RuntimeError(f"foreign keys broken by a migration (table, rowid, parent, fk): {broken[:10]}")
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
