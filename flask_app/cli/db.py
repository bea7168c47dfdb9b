"""``relief db upgrade``: apply the Alembic migrations to the database."""

from __future__ import annotations

import click
from sqlalchemy.engine import make_url

from flask_app.cli.common import database_option


@click.group()
def db() -> None:
    """数据库管理 / database management."""


@db.command()
@database_option
def upgrade(database_url: str | None) -> None:
    """执行数据库迁移 / apply the migrations (to the newest schema)."""
    from claims.lifecycle.database import default_url
    from claims.lifecycle.database import upgrade as run_upgrade

    url = database_url or default_url()
    run_upgrade(url)
    shown = make_url(url).render_as_string(hide_password=True)
    click.echo(f"数据库已升级到最新版本 / database upgraded to the newest schema: {shown}")
