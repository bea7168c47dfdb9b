"""Load test of ``relief serve`` (waitress) on PostgreSQL with 100,000 claims (issue 13, acceptance 1).

    python benchmarks/load.py --database postgresql+psycopg://postgres@127.0.0.1:5432/relief_load --build

``--build`` migrates the (empty) database, loads the demo county (``flask_app.demo.build_demo``: roster,
users of every role, API tokens, three months of the claims cycle) and bulk-inserts claims until there are
``--claims`` of them (one SQL statement: the demo's people × the workflow's states, each with its audit
events), then ANALYZE; the logins and tokens are kept in ``<workdir>/load-info.json`` for later runs.

The run starts ``relief serve --threads N`` on a free port and drives it with ``--users`` threads, each a
logged-in user of one role (session cookie and CSRF token as a browser has them) doing, for ``--seconds``:
the queue page ``/claims`` (a random page, sometimes a state filter), a claim page ``/claims/<id>``, the API
list ``/api/v1/claims``, writes (``start_investigation`` then ``verify`` of one computed claim through
``POST /api/v1/claims/<id>/transitions`` with the insurers' Bearer tokens), and ``/health`` as the reference
(the cost of the server and the app with no database work).  It prints p50/p95/p99 per kind, errors and
requests per second, then fires ``--uploads`` simultaneous uploads of one department file to
``/api/v1/imports`` and counts the answers (one 201, the rest 409).  Standard library only.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

WEIGHTS = {"queue": 30, "claim_page": 25, "api_list": 25, "write": 15, "health": 5}
ROLES = ["insurer_adjudicator", "insurer_supervisor", "county_reviewer", "township_reviewer", "village_clerk"]
#: the states of the inserted claims, by share (computed claims are the writes' work; one per person)
STATES = [("investigating", 2), ("verified", 2), ("village_reviewed", 1), ("township_reviewed", 1),
          ("filed", 1), ("on_notice", 2), ("payable", 1), ("paid", 6), ("rejected", 1)]

FILL_SQL = """
WITH p AS (SELECT row_number() OVER (ORDER BY pe.id) - 1 AS k, pe.id_no, pe.household_no, h.village_code
           FROM persons pe JOIN households h ON h.household_no = pe.household_no),
     n AS (SELECT count(*) AS n FROM p),
     t AS (SELECT * FROM claims WHERE policy_id = :policy ORDER BY id LIMIT 1),
     states AS (SELECT ordinality - 1 AS i, s FROM unnest(CAST(:states AS text[])) WITH ORDINALITY AS s)
INSERT INTO claims (policy_id, product_version_id, line_id, peril, unit_type, unit_id, household_no, village_code,
                    state, base, entitlement, paid_before, computed_amount, amount, trace, above_entitlement,
                    version, created_at, updated_at)
SELECT t.policy_id, t.product_version_id, t.line_id, t.peril, 'person', p.id_no, p.household_no, p.village_code,
       CASE WHEN g <= :computed THEN 'computed'
            ELSE (SELECT s FROM states WHERE i = g % (SELECT count(*) FROM states)) END,
       a, a, 0, a, a, t.trace, false, 1, now(), now()
FROM generate_series(1, :count + 1000) AS g
CROSS JOIN n CROSS JOIN t
JOIN p ON p.k = g % n.n
CROSS JOIN LATERAL (SELECT round(CAST(200 + (g * 7919) % 4800 AS numeric), 2) AS a) AS amt  -- under the caps
WHERE NOT EXISTS (SELECT 1 FROM claims c WHERE c.state = 'computed' AND c.unit_id = p.id_no AND g <= :computed)
LIMIT :count
"""

EVENTS_SQL = """
INSERT INTO claim_events (claim_id, at, role, action, from_state, to_state, amount_after)
SELECT id, now(), 'system', 'compute', NULL, 'computed', amount FROM claims WHERE id > :after
UNION ALL
SELECT id, now(), 'system', 'load_fixture', 'computed', state, amount FROM claims WHERE id > :after
  AND state <> 'computed'
