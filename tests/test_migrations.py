"""Migrations and models agree, and the migrations run down and up again cleanly (SQLite and PostgreSQL)."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import claims.lifecycle.models  # noqa: F401 - registers the claims tables
from claims.lifecycle.database import downgrade, make_engine, upgrade
from claims.lifecycle.store import Base


def test_models_match_the_migrated_schema(db_url):
    engine = make_engine(db_url)
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
    engine.dispose()


def test_downgrade_to_base_and_upgrade_again(db_url):
    downgrade(db_url, "base")
    upgrade(db_url)
    engine = make_engine(db_url)
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
        assert conn.exec_driver_sql("SELECT count(*) FROM allowed_transitions").scalar() == 26
    engine.dispose()
