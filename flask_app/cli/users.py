"""``relief users add``: staff users and their roles."""

from __future__ import annotations

import click

from flask_app.cli.common import database_option, fail, open_db


@click.group()
def users() -> None:
    """用户管理 / staff users."""


@users.command()
@click.argument("username")
@click.option("--name", required=True, help="姓名 / full name")
@click.option("--role", required=True, help="角色 / role (insurer_adjudicator, county_reviewer, village_clerk …)")
@click.option("--approval-limit", default=None, help="核定权限（元）/ approval limit in yuan (insurer users)")
@click.option("--village", "villages", multiple=True, help="负责的行政村代码（可多次）/ village code, repeatable")
@database_option
def add(username: str, name: str, role: str, approval_limit: str | None, villages: tuple[str, ...],
        database_url: str | None) -> None:
    """添加用户 / Add a user."""
    from decimal import Decimal, InvalidOperation

    from claims.lifecycle.database import transaction
    from claims.lifecycle.users import UserError, create_user

    try:
        limit = None if approval_limit is None else Decimal(approval_limit)
    except InvalidOperation:
        fail(f"核定权限不是金额：{approval_limit} / approval limit is not an amount: {approval_limit}")
    try:
        with transaction(open_db(database_url)) as session:
            user = create_user(session, username, name, role, approval_limit=limit, villages=villages)
            user_id = user.id
    except (UserError, ValueError) as exc:
        fail(str(exc))
    click.echo(f"已添加用户 / user added: {username} ({role}), id {user_id}")
