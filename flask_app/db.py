"""The request's database access: one engine and session factory per app; services own transactions."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask, current_app, g
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from claims.lifecycle.database import default_url, make_engine, session_factory, transaction


def pool_options(config: Any) -> dict[str, Any]:
    """The connection pool sized with the server's threads (``RELIEF_THREADS``): a request holds at most two
    connections at once (its read snapshot and a unit of work), so ``threads`` kept open plus ``threads`` of
    overflow never make a thread wait; ``RELIEF_POOL_TIMEOUT`` bounds the wait if something else holds them.
    Connections are checked before use (a restarted PostgreSQL does not fail the next request).  SQLite keeps
    its own pool (one file, no server)."""
    if make_url(config.get("DATABASE_URL") or default_url()).get_backend_name() == "sqlite":
        return {}
    threads = max(1, int(config.get("RELIEF_THREADS") or 8))
    return {"pool_size": threads, "max_overflow": threads,
            "pool_timeout": float(config.get("RELIEF_POOL_TIMEOUT") or 30), "pool_pre_ping": True}


def init_app(app: Flask) -> None:
    url = app.config.get("DATABASE_URL")
    engine = make_engine(url, **pool_options(app.config))
    reader = make_engine(url, immediate=False) if engine.dialect.name == "sqlite" else engine
    app.extensions["relief_engine"] = engine
    app.extensions["relief_sessions"] = session_factory(engine)
    app.extensions["relief_read_sessions"] = session_factory(reader)

    @app.teardown_appcontext
    def _close(_exc: BaseException | None) -> None:
        session = g.pop("relief_session", None)
        if session is not None:
            session.close()


def factory() -> sessionmaker[Session]:
    return current_app.extensions["relief_sessions"]


def session() -> Session:
    """A read session for this request (closed at teardown)."""
    if "relief_session" not in g:
        g.relief_session = current_app.extensions["relief_read_sessions"]()
    return g.relief_session


def _end_read() -> None:
    if "relief_session" in g:
        g.relief_session.rollback()  # end the read snapshot: later reads see what was just written


@contextmanager
def write() -> Iterator[Session]:
    """One unit of work (commit or roll back as a whole)."""
    _end_read()
    with transaction(factory()) as s:
        yield s
    _end_read()
