"""``relief claims``: the review steps from a terminal (the web pages do the same through the same services).

    relief claims status
    relief claims advance start_investigation --user ins1 [--village CODE]
    relief claims verify --user ins1 [--village CODE]        # at the computed amounts; above the limit → 待复核
    relief claims verify --user ins1 --claim 12 --amount 900.00 --reason calculation_error --note "…"
    relief claims approve --user sup1 [--claim 12]
    relief claims advance village_review --user clerk1 --village CODE
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

import click
from sqlalchemy import func, select

from claims.lifecycle import adjudication as adj
from claims.lifecycle.database import transaction
from claims.lifecycle.models import Claim
from claims.lifecycle.workflow import STATES, TransitionError
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

FROM_STATE = {"start_investigation": "computed", "village_review": "verified", "township_review": "village_reviewed",
              "file": "township_reviewed", "reinvestigate": "disputed"}


def _ids(session, policy_id: int, state: str, village: str | None) -> list[int]:  # noqa: ANN001
    query = select(Claim.id).where(Claim.policy_id == policy_id, Claim.state == state)
    if village:
        query = query.where(Claim.village_code == village)
    return list(session.scalars(query.order_by(Claim.id)))


@click.group("claims")
def claims_group() -> None:
    """理赔审核 / claim review steps."""


@claims_group.command()
@policy_option
@database_option
def status(policy_id: int | None, database_url: str | None) -> None:
    """各状态笔数与金额 / claims and amounts by state."""
    factory = open_db(database_url)
    policy_id = default_policy(factory, policy_id)
    with factory() as s:
        rows = s.execute(select(Claim.state, func.count(), func.sum(Claim.amount)).where(Claim.policy_id == policy_id)
                         .group_by(Claim.state)).all()
    by_state = {state: (n, total) for state, n, total in rows}
    for state, label in STATES.items():
        if state in by_state:
            n, total = by_state[state]
            click.echo(f"{label:<8} {state:<18} {n:>8,}  {money(int(total * 100))}")


@claims_group.command()
@click.argument("action", type=click.Choice(sorted(FROM_STATE)))
@click.option("--village", default=None, help="只处理该行政村 / only this administrative village")
@click.option("--note", default=None)
@user_option
@policy_option
@database_option
def advance(action: str, village: str | None, note: str | None, username: str, policy_id: int | None,
            database_url: str | None) -> None:
    """批量推进（整村名单）/ move a whole list one step (set-based)."""
    factory = open_db(database_url)
    policy_id = default_policy(factory, policy_id)
    try:
        with transaction(factory) as s:
            ids = _ids(s, policy_id, FROM_STATE[action], village)
            moved = adj.bulk(s, ids, action, actor_for(s, username), note=note) if ids else 0
    except (TransitionError, ValueError) as exc:
        fail(str(exc))
    click.echo(f"{action}: {moved:,} 笔 / claims")


def _amount_arg(text: str | None) -> Decimal | None:
    if text is None:
        return None
    try:
        return Decimal(text.replace(",", ""))
    except InvalidOperation:
        fail(f"金额无效：{text!r}，请写成如 1234.50 / invalid amount {text!r}: write it like 1234.50")


@claims_group.command()
@click.option("--village", default=None)
@click.option("--claim", "claim_id", type=int, default=None, help="只核定这一笔 / only this claim")
@click.option("--amount", default=None, help="核定金额（元，须配合 --claim）/ verified amount in yuan (with --claim)")
@click.option("--reason", "reason_code", type=click.Choice(sorted(adj.ADJUST_REASONS)), default=None,
              help="调整原因代码 / adjustment reason code")
@click.option("--note", default=None, help="说明 / note")
@user_option
@policy_option
@database_option
def verify(village: str | None, claim_id: int | None, amount: str | None, reason_code: str | None,
           note: str | None, username: str, policy_id: int | None, database_url: str | None) -> None:
    """核定调查中的理赔（默认按计算金额）/ verify investigating claims (at their computed amounts by default).

    With ``--claim`` and ``--amount`` one claim at an adjusted amount, under the same rules as the pages
    and the API: never above the room left under the caps; above the computed entitlement a reason other
    than ``other``, a note and a second supervisor's approval."""
    if amount is not None and claim_id is None:
        fail("--amount 须与 --claim 一起使用 / --amount needs --claim (one claim at a time)")
    factory = open_db(database_url)
    policy_id = default_policy(factory, policy_id)
    outcome: dict[str, int] = {}
    try:
        with transaction(factory) as s:
            actor = actor_for(s, username)
            ids = [claim_id] if claim_id is not None else _ids(s, policy_id, "investigating", village)
            for one in ids:
                version = s.scalar(select(Claim.version).where(Claim.id == one))
                result = adj.verify(s, one, actor, expected_version=version, amount=_amount_arg(amount),
                                    reason_code=reason_code, note=note)
                outcome[result] = outcome.get(result, 0) + 1
    except (TransitionError, ValueError) as exc:
        fail(str(exc))
    click.echo(", ".join(f"{STATES[k]} {k}: {n:,}" for k, n in outcome.items()) or "0")


@claims_group.command()
@click.option("--claim", "claim_id", type=int, default=None, help="只复核这一笔 / only this claim")
@user_option
@policy_option
@database_option
def approve(claim_id: int | None, username: str, policy_id: int | None, database_url: str | None) -> None:
    """复核超权限或超核定的核定 / approve verifications awaiting a second insurer user."""
    factory = open_db(database_url)
    policy_id = default_policy(factory, policy_id)
    try:
        with transaction(factory) as s:
            actor = actor_for(s, username)
            ids = [claim_id] if claim_id is not None else _ids(s, policy_id, "awaiting_approval", None)
            for one in ids:
                version = s.scalar(select(Claim.version).where(Claim.id == one))
                adj.approve(s, one, actor, expected_version=version)
    except (TransitionError, ValueError) as exc:
        fail(str(exc))
    click.echo(f"approve: {len(ids):,} 笔 / claims")
