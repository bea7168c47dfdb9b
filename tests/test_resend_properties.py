"""Re-sends do not change claims (issue 11, acceptance 2), as properties (hypothesis).

The same department rows, delivered as the county delivers them — split into any number of files, the
files in any order, some rows sent again in further files, every file saved its own way (UTF-8 with or
without BOM, GB18030, UTF-16 "Unicode text" with tabs, LF or CRLF, a last newline or not, or an Excel
workbook with numbers and date cells; columns in any order, any file name) — give exactly the claims of the rows sent once in one plain file:

* in ``relief calc`` (``claims.csv`` byte for byte: amounts, row counts and traces);
* in the database after ``relief import`` of every file (the policy's claims: line, unit, base,
  entitlement, amount), which are the claims ``relief calc`` finds due on the rows sent once; a file whose
  bytes were imported before is refused (exit code 3).  SQLite always; PostgreSQL too when
  ``RELIEF_TEST_DATABASE_URL`` is set.

Rows come from a small pool of records with distinct identities (so a repeat is always a re-send, never
a correction) over the corpus roster (``tests/data/corpus``); the amounts are drawn.
"""

from __future__ import annotations

import csv
import datetime as dt
import importlib.util
import io
import sqlite3
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import PG_URL, _pg_schema_url
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text

from claims.lifecycle.database import make_engine, session_factory, upgrade
from claims.lifecycle.models import Claim
from flask_app.cli import relief

CORPUS = Path(__file__).parent / "data" / "corpus"
PRODUCT = "fangpinbao-weixian-2025"
ALREADY_IMPORTED = 3  # relief import's exit code for a file whose bytes were imported before


