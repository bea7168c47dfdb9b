"""``relief users create|list|deactivate|activate|reset-password|set-role|set-villages|set-limit|events``: staff
users, their roles, villages and approval limits.  Each change is audited (``user_events``) with its actor:
``--by ADMIN``, or the operating-system login that ran the command."""

from __future__ import annotations

import click

from flask_app.cli.common import database_option, fail, open_db

by_option = click.option("--by", "by", default=None,
                         help="操作人用户名（记入审计）/ the administrator making the change (audited); default: "
                              "your operating-system login")


@click.group()
def users() -> None:
    """用户管理 / staff users."""


@users.command()
@click.argument("username")
@click.option("--name", required=True, help="姓名 / full name")
@click.option("--role", required=True, help="角色 / role (insurer_adjudicator, county_reviewer, village_clerk …)")
@click.option("--approval-limit", default=None, help="核定权限（元）/ approval limit in yuan (insurer users)")
@click.option("--village", "villages", multiple=True, help="负责的行政村代码（可多次）/ village code, repeatable")
@click.option("--township", "townships", multiple=True,
              help="乡镇审核负责的乡镇代码（9 位，可多次）/ township code (9 digits) of a township reviewer, repeatable")
@click.option("--county", "counties", multiple=True,
              help="服务的县代码（6 位，可多次）/ county code (6 digits) the user serves, repeatable")
@click.option("--policy", "policies", multiple=True, type=int,
              help="服务的保单（其县，可多次）/ a policy whose county the user serves, repeatable")
@by_option
@database_option
def add(username: str, name: str, role: str, approval_limit: str | None, villages: tuple[str, ...],
        townships: tuple[str, ...], counties: tuple[str, ...], policies: tuple[int, ...], by: str | None,
        database_url: str | None) -> None:
    """添加用户 / Add a user.

    Every user but an admin sees only the counties they serve (--county, --policy); without either, the
    database's one county — a database of several counties needs them."""
    from decimal import Decimal, InvalidOperation

    from claims.lifecycle.database import transaction
    from claims.lifecycle.users import UserError, create_user

    try:
        limit = None if approval_limit is None else Decimal(approval_limit)
    except InvalidOperation:
        fail(f"核定权限不是金额：{approval_limit} / approval limit is not an amount: {approval_limit}")
    try:
        with transaction(open_db(database_url)) as session:
            served = _counties(session, counties, policies)
            user = create_user(session, username, name, role, approval_limit=limit,
                               villages=_villages(session, villages, townships), counties=served,
                               by=cli_operator(session, by))
            user_id = user.id
    except (UserError, ValueError) as exc:
        fail(str(exc))
    click.echo(f"已添加用户 / user added: {username} ({role}), id {user_id}, counties {', '.join(served) or '-'}")
    if not served and role != "admin":
        click.echo("注意：该用户不服务任何县，看不到任何数据；请用 relief users set-counties 设置 / note: the user serves "
                   "no county and sees nothing; give them counties with relief users set-counties", err=True)


def _counties(session, counties: tuple[str, ...], policies: tuple[int, ...]) -> list[str]:  # noqa: ANN001
    """The counties named, with those of the policies named; none named: the database's only county."""
    from sqlalchemy import select

    from claims.lifecycle.store import Policy
    from claims.lifecycle.users import UserError

    found = set(counties)
    for policy_id in policies:
        county = session.scalar(select(Policy.county).where(Policy.id == policy_id))
        if county is None:
            raise UserError(f"保单 {policy_id} 不存在 / policy {policy_id} does not exist")
        found.add(county)
    if found:
        return sorted(found)
    every = sorted(set(session.scalars(select(Policy.county).distinct())))
    if len(every) > 1:
        raise UserError(f"数据库有多个县（{', '.join(every)}），请用 --county 或 --policy 指定 / the database holds "
                        f"several counties ({', '.join(every)}): name the user's with --county or --policy")
    return every


def _villages(session, villages: tuple[str, ...], townships: tuple[str, ...]) -> list[str]:  # noqa: ANN001
    """The villages named, with every village of the townships named (9-digit codes, from the division table
    or, without one, the roster's households)."""
    from sqlalchemy import select

    from claims.lifecycle.store import Division, Household
    from claims.lifecycle.users import UserError

    found = set(villages)
    for town in townships:
        if len(town) != 9 or not town.isdigit():
            raise UserError(f"乡镇代码须为 9 位数字 / a township code has 9 digits: {town}")
        codes = set(session.scalars(select(Division.code).where(Division.level == "village",
                                                                Division.code.startswith(town)))) | \
            set(session.scalars(select(Household.village_code).where(Household.village_code.startswith(town))))
        if not codes:
            raise UserError(f"乡镇 {town} 下没有行政村 / no village of township {town} is known")
        found |= codes
    return sorted(found)


# ------------------------------------------------------------------------------------ administration (audited)

def cli_operator(session, by: str | None):  # noqa: ANN001, ANN201
    """Who a CLI change is recorded against: the user named by ``--by``, else ``cli:<OS login>``."""
    import getpass

    from claims.lifecycle.users import Operator, get_user

    if by:
        return Operator.of(get_user(session, by))
    try:
        login = getpass.getuser()
    except (KeyError, OSError):
        login = "unknown"
    return Operator(None, f"cli:{login}")


def _change(database_url: str | None, username: str, by: str | None, apply, done: str) -> None:  # noqa: ANN001
    """Run one audited change on USERNAME in a transaction; a refused change exits with its message."""
    from claims.lifecycle.database import transaction
    from claims.lifecycle.users import get_user
    from tabular.errors import ReliefError

    try:
        with transaction(open_db(database_url)) as s:
            apply(s, cli_operator(s, by), get_user(s, username))
    except ReliefError as exc:
        fail(str(exc))
    click.echo(done)