"""


def build(url: str, workdir: Path, claims: int, people: int) -> dict:
    """The demo county on ``url``, then bulk-inserted claims up to ``claims`` in all."""
    from sqlalchemy import text

    from claims.lifecycle.database import make_engine
    from flask_app.demo import build_demo

    t0 = time.perf_counter()
    info = build_demo(url, workdir, people=people)
    print(f"demo county ({people:,} people) in {time.perf_counter() - t0:.0f} s")
    engine = make_engine(url)
    with engine.begin() as conn:
        have = conn.scalar(text("SELECT count(*) FROM claims"))
        after = conn.scalar(text("SELECT max(id) FROM claims")) or 0
        states = [s for s, share in STATES for _ in range(share)]
        computed = min(people // 2, (claims - have) // 6)
        conn.execute(text(FILL_SQL), {"policy": info.policy_id, "count": claims - have, "computed": computed,
                                      "states": states})
        conn.execute(text(EVENTS_SQL), {"after": after})
        total = conn.scalar(text("SELECT count(*) FROM claims"))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))  # as autovacuum would: index-only counts, fresh statistics
    engine.dispose()
    print(f"{total:,} claims after the bulk insert ({time.perf_counter() - t0:.0f} s in all)")
    saved = {"users": info.users, "tokens": info.tokens, "today": info.today.isoformat(),
             "county_dir": str(info.county_dir)}
    (workdir / "load-info.json").write_text(json.dumps(saved, ensure_ascii=False, indent=1))
    return saved


# ------------------------------------------------------------------------------------------ the client

class Client:
    """One user's keep-alive HTTP connection with its session cookie (http.client, no dependency)."""

    def __init__(self, port: int, token: str | None = None):
        self.port, self.token, self.cookies, self.csrf = port, token, {}, None
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, bytes, float]:
        h = dict(headers or {})
        if self.cookies:
            h["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if self.token:
            h["Authorization"] = f"Bearer {self.token}"
        t0 = time.perf_counter()
        for attempt in (1, 2):
            try:
                self.conn.request(method, path, body=body, headers=h)
                resp = self.conn.getresponse()
                data = resp.read()
                break
            except (http.client.HTTPException, ConnectionError):
                self.conn.close()
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
                if attempt == 2:
                    raise
        elapsed = time.perf_counter() - t0
        for value in resp.headers.get_all("Set-Cookie") or []:
            name, _, rest = value.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]
        return resp.status, data, elapsed

    def login(self, username: str, password: str) -> None:
        status, page, _ = self.request("GET", "/login")
        token = re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', page)
        self.csrf = token.group(1).decode() if token else None
        form = urlencode({"username": username, "password": password, "csrf_token": self.csrf or ""}).encode()
        status, _, _ = self.request("POST", "/login", form, {"Content-Type": "application/x-www-form-urlencoded"})
        if status != 302:
            raise RuntimeError(f"login of {username} answered {status}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(url: str, threads: int, today: str, log: Path) -> tuple[subprocess.Popen, int]:
    port = _free_port()
    env = {**os.environ, "SECRET_KEY": uuid.uuid4().hex, "RELIEF_TODAY": today, "RELIEF_TRUSTED_PROXIES": "0"}
    proc = subprocess.Popen([sys.executable, "-m", "flask_app.cli", "serve", "--port", str(port), "--threads",
                             str(threads), "--database", url], cwd=ROOT, env=env,
                            stdout=log.open("w"), stderr=subprocess.STDOUT)
    for _ in range(300):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc, port
        except OSError:
            if proc.poll() is not None:
                raise SystemExit("relief serve did not start") from None
            time.sleep(0.2)
    raise SystemExit("relief serve did not open its port")


# ------------------------------------------------------------------------------------------ the mixed load

class Work:
    """What the users share: claim ids to read, computed claims to move (each taken once), the figures."""

    def __init__(self, url: str):
        from sqlalchemy import text

        from claims.lifecycle.database import make_engine

        engine = make_engine(url)
        with engine.connect() as conn:
            self.ids = list(conn.scalars(text("SELECT id FROM claims ORDER BY random() LIMIT 20000")))
            todo = conn.execute(text("SELECT id, version FROM claims WHERE state = 'computed' ORDER BY random()"))
            self.computed = [tuple(r) for r in todo]
            self.total = conn.scalar(text("SELECT count(*) FROM claims"))
        engine.dispose()
        self.lock = threading.Lock()
        self.times: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, list[str]] = defaultdict(list)

    def take(self) -> tuple[int, int] | None:
        with self.lock:
            return self.computed.pop() if self.computed else None

    def note(self, kind: str, status: int, elapsed: float, ok: tuple[int, ...], body: bytes = b"") -> None:
        with self.lock:
            self.times[kind].append(elapsed)
            if status not in ok:
                self.errors[kind].append(f"{status} {body[:160]!r}")


