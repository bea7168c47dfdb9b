import sys
from pathlib import Path

# tests import their small helpers (factories) by module name
sys.path.insert(0, str(Path(__file__).parent))

import os
import uuid

import pytest

# the background jobs' RQ queue of this test run alone (claims.lifecycle.jobs.QUEUE; the worker subprocesses
# inherit it): test runs sharing this machine's Redis (db 15) must not take or empty each other's jobs
os.environ.setdefault("RELIEF_QUEUE", f"relief-test-{uuid.uuid4().hex[:12]}")

PG_URL = os.environ.get("RELIEF_TEST_DATABASE_URL")


def _pg_schema_url(base: str, schema: str) -> str:
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options=-csearch_path%3D{schema}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.pg)])
def db_url(request, tmp_path):
    """A freshly migrated database: a SQLite file always; PostgreSQL (a schema of its own) when
    RELIEF_TEST_DATABASE_URL is set, else skipped with the reason shown."""
    from sqlalchemy import text

    from claims.lifecycle.database import make_engine, upgrade

    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'relief.db'}"
        upgrade(url)
        yield url
        return
    if not PG_URL:
        pytest.skip("PostgreSQL not configured: set RELIEF_TEST_DATABASE_URL (.ci/run sets it)")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = make_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    url = _pg_schema_url(PG_URL, schema)
    upgrade(url)
    yield url
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


@pytest.fixture
def db(db_url):
    """(engine, session factory) on a freshly migrated database."""
    from claims.lifecycle.database import make_engine, session_factory

    engine = make_engine(db_url)
    yield engine, session_factory(engine)
    engine.dispose()