def _load_builder():
    spec = importlib.util.spec_from_file_location("corpus_build", CORPUS / "build.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # (dataclasses look their module up there)
    spec.loader.exec_module(module)
    return module


build = sys.modules.get("corpus_build") or _load_builder()
P1, P3, P4, P5, P7, P11 = (build.pid(k) for k in ("p1", "p3", "p4", "p5", "p7", "p11"))


def yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


@dataclass(frozen=True)
class Layout:
    """A department's file: its header, the identities of the records in the pool (each distinct), how
    many amounts a record carries, its cells from the identity and the amounts (fen), and which columns
    an Excel sheet holds as numbers and as dates."""

    header: list[str]
    records: list[tuple[str, ...]]
    amounts: int
    cells: Callable[[tuple[str, ...], list[int]], list[str]]
    number_columns: tuple[int, ...]
    date_columns: tuple[int, ...] = ()


LAYOUTS: dict[str, Layout] = {
    "education": Layout(
        ["身份证号", "学年", "学段", "学费", "住宿费", "教材费", "其他资助", "是否新生"],
        [(P3, "2025-2026", "本科", "是"), (P5, "2025", "高中", "否"), (P11, "2025-2026", "专科", "是"),
         (P3, "2024-2025", "本科", "否")],
        4, lambda r, a: [r[0], r[1], r[2], yuan(a[0]), yuan(a[1]), yuan(a[2]), yuan(a[3] // 4), r[3]],
        (3, 4, 5, 6)),
    "disaster": Layout(
        ["户编号", "村代码", "受灾日期", "灾害类型", "核定损失", "其他赔偿"],
        [("H01", "130434100200", "2025-07-20", "洪涝"), ("H01", "130434100200", "2025-08-02", "风雹"),
         ("H02", "130434100200", "2025-07-20", "洪涝"), ("H03", "130434101201", "2025-09-01", "干旱")],
        2, lambda r, a: [*r, yuan(a[0] * 2), yuan(a[1] // 4)], (4, 5), (2,)),
    "medical": Layout(
        ["结算ID", "身份证号", "结算日期", "医疗费总额", "统筹基金支出", "大病保险", "医疗救助", "其他支出", "全自费金额",
         "超限价自费"],
        [("S01", P1, "2025-03-04"), ("S02", P1, "2025-05-06"), ("S03", P4, "2025-04-01"), ("S04", P7, "2025-06-01")],
        2, lambda r, a: [*r, yuan(a[0] + a[1]), yuan(a[1]), "0", "0", "0", "0", "0"], tuple(range(3, 10)), (2,)),
}

#: How an office may save a file: (encoding, delimiter, extension); "xlsx": an Excel workbook with amounts
#: as numbers and dates as date cells (newline and last newline do not apply).
SAVINGS = [("utf-8", ",", ".csv"), ("utf-8-sig", ",", ".csv"), ("gb18030", ",", ".csv"), ("utf-16", "\t", ".txt"),
           ("xlsx", "", ".xlsx")]
NAMES = ["2025-09", "2025-09 (1)", "九月名单", "list", "重发_2025-10", "副本"]


@dataclass(frozen=True)
class Saving:
    encoding: str
    delimiter: str
    extension: str
    newline: str
    last_newline: bool
    order: tuple[int, ...]
    name: str


def workbook_bytes(layout: Layout, rows: list[list[str]], order: tuple[int, ...]) -> bytes:
    def cell(i: int, value: str) -> object:
        if i in layout.number_columns:
            return float(value)
        if i in layout.date_columns:
            return dt.datetime.fromisoformat(value)
        return value

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append([layout.header[i] for i in order])
    for row in rows:
        ws.append([cell(i, row[i]) for i in order])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def file_bytes(layout: Layout, rows: list[list[str]], saving: Saving) -> bytes:
    if saving.encoding == "xlsx":
        return workbook_bytes(layout, rows, saving.order)
    buf = io.StringIO()
    grid = [layout.header, *rows]
    csv.writer(buf, delimiter=saving.delimiter, lineterminator=saving.newline).writerows(
        [[row[i] for i in saving.order] for row in grid])
    content = buf.getvalue() if saving.last_newline else buf.getvalue()[:-len(saving.newline)]
    if saving.encoding == "utf-16":
        return ("\ufeff" + content).encode("utf-16-le")
    return content.encode(saving.encoding)


@dataclass(frozen=True)
class Delivery:
    department: str
    rows: list[list[str]]  # every record once, in pool order
    files: list[tuple[list[int], Saving]]  # in arrival order: the rows (positions in ``rows``) and the saving


@st.composite
def deliveries(draw: st.DrawFn) -> Delivery:
    """Rows split into files, some rows sent again in further files, the files and the rows in each in
    any order, each file saved its own way."""
    department = draw(st.sampled_from(sorted(LAYOUTS)))
    layout = LAYOUTS[department]
    chosen = draw(st.lists(st.sampled_from(range(len(layout.records))), min_size=1, unique=True))
    amount = st.integers(min_value=0, max_value=1_600_000)  # fen, up to 16,000 yuan per amount
    rows = [layout.cells(layout.records[i], [draw(amount) for _ in range(layout.amounts)]) for i in sorted(chosen)]
    pieces = draw(st.integers(min_value=1, max_value=len(rows)))
    home = [draw(st.integers(min_value=0, max_value=pieces - 1)) for _ in rows]
    split = [[i for i, h in enumerate(home) if h == k] for k in range(pieces)]
    again = draw(st.lists(st.lists(st.sampled_from(range(len(rows))), min_size=1, unique=True), max_size=2))
    parts = [draw(st.permutations(p)) for p in draw(st.permutations([p for p in split if p] + again))]
    width = len(layout.header)
    savings = [Saving(*draw(st.sampled_from(SAVINGS)), draw(st.sampled_from(["\n", "\r\n"])), draw(st.booleans()),
                      tuple(draw(st.permutations(range(width)))), draw(st.sampled_from(NAMES)))
               for _ in parts]
    return Delivery(department, rows, list(zip(parts, savings)))


def write_delivery(delivery: Delivery, folder: Path) -> list[Path]:
    """Each file in a folder of its own (two files may have the same name), in arrival order."""
    layout = LAYOUTS[delivery.department]
    paths = []
    for n, (part, saving) in enumerate(delivery.files):
        path = folder / f"{n:02d}" / f"{saving.name}{saving.extension}"
        path.parent.mkdir(parents=True)
        path.write_bytes(file_bytes(layout, [delivery.rows[i] for i in part], saving))
        paths.append(path)
    return paths


def write_once(delivery: Delivery, folder: Path) -> Path:
    """Every row once, one plain UTF-8 file."""
    folder.mkdir(parents=True)
    path = folder / "once.csv"
    width = len(LAYOUTS[delivery.department].header)
    path.write_bytes(file_bytes(LAYOUTS[delivery.department], delivery.rows,
                                Saving("utf-8", ",", ".csv", "\n", True, tuple(range(width)), "once")))
    return path


def calc_claims(department: str, files: list[Path], out: Path) -> bytes:
    args = ["calc", "--product", PRODUCT, "--persons", str(CORPUS / "persons.csv"), "--households",
            str(CORPUS / "households.csv"), "--out", str(out), "--quiet"]
    for f in files:
        args += ["--report", f"{department}={f}"]
    result = CliRunner().invoke(relief, args)
    assert result.exit_code == 0, result.output
    return (out / "claims.csv").read_bytes()


#: Hypothesis settings: a modest number of examples, no deadline (each example runs the CLI), and no
#: shrinking — a failing example is already small (≤ 4 rows, ≤ 6 files) and is printed whole, while
#: shrinking through CLI runs would take minutes.
PROPERTY = {"deadline": None, "phases": [Phase.explicit, Phase.reuse, Phase.generate],
            "suppress_health_check": [HealthCheck.function_scoped_fixture]}

#: The issue's case: a household at 9,999.99 (under the 10,000 disaster line) in September's list, the
#: list re-sent unchanged in October saved another way (GB18030, CRLF, columns reordered, a new name);
#: counted twice it paid 9,999.98.
SEPTEMBER_AGAIN = Delivery("disaster", [["H02", "130434100200", "2025-07-20", "洪涝", "9999.99", "0.00"]], [
    ([0], Saving("utf-8", ",", ".csv", "\n", True, (0, 1, 2, 3, 4, 5), "2025-09")),
    ([0], Saving("gb18030", ",", ".csv", "\r\n", False, (5, 4, 3, 2, 1, 0), "2025-10"))])


def scratch(root: Path) -> Path:
    folder = root / uuid.uuid4().hex[:12]
    folder.mkdir()
    return folder


@settings(max_examples=20, **PROPERTY)
@given(delivery=deliveries())
@example(delivery=SEPTEMBER_AGAIN)
def test_calc_claims_do_not_depend_on_how_the_rows_were_delivered(delivery, tmp_path):
    work = scratch(tmp_path)
    once = calc_claims(delivery.department, [write_once(delivery, work / "once")], work / "out-once")
    delivered = calc_claims(delivery.department, write_delivery(delivery, work / "files"), work / "out")
    assert delivered == once


# ---- the database -----------------------------------------------------------------------------------

def setup_county(url: str) -> None:
    upgrade(url)
    result = CliRunner().invoke(relief, ["setup", "--product", PRODUCT, "--framed-heads", "100", "--persons",
                                         str(CORPUS / "persons.csv"), "--households", str(CORPUS / "households.csv"),
                                         "--database", url])
    assert result.exit_code == 0, result.output


@pytest.fixture(scope="module")
def sqlite_county(tmp_path_factory) -> Path:
    """A migrated SQLite file with the product, its policy and the corpus roster: copied per example."""
    path = tmp_path_factory.mktemp("county") / "county.db"
    setup_county(f"sqlite:///{path}")
    return path


@contextmanager
def fresh_county(backend: str, template: Path, folder: Path) -> Iterator[str]:
    """The URL of a database holding only the county's setup: a copy of the SQLite template (through
    SQLite's backup, which reads the WAL too), or a new PostgreSQL schema (dropped afterwards)."""
    folder.mkdir(parents=True, exist_ok=True)
    if backend == "sqlite":
        path = folder / "county.db"
        with closing(sqlite3.connect(template)) as src, closing(sqlite3.connect(path)) as dst:
            src.backup(dst)
        yield f"sqlite:///{path}"
        return
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = make_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        url = _pg_schema_url(PG_URL, schema)
        setup_county(url)
        yield url
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def import_all(url: str, department: str, files: list[Path]) -> set[tuple[str, str, Decimal, Decimal, Decimal]]:
    """``relief import`` of each file in turn; the policy's claims afterwards."""
    for f in files:
        result = CliRunner().invoke(relief, ["import", "--department", department, str(f), "--database", url])
        assert result.exit_code in (0, ALREADY_IMPORTED), result.output
    engine = make_engine(url)
    try:
        with session_factory(engine)() as session:
            return {(c.line_id, c.unit_id, c.base, c.entitlement, c.amount) for c in session.scalars(select(Claim))}
    finally:
        engine.dispose()


def due_in_calc(claims_csv: bytes) -> set[tuple[str, str, Decimal, Decimal, Decimal]]:
    """The claims with an amount due in a ``relief calc`` claims.csv, as the database keeps claims."""
    frame = pd.read_csv(io.BytesIO(claims_csv), dtype=str, encoding="utf-8-sig")
    return {(r.line_id, r.unit_id, Decimal(r.base), Decimal(r.entitlement), Decimal(r.due))
            for r in frame.itertuples() if Decimal(r.due) > 0}


def database_property(backend: str, template: Path, root: Path, delivery: Delivery) -> None:
    """Imported one way or the other, the database holds the same claims, and they are the claims
    ``relief calc`` finds due on the rows sent once."""
    work = scratch(root)
    once_file = write_once(delivery, work / "once")
    with fresh_county(backend, template, work) as url:
        once = import_all(url, delivery.department, [once_file])
    with fresh_county(backend, template, work / "again") as url:
        delivered = import_all(url, delivery.department, write_delivery(delivery, work / "files"))
    assert delivered == once
    assert once == due_in_calc(calc_claims(delivery.department, [once_file], work / "out"))


@settings(max_examples=10, **PROPERTY)
@given(delivery=deliveries())
@example(delivery=SEPTEMBER_AGAIN)
def test_imported_claims_do_not_depend_on_how_the_rows_were_delivered_sqlite(delivery, sqlite_county, tmp_path):
    database_property("sqlite", sqlite_county, tmp_path, delivery)


@pytest.mark.pg
@pytest.mark.skipif(not PG_URL, reason="PostgreSQL not configured: set RELIEF_TEST_DATABASE_URL")
@settings(max_examples=4, **PROPERTY)
@given(delivery=deliveries())
@example(delivery=SEPTEMBER_AGAIN)
def test_imported_claims_do_not_depend_on_how_the_rows_were_delivered_postgresql(delivery, tmp_path):
    database_property("postgresql", Path(), tmp_path, delivery)