def _one(work: Work, user: Client, writers: tuple[Client, Client], kind: str, rng: random.Random) -> None:
    if kind == "queue":
        args = {"page": rng.randint(1, 200)}
        if rng.random() < 0.3:
            args["state"] = rng.choice(["computed", "investigating", "paid", "on_notice"])
        status, body, t = user.request("GET", "/claims?" + urlencode(args))
        work.note(kind, status, t, (200,), body)
    elif kind == "claim_page":
        status, body, t = user.request("GET", f"/claims/{rng.choice(work.ids)}")
        work.note(kind, status, t, (200,), body)
    elif kind == "api_list":
        args = {"page": rng.randint(1, 200), "page_size": 50}
        if rng.random() < 0.3:
            args["sort"] = rng.choice(["-amount", "village_code", "-updated_at"])
        status, body, t = user.request("GET", "/api/v1/claims?" + urlencode(args))
        work.note(kind, status, t, (200,), body)
    elif kind == "health":
        status, body, t = user.request("GET", "/health")
        work.note(kind, status, t, (200,), body)
    else:
        job = work.take()
        if job is None:
            return
        claim_id, version = job
        for client, action in zip(writers, ("start_investigation", "verify")):
            payload = json.dumps({"action": action, "expected_version": version}).encode()
            status, body, t = client.request("POST", f"/api/v1/claims/{claim_id}/transitions", payload,
                                             {"Content-Type": "application/json"})
            work.note("write", status, t, (200,), body)
            if status != 200:
                return
            version = json.loads(body)["version"]


def user_loop(work: Work, info: dict, port: int, n: int, start: threading.Barrier, think: float) -> None:
    rng = random.Random(n)
    role = ROLES[n % len(ROLES)]
    username, password = info["users"][role]
    user = Client(port)
    user.login(username, password)
    writers = (Client(port, info["tokens"]["insurer_adjudicator"]), Client(port, info["tokens"]["insurer_supervisor"]))
    kinds, weights = list(WEIGHTS), list(WEIGHTS.values())
    start.wait()  # every user logged in: the clock starts
    while time.perf_counter() < work.until:
        try:
            _one(work, user, writers, rng.choices(kinds, weights)[0], rng)
            if think:
                time.sleep(rng.uniform(0.5, 1.5) * think)  # a person reads the page before the next click
        except Exception as exc:  # noqa: BLE001 - a failed request is a figure, not the end of the run
            work.note("transport", 0, 0.0, (200,), repr(exc).encode())


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of these processes (Linux /proc; 0 where unreadable)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (OSError, IndexError, ValueError):
            pass
    return total / os.sysconf("SC_CLK_TCK")


