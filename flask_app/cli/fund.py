"""``relief fund report``: the fund ledger per policy (premiums, claims paid, reversals, balance)."""

from __future__ import annotations

import click

from flask_app.cli.common import database_option, fail, money, open_db


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
                               ("年终结算 / settlements", "settlements"), ("基金余额 / balance", "balance")]:
                click.echo(f"  {label}: {money(int(f[key] * 100))}")
            click.echo(f"  赔付率 / loss ratio: {ratio}")
