"""Claims-queue benchmark: GET /api/v1/claims (and the /claims page, when present) at 100,000 claims.

A fresh SQLite file: N claims bulk-inserted (60 villages, 4 lines, several states, amounts 0–20,000),
then for each scenario (filters; page 1 and a deep page) ``--repeat`` requests through the Flask test
client (in-process, no network), median and p95.  Reference in the same run: the same two queries
(COUNT, then LIMIT/OFFSET) as SQLAlchemy Core on the engine, so the ratio is the API's own overhead
(auth, argument parsing, marshmallow, JSON).

    python benchmarks/claims_queue.py [--claims 100000] [--repeat 50]

The database is the migrated schema (with the queue indexes of migration 0003) plus ANALYZE.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select, text

from claims.lifecycle.api_tokens import issue_token
from claims.lifecycle.database import make_engine, session_factory, transaction, upgrade
from claims.lifecycle.models import Claim, User, UserCounty
from claims.lifecycle.store import Policy, ProductVersion
from claims.lifecycle.users import Operator
from flask_app.auth import hash_password

PAGE_SIZE = 50
LINES = [("illness", "illness"), ("education", "education"), ("disaster", "disaster"), ("accident", "accident")]
STATE_WEIGHTS = {"computed": 30, "investigating": 15, "verified": 15, "village_reviewed": 8, "township_reviewed": 7,
                 "filed": 5, "on_notice": 5, "payable": 5, "paid": 8, "rejected": 2}
VILLAGES = [f"130434{100 + t:03d}{200 + v:03d}" for t in range(6) for v in range(10)]  # 60 villages
TOKEN = "bench-token"
PASSWORD = "bench-password"



def seed(url: str, n: int) -> None:
    rng = random.Random(20251123)
    factory = session_factory(make_engine(url))
    with transaction(factory) as s:
        pv = ProductVersion(code="B", family="fangpinbao", name="bench", county="130434", year=2025,
                            digest="q" * 64, document={})
        s.add(pv)
        s.flush()
        pol = Policy(product_version_id=pv.id, county="130434", year=2025, framed_heads=n,
                     premium_per_head=Decimal("50.00"), premium_total=Decimal(50 * n), settlement_rule={},
                     period_start=dt.date(2025, 1, 1), period_end=dt.date(2025, 12, 31))
        user = User(username="bench", name="理赔主管", role="insurer_supervisor", active=True,
                    password_hash=hash_password(PASSWORD))
        s.add_all([pol, user])
        s.flush()
        s.add(UserCounty(user_id=user.id, county=pol.county))  # the supervisor serves the county: sees its claims
        issue_token(s, Operator(None, "benchmark"), user, "bench", "read", secret=TOKEN)
        states = list(STATE_WEIGHTS)
        weights = list(STATE_WEIGHTS.values())
        rows = []
        for i in range(n):
            amount = Decimal(rng.randrange(0, 2_000_000)) / 100
            line, peril = LINES[i % 4]
            rows.append({"policy_id": pol.id, "product_version_id": pv.id, "line_id": line, "peril": peril,
                         "unit_type": "person", "unit_id": f"1304341980{i:08d}", "household_no": f"H{i // 3}",
                         "village_code": rng.choice(VILLAGES), "natural_village": "张庄",
                         "state": rng.choices(states, weights)[0], "base": amount, "entitlement": amount,
                         "paid_before": Decimal("0.00"), "computed_amount": amount, "amount": amount,
                         "trace": "bench", "version": 1})
        for start in range(0, n, 20_000):
            s.execute(insert(Claim), rows[start:start + 20_000])
    factory.kw["bind"].dispose()


def scenarios() -> list[tuple[str, dict[str, Any], int]]:
    """(label, filters, page)."""
    v = VILLAGES[17]
    return [
        ("state + village, page 1", {"state": "verified", "village_code": v}, 1),
        ("state + amount band, page 1", {"state": "computed", "min_amount": "1000", "max_amount": "5000"}, 1),
        ("amount band, deep page (offset 9,950)", {"min_amount": "1000", "max_amount": "5000"}, 200),
        ("village + line, sort −amount, page 1", {"village_code": v, "line_id": "illness", "sort": "-amount"}, 1),
    ]


def core_query(conn: Any, f: dict[str, Any], page: int) -> int:
    """The reference: the API's two statements written directly in SQLAlchemy Core."""
    where = []
    if "state" in f:
        where.append(Claim.state == f["state"])
    if "village_code" in f:
        where.append(Claim.village_code == f["village_code"])
    if "line_id" in f:
        where.append(Claim.line_id == f["line_id"])
    if "min_amount" in f:
        where.append(Claim.amount >= Decimal(f["min_amount"]))
    if "max_amount" in f:
        where.append(Claim.amount <= Decimal(f["max_amount"]))
    conn.scalar(select(func.count()).select_from(Claim).where(*where))
    order = [Claim.amount.desc(), Claim.id.desc()] if f.get("sort") == "-amount" else [Claim.id]
    cols = [Claim.id, Claim.policy_id, Claim.line_id, Claim.peril, Claim.unit_type, Claim.unit_id, Claim.household_no,
            Claim.village_code, Claim.natural_village, Claim.state, Claim.computed_amount, Claim.amount,
            Claim.adjustment_reason, Claim.proposed_amount, Claim.notice_id, Claim.version, Claim.updated_at]
    rows = conn.execute(select(*cols).where(*where).order_by(*order).limit(PAGE_SIZE)
                        .offset((page - 1) * PAGE_SIZE)).all()
    return len(rows)


