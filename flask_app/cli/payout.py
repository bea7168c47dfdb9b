"""``relief payout``: build a payout batch, export the bank file, import the bank's return file."""

from __future__ import annotations

from pathlib import Path

import click

from flask_app.cli.common import actor_for, database_option, fail, money, open_db


def _policy(session, policy_id: int | None) -> int:  # noqa: ANN001 - Session
    from sqlalchemy import select

    from claims.lifecycle.models import Claim

    if policy_id is not None:
        return policy_id
    ids = sorted(set(session.scalars(select(Claim.policy_id).where(Claim.state == "payable"))))
    if not ids:
        fail("没有可支付的理赔 / no payable claims")
    if len(ids) != 1:
        fail(f"请用 --policy 指定保单 / give --policy: payable claims in policies {ids or 'none'}")
    return ids[0]


@click.group()
def payout() -> None:
    """支付批次 / payout batches."""


@payout.command("build")
@click.option("--period", required=True, help="支付期间，如 2025-03 / period, e.g. 2025-03")
@click.option("--policy", "policy_id", type=int, default=None, help="保单号 / policy id")
@click.option("--user", "username", required=True, help="保险公司用户 / insurer user")
@database_option
def build(period: str, policy_id: int | None, username: str, database_url: str | None) -> None:
    """生成支付批次（全部可支付理赔）/ batch all payable claims."""
    from sqlalchemy import func, select

    from claims.lifecycle.database import transaction
    from claims.lifecycle.models import PayoutLine
    from claims.lifecycle.payouts import build_batch

    try:
        with transaction(open_db(database_url)) as s:
            actor = actor_for(s, username)
            batch = build_batch(s, _policy(s, policy_id), period, actor)
            bid, total = batch.id, batch.total
            n = s.scalar(select(func.count()).select_from(PayoutLine).where(PayoutLine.batch_id == bid))
    except ValueError as exc:
        fail(str(exc))
    click.echo(f"支付批次 / payout batch {bid} ({period}): {n:,} 笔 / lines, 合计 / total {money(int(total * 100))}")


@payout.command("export")
@click.option("--batch", "batch_id", type=int, required=True)
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False),
              help="银行文件 .csv 或 .xlsx / bank file")
@database_option
def export(batch_id: int, out: str, database_url: str | None) -> None:
    """导出银行代发文件 / export the bank file."""
    from claims.lifecycle.payouts import export_bank_file

    try:
        with open_db(database_url)() as s:
            path = export_bank_file(s, batch_id, Path(out))
    except ValueError as exc:
        fail(str(exc))
    click.echo(f"已导出 / written: {path}")


@payout.command("return")
@click.option("--batch", "batch_id", type=int, required=True)
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--user", "username", required=True, help="保险公司用户 / insurer user")
@database_option
def bank_return(batch_id: int, file: str, username: str, database_url: str | None) -> None:
    """导入银行回盘文件 / import the bank's return file."""
    from claims.lifecycle.database import transaction
    from claims.lifecycle.payouts import import_bank_return

    try:
        with transaction(open_db(database_url)) as s:
            result = import_bank_return(s, batch_id, Path(file), actor_for(s, username))
    except ValueError as exc:
        fail(str(exc))
    click.echo(f"批次 / batch {batch_id}: 成功 / paid {result['paid']:,}; 失败退回可支付 / failed (back to payable) "
               f"{result['failed']:,}")
