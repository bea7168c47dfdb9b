"""The stateless file run behind ``relief calc``: product + roster + report files (+ paid) → claims files.

Thin shell around the pure engine: reads files, keeps every reader exception with its file and line,
calls :func:`claims.engine.compute.run_calculation`, writes ``claims.csv``, ``exceptions.csv``,
``claim_sources.csv`` and ``summary.json``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from claims.engine.compute import CalcResult, run_calculation, severity_counts
from claims.engine.output import FORMATS, write_claims, write_exceptions, write_sources
from claims.reports import DEPARTMENTS, read_report
from claims.reports.exceptions import EXCEPTION_COLUMNS
from products import Product
from products.eligibility import check_roster_county
from products.roster import check_roster, load_households, load_persons
from tabular.errors import InvalidInputError
from tabular.headers import rename_columns
from tabular.money import parse_fen
from tabular.sheets import read_table

TABLE_SUFFIXES = {".csv", ".txt", ".xlsx", ".xlsm", ".xls", ".ods", ".parquet"}
PAID_COLUMNS = {"unit_id": ["身份证号", "户编号", "赔付对象"], "line_id": ["责任", "险种责任"], "paid": ["已付金额", "已赔付"]}

Progress = Callable[[str], None]


class InputError(InvalidInputError):
    """A problem with the inputs of a run as a whole (bilingual message)."""


@dataclass
class Inputs:
    persons: pd.DataFrame
    households: pd.DataFrame
    reports: dict[str, list[pd.DataFrame]]
    paid: pd.DataFrame | None
    reader_exceptions: pd.DataFrame
    rows_read: dict[str, int] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)


def expand(path: str | Path) -> list[tuple[Path, str]]:
    """(file, label) pairs: a file, or every table file in a directory (sorted by name, so monthly files
    come in month order).  Files found in a directory are labelled ``dir/name`` (``medical/2025-01.csv``)
    so that exception rows name them unambiguously."""
    p = Path(path)
    if p.is_dir():
        return [(f, f"{p.name}/{f.name}") for f in sorted(p.iterdir()) if f.suffix.lower() in TABLE_SUFFIXES]
    if not p.exists():
        raise InputError(f"文件不存在 / file not found: {p}")
    return [(p, p.name)]


def parse_report_specs(specs: Iterable[str]) -> list[tuple[str, Path, str]]:
    """``["medical=a.csv", "education=dir/"]`` → [(department, file, label), …]; labels unique in the run."""
    out: list[tuple[str, Path, str]] = []
    for spec in specs:
        dept, sep, path = spec.partition("=")
        dept = dept.strip()
        if not sep or dept not in DEPARTMENTS:
            raise InputError(f"报告参数应为 部门=文件，部门之一 {', '.join(DEPARTMENTS)} / --report must be "
                             f"DEPARTMENT=FILE with DEPARTMENT one of {', '.join(DEPARTMENTS)}: got {spec!r}")
        out.extend((dept, f, label) for f, label in expand(path))
    labels = [label for _, _, label in out]
    return [(d, f, label if labels.count(label) == 1 else str(f)) for d, f, label in out]


def load_paid(path: str | Path) -> pd.DataFrame:
    """``unit_id, line_id, paid`` (paid in yuan) → fen; a bad amount refuses the file (payments must be exact)."""
    table = read_table(path)
    table = rename_columns(table, PAID_COLUMNS, required=list(PAID_COLUMNS), file_name=Path(path).name)
    money = parse_fen(table["paid"])
    bad = money.reason.notna()
    if bad.any():
        first = table[bad].iloc[0]
        raise InputError(f"{Path(path).name} 第 {first['source_line']} 行: 已付金额无效 / line {first['source_line']}: "
                         f"invalid paid amount {first['paid']!r} ({bad.sum()} bad rows)")
    return pd.DataFrame({"unit_id": table["unit_id"].astype(str).str.strip(),
                         "line_id": table["line_id"].astype(str).str.strip(), "paid": money.fen})


def load_inputs(persons: str | Path, households: str | Path, reports: Sequence[tuple[str, Path, str]],
                paid: str | Path | None = None, progress: Progress | None = None,
                mappings: Mapping[str, Mapping[str, str]] | None = None) -> Inputs:
    """Roster, every report file (rows with the int64 ``id_key``) and the paid file; ``progress(message)``
    is told the stage and the rows read so far before each file.  ``mappings``: department → its column
    mapping (canonical → the file's header, :mod:`claims.reports.mapping`) for every file of it."""
    say = progress or (lambda _msg: None)
    say("读取参保名单 / reading the roster")
    people = load_persons(persons)
    homes = load_households(households)
    check_roster(people, homes)
    by_dept: dict[str, list[pd.DataFrame]] = {}
    exceptions: list[pd.DataFrame] = []
    rows_read: dict[str, int] = {}
    total = 0
    for i, (dept, path, label) in enumerate(reports, start=1):
        say(f"读取报告 / reading reports {i}/{len(reports)} {label} — 已读 {total:,} 行 / {total:,} rows read")
        read = read_report(path, dept, file_name=label, key=True, columns=(mappings or {}).get(dept))
        by_dept.setdefault(dept, []).append(read.rows)
        exceptions.append(read.exceptions)
        rows_read[dept] = rows_read.get(dept, 0) + read.rows_read
        total += read.rows_read
    say(f"读取完毕 / reports read — {total:,} 行 / rows")
    paid_frame = load_paid(paid) if paid else None
    reader_ex = (pd.concat([e for e in exceptions if len(e)], ignore_index=True)
                 if any(len(e) for e in exceptions) else pd.DataFrame(columns=EXCEPTION_COLUMNS))
    return Inputs(people, homes, by_dept, paid_frame, reader_ex, rows_read, [label for _, _, label in reports])


def calculate(product: Product, inputs: Inputs, traces: bool | str = True) -> CalcResult:
    """Run the engine on loaded inputs; the exception list holds reader and screening exceptions.  A roster
    with a household outside the product's county is refused (:func:`products.eligibility.check_roster_county`).
    ``traces``: which claims get a trace (:data:`claims.engine.compute.TRACE_MODES`)."""
    check_roster_county(product, inputs.households)
    result = run_calculation(product, inputs.persons, inputs.households, inputs.reports, inputs.paid, traces=traces)
    result.exceptions = pd.concat([inputs.reader_exceptions, result.exceptions], ignore_index=True)
    reasons = result.exceptions.groupby("reason").size() if len(result.exceptions) else pd.Series(dtype="int64")
    result.summary["exceptions"] = {str(k): int(v) for k, v in reasons.items()}
    result.summary["exceptions_by_severity"] = severity_counts(result.exceptions)
    result.summary["rows_read"] = dict(inputs.rows_read)
    result.summary["rows_read_total"] = int(sum(inputs.rows_read.values()))
    return result


def write_outputs(result: CalcResult, product: Product, out_dir: str | Path, extra: dict[str, Any] | None = None,
                  fmt: str = "csv") -> Path:
    """claims, exceptions and claim_sources (``fmt``: ``.csv``, or ``.parquet`` with the same cells), then
    summary.json (with ``extra``; when ``extra`` has a ``seconds`` table, the time spent writing the three
    files is added to it as ``write``)."""
    if fmt not in FORMATS:
        raise InputError(f"输出格式应为 {' / '.join(FORMATS)} / the output format must be one of {', '.join(FORMATS)}")
    out = Path(out_dir)
    started = time.perf_counter()
    write_claims(result.claims, out / f"claims.{fmt}", fmt=fmt)
    write_exceptions(result.exceptions, out / f"exceptions.{fmt}", fmt=fmt)
    write_sources(result.sources, out / f"claim_sources.{fmt}", fmt=fmt)
    if extra and isinstance(extra.get("seconds"), dict):
        extra = {**extra, "seconds": {**extra["seconds"], "write": round(time.perf_counter() - started, 3)}}
    summary = {"product_code": product.code, "product_digest": product.digest, **result.summary, **(extra or {})}
    (out / "summary.json").write_text(json.dumps(summary, ensure_ascii=False, indent=2), encoding="utf-8")
    return out


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - start
