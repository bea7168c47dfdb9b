"""Database connection: SQLite file by default (no server), PostgreSQL via ``DATABASE_URL``.

* ``DATABASE_URL`` unset → ``sqlite:///instance/relief.db`` under the current directory.
* ``postgresql+psycopg://user@host/db`` for production (psycopg 3).
* ``relief db upgrade`` applies the Alembic migrations (:func:`upgrade`).

SQLite connections get ``foreign_keys=ON``, WAL journal and a busy timeout.  A writing engine begins
every transaction with ``BEGIN IMMEDIATE`` so two writers queue instead of failing half-way; a
read-only engine (``immediate=False``, the web pages' reads) begins a deferred ``BEGIN`` and, in WAL
mode, never blocks or waits for a writer.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).with_name("migrations")


def default_url() -> str:
    url = os.environ.get("DATABASE_URL")
    if url:
        return url
    instance = Path.cwd() / "instance"
    instance.mkdir(exist_ok=True)
    return f"sqlite:///{instance / 'relief.db'}"


def make_engine(url: str | None = None, *, immediate: bool = True, **kw: Any) -> Engine:
    url = url or default_url()
    engine = create_engine(url, **kw)
    if engine.dialect.name == "sqlite":
        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # let SQLAlchemy's BEGIN below take effect
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _begin(conn: Any) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
    return engine


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit on success, roll back everything on any exception."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def alembic_config(url: str) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str | None = None, revision: str = "head") -> None:
    """Apply the migrations (``relief db upgrade``)."""
    from alembic import command

    command.upgrade(alembic_config(url or default_url()), revision)


def downgrade(url: str | None = None, revision: str = "base") -> None:
    from alembic import command

    command.downgrade(alembic_config(url or default_url()), revision)
