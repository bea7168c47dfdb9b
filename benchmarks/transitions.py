"""Transition benchmark: 100,000 claims advance one state (computed → investigating) with their audit rows.

For each database (a fresh SQLite file; a fresh PostgreSQL schema when reachable, dropped at the end):
bulk-insert N + 2,000 claims, time ``claims.lifecycle.transitions.advance`` on N of them (one UPDATE, one
INSERT … SELECT of N events), and, as the same-run reference, a plain ORM loop (load each claim, set
its state, add an event, flush) on the other 2,000, extrapolated to N.  Prints both, the ratio and the
events-count check.

    python benchmarks/transitions.py [--claims 100000] [--pg-url postgresql+psycopg://…]

PostgreSQL URL: ``--pg-url``, else ``RELIEF_BENCH_DATABASE_URL``, else
``postgresql+psycopg://postgres@127.0.0.1:5432/test``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import tempfile
import time
import uuid
from decimal import Decimal
from pathlib import Path

from sqlalchemy import func, insert, select, text

from claims.lifecycle.database import make_engine, session_factory, transaction, upgrade
from claims.lifecycle.models import Claim, ClaimEvent, User
from claims.lifecycle.store import Policy, ProductVersion
from claims.lifecycle.transitions import Actor, advance

SLICE = 2_000
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def seed(factory, n: int) -> tuple[Actor, list[int]]:
    with transaction(factory) as s:
        pv = ProductVersion(code="B", family="fangpinbao", name="bench", county="130434", year=2025,
                            digest="b" * 64, document={})
        s.add(pv)
        s.flush()
        pol = Policy(product_version_id=pv.id, county="130434", year=2025, framed_heads=n,
                     premium_per_head=Decimal("50.00"), premium_total=Decimal(50 * n), settlement_rule={},
                     period_start=dt.date(2025, 1, 1), period_end=dt.date(2025, 12, 31))
        user = User(username="bench", name="理赔员", role="insurer_adjudicator", approval_limit=Decimal("5000.00"))
        s.add_all([pol, user])
        s.flush()
        common = {"policy_id": pol.id, "product_version_id": pv.id, "line_id": "illness", "peril": "illness",
                  "unit_type": "person", "state": "computed", "paid_before": Decimal("0.00"), "trace": "bench",
                  "version": 1}
        rows = []
        for i in range(n):
            amount = Decimal(100 + i % 5000) + Decimal("0.25")
            rows.append({**common, "unit_id": f"U{i}", "household_no": f"H{i // 3}",
                         "village_code": f"130434{100 + i % 20:03d}{200 + i % 50:03d}", "base": amount,
                         "entitlement": amount, "computed_amount": amount, "amount": amount})
        for start in range(0, n, 20_000):
            s.execute(insert(Claim), rows[start:start + 20_000])
        actor = Actor(id=user.id, role=user.role, approval_limit=user.approval_limit)
    with factory() as s:
        return actor, list(s.scalars(select(Claim.id).order_by(Claim.id)))


def orm_loop(factory, ids: list[int], actor: Actor) -> float:
    start = time.perf_counter()
    with transaction(factory) as s:
        for i in ids:
            c = s.get(Claim, i)
            s.add(ClaimEvent(claim_id=c.id, actor_id=actor.id, role=actor.role, action="start_investigation",
                             from_state=c.state, to_state="investigating", amount_before=c.amount,
                             amount_after=c.amount))
            c.state = "investigating"
            s.flush()
    return time.perf_counter() - start


def bench(name: str, url: str, n: int) -> dict:
    engine = make_engine(url)
    factory = session_factory(engine)
    t0 = time.perf_counter()
    actor, ids = seed(factory, n + SLICE)
    t_seed = time.perf_counter() - t0
    bulk_ids, slice_ids = ids[:n], ids[n:]
    t0 = time.perf_counter()
    with transaction(factory) as s:
        moved = advance(s, bulk_ids, "computed", "start_investigation", actor, note="bench")
    t_advance = time.perf_counter() - t0
    t_loop = orm_loop(factory, slice_ids, actor)
    with factory() as s:
        events = s.scalar(select(func.count()).select_from(ClaimEvent))
        investigating = s.scalar(select(func.count()).select_from(Claim).where(Claim.state == "investigating"))
    engine.dispose()
    extrapolated = t_loop * n / len(slice_ids)
    ok = moved == n and events == n + SLICE and investigating == n + SLICE
    print(f"[{name}] seeded {n + SLICE:,} claims in {t_seed:.2f} s")
    print(f"[{name}] advance {n:,} claims + {n:,} events  {t_advance:8.2f} s")
    print(f"[{name}] reference ORM loop {SLICE:,} claims      {t_loop:8.2f} s  → extrapolated to {n:,}: "
          f"{extrapolated:.1f} s")
    print(f"[{name}] ratio ORM loop / advance             {extrapolated / t_advance:8.1f}×")
    print(f"[{name}] events {events:,} (expected {n + SLICE:,}), investigating {investigating:,}: "
          f"{'OK' if ok else 'MISMATCH'}")
    return {"advance": t_advance, "loop": extrapolated, "ok": ok}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--claims", type=int, default=100_000)
    ap.add_argument("--pg-url", default=os.environ.get("RELIEF_BENCH_DATABASE_URL", DEFAULT_PG))
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        upgrade(url)
        bench("sqlite", url, args.claims)
    try:
        admin = make_engine(args.pg_url)
        with admin.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - the benchmark simply skips an unreachable server
        print(f"[postgresql] skipped: not reachable ({type(exc).__name__})")
        return
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        sep = "&" if "?" in args.pg_url else "?"
        url = f"{args.pg_url}{sep}options=-csearch_path%3D{schema}"
        upgrade(url)
        bench("postgresql", url, args.claims)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


if __name__ == "__main__":
    main()
