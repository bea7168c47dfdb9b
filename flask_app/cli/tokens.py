"""``relief tokens issue|list|revoke``: API tokens (the API only; read or write; an expiry; shown once)."""

from __future__ import annotations

import click

from flask_app.cli.common import database_option, fail, open_db

by_option = click.option("--by", "by", default=None,
                         help="操作人用户名（记入审计）/ the administrator making the change (audited); default: "
                              "your operating-system login")


@click.group()
def tokens() -> None:
    """API 令牌 / API tokens: issue, list, revoke."""


@tokens.command("issue")
@click.argument("username")
@click.option("--name", required=True, help="令牌用途，如 insurer-sync / what the token is for")
@click.option("--scope", type=click.Choice(["read", "write"]), default="read", show_default=True,
              help="只读或读写 / read only, or read and write")
@click.option("--days", type=click.IntRange(1, 366), default=90, show_default=True,
              help="有效天数 / days until it expires")
@by_option
@database_option
def issue(username: str, name: str, scope: str, days: int, by: str | None, database_url: str | None) -> None:
    """发放令牌（只显示一次）/ Issue a token for USERNAME; it is shown once, only its hash is stored."""
    from claims.lifecycle.api_tokens import issue_token
    from claims.lifecycle.database import transaction
    from claims.lifecycle.users import get_user
    from flask_app.cli.users import cli_operator
    from tabular.errors import ReliefError

    try:
        with transaction(open_db(database_url)) as s:
            token, secret = issue_token(s, cli_operator(s, by), get_user(s, username), name, scope, days=days)
            token_id, expires = token.id, token.expires_at
    except ReliefError as exc:
        fail(str(exc))
    click.echo(f"令牌 / token #{token_id} for {username} ({scope}), expires {expires:%Y-%m-%d %H:%M} UTC")
    click.echo("请立即保存，之后无法再次查看 / keep it now: it cannot be shown again:")
    click.echo(secret)


@tokens.command("list")
@click.option("--user", "username", default=None, help="只列此用户 / only this user's tokens")
@click.option("--all", "show_all", is_flag=True, help="含已过期、已吊销 / with expired and revoked tokens")
@database_option
def list_(username: str | None, show_all: bool, database_url: str | None) -> None:
    """列出令牌（不含密文）/ List tokens (never a secret: none is stored)."""
    from claims.lifecycle.api_tokens import list_tokens
    from claims.lifecycle.users import UserError, get_user

    with open_db(database_url)() as s:
        try:
            user_id = get_user(s, username).id if username else None
        except UserError as exc:
            fail(str(exc))
        rows = list_tokens(s, user_id, live_only=not show_all)
    click.echo(f"{'id':>5}  {'user':<16} {'name':<20} {'scope':<5}  {'state':<7}  {'expires (UTC)':<16}  last used")
    for r in rows:
        t = r["token"]
        used = f"{t.last_used_at:%Y-%m-%d %H:%M}" if t.last_used_at else "-"
        click.echo(f"{t.id:>5}  {r['username']:<16} {t.name:<20} {t.scope:<5}  {r['state']:<7}  "
                   f"{t.expires_at:%Y-%m-%d %H:%M}  {used}")
    if not rows:
        click.echo("没有令牌 / no tokens")


@tokens.command("revoke")
@click.argument("token_id", type=int)
@by_option
@database_option
def revoke(token_id: int, by: str | None, database_url: str | None) -> None:
    """吊销令牌（立即生效）/ Revoke token TOKEN_ID (at once, for good)."""
    from claims.lifecycle.api_tokens import revoke_token, token_by_id
    from claims.lifecycle.database import transaction
    from flask_app.cli.users import cli_operator
    from tabular.errors import ReliefError

    try:
        with transaction(open_db(database_url)) as s:
            done = revoke_token(s, cli_operator(s, by), token_by_id(s, token_id))
    except ReliefError as exc:
        fail(str(exc))
    click.echo(f"已吊销 / revoked: token #{token_id}" if done else f"令牌 #{token_id} 早已吊销 / already revoked")
