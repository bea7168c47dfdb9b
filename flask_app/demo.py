"""Demo data: a generated county part-way through its policy year, with a login for every role.

January's claims are paid, February's are on their village notices, March's are freshly computed;
the app's clock is set to 2025-03-05.  Used by ``relief demo`` and by the web tests.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from sqlalchemy import select, update

from claims.lifecycle import adjudication as adj
from claims.lifecycle.api_tokens import issue_token
from claims.lifecycle.database import make_engine, session_factory, transaction, upgrade
from claims.lifecycle.fund import record_premium
from claims.lifecycle.imports import import_report
from claims.lifecycle.models import Claim, User
from claims.lifecycle.notices import close_due, post_notice
from claims.lifecycle.payouts import bank_rows, build_batch, import_bank_return
from claims.lifecycle.registry import create_policy, register_product
from claims.lifecycle.roster_store import store_roster
from claims.lifecycle.store import clock_day
from claims.lifecycle.transitions import Actor
from claims.lifecycle.users import Operator, actor_of, create_user
from claims.lifecycle.villages import import_villages, set_hotline
from claims.synth import synth_county
from flask_app.auth import hash_password
from products import load_product
from products.roster import load_households, load_persons

DEMO_TODAY = dt.date(2025, 3, 5)
#: The day the demo's product, policy, roster and users are set up (the app's clock, before January's claims).
SETUP_DAY = dt.date(2025, 1, 2)
DEMO_PASSWORD = "demo-2025"
#: The demo county's one hotline (县级咨询、申报、监督电话): on its notices and 明白卡 alike.
DEMO_HOTLINE = "0310-3512317"

#: role → (username, display name)
#: The demo policy's year-end settlement (claims.lifecycle.fund.settlement_amount): the government tops up the
#: loss above a 90% loss ratio; half of a surplus goes back to it, the other half stays in the fund and rolls
#: over to next year (seed 002: "防贫救助专项资金实行滚动发展，不断注入增多").
DEMO_SETTLEMENT = {"type": "corridor", "bands": [{"upto": "0.9", "government_share": "0"},
                                                 {"upto": None, "government_share": "1"}],
                   "surplus_refund_share": "0.5"}
DEMO_USERS = {
    "insurer_adjudicator": ("ins1", "理赔员小王"),
    "insurer_supervisor": ("sup1", "理赔主管老李"),
    "county_reviewer": ("county1", "县乡村振兴局张科长"),
    "township_reviewer": ("town1", "乡镇审核员"),
    "village_clerk": ("clerk1", "村委会文书"),
    "actuary": ("act1", "精算师"),
    "admin": ("admin", "系统管理员"),
}


@dataclass
class DemoInfo:
    policy_id: int
    users: dict[str, tuple[str, str]]  # role → (username, password)
    tokens: dict[str, str]  # role → API token (insurer roles and admin)
    today: dt.date
    county_dir: Path
    villages: list[str] = field(default_factory=list)


def _ids(session, policy_id: int, state: str) -> list[int]:  # noqa: ANN001
    return list(session.scalars(select(Claim.id).where(Claim.policy_id == policy_id, Claim.state == state)
                                .order_by(Claim.id)))


def review_and_file(factory, policy_id: int, actors: dict[str, Actor]) -> None:  # noqa: ANN001
    """computed → investigating → verified (by the supervisor, whose authority has no limit) → filed."""
    with transaction(factory) as s:
        adj.bulk(s, _ids(s, policy_id, "computed"), "start_investigation", actors["insurer_adjudicator"])
    with transaction(factory) as s:
        for claim in s.scalars(select(Claim).where(Claim.policy_id == policy_id, Claim.state == "investigating")):
            adj.verify(s, claim.id, actors["insurer_supervisor"], expected_version=claim.version)
    for action, role, state in (("village_review", "village_clerk", "verified"),
                                ("township_review", "township_reviewer", "village_reviewed"),
                                ("file", "county_reviewer", "township_reviewed")):
        with transaction(factory) as s:
            adj.bulk(s, _ids(s, policy_id, state), action, actors[role])


def post_notices(factory, policy_id: int, actor: Actor, posted_on: dt.date) -> None:  # noqa: ANN001
    """Each village's filed claims on a notice carrying the county's one hotline (:data:`DEMO_HOTLINE`)."""
    with transaction(factory) as s:
        villages = sorted(set(s.scalars(select(Claim.village_code).where(Claim.policy_id == policy_id,
                                                                         Claim.state == "filed"))))
        for village in villages:
            post_notice(s, policy_id, village, actor, posted_on=posted_on)  # the county's hotline: DEMO_HOTLINE


def settled_by(path: Path, day: dt.date) -> None:
    """Keep only the settlements of a medical file dated ``day`` or before (结算日期): the demo's March holds
    the first days of the month, nothing after the app's today."""
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    frame[frame["结算日期"] <= day.isoformat()].to_csv(path, index=False, encoding="utf-8-sig")