def backend_pids(url: str) -> list[int]:
    """The PostgreSQL server processes serving this database (the app's pool)."""
    from sqlalchemy import text

    from claims.lifecycle.database import make_engine

    engine = make_engine(url)
    with engine.connect() as conn:
        pids = list(conn.scalars(text("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                                      "AND pid <> pg_backend_pid()")))
    engine.dispose()
    return pids


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else float("nan")


def report(work: Work, seconds: float) -> dict:
    print(f"\n{'kind':<12}{'n':>8}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'max ms':>9}{'errors':>8}{'p50/health':>12}")
    base = _pct(work.times["health"], 0.5)
    figures = {}
    for kind in (*WEIGHTS, "transport"):
        t = work.times.get(kind, [])
        if not t:
            continue
        row = {"n": len(t), "p50": _pct(t, .5), "p95": _pct(t, .95), "p99": _pct(t, .99), "max": max(t) * 1000,
               "errors": len(work.errors.get(kind, []))}
        figures[kind] = row
        print(f"{kind:<12}{row['n']:>8}{row['p50']:>9.1f}{row['p95']:>9.1f}{row['p99']:>9.1f}{row['max']:>9.1f}"
              f"{row['errors']:>8}{row['p50'] / base:>12.1f}")
    n = sum(len(v) for v in work.times.values())
    print(f"{n:,} requests in {seconds:.0f} s: {n / seconds:.1f} req/s; "
          f"errors {sum(len(v) for v in work.errors.values())}")
    for kind, errs in work.errors.items():
        for e in errs[:3]:
            print(f"  {kind}: {e}")
    return figures


# ------------------------------------------------------------------------------------------ the upload race

def _multipart(fields: dict[str, str], name: str, data: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
             for k, v in fields.items()]
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
                 "Content-Type: text/csv\r\n\r\n".encode() + data + b"\r\n")
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def fresh_file(path: Path, rng: random.Random) -> bytes:
    """The month's file less one random record: a file this database has not seen (a new sha256) every run."""
    lines = path.read_bytes().splitlines(keepends=True)
    del lines[rng.randrange(5, len(lines))]
    return b"".join(lines)


def upload_race(port: int, token: str, path: Path, n: int) -> dict[int, int]:
    """``n`` users post the same file at the same moment: the answers by status (one 201, the rest 409)."""
    data = fresh_file(path, random.Random())
    body, ctype = _multipart({"department": "medical", "period": path.stem}, f"medical/{path.name}", data)
    barrier = threading.Barrier(n)
    answers: list[tuple[int, bytes, float]] = []

    def post(_: int) -> None:
        client = Client(port, token)
        barrier.wait()
        answers.append(client.request("POST", "/api/v1/imports", body, {"Content-Type": ctype}))

    t0 = time.perf_counter()
    with ThreadPoolExecutor(n) as pool:
        list(pool.map(post, range(n)))
    counts: dict[int, int] = defaultdict(int)
    for status, _, _ in answers:
        counts[status] += 1
    print(f"\n{n} simultaneous uploads of {path.name} ({len(body):,} bytes) in {time.perf_counter() - t0:.1f} s: "
          + ", ".join(f"{c}× {s}" for s, c in sorted(counts.items())))
    slowest = max(t for _, _, t in answers)
    print(f"  slowest answer {slowest * 1000:.0f} ms")
    for status, data, _ in answers:
        if status not in (201, 409):
            print(f"  unexpected {status}: {data[:300]!r}")
    conflicts = [d for s, d, _ in answers if s == 409]
    if conflicts:
        print(f"  a 409 says: {json.loads(conflicts[0]).get('detail', '')[:160]}")
    return dict(counts)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--database", default=os.environ.get("DATABASE_URL"), help="PostgreSQL URL (empty database "
                    "with --build)")
    ap.add_argument("--workdir", default="load-data", type=Path)
    ap.add_argument("--build", action="store_true", help="load the demo county and bulk-insert the claims first")
    ap.add_argument("--claims", type=int, default=100_000)
    ap.add_argument("--people", type=int, default=20_000)
    ap.add_argument("--users", type=int, default=50)
    ap.add_argument("--threads", type=int, default=8, help="relief serve --threads")
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--uploads", type=int, default=20)
    ap.add_argument("--think", type=float, default=1.0, help="mean seconds a user waits between requests "
                    "(uniform 0.5–1.5 × this); 0: every user fires the next request at once (saturation)")
    args = ap.parse_args()
    if not args.database or not args.database.startswith("postgresql"):
        raise SystemExit("--database postgresql+psycopg://… (or DATABASE_URL) is required")
    args.workdir.mkdir(parents=True, exist_ok=True)
    info = build(args.database, args.workdir, args.claims, args.people) if args.build \
        else json.loads((args.workdir / "load-info.json").read_text())
    work = Work(args.database)
    print(f"{work.total:,} claims; {len(work.computed):,} computed claims for the writes")
    log = args.workdir / "serve.log"
    proc, port = start_server(args.database, args.threads, info["today"], log)
    try:
        print(f"relief serve on :{port}, {args.threads} threads; {args.users} users for {args.seconds:.0f} s, "
              f"think time {args.think:g} s")
        def clock() -> None:  # every user logged in: CPU counters and the clock start
            work.cpu0 = cpu_seconds([proc.pid])
            work.pg0 = {pid: cpu_seconds([pid]) for pid in backend_pids(args.database)}
            work.t0 = time.perf_counter()
            work.until = work.t0 + args.seconds

        start = threading.Barrier(args.users, action=clock)
        with ThreadPoolExecutor(args.users) as pool:
            list(pool.map(lambda n: user_loop(work, info, port, n, start, args.think), range(args.users)))
        cpu = cpu_seconds([proc.pid]) - work.cpu0
        pg = sum(cpu_seconds([pid]) - work.pg0.get(pid, 0.0) for pid in backend_pids(args.database))
        report(work, time.perf_counter() - work.t0)
        n = sum(len(v) for v in work.times.values())
        print(f"CPU per request: relief serve {cpu / max(n, 1) * 1000:.1f} ms, PostgreSQL {pg / max(n, 1) * 1000:.1f} ms "
              f"({cpu:.1f} + {pg:.1f} CPU s); load average at the end {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs "
              "(the machine's other work included)")
        months = sorted((Path(info["county_dir"]) / "medical").glob("2025-*.csv"))
        upload_race(port, info["tokens"]["insurer_adjudicator"], random.choice(months[3:]), args.uploads)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        text = log.read_text(errors="replace")
        print(f"server log {log}: {text.count('Traceback')} tracebacks, {text.count('QueuePool limit')} pool timeouts, "
              f"{text.count('Task queue depth')} 'task queue depth' warnings (requests waiting for a thread)")


if __name__ == "__main__":
    main()
