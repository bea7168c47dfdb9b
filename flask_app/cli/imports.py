"""``relief import --department medical FILE``: store a department file and recompute its claims."""

from __future__ import annotations

from typing import Any

import click

from .common import database_option, fail, open_db

ALREADY_IMPORTED = 3


def default_policy(factory: Any, policy_id: int | None) -> int:
    """The given policy, or the only one in the database (an error when there are none or several)."""
    from sqlalchemy import select

    from products.store import Policy

    with factory() as session:
        ids = list(session.scalars(select(Policy.id).order_by(Policy.id)))
    if policy_id is not None:
        if policy_id not in ids:
            fail(f"保单 {policy_id} 不存在 / policy {policy_id} does not exist")
        return policy_id
    if not ids:
        fail("数据库中没有保单，请先运行 relief setup / no policy in the database; run relief setup first")
    if len(ids) > 1:
        fail(f"数据库中有多张保单（{', '.join(map(str, ids))}），请用 --policy 指定 / several policies in the "
             f"database ({', '.join(map(str, ids))}); choose one with --policy")
    return ids[0]


@click.command("import")
@click.option("--department", required=True,
              type=click.Choice(["medical", "education", "disaster", "accident", "income"]),
              help="报送部门 / reporting department")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--policy", "policy_id", type=int, default=None, help="保单号（仅一张时可省略）/ policy id")
@click.option("--user", "username", default=None, help="操作用户名 / importing user (default: system)")
@click.option("--period", default=None, help="报送期间，如 2025-03 / reporting period, e.g. 2025-03")
@database_option
def import_(department: str, file: str, policy_id: int | None, username: str | None, period: str | None,
            database_url: str | None) -> None:
    """导入部门报告并重新计算理赔 / Import a department report and recompute the claims it touches."""
    from claims.imports import AlreadyImportedError, ImportRefusedError, import_report
    from claims.reports import ReportFileError
    from claims.transitions import SYSTEM
    from claims.users import UserError, actor_of, get_user

    factory = open_db(database_url)
    policy = default_policy(factory, policy_id)
    actor = SYSTEM
    if username:
        try:
            with factory() as session:
                actor = actor_of(get_user(session, username))
        except UserError as exc:
            fail(str(exc))
    try:
        r = import_report(factory, policy, department, file, actor=actor, period=period)
    except AlreadyImportedError as exc:
        fail(str(exc), ALREADY_IMPORTED)
    except (ImportRefusedError, ReportFileError) as exc:
        fail(str(exc))
    click.echo(f"批次 / batch: {r.batch_id}")
    click.echo(f"读取 / rows read: {r.rows_read:,}   入库 / stored: {r.rows_stored:,}   异常 / exceptions: "
               f"{r.rows_exception:,}   重复 / duplicates: {r.rows_duplicate:,}")
    click.echo(f"理赔 / claims: 新建 / created {r.claims_created:,}   更新 / updated {r.claims_updated:,}   "
               f"撤回 / withdrawn {r.claims_withdrawn:,}")