def timed(fn: Any, repeat: int) -> tuple[float, float]:
    for _ in range(3):  # warm-up
        fn()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return statistics.median(samples), samples[min(len(samples) - 1, round(0.95 * len(samples)) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=50)
    args = parser.parse_args()

    from flask_app import create_app

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'queue.db'}"
        upgrade(url)
        start = time.perf_counter()
        seed(url, args.claims)
        print(f"seeded {args.claims:,} claims in {time.perf_counter() - start:.1f} s (SQLite)")
        with make_engine(url).begin() as conn:
            conn.execute(text("ANALYZE"))  # planner statistics, as a maintained database has
        app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "TESTING": False})
        client = app.test_client(use_cookies=False)
        headers = {"Authorization": f"Bearer {TOKEN}"}
        has_page = "claims.queue" in app.view_functions
        pages = app.test_client()  # a token opens the API only: the pages need a login
        form = pages.get("/login").get_data(as_text=True).split('name="csrf_token" value="')
        csrf = form[1].split('"')[0] if len(form) > 1 else ""
        assert pages.post("/login", data={"username": "bench", "password": PASSWORD, "csrf_token": csrf}).status_code == 302
        engine = make_engine(url)
        print(f"{'scenario':40} {'rows':>7} {'API med':>8} {'API p95':>8} {'SQL med':>8} {'SQL p95':>8} "
              f"{'ratio':>6}" + (f" {'page med':>9} {'page p95':>9}" if has_page else ""))
        for label, f, page in scenarios():
            query = {**f, "page": page, "page_size": PAGE_SIZE}
            first = client.get("/api/v1/claims", query_string=query, headers=headers)
            assert first.status_code == 200, first.get_data(as_text=True)
            total = int(first.headers["X-Pagination"].split('"total": ')[1].split(",")[0])

            def api(query: dict[str, Any] = query) -> None:
                r = client.get("/api/v1/claims", query_string=query, headers=headers)
                assert r.status_code == 200

            with engine.connect() as conn:
                assert core_query(conn, f, page) == len(first.json)
                sql_med, sql_p95 = timed(lambda f=f, page=page: core_query(conn, f, page), args.repeat)
            api_med, api_p95 = timed(api, args.repeat)
            line = (f"{label:40} {total:>7,} {api_med:>6.1f}ms {api_p95:>6.1f}ms {sql_med:>6.1f}ms {sql_p95:>6.1f}ms "
                    f"{api_med / sql_med:>6.2f}")
            if has_page:
                pq = {"village": f.get("village_code", ""), "state": f.get("state", ""), "line": f.get("line_id", ""),
                      "band": "1000-5000" if "min_amount" in f else "", "page": page,
                      "sort": "amount" if f.get("sort") else "", "dir": "desc" if f.get("sort") else ""}
                pq = {k: v for k, v in pq.items() if v}

                def html(pq: dict[str, Any] = pq) -> None:
                    r = pages.get("/claims", query_string=pq)
                    assert r.status_code == 200, r.status_code

                page_med, page_p95 = timed(html, args.repeat)
                line += f" {page_med:>7.1f}ms {page_p95:>7.1f}ms"
            print(line, flush=True)
        engine.dispose()
        app.extensions["relief_engine"].dispose()


if __name__ == "__main__":
    main()
