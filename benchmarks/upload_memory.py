"""Peak memory of reading a big department CSV the way an import does (issue 13, item 2).

Generates a medical CSV of ``--mb`` MB (the rows of a synthetic county's monthly files, repeated with fresh
settlement IDs), then, each in a fresh process so that its peak RSS (``ru_maxrss``) is its own:

* ``path``: ``read_report`` given the file's path (the fast reader memory-maps it);
* ``bytes``: the whole file read into memory first and hashed, then ``read_report`` on it — what
  ``claims.lifecycle.imports.import_report`` does with the saved upload today;
* ``import`` (with ``--import-mb``): a full import (read, check, store, recompute) on SQLite of a smaller
  file of that size, into a policy with the county's roster;
* ``serve``: ``relief serve`` (waitress, ``RELIEF_MAX_UPLOAD_MB=400``) receiving the file as a multipart
  upload to ``/api/v1/imports`` without a session (answered 400 after the form is parsed: CSRF token
  missing), the server's peak RSS (VmHWM) before and after.

The files are deleted afterwards.  Usage::

    python benchmarks/upload_memory.py --mb 300 --import-mb 30
"""

from __future__ import annotations

import argparse
import hashlib
import io
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def make_csv(county: Path, out: Path, mb: int) -> int:
    """A medical CSV of about ``mb`` MB from the county's monthly files; returns its rows."""
    rows: list[str] = []
    header = ""
    for f in sorted((county / "medical").glob("*.csv")):
        lines = f.read_text(encoding="utf-8-sig").splitlines()
        header, rows = lines[0], rows + lines[1:]
    target, size, n = mb * 1024 * 1024, 0, 0
    with out.open("w", encoding="utf-8") as fh:
        fh.write(header + "\n")
        while size < target:
            for r in rows:
                line = f"S{n:012d}{r[r.index(','):]}\n"
                fh.write(line)
                size, n = size + len(line.encode()), n + 1
                if size >= target:
                    break
    return n


def measure(mode: str, csv: Path, county: Path, db: Path) -> str:
    from claims.reports import read_report

    started = time.perf_counter()
    if mode == "path":
        read = read_report(csv, "medical")
        what = f"{read.rows_read:,} rows read"
    elif mode == "bytes":
        data = csv.read_bytes()
        hashlib.sha256(data).hexdigest()
        read = read_report(io.BytesIO(data), "medical", file_name=csv.name)
        what = f"{read.rows_read:,} rows read"
    elif mode == "serve":
        what = serve_receive(csv, db)
    else:
        what = full_import(csv, county, db)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    mine = "" if mode == "serve" else f"  peak RSS {peak:,.0f} MB"  # serve: the server's, in `what`
    return f"{mode:6} {csv.stat().st_size / 2**20:6.0f} MB  {what}  {time.perf_counter() - started:6.1f} s{mine}"


def full_import(csv: Path, county: Path, db: Path) -> str:
    from sqlalchemy.orm import sessionmaker

    from claims.lifecycle.database import make_engine, transaction, upgrade
    from claims.lifecycle.mapping_profiles import import_mapped
    from claims.lifecycle.registry import create_policy, register_product
    from claims.lifecycle.roster_store import store_roster
    from claims.lifecycle.transitions import Actor
    from products import load_product
    from products.roster import load_households, load_persons

    url = f"sqlite:///{db}"
    upgrade(url)
    factory = sessionmaker(make_engine(url))
    with transaction(factory) as s:
        policy = create_policy(s, register_product(s, load_product("fangpinbao-weixian-2025")), 20000)
        store_roster(s, load_persons(county / "persons.csv"), load_households(county / "households.csv"))
        policy_id = policy.id
    r = import_mapped(factory, policy_id, "medical", csv, actor=Actor(None, "system", name="benchmark"), file_name=csv.name).result
    return f"{r.rows_read:,} rows read, {r.rows_stored:,} stored, {r.claims_created:,} claims"


def serve_receive(csv: Path, db: Path) -> str:
    """``relief serve`` receiving ``csv`` as one multipart upload; its answer and peak RSS before/after."""
    import os
    import socket

    from claims.lifecycle.database import upgrade

    def peak(pid: int) -> float:
        status = Path(f"/proc/{pid}/status").read_text().splitlines()
        return int(next(line.split()[1] for line in status if line.startswith("VmHWM"))) / 1024

    url = f"sqlite:///{db}"
    upgrade(url)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "SECRET_KEY": "bench", "RELIEF_MAX_UPLOAD_MB": "400"}
    proc = subprocess.Popen([sys.executable, "-m", "flask_app.cli", "serve", "--port", str(port), "--threads", "2",
                             "--database", url], cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
    try:
        time.sleep(8)
        before = peak(proc.pid)
        pre = (b'--b\r\nContent-Disposition: form-data; name="department"\r\n\r\nmedical\r\n--b\r\n'
               b'Content-Disposition: form-data; name="file"; filename="big.csv"\r\nContent-Type: text/csv\r\n\r\n')
        n = len(pre) + csv.stat().st_size + len(b"\r\n--b--\r\n")
        with socket.create_connection(("127.0.0.1", port), timeout=600) as s, csv.open("rb") as fh:
            s.sendall(f"POST /api/v1/imports HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\n"
                      f"Content-Length: {n}\r\nConnection: close\r\n\r\n".encode() + pre)
            while piece := fh.read(1 << 20):
                s.sendall(piece)
            s.sendall(b"\r\n--b--\r\n")
            answer = s.recv(12).decode()
        return f"answered {answer!r}, server peak RSS {before:,.0f} MB before, {peak(proc.pid):,.0f} MB after"
    finally:
        proc.terminate()
        proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=300)
    parser.add_argument("--import-mb", type=int, default=0, help="also a full import of a file this big (0: none)")
    parser.add_argument("--measure", nargs=4, help=argparse.SUPPRESS)  # mode csv county db: one child process
    args = parser.parse_args()
    if args.measure:
        mode, csv, county, db = args.measure
        print(measure(mode, Path(csv), Path(county), Path(db)), flush=True)
        return
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        subprocess.run([sys.executable, "-m", "flask_app.cli", "synth", "--county", "20000", "--out",
                        str(work / "county"), "--quiet"], cwd=ROOT, check=True)
        runs = [("path", args.mb), ("bytes", args.mb), ("serve", args.mb)]
        runs += [("import", args.import_mb)] if args.import_mb else []
        for mode, mb in runs:
            csv = work / f"medical-{mb}.csv"
            if not csv.exists():
                make_csv(work / "county", csv, mb)
            subprocess.run([sys.executable, __file__, "--measure", mode, str(csv), str(work / "county"),
                            str(work / f"{mode}.db")], cwd=ROOT, check=True)


if __name__ == "__main__":
    main()