users.add_command(add, name="create")


@users.command("list")
@database_option
def list_(database_url: str | None) -> None:
    """列出用户 / List users: role, state, villages, approval limit."""
    from claims.lifecycle.users import list_users

    with open_db(database_url)() as s:
        rows = list_users(s)
    for r in rows:
        u = r["user"]
        limit = "-" if u.approval_limit is None else f"{u.approval_limit}"
        state = "active" if u.active else "inactive"
        click.echo(f"{u.id:>4}  {u.username:<16} {u.name:<12} {u.role:<20} {state:<8} limit {limit:<12} "
                   f"villages {','.join(r['villages']) or '-'}")


@users.command("deactivate")
@click.argument("username")
@by_option
@database_option
def deactivate(username: str, by: str | None, database_url: str | None) -> None:
    """停用用户（不能登录，令牌作废）/ Deactivate: no login, tokens revoked, sessions ended."""
    from claims.lifecycle.users import deactivate_user

    _change(database_url, username, by, deactivate_user, f"已停用 / deactivated: {username}")


@users.command("activate")
@click.argument("username")
@by_option
@database_option
def activate(username: str, by: str | None, database_url: str | None) -> None:
    """重新启用用户 / Activate a deactivated user again (their old tokens stay revoked)."""
    from claims.lifecycle.users import activate_user

    _change(database_url, username, by, activate_user, f"已启用 / activated: {username}")


@users.command("reset-password")
@click.argument("username")
@click.password_option("--password", prompt="新密码 / new password",
                       help="新密码（不给则提示输入）/ the new password (prompted when not given)")
@by_option
@database_option
def reset_password_cmd(username: str, password: str, by: str | None, database_url: str | None) -> None:
    """重设密码（解除锁定，结束其会话）/ Set a new password: lifts the lock-out, ends the user's sessions."""
    from claims.lifecycle.users import UserError, hash_new_password, reset_password
    from flask_app.auth import hash_password

    try:  # hashed before the write transaction
        password_hash = hash_new_password(password, hash_password)
    except UserError as exc:
        fail(str(exc))
    _change(database_url, username, by, lambda s, op, u: reset_password(s, op, u, password_hash),
            f"已重设密码 / password reset: {username}")


@users.command("set-role")
@click.argument("username")
@click.argument("role")
@by_option
@database_option
def set_role_cmd(username: str, role: str, by: str | None, database_url: str | None) -> None:
    """改角色 / Change the role of USERNAME to ROLE."""
    from claims.lifecycle.users import set_role

    _change(database_url, username, by, lambda s, op, u: set_role(s, op, u, role),
            f"已改角色 / role set: {username} → {role}")


@users.command("set-villages")
@click.argument("username")
@click.argument("villages", nargs=-1)
@by_option
@database_option
def set_villages_cmd(username: str, villages: tuple[str, ...], by: str | None, database_url: str | None) -> None:
    """设置负责的行政村（12 位代码；不给则清空）/ Replace the villages of USERNAME (none given: clear them)."""
    from claims.lifecycle.users import set_villages

    _change(database_url, username, by, lambda s, op, u: set_villages(s, op, u, villages),
            f"已设置行政村 / villages set: {username}: {', '.join(villages) or '-'}")


@users.command("set-counties")
@click.argument("username")
@click.argument("counties", nargs=-1)
@by_option
@database_option
def set_counties_cmd(username: str, counties: tuple[str, ...], by: str | None, database_url: str | None) -> None:
    """设置服务的县（6 位代码；不给则清空：除管理员外看不到任何数据）/ Replace the counties USERNAME serves
    (none given: clear them — a user with no county sees nothing, except an admin)."""
    from claims.lifecycle.users import set_counties

    _change(database_url, username, by, lambda s, op, u: set_counties(s, op, u, counties),
            f"已设置服务的县 / counties set: {username}: {', '.join(counties) or '-'}")


@users.command("set-limit")
@click.argument("username")
@click.argument("limit")
@by_option
@database_option
def set_limit_cmd(username: str, limit: str, by: str | None, database_url: str | None) -> None:
    """设置核定权限（元；none 取消）/ Set the approval limit of USERNAME in yuan ("none": no limit set)."""
    from claims.lifecycle.users import set_limit

    value = None if limit.lower() in ("none", "-", "") else limit
    _change(database_url, username, by, lambda s, op, u: set_limit(s, op, u, value),
            f"已设置核定权限 / approval limit set: {username}: {value or '-'}")


@users.command("events")
@click.option("--user", "username", default=None, help="只列此用户 / only this user's events")
@click.option("--limit", type=click.IntRange(1, 10000), default=50, show_default=True)
@database_option
def events(username: str | None, limit: int, database_url: str | None) -> None:
    """用户管理审计记录 / The audit of user administration, newest first."""
    import json

    from claims.lifecycle.models import User
    from claims.lifecycle.users import UserError, get_user, user_events

    with open_db(database_url)() as s:
        try:
            user_id = get_user(s, username).id if username else None
        except UserError as exc:
            fail(str(exc))
        for e in user_events(s, user_id, limit):
            whom = s.get(User, e.user_id).username
            click.echo(f"{e.at:%Y-%m-%d %H:%M:%S}  {e.actor:<16} {e.action:<16} {whom:<16} "
                       f"{json.dumps(e.detail, ensure_ascii=False)}")
