"""The request's database access: one engine and session factory per app; services own transactions."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask, current_app, g
from sqlalchemy.orm import Session, sessionmaker

from claims.lifecycle.database import make_engine, session_factory, transaction


def init_app(app: Flask) -> None:
    url = app.config.get("DATABASE_URL")
    engine = make_engine(url)
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
