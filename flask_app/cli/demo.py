"""``relief demo``: the web application on the embedded SQLite default, with a generated county part-way
through its year and a login for every role.  ``relief serve`` runs the app on a configured database.

Both serve through waitress (a production WSGI server in pure Python, also on Windows), with
``RELIEF_THREADS`` worker threads and the database pool sized with them (:func:`flask_app.db.pool_options`);
no ``Server`` header.  Behind nginx or IIS see docs/deployment.md (``RELIEF_TRUSTED_PROXIES``)."""

from __future__ import annotations

import shutil
from pathlib import Path

import click

from flask_app.cli.common import database_option


def _serve(app, host: str, port: int) -> None:  # noqa: ANN001
    import waitress

    from flask_app.uploads import server_body_limit

    threads = int(app.config["RELIEF_THREADS"])
    proxies = int(app.config.get("RELIEF_TRUSTED_PROXIES") or 0)
    click.echo(f"waitress: http://{host}:{port}/  {threads} 线程 / threads, "
               f"受信代理 / trusted proxies: {proxies}   (Ctrl+C 结束 / to stop)")
    # ident="": no Server header (no name or version for a scanner); a body over twice the upload limit is
    # refused by waitress before it is read, a smaller one over the limit by the app (flask_app.uploads)
    waitress.serve(app, host=host, port=port, threads=threads, ident="", _quiet=True,
                   max_request_body_size=server_body_limit(app.config),
                   connection_limit=int(app.config.get("RELIEF_CONNECTION_LIMIT") or 500))


threads_option = click.option(
    "--threads", type=click.IntRange(min=1, max=256), default=None,
    help="工作线程数（数据库连接池随之设定；默认 RELIEF_THREADS 或 8）/ worker threads (the database pool is "
         "sized with them; default RELIEF_THREADS or 8)")


def _threads(threads: int | None) -> dict[str, int]:
    return {"RELIEF_THREADS": threads} if threads else {}


@click.command()
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--people", default=20_000, show_default=True, type=click.IntRange(min=500))
@click.option("--out", "out_dir", default="relief-demo", show_default=True, type=click.Path(file_okay=False),
              help="演示数据目录（每次重建）/ demo data folder (rebuilt each time)")
@click.option("--no-serve", is_flag=True, help="只生成数据，不启动网站 / build the data only")
@threads_option
def demo(port: int, people: int, out_dir: str, no_serve: bool, threads: int | None) -> None:
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
    click.echo("API 令牌 / API tokens (write, /api/v1 only, 90 days; relief tokens list|revoke):")
    for role, token in info.tokens.items():
        click.echo(f"  {info.users[role][0]:<8} {token}")
    if no_serve:
        return
    app = create_app({"DATABASE_URL": url, "RELIEF_TODAY": info.today.isoformat(), **_threads(threads)})
    _serve(app, "127.0.0.1", port)


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="监听地址（反向代理在本机时保持 127.0.0.1）/ address to listen on (keep 127.0.0.1 behind a "
                   "proxy on the same machine)")
@click.option("--port", default=5000, show_default=True, type=click.IntRange(min=1, max=65535),
              help="端口 / port")
@threads_option
@database_option
def serve(host: str, port: int, threads: int | None, database_url: str | None) -> None:
    """启动网站（waitress）/ Run the web application on waitress and the configured database (DATABASE_URL).

    \b
    环境变量 / environment:
      DATABASE_URL            数据库 / database (postgresql+psycopg://…)
      SECRET_KEY              会话密钥（必须设定）/ session key (set it: else sessions end on restart)
      RELIEF_THREADS          工作线程 / worker threads (8)
      RELIEF_POOL_TIMEOUT     等待数据库连接的秒数 / seconds to wait for a connection (30)
      RELIEF_TRUSTED_PROXIES  受信反向代理层数 / trusted reverse-proxy hops (0: X-Forwarded-* ignored)
      RELIEF_CONNECTION_LIMIT 最多同时打开的连接 / open client connections kept (500)
    见 / see docs/deployment.md"""
    from flask_app import create_app

    config: dict[str, object] = {"DATABASE_URL": database_url} if database_url else {}
    _serve(create_app({**config, **_threads(threads)}), host, port)