def build_demo(url: str, workdir: str | Path, *, people: int = 3000, seed: int = 20250101) -> DemoInfo:
    """Migrate ``url``, generate a county under ``workdir``, and run January to early March on it."""
    workdir = Path(workdir)
    upgrade(url)
    county = workdir / "county"
    synth_county(county, people, seed=seed)
    persons, households = load_persons(county / "persons.csv"), load_households(county / "households.csv")
    villages = sorted(households["village_code"].unique())
    factory = session_factory(make_engine(url))
    product = load_product("fangpinbao-weixian-2025")
    tokens: dict[str, str] = {}
    with clock_day(SETUP_DAY), transaction(factory) as s:
        version = register_product(s, product)
        policy = create_policy(s, version, framed_heads=people, settlement_rule=DEMO_SETTLEMENT)
        store_roster(s, persons, households)
        import_villages(s, county / "villages.csv", "villages.csv", actor_name="relief demo")  # 村名, 乡镇名
        set_hotline(s, policy.county, DEMO_HOTLINE, actor_name="relief demo")
        record_premium(s, policy.id, "premium_due", policy.premium_total, reference="contract")
        record_premium(s, policy.id, "premium_received", policy.premium_total, reference="county-treasury",
                       payer="government", received_on=dt.date(2025, 1, 10))
        actors = {}
        for role, (username, name) in DEMO_USERS.items():
            limit = "5000.00" if role == "insurer_adjudicator" else None
            scope = villages if role in ("village_clerk", "township_reviewer") else ()
            user = create_user(s, username, name, role, approval_limit=limit, villages=scope,
                               counties=[policy.county])  # the demo county: every user serves it
            user.password_hash = hash_password(DEMO_PASSWORD)
            if role.startswith("insurer") or role == "admin":
                tokens[role] = issue_token(s, Operator(None, "relief demo"), user, "demo", "write")[1]
            s.flush()
            actors[role] = actor_of(user)
        policy_id = policy.id
    insurer = actors["insurer_adjudicator"]

    def month(m: int) -> None:
        path = county / "medical" / f"2025-{m:02d}.csv"
        import_report(factory, policy_id, "medical", path, actor=insurer, file_name=f"medical/{path.name}",
                      period=f"2025-{m:02d}")

    # each step on its own day of the app's clock (claims.lifecycle.store.clock_day), none after DEMO_TODAY
    with clock_day(dt.date(2025, 1, 31)):
        month(1)
        review_and_file(factory, policy_id, actors)
    with clock_day(dt.date(2025, 2, 1)):
        post_notices(factory, policy_id, actors["village_clerk"], dt.date(2025, 2, 1))
    with clock_day(dt.date(2025, 2, 12)):
        with transaction(factory) as s:
            close_due(s, today=dt.date(2025, 2, 12))
        with transaction(factory) as s:
            if _ids(s, policy_id, "payable"):
                batch = build_batch(s, policy_id, "2025-02", insurer)
                lines = bank_rows(s, batch.id)
                back = pd.DataFrame({"理赔编号": lines["理赔编号"], "状态": "成功", "原因": ""})
                import_bank_return(s, batch.id, back, insurer)
    with clock_day(dt.date(2025, 2, 28)):
        month(2)
        review_and_file(factory, policy_id, actors)
    with clock_day(dt.date(2025, 3, 1)):
        post_notices(factory, policy_id, actors["village_clerk"], dt.date(2025, 3, 1))
    with clock_day(DEMO_TODAY):
        settled_by(county / "medical" / "2025-03.csv", DEMO_TODAY)
        month(3)
    with transaction(factory) as s:  # a fresh start for the demo logins
        s.execute(update(User).values(failed_logins=0, locked_until=None))
    factory.kw["bind"].dispose()
    return DemoInfo(policy_id=policy_id, users={r: (u, DEMO_PASSWORD) for r, (u, _) in DEMO_USERS.items()},
                    tokens=tokens, today=DEMO_TODAY, county_dir=county, villages=villages)
