"""``relief demo``: the web application on the embedded SQLite default, with a generated county part-way
through its year and a login for every role.  ``relief serve`` runs the app on a configured database."""

from __future__ import annotations

import shutil
from pathlib import Path

import click

from flask_app.cli.common import database_option


def _serve(app, host: str, port: int) -> None:  # noqa: ANN001
    from werkzeug.serving import run_simple

    run_simple(host, port, app, threaded=True, use_reloader=False)


@click.command()
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--people", default=20_000, show_default=True, type=click.IntRange(min=500))
@click.option("--out", "out_dir", default="relief-demo", show_default=True, type=click.Path(file_okay=False),
              help="演示数据目录（每次重建）/ demo data folder (rebuilt each time)")
@click.option("--no-serve", is_flag=True, help="只生成数据，不启动网站 / build the data only")
def demo(port: int, people: int, out_dir: str, no_serve: bool) -> None:
    """演示：生成模拟县并启动网站 / Demo: a generated county in the web app on 127.0.0.1."""
    from flask_app import create_app
    from flask_app.demo import build_demo

    out = Path(out_dir).resolve()
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    url = f"sqlite:///{out / 'relief.db'}"
    click.echo(f"生成演示数据 / building demo data: {people:,} people …")
    info = build_demo(url, out, people=people)
    click.echo(f"演示日期 / demo date: {info.today.isoformat()}   数据库 / database: {out / 'relief.db'}")
    click.echo("登录 / logins (password 密码: " + next(iter(info.users.values()))[1] + "):")
    for role, (username, _) in info.users.items():
        click.echo(f"  {username:<8} {role}")
    if no_serve:
        return
    app = create_app({"DATABASE_URL": url, "RELIEF_TODAY": info.today.isoformat()})
    click.echo(f"打开 / open http://127.0.0.1:{port}/   (Ctrl+C 结束 / to stop)")
    _serve(app, "127.0.0.1", port)


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@database_option
def serve(host: str, port: int, database_url: str | None) -> None:
    """启动网站 / Run the web application on the configured database (DATABASE_URL)."""
    from flask_app import create_app

    config = {"DATABASE_URL": database_url} if database_url else {}
    _serve(create_app(config), host, port)
