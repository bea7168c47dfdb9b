"""``relief fund report|premium|settle|carry-over``: the fund ledger per policy and its operations: premiums
received (payer, date), the year-end settlement (previewed, then posted) and the carry-over of the closing
balance to the county's next-year policy (:mod:`claims.lifecycle.fund`, :mod:`claims.lifecycle.fund_year`)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation

import click

from flask_app.cli.common import (
    actor_for,
    database_option,
    default_policy,
    fail,
    money,
    open_db,
    policy_option,
    user_option,
)


@click.group()
def fund() -> None:
    """基金台账 / fund ledger."""


@fund.command("report")
@click.option("--policy", "policy_id", type=int, default=None, help="保单号（默认全部）/ policy id (default: all)")
@database_option
def report(policy_id: int | None, database_url: str | None) -> None:
    """基金收支报告 / premiums, claims paid, reversals, balance, loss ratio."""
    from sqlalchemy import select

    from claims.lifecycle.fund import fund_summary
    from claims.lifecycle.store import Policy

    with open_db(database_url)() as s:
        query = select(Policy).order_by(Policy.id)
        if policy_id is not None:
            query = query.where(Policy.id == policy_id)
        policies = s.scalars(query).all()
        if not policies:
            fail(f"没有保单 / no policy{f' {policy_id}' if policy_id is not None else ''}")
        for pol in policies:
            f = fund_summary(s, pol.id)
            ratio = "—" if f["loss_ratio"] is None else f"{f['loss_ratio'] * 100:.2f}%"
            click.echo(f"保单 / policy {pol.id} ({pol.county}, {pol.year})")
            for label, key in [("应收保费 / premium due", "premium_due"),
                               ("实收保费 / premium received", "premium_received"),
                               ("已付赔款 / claims paid", "claims_paid"), ("冲正退回 / reversals", "reversals"),
                               ("追回多付 / recoveries", "recoveries"),
                               ("年终结算 / settlements", "settlements"), ("结转 / carry-over", "carry_over"),
                               ("基金余额 / balance", "balance")]:
                click.echo(f"  {label}: {money(int(f[key] * 100))}")
            click.echo(f"  赔付率 / loss ratio: {ratio}")


def _fen(amount: Decimal) -> int:
    return int(amount * 100)


@fund.command("premium")
@policy_option
@click.option("--amount", required=True, help="实收保费（元）/ premium received, yuan (e.g. 63000.00)")
@click.option("--payer", required=True, type=click.Choice(["财政", "个人", "其他", "government", "individual", "other"]),
              help="缴费来源 / who paid")
@click.option("--date", "received_on", required=True, type=click.DateTime(["%Y-%m-%d"]),
              help="到账日期 / date received (YYYY-MM-DD)")
@click.option("--reference", default=None, help="凭证号 / receipt or treasury reference")
@user_option
@database_option
def premium(policy_id: int | None, amount: str, payer: str, received_on: dt.datetime, reference: str | None,
            username: str, database_url: str | None) -> None:
    """登记实收保费 / record a premium received."""
    from claims.lifecycle.database import transaction
    from claims.lifecycle.fund import FundError, record_premium

    factory = open_db(database_url)
    policy_id = default_policy(factory, policy_id)
    try:
        value = Decimal(amount.replace(",", ""))
        with transaction(factory) as s:
            record_premium(s, policy_id, "premium_received", value, reference, actor_id=actor_for(s, username).id,
                           payer=payer, received_on=received_on.date())
    except InvalidOperation:
        fail(f"金额无效 / invalid amount: {amount!r}")
    except FundError as exc:
        fail(str(exc))
    click.echo(f"保单 {policy_id}：已登记保费 {money(_fen(value))}（{payer}，{received_on:%Y-%m-%d}）/ policy {policy_id}: "
               f"premium of {money(_fen(value))} recorded")


@fund.command("settle")
@policy_option
@click.option("--preview", is_flag=True, help="只预览，不过账 / show the settlement without posting it")
@click.option("--user", "username", default=None, help="操作用户名（过账时必填）/ acting user (required to post)")
@database_option
def settle(policy_id: int | None, preview: bool, username: str | None, database_url: str | None) -> None:
    """年终结算：预览或过账 / the year-end settlement: preview, or post it (once)."""
    from claims.lifecycle.database import transaction
    from claims.lifecycle.fund import FundError, settle_year
    from claims.lifecycle.fund_year import settlement_preview

    factory = open_db(database_url)
    policy_id = default_policy(factory, policy_id)
    if not preview and not username:
        fail("过账须用 --user 指定操作用户（或用 --preview 只预览）/ posting needs --user (or use --preview)")
    try:
        with transaction(factory) as s:
            p = settlement_preview(s, policy_id)
            if not preview and not p.settled:
                settle_year(s, policy_id, actor_id=actor_for(s, username).id)
                p = settlement_preview(s, policy_id)
    except FundError as exc:
        fail(str(exc))
    state = "已过账 / posted" if p.settled else ("预览 / preview" if preview else "无需过账（0 元）/ nothing to post (0)")
    click.echo(f"保单 {policy_id} 年终结算（{p.rule.get('type', 'rollover')}）{state}")
    click.echo(f"  实收保费 P / premium: {money(_fen(p.premium))}")
    click.echo(f"  净赔款 L / net claims: {money(_fen(p.net_claims))}")
    click.echo(f"  结算额 / settlement (− refund, + top-up): {money(_fen(p.amount))}")
    click.echo(f"  结算后余额 / balance after: {money(_fen(p.balance_after))}")


@fund.command("carry-over")
@policy_option
@click.option("--to", "to_policy_id", type=int, default=None,
              help="转入保单（默认同县下一年度）/ next year's policy (default: the same county's)")
@user_option
@database_option
def carry(policy_id: int | None, to_policy_id: int | None, username: str, database_url: str | None) -> None:
    """结转余额至下一年度 / carry the closing balance over to next year's policy (its opening balance)."""
    from claims.lifecycle.database import transaction
    from claims.lifecycle.fund import FundError
    from claims.lifecycle.fund_year import carry_over

    factory = open_db(database_url)
    policy_id = default_policy(factory, policy_id) if policy_id is None else policy_id
    try:
        with transaction(factory) as s:
            moved = carry_over(s, policy_id, to_policy_id, actor_id=actor_for(s, username).id)
            result = None if moved is None else (moved[1].policy_id, moved[1].amount)
    except FundError as exc:
        fail(str(exc))
    if result is None:
        click.echo(f"保单 {policy_id} 余额为 0，无需结转 / policy {policy_id}: balance 0, nothing to carry over")
    else:
        click.echo(f"保单 {policy_id} → 保单 {result[0]}：结转 {money(_fen(result[1]))}（下年期初余额）/ carried over "
                   f"{money(_fen(result[1]))} as policy {result[0]}'s opening balance")
