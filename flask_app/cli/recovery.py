"""``relief recovery list|record|waive``: overpayments to recover (:mod:`claims.lifecycle.recovery`)."""

from __future__ import annotations

import click

from flask_app.cli.common import actor_for, database_option, fail, money, open_db, user_option


@click.group()
def recovery() -> None:
    """追回多付 / recovery of overpayments."""


@recovery.command("list")
@click.option("--policy", "policy_id", type=int, default=None, help="保单号（默认全部）/ policy id (default: all)")
@click.option("--state", type=click.Choice(["open", "recovered", "waived", "cancelled"]), default=None,
              help="只列此状态 / only this state")
@database_option
def list_(policy_id: int | None, state: str | None, database_url: str | None) -> None:
    """追回单列表 / recoveries, newest first."""
    from claims.lifecycle.recovery import list_recoveries

    with open_db(database_url)() as s:
        rows = list_recoveries(s, policy_id, state)
    if not rows:
        click.echo("没有追回单 / no recoveries")
    for r in rows:
        click.echo(f"#{r['id']}  {r['state_label']} / {r['state']}  {money(int(r['amount'] * 100))}  "
                   f"理赔 / claim {r['claim_id']}  户 / household {r['household_no']}  {r['line_id']}  "
                   f"{r['opened_at']:%Y-%m-%d}" + (f"  {r['reason']}" if r["reason"] else ""))


@recovery.command("record")
@click.argument("recovery_id", type=int)
@user_option
@click.option("--note", default=None, help="备注（如银行流水号）/ note (e.g. the bank reference)")
@database_option
def record(recovery_id: int, username: str, note: str | None, database_url: str | None) -> None:
    """登记已追回（记入基金台账）/ record the money as recovered (a fund ledger entry)."""
    from claims.lifecycle.database import transaction
    from claims.lifecycle.recovery import RecoveryError, record_recovery

    try:
        with transaction(open_db(database_url)) as s:
            entry = record_recovery(s, recovery_id, actor_for(s, username), note)
            amount = int(entry.amount * 100)
    except RecoveryError as exc:
        fail(str(exc))
    click.echo(f"追回单 #{recovery_id} 已追回 {money(amount)}，已记入基金 / recovery #{recovery_id}: {money(amount)} "
               f"recovered and entered in the fund ledger")


@recovery.command("waive")
@click.argument("recovery_id", type=int)
@user_option
@click.option("--reason", required=True, help="核销原因 / why the money is not recovered")
@database_option
def waive(recovery_id: int, username: str, reason: str, database_url: str | None) -> None:
    """核销（不再追回，须理赔主管）/ waive: not recovered (insurer supervisor, with a reason)."""
    from claims.lifecycle.database import transaction
    from claims.lifecycle.recovery import RecoveryError, waive_recovery

    try:
        with transaction(open_db(database_url)) as s:
            waive_recovery(s, recovery_id, actor_for(s, username), reason)
    except RecoveryError as exc:
        fail(str(exc))
    click.echo(f"追回单 #{recovery_id} 已核销 / recovery #{recovery_id} waived")
