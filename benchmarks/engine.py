"""Engine benchmark at province scale, with a DuckDB SQL reference and a row-by-row reference in the same run.

    python benchmarks/engine.py --people 5000000 --rows 10000000 [--seed S] [--workdir DIR]

1. Inputs: a roster of ``--people`` persons in households and ``--rows`` medical settlement rows, generated
   deterministically (seeded, vectorised) and written as CSV (UTF-8, canonical headers) and Parquet.  About
   0.2 % of the rows name a person not on the roster, 0.1 % repeat an earlier settlement ID (with other
   values: a correction), 0.5 % fall outside the policy year; household categories and incomes make ~30 %
   of the rows ineligible.
2. Ours: the engine's readers (``load_persons``/``load_households``, ``read_report(..., key=True)`` on the
   medical CSV as ``relief calc`` reads it, with the int64 resident-ID key the reader derives while checking
   the check digit; rows/s printed: acceptance 2 of issue 6) and ``claims.engine.compute.run_calculation`` on the benchmark product
   ``benchmarks/engine-product.yaml`` (illness brackets + caps, a household-basis line, per-person and
   per-household caps, the catalog's eligibility).
3. Reference in the same run: DuckDB SQL from the same CSV files — screening (roster match, period,
   a repeated settlement ID's last row wins — the engine's record identity: other values are a
   correction —, category and income eligibility), per-unit sums, the bracket maths as
   CASE/LEAST/GREATEST, rounding half up to the fen on exact integers, the per-year caps, the per-person
   cap and the first-come per-household cap as window sums.  Both results must be identical to the fen
   (asserted; the count compared and the totals are printed).
4. Row-by-row reference: plain Python (``csv`` module, dicts, loops) on the first 100,000 medical rows,
   its time extrapolated linearly to the full size.

Times are wall-clock on this machine; the ratios are what to compare (the machine is shared and noisy).
The full size needs about 10 GB (inputs, traces, DuckDB): on a shared machine run it alone.
Peak memory: Linux VmHWM of this process, reset before each stage (``/proc/self/clear_refs``), so the
compute's peak is measured apart from the reading's.  The inputs are generated in a child process.

If the engine's reader fails on the CSV, the run says so and falls back to ``--reader parquet``
(the Parquet copies converted to the engine's frames without validation) to measure the engine anyway.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import datetime as dt
import os
import resource
import sys

# benchmarks/queue.py would shadow the standard library's queue (pyarrow imports it): keep this folder off sys.path
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE]
import tempfile
import time
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from claims.synth.arrays import digits as _digits
from tabular.resident_id import CHECK_CHARS, WEIGHTS

HERE = Path(__file__).resolve().parent
PRODUCT_FILE = HERE / "engine-product.yaml"
YEAR = 2025
CHECK_BYTES = np.frombuffer(CHECK_CHARS.encode("ascii"), dtype=np.uint8)  # GB 11643 check character by Σ mod 11
CATEGORIES = np.array(["脱贫不稳定户", "边缘易致贫户", "突发严重困难户", "稳定脱贫户", "一般农户", "特困供养", "低保户"])
CATEGORY_SHARES = np.array([0.15, 0.20, 0.05, 0.30, 0.20, 0.05, 0.05])
SIZE_PMF = np.array([0.14, 0.22, 0.22, 0.20, 0.12, 0.07, 0.03])  # 1..7 members
NAMES = np.array(["张伟", "王芳", "李娜", "刘强", "陈静", "杨磊", "赵敏", "黄勇", "周杰", "吴霞"])
MEDICAL_HEADER = ["setl_id", "id_no", "setl_date", "medfee_sumamt", "hifp_pay", "hifmi_pay", "maf_pay", "oth_pay",
                  "fulamt_ownpay_amt", "overlmt_selfpay"]
SLICE_ROWS = 100_000


# ---------------------------------------------------------------------------------------------------
# Inputs


def _ascii_column(matrix: np.ndarray) -> pa.Array:
    """(n, w) uint8 ASCII matrix → a pyarrow string array, without a Python object per row."""
    m = np.ascontiguousarray(matrix, dtype=np.uint8)
    n, w = m.shape
    offsets = np.arange(0, (n + 1) * w, w, dtype=np.int32 if n * w < 2**31 else np.int64)
    kind = pa.string() if offsets.dtype == np.int32 else pa.large_string()
    return pa.Array.from_buffers(kind, n, [None, pa.py_buffer(offsets), pa.py_buffer(m.ravel())])


def resident_ids(index: np.ndarray) -> pa.Array:
    """Distinct valid 18-digit resident IDs for person indices: area 130434, a birth date counted back
    from 2010-01-01 by ``index // 1000`` days, sequence ``index % 1000``, GB 11643 check digit."""
    index = np.asarray(index, dtype=np.int64)
    birth = np.datetime64("2010-01-01") - (index // 1000).astype("timedelta64[D]")
    ymd = birth.astype("datetime64[D]").astype(str)  # 'YYYY-MM-DD'
    yyyymmdd = np.char.replace(ymd, "-", "").astype(np.int64)
    body = np.concatenate([_digits(np.full(len(index), 130434), 6), _digits(yyyymmdd, 8),
                           _digits(index % 1000, 3)], axis=1)
    check = CHECK_BYTES[((body.astype(np.int64) - 48) @ WEIGHTS) % 11]
    return _ascii_column(np.concatenate([body, check[:, None]], axis=1))


def _yuan_column(fen: np.ndarray) -> pa.Array:
    """Non-negative fen → yuan text with two decimals ('1234.05'), built as ASCII bytes."""
    fen = np.asarray(fen, dtype=np.int64)
    whole = fen // 100
    width = np.maximum(1, np.floor(np.log10(np.maximum(whole, 1))).astype(np.int64) + 1)
    # fixed 10-digit buffer, then cut the leading zeros per row via offsets
    digits = np.concatenate([_digits(whole, 10), np.full((len(fen), 1), ord("."), np.uint8),
                             _digits(fen % 100, 2)], axis=1)
    keep = np.arange(13)[None, :] >= (10 - width)[:, None]
    data = digits[keep]
    lengths = width + 3
    offsets = np.zeros(len(fen) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    return pa.Array.from_buffers(pa.large_string(), len(fen), [None, pa.py_buffer(offsets), pa.py_buffer(data)])


def generate(people: int, rows: int, seed: int) -> dict[str, pa.Table]:
    """Roster (persons, households) and medical rows as Arrow tables, text as the files hold it."""
    rng = np.random.default_rng([seed, people, rows])
    size = rng.choice(np.arange(1, 8), size=people, p=SIZE_PMF)
    hh_of = np.repeat(np.arange(len(size)), size)[:people]
    n_hh = int(hh_of[-1]) + 1
    size = np.bincount(hh_of, minlength=n_hh)
    category = rng.choice(len(CATEGORIES), size=n_hh, p=CATEGORY_SHARES)
    income = np.round(rng.lognormal(np.log(5200), 0.30, n_hh) * 100).astype(np.int64)  # fen
    hh_no = _ascii_column(np.concatenate([np.full((n_hh, 1), ord("H"), np.uint8), _digits(np.arange(n_hh), 9)],
                                         axis=1))
    village = 130434_100_000 + np.arange(n_hh) // 400
    households = pa.table({
        "household_no": hh_no, "village_code": _ascii_column(_digits(village, 12)),
        "natural_village": pa.array(np.where(np.arange(n_hh) % 3 == 0, "东庄", "西营")),
        "category": pa.array(CATEGORIES[category]), "per_capita_income": _yuan_column(income), "members": size,
    })
    persons = pa.table({
        "id_no": resident_ids(np.arange(people)), "name": pa.array(NAMES[np.arange(people) % len(NAMES)]),
        "household_no": hh_no.take(pa.array(hh_of)), "relation": pa.array(np.where(
            np.r_[True, hh_of[1:] != hh_of[:-1]], "户主", "子女")),
    })

    # medical rows: who (≈ 3 % of the roster are frequent patients with a third of the rows), when, how much
    frequent = rng.random(rows) < 0.33
    who = np.where(frequent, rng.integers(0, max(1, people // 33), rows) * 33 % people, rng.integers(0, people, rows))
    unknown = rng.random(rows) < 0.002
    who = np.where(unknown, people + rng.integers(0, people + 1, rows), who)  # valid IDs not on the roster
    day = rng.integers(0, 365, rows)
    day = np.where(rng.random(rows) < 0.005, -rng.integers(1, 30, rows), day)  # late 2024: outside the period
    order = np.argsort(day, kind="stable")  # files come in settlement-date order
    who, day = who[order], day[order]
    date = (np.datetime64(f"{YEAR}-01-01") + day.astype("timedelta64[D]")).astype(str)
    total = np.clip(np.round(rng.lognormal(np.log(1800), 1.1, rows) * 100), 1_000, 200_000_000).astype(np.int64)
    hifp = (total * rng.uniform(0.40, 0.60, rows)).astype(np.int64)
    hifmi = np.where(rng.random(rows) < 0.05, (total * rng.uniform(0.0, 0.1, rows)).astype(np.int64), 0)
    maf = np.where(rng.random(rows) < 0.10, ((total - hifp - hifmi) * 0.2).astype(np.int64), 0)
    oth = np.zeros(rows, dtype=np.int64)
    full_own = (total * rng.uniform(0.02, 0.08, rows)).astype(np.int64)
    overlmt = np.where(rng.random(rows) < 0.3, (total * 0.01).astype(np.int64), 0)
    serial = np.arange(rows, dtype=np.int64)
    repeat = np.flatnonzero(rng.random(rows) < 0.001)
    serial[repeat] = serial[np.maximum(repeat - rng.integers(1, 1000, len(repeat)), 0)]  # a re-sent settlement
    setl_id = _ascii_column(np.concatenate([np.full((rows, 1), ord("S"), np.uint8), _digits(serial, 12)], axis=1))
    medical = pa.table({
        "setl_id": setl_id, "id_no": resident_ids(who), "setl_date": pa.array(date),
        "medfee_sumamt": _yuan_column(total), "hifp_pay": _yuan_column(hifp), "hifmi_pay": _yuan_column(hifmi),
        "maf_pay": _yuan_column(maf), "oth_pay": _yuan_column(oth), "fulamt_ownpay_amt": _yuan_column(full_own),
        "overlmt_selfpay": _yuan_column(overlmt),
    })
    return {"persons": persons, "households": households, "medical": medical}


def write_inputs(tables: dict[str, pa.Table], workdir: Path) -> dict[str, Path]:
    """CSV (UTF-8, canonical headers) and Parquet of each table; returns the CSV paths by name."""
    workdir.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, table in tables.items():
        paths[name] = workdir / f"{name}.csv"
        pacsv.write_csv(table, paths[name], pacsv.WriteOptions(quoting_style="none"))
        pq.write_table(table, workdir / f"{name}.parquet")
    return paths


def _fen_arrow(column: pa.ChunkedArray) -> np.ndarray:
    """Yuan text → int64 fen through an exact decimal cast."""
    return pc.cast(pc.multiply(pc.cast(column, pa.decimal128(18, 2)), pa.scalar(100, pa.decimal128(18, 0))),
                   pa.int64()).to_numpy()


def _text(column: pa.ChunkedArray) -> pd.Series:
    """Arrow text → pandas ``str`` column, staying in Arrow (no Python string per row)."""
    return pd.Series(pd.array(column.combine_chunks().cast(pa.large_string()), dtype="str"))


def frames_from_parquet(workdir: Path) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The engine's canonical frames straight from the Parquet copies, types converted, nothing validated —
    the fallback when the engine's own reader cannot read the CSV (the figures say which was used)."""
    persons_t = pq.read_table(workdir / "persons.parquet")
    households_t = pq.read_table(workdir / "households.parquet")
    medical_t = pq.read_table(workdir / "medical.parquet")
    persons = pd.DataFrame({"id_no": _text(persons_t["id_no"]), "name": _text(persons_t["name"]),
                            "household_no": _text(persons_t["household_no"]),
                            "relation": _text(persons_t["relation"]), "source_file": "persons.csv",
                            "source_line": np.arange(2, persons_t.num_rows + 2, dtype=np.int64)})
    households = pd.DataFrame({
        "household_no": _text(households_t["household_no"]), "village_code": _text(households_t["village_code"]),
        "natural_village": _text(households_t["natural_village"]), "category": _text(households_t["category"]),
        "per_capita_income": _fen_arrow(households_t["per_capita_income"]),
        "members": households_t["members"].to_numpy().astype(np.int64), "source_file": "households.csv",
        "source_line": np.arange(2, households_t.num_rows + 2, dtype=np.int64)})
    fen = {c: _fen_arrow(medical_t[c]) for c in MEDICAL_HEADER[3:]}
    medical = pd.DataFrame({"setl_id": _text(medical_t["setl_id"]), "id_no": _text(medical_t["id_no"]),
                            "setl_date": pd.to_datetime(medical_t["setl_date"].to_numpy(), format="%Y-%m-%d"),
                            **fen})
    medical["self_paid"] = fen["medfee_sumamt"] - fen["hifp_pay"] - fen["hifmi_pay"] - fen["maf_pay"] - fen["oth_pay"]
    medical["policy_self_paid"] = medical["self_paid"] - fen["fulamt_ownpay_amt"] - fen["overlmt_selfpay"]
    medical["source_file"] = pd.Series("medical.csv", index=medical.index, dtype="str")
    medical["source_line"] = np.arange(2, len(medical) + 2, dtype=np.int64)
    return persons, households, medical


# ---------------------------------------------------------------------------------------------------
# Reference 1: DuckDB SQL


def _sql_list(values: tuple[str, ...] | None) -> str:
    return ", ".join("'" + v.replace("'", "''") + "'" for v in values or ())


def _bracket_sql(line: Any, base: str) -> str:
    """round_half_up(Σ_k rate_e4_k × clamp(base − lower_k, 0, width_k) / 10 000) if base > trigger, else 0;
    then the line's per-year cap — integer maths on fen, like ``products.schedule``."""
    terms = []
    for b in line.brackets:
        part = f"GREATEST({base} - {b.lower}, 0)" if b.upto is None else \
            f"LEAST(GREATEST({base} - {b.lower}, 0), {b.upto - b.lower})"
        terms.append(f"{b.rate_e4}::BIGINT * {part}")
    uncapped = f"CASE WHEN {base} > {line.trigger} THEN ({' + '.join(terms)} + 5000) // 10000 ELSE 0 END"
    return uncapped


def duckdb_load(con: Any, paths: dict[str, Path]) -> None:
    """The three CSV files into DuckDB tables: amounts as exact DECIMAL(18,2) → BIGINT fen.  DuckDB keeps a
    CSV's row order on load (preserve_insertion_order), so ``rowid + 2`` is the file line (header = 1)."""
    money = ", ".join(f"'{c}': 'DECIMAL(18,2)'" for c in MEDICAL_HEADER[3:])
    fen = ", ".join(f"CAST({c} * 100 AS BIGINT) AS {c}" for c in MEDICAL_HEADER[3:])
    con.execute(f"""CREATE OR REPLACE TABLE medical AS SELECT setl_id, id_no, setl_date, {fen}
        FROM read_csv('{paths["medical"]}', header=true,
                      types={{'setl_id': 'VARCHAR', 'id_no': 'VARCHAR', 'setl_date': 'DATE', {money}}})""")
    con.execute(f"""CREATE OR REPLACE TABLE persons AS SELECT id_no, household_no
        FROM read_csv('{paths["persons"]}', header=true, types={{'id_no': 'VARCHAR', 'household_no': 'VARCHAR'}})""")
    con.execute(f"""CREATE OR REPLACE TABLE households AS
        SELECT household_no, category, CAST(per_capita_income * 100 AS BIGINT) AS income
        FROM read_csv('{paths["households"]}', header=true,
                      types={{'household_no': 'VARCHAR', 'category': 'VARCHAR',
                              'per_capita_income': 'DECIMAL(18,2)'}})""")


def duckdb_events_sql(product: Any) -> str:
    """The usable medical rows as events: a repeated settlement ID's last row, on the roster, in the period,
    eligible (category, income line); ``line`` is the file line, ``self_paid`` in fen."""
    el = product.eligibility
    eligible = [f"h.category IN ({_sql_list(el.categories)})"] if el.categories is not None else []
    if el.exclude_categories:
        eligible.append(f"h.category NOT IN ({_sql_list(el.exclude_categories)})")
    if el.income_line is not None:
        eligible.append(f"h.income <= {el.income_line}")
    start, end = product.period_start.isoformat(), product.period_end.isoformat()
    return f"""
        WITH last_settlement AS (
            SELECT *, rowid + 2 AS line FROM medical
            QUALIFY ROW_NUMBER() OVER (PARTITION BY setl_id ORDER BY rowid DESC) = 1)
        SELECT m.id_no, p.household_no, m.setl_date, m.line,
               m.medfee_sumamt - m.hifp_pay - m.hifmi_pay - m.maf_pay - m.oth_pay AS self_paid
        FROM last_settlement m JOIN persons p ON p.id_no = m.id_no JOIN households h ON h.household_no = p.household_no
        WHERE m.setl_date BETWEEN DATE '{start}' AND DATE '{end}' AND {' AND '.join(eligible) or 'TRUE'}"""


def duckdb_claims_sql(product: Any, events_table: str | None = None) -> str:
    """The benchmark product's claims in SQL: one row per (line, unit) with base > 0 (see module docstring);
    the events from :func:`duckdb_events_sql`, or from ``events_table`` when they are already a table."""
    pp, ph = product.cap_per_person_year, product.cap_per_household_year

    def units(line: Any, pos: int) -> str:
        # order_date: the date of the row whose running total (by date, then file line) first exceeds the trigger
        key = "id_no" if line.basis == "person" else "household_no"
        return f"""
        running_{pos} AS (
            SELECT {key} AS unit_id, household_no, setl_date, self_paid, line,
                   SUM(self_paid) OVER (PARTITION BY {key} ORDER BY setl_date, line
                                        ROWS UNBOUNDED PRECEDING) AS running
            FROM {events_table or 'events'}),
        units_{pos} AS (
            SELECT unit_id, ANY_VALUE(household_no) AS household_no, SUM(self_paid)::BIGINT AS base,
                   COUNT(*) AS rows, MIN(setl_date) AS first_event, MAX(setl_date) AS last_event,
                   COALESCE(MIN(setl_date) FILTER (WHERE running > {line.trigger}), MAX(setl_date)) AS order_date
            FROM running_{pos} GROUP BY unit_id),
        lines_{pos} AS (
            SELECT {pos} AS line_pos, '{line.id}' AS line_id, unit_id, household_no, base, rows, first_event,
                   last_event, order_date, {_bracket_sql(line, 'base')} AS uncapped
            FROM units_{pos})"""

    def capped(line: Any, pos: int) -> str:
        entitlement = f"LEAST(uncapped, {line.cap_per_year})" if line.cap_per_year is not None else "uncapped"
        due = f"LEAST({entitlement}, {pp})" if pp is not None and line.basis == "person" else entitlement
        return f"""SELECT line_pos, line_id, unit_id, household_no, base, rows, first_event, last_event, order_date,
               uncapped, {entitlement} AS entitlement, {due} AS due FROM lines_{pos}"""

    events = "" if events_table else f"events AS ({duckdb_events_sql(product)}),"
    return f"""
    WITH {events}
    {', '.join(units(line, pos) for pos, line in enumerate(product.lines))},
    capped AS ({' UNION ALL '.join(capped(line, pos) for pos, line in enumerate(product.lines))}),
    shared AS (
        SELECT *, {'due' if ph is None else f'''GREATEST(0, LEAST(due, {ph} - (SUM(due) OVER (PARTITION BY household_no
                      ORDER BY line_pos, order_date, unit_id ROWS UNBOUNDED PRECEDING) - due)))'''} AS due_now
        FROM capped)
    SELECT line_pos, line_id, unit_id, household_no, base, rows, first_event, last_event, uncapped,
           LEAST(entitlement, due_now) AS entitlement, due_now AS due
    FROM shared WHERE base > 0"""


# ---------------------------------------------------------------------------------------------------
# Reference 2: row by row, the way a hand-written system does it


def _fen(text: str) -> int:
    return int(Decimal(text) * 100)


def row_by_row_roster(product: Any, paths: dict[str, Path]) -> tuple[dict[str, str], dict[str, bool]]:
    """The roster as dicts: person → household, household → eligible (category and income line)."""
    fen = _fen
    person_household: dict[str, str] = {}
    with open(paths["persons"], encoding="utf-8-sig", newline="") as handle:
        for row in csv.DictReader(handle):
            person_household[row["id_no"]] = row["household_no"]
    eligible_household: dict[str, bool] = {}
    el = product.eligibility
    with open(paths["households"], encoding="utf-8-sig", newline="") as handle:
        for row in csv.DictReader(handle):
            ok = (el.categories is None or row["category"] in el.categories) and \
                row["category"] not in el.exclude_categories and \
                (el.income_line is None or fen(row["per_capita_income"]) <= el.income_line)
            eligible_household[row["household_no"]] = ok
    return person_household, eligible_household


def row_by_row_claims(product: Any, roster: tuple[dict[str, str], dict[str, bool]], paths: dict[str, Path],
                      max_rows: int) -> dict[tuple[str, str], tuple[int, int]]:
    """The benchmark product with the ``csv`` module, dicts and loops over the first ``max_rows`` medical rows:
    (line_id, unit_id) → (base, due), fen.  Amounts via ``decimal`` (exact), rounding half up per unit."""
    fen = _fen
    person_household, eligible_household = roster
    start, end = product.period_start.isoformat(), product.period_end.isoformat()
    last_line: dict[str, int] = {}  # a repeated settlement ID with other values is a correction: its last row counts
    with open(paths["medical"], encoding="utf-8-sig", newline="") as handle:
        for line_no, row in enumerate(csv.DictReader(handle), start=2):
            if line_no - 1 > max_rows:
                break
            last_line[row["setl_id"]] = line_no
    rows_of: dict[tuple[int, str], list[tuple[str, int, int]]] = {}
    household_of: dict[str, str] = {}
    with open(paths["medical"], encoding="utf-8-sig", newline="") as handle:
        for line_no, row in enumerate(csv.DictReader(handle), start=2):
            if line_no - 1 > max_rows:
                break
            if last_line[row["setl_id"]] != line_no:
                continue
            household = person_household.get(row["id_no"])
            if household is None or not (start <= row["setl_date"] <= end) or not eligible_household[household]:
                continue
            self_paid = fen(row["medfee_sumamt"]) - fen(row["hifp_pay"]) - fen(row["hifmi_pay"]) \
                - fen(row["maf_pay"]) - fen(row["oth_pay"])
            for pos, line in enumerate(product.lines):
                unit = row["id_no"] if line.basis == "person" else household
                rows_of.setdefault((pos, unit), []).append((row["setl_date"], line_no, self_paid))
                household_of[unit] = household
    claims = []
    for (pos, unit), events in rows_of.items():
        line = product.lines[pos]
        events.sort()
        base, order_date, running = 0, events[-1][0], 0
        for _date, _, amount in events:
            base += amount
        for date, _, amount in events:
            running += amount
            if running > line.trigger:
                order_date = date
                break
        pay = Decimal(0)
        if base > line.trigger:
            for b in line.brackets:
                part = max(0, base - b.lower) if b.upto is None else min(max(0, base - b.lower), b.upto - b.lower)
                pay += Decimal(part) * b.rate_e4 / 10000
        uncapped = int(pay.quantize(Decimal(1), rounding=ROUND_HALF_UP))
        due = min(uncapped, line.cap_per_year) if line.cap_per_year is not None else uncapped
        if line.basis == "person" and product.cap_per_person_year is not None:
            due = min(due, product.cap_per_person_year)
        claims.append([pos, household_of[unit], order_date, unit, base, due])
    if product.cap_per_household_year is not None:  # first come within the household, lines in order
        claims.sort(key=lambda c: (c[1], c[0], c[2], c[3]))
        used: dict[str, int] = {}
        for claim in claims:
            room = product.cap_per_household_year - used.get(claim[1], 0)
            claim[5] = max(0, min(claim[5], room))
            used[claim[1]] = used.get(claim[1], 0) + claim[5]
    return {(product.lines[c[0]].id, c[3]): (c[4], c[5]) for c in claims if c[4] > 0}


# ---------------------------------------------------------------------------------------------------
# The run


def _status_mb(field: str) -> float | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def peak_mb() -> float:
    """Peak resident set since the last :func:`reset_peak` (Linux VmHWM), else since the start (ru_maxrss, KiB)."""
    hwm = _status_mb("VmHWM")
    return hwm if hwm is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_mb() -> float:
    """Resident set now (Linux VmRSS; the peak elsewhere)."""
    now = _status_mb("VmRSS")
    return now if now is not None else peak_mb()


def reset_peak() -> None:
    """Start a new peak-memory window (Linux: ``echo 5 > /proc/self/clear_refs`` resets VmHWM)."""
    import gc
    gc.collect()
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - start


def ensure_inputs(args: argparse.Namespace, workdir: Path) -> dict[str, Path]:
    """Generate the inputs in a child process (so this process's peak memory is the engine's), unless the
    work directory already holds them for the same arguments."""
    stamp = workdir / "inputs.txt"
    wanted = f"people={args.people} rows={args.rows} seed={args.seed}\n"
    paths = {name: workdir / f"{name}.csv" for name in ("persons", "households", "medical")}
    if stamp.exists() and stamp.read_text() == wanted and all(p.exists() for p in paths.values()):
        print(f"inputs            reused from {workdir}")
        return paths
    import subprocess
    start = time.perf_counter()
    subprocess.run([sys.executable, __file__, "--generate-only", "--people", str(args.people), "--rows", str(args.rows),
                    "--seed", str(args.seed), "--workdir", str(workdir)], check=True)
    stamp.write_text(wanted)
    print(f"inputs            generated and written in {time.perf_counter() - start:.1f} s (child process)")
    return paths


def compare(ours: pd.DataFrame, reference: pd.DataFrame, columns: list[str]) -> int:
    """Assert that both have the same (line_id, unit_id) claims with the same amounts; returns the count."""
    a = ours.set_index(["line_id", "unit_id"])[columns].sort_index()
    b = reference.set_index(["line_id", "unit_id"])[columns].sort_index().astype("int64")
    if not a.index.equals(b.index):
        raise AssertionError(f"claims differ: {len(a.index.difference(b.index))} only ours, "
                             f"{len(b.index.difference(a.index))} only the reference")
    diff = (a.to_numpy() != b.to_numpy()).any(axis=1)
    if diff.any():
        raise AssertionError(f"{int(diff.sum())} claims differ in amounts, e.g.\n"
                             f"{a[diff].head().join(b[diff].head(), rsuffix='_ref')}")
    return len(a)


def _engine_e2e() -> Any:
    """benchmarks/engine_e2e.py as a module (this folder is kept off sys.path); it imports this one as ``engine``."""
    import importlib.util

    sys.modules.setdefault("engine", sys.modules[__name__])
    spec = importlib.util.spec_from_file_location("engine_e2e", HERE / "engine_e2e.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--people", type=int, default=500_000)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=20251129)
    ap.add_argument("--workdir", type=Path, default=None, help="keep the inputs here (reused on the next run)")
    ap.add_argument("--slice", type=int, default=SLICE_ROWS, help="rows for the row-by-row reference")
    ap.add_argument("--threads", type=int, default=0, help="DuckDB threads (0 = its default: all cores)")
    ap.add_argument("--reader", choices=["engine", "parquet"], default="engine",
                    help="engine: read_report/load_persons on the CSV (default); parquet: unvalidated frames")
    ap.add_argument("--skip-traces", action="store_true", help="do not time the run with traces")
    ap.add_argument("--generate-only", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--dense", action="store_true",
                    help="relief calc end to end against DuckDB, sparse and dense workloads side by side "
                         "(benchmarks/engine_e2e.py; see its --help)")
    args, rest = ap.parse_known_args(argv)
    if args.dense:
        return {"e2e": _engine_e2e().main(argv)}
    if rest:
        ap.error(f"unrecognized arguments: {' '.join(rest)}")
    if args.generate_only:
        write_inputs(generate(args.people, args.rows, args.seed), args.workdir)
        return {}

    from claims.engine.compute import run_calculation
    from claims.reports import read_report
    from products import load_product
    from products.roster import load_households, load_persons

    tmp = None
    if args.workdir is None:
        tmp = tempfile.TemporaryDirectory()
        args.workdir = Path(tmp.name)
    paths = ensure_inputs(args, args.workdir)
    product = load_product(PRODUCT_FILE)
    csv_mb = sum(p.stat().st_size for p in paths.values()) / 2**20
    print(f"date              {dt.date.today().isoformat()}   python {sys.version.split()[0]}, "
          f"pandas {pd.__version__}, "
          f"numpy {np.__version__}, pyarrow {pa.__version__}")
    print(f"people / rows     {args.people:,} / {args.rows:,}   CSV inputs {csv_mb:,.0f} MB")
    figures: dict[str, Any] = {}

    # ours: the engine's readers, then the engine
    reader = args.reader
    if reader == "engine":
        try:
            persons, t_persons = timed(lambda: load_persons(paths["persons"]))
            households, t_households = timed(lambda: load_households(paths["households"]))
            t_roster = t_persons + t_households
            read, t_ingest = timed(lambda: read_report(paths["medical"], "medical", key=True))
            rows, rows_read, reader_exceptions = read.rows, read.rows_read, len(read.exceptions)
            del read
        except Exception as exc:  # noqa: BLE001 — say so loudly and measure the engine anyway
            print(f"!! the engine's reader failed ({type(exc).__name__}: {exc}); falling back to --reader parquet")
            reader = "parquet"
    if reader == "parquet":
        (persons, households, rows), t_ingest = timed(lambda: frames_from_parquet(args.workdir))
        t_roster, rows_read, reader_exceptions = 0.0, args.rows, args.rows - len(rows)
        t_persons = t_households = 0.0
    frame_mb = rows.memory_usage(deep=True).sum() / 2**20
    how = "read_report on the CSV" if reader == "engine" else "Parquet → frames, NOT validated (fallback)"
    print(f"ours: roster      {t_roster:8.2f} s   (load_persons {t_persons:.2f} s for {len(persons):,} persons, "
          f"load_households {t_households:.2f} s for {len(households):,} households; "
          f"{(len(persons) + len(households)) / max(t_roster, 1e-9):,.0f} rows/s)")
    print(f"ours: ingest      {t_ingest:8.2f} s   {rows_read / t_ingest:,.0f} rows/s   [{how}] "
          f"({len(rows):,} usable rows, frame {frame_mb:,.0f} MB, {reader_exceptions:,} reader exceptions)")
    rss_read = peak_mb()
    reset_peak()
    rss_inputs = rss_mb()
    result, t_compute = timed(lambda: run_calculation(product, persons, households, {"medical": rows}, traces=False))
    print(f"ours: compute     {t_compute:8.2f} s   (screening + claims, amounts only; {len(result.claims):,} claims)")
    ours_total = t_roster + t_ingest + t_compute
    rss_ours = peak_mb()
    reset_peak()
    t_traced = None
    if not args.skip_traces:
        traced, t_traced = timed(lambda: run_calculation(product, persons, households, {"medical": rows}))
        assert (traced.claims["due"].to_numpy() == result.claims["due"].to_numpy()).all()
        print(f"ours: compute with traces {t_traced:8.2f} s   (计算过程 text for every claim)")
        del traced
    rss_traces = peak_mb()
    print(f"ours: memory      peak {rss_read:,.0f} MB while reading; inputs resident {rss_inputs:,.0f} MB; "
          f"peak {rss_ours:,.0f} MB during compute, {rss_traces:,.0f} MB during compute with traces "
          f"(medical frame {frame_mb:,.0f} MB, CSV inputs {csv_mb:,.0f} MB)")

    # reference: DuckDB on the same CSV files
    import duckdb
    con = duckdb.connect()
    if args.threads:
        con.execute(f"SET threads = {args.threads}")
    _, t_load = timed(lambda: duckdb_load(con, paths))
    sql, t_query = timed(lambda: con.execute(duckdb_claims_sql(product)).df())
    threads = con.execute("SELECT current_setting('threads')").fetchone()[0]
    print(f"duckdb {duckdb.__version__} ({threads} threads): load CSV {t_load:6.2f} s, query {t_query:6.2f} s, "
          f"total {t_load + t_query:6.2f} s")
    compared = compare(result.claims, sql, ["base", "uncapped", "entitlement", "due"])
    total_due = int(result.claims["due"].sum())
    assert total_due == int(sql["due"].sum())
    print(f"identical         {compared:,} claims compared to the fen; total due ¥{total_due / 100:,.2f} both; "
          f"entitlement ¥{int(result.claims['entitlement'].sum()) / 100:,.2f} both")
    print(f"ratio compute     ours / DuckDB query      {t_compute / t_query:6.2f}")
    print(f"ratio end to end  ours / DuckDB load+query {ours_total / (t_load + t_query):6.2f}   "
          f"(ours: roster {t_roster:.2f} s + reports {t_ingest:.2f} s + compute {t_compute:.2f} s = "
          f"{ours_total:.2f} s; DuckDB: CSV load {t_load:.2f} s + query {t_query:.2f} s = {t_load + t_query:.2f} s)")
    con.close()

    # reference: row by row on a slice
    n_slice = min(args.slice, args.rows)
    roster, t_row_roster = timed(lambda: row_by_row_roster(product, paths))
    by_row, t_rowwise = timed(lambda: row_by_row_claims(product, roster, paths, n_slice))
    roster = None  # free the row-by-row roster before the slice runs
    sliced = rows[rows["source_line"] <= n_slice + 1]
    ours_slice = run_calculation(product, persons, households, {"medical": sliced}, traces=False).claims
    keyed = {(a, b): (int(c), int(d)) for a, b, c, d in
             zip(ours_slice["line_id"], ours_slice["unit_id"], ours_slice["base"], ours_slice["due"])}
    assert keyed == by_row, "row-by-row reference differs from the engine on the slice"
    extrapolated = t_row_roster + t_rowwise * args.rows / n_slice
    print(f"row by row        roster {t_row_roster:.2f} s + {t_rowwise:.2f} s on {n_slice:,} rows ({len(by_row):,} "
          f"claims, identical to the engine's) → {extrapolated:,.0f} s extrapolated to {args.rows:,} rows")
    print(f"ratio             row-by-row (extrapolated) / ours end to end {extrapolated / ours_total:6.1f}, "
          f"/ ours compute {extrapolated / t_compute:6.1f}")
    figures.update(rss_inputs=rss_inputs, rss_traces=rss_traces, reader=reader, t_row_roster=t_row_roster,
                   t_roster=t_roster, t_persons=t_persons, t_households=t_households, t_ingest=t_ingest,
                   ingest_rows_per_s=rows_read / t_ingest,
                   t_compute=t_compute, t_traced=t_traced, t_load=t_load, t_query=t_query, compared=compared,
                   total_due=total_due, rss_ours=rss_ours, t_rowwise=t_rowwise, extrapolated=extrapolated)
    if tmp is not None:
        tmp.cleanup()
    return figures


if __name__ == "__main__":
    main()
