"""The request's database access: one engine and session factory per app; services own transactions."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask, current_app, g
from sqlalchemy.orm import Session, sessionmaker

from claims.database import make_engine, session_factory, transaction


def init_app(app: Flask) -> None:
    engine = make_engine(app.config.get("DATABASE_URL"))
    app.extensions["relief_engine"] = engine
    app.extensions["relief_sessions"] = session_factory(engine)

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
        g.relief_session = factory()()
    return g.relief_session


@contextmanager
def write() -> Iterator[Session]:
    """One unit of work (commit or roll back as a whole)."""
    with transaction(factory()) as s:
        yield s
