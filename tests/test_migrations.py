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
        assert conn.exec_driver_sql("SELECT count(*) FROM allowed_transitions").scalar() == 27
    engine.dispose()


def test_upgrade_and_downgrade_a_database_in_use(db_url):
    """Rows referring to users (SQLite rebuilds users to alter it: foreign keys must not refuse the rebuild)."""
    from sqlalchemy import text

    downgrade(db_url, "0006")
    engine = make_engine(db_url)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO users (username, name, role, active, failed_logins) "
                          "VALUES ('clerk', '村文书', 'village_clerk', true, 0)"))
        conn.execute(text("INSERT INTO user_villages (user_id, village_code) "
                          "SELECT id, '130434100200' FROM users"))
    upgrade(db_url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT u.username, v.village_code FROM users u JOIN user_villages v "
                                 "ON v.user_id = u.id")).all() == [("clerk", "130434100200")]
    downgrade(db_url, "0006")
    upgrade(db_url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM user_villages")).scalar() == 1
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
    engine.dispose()
