"""The partitions' results merged into the single machine's :class:`~claims.engine.compute.CalcResult`
(pure; runs on the client).

* **claims** — concatenated and sorted as the engine sorts them (:func:`sort_claims`: line as the product
  lists them, household, unit — a total order), so they equal the single-machine claims row for row;
* **exceptions** — reader exceptions (chunk by chunk), settlement repeats, then each partition's
  screening exceptions: the same rows as the single-machine run, in another order;
* **counts** — rows screened (the partitions' plus the settlement repeats dropped before them) and rows
  read by department.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd

from claims.engine.compute import CLAIM_COLUMNS, CalcResult, summarise
from claims.reports.exceptions import exceptions_frame
from products.model import Product

#: The columns of the sources frame when ``details=False`` leaves it empty.
SOURCE_COLUMNS = ["line_id", "unit_id", "source_file", "source_line", "amount"]


def sort_claims(product: Product, claims: pd.DataFrame) -> pd.DataFrame:
    """The engine's order: line (as the product lists them), household, unit."""
    pos = claims["line_id"].map({line.id: i for i, line in enumerate(product.lines)})
    order = pd.DataFrame({"p": pos.to_numpy(), "h": claims["household_no"].to_numpy(),
                          "u": claims["unit_id"].to_numpy()}).sort_values(["p", "h", "u"], kind="stable").index
    return claims.iloc[order.to_numpy()].reset_index(drop=True)


def merged_claims(product: Product, partitions: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """Every partition's claims in the engine's order and columns.  A partition without claims has the
    engine's empty frame, whose dtypes differ: those are left out (unless all are empty)."""
    found = [p["claims"] for p in partitions if len(p["claims"])] or [partitions[0]["claims"]]
    return sort_claims(product, pd.concat(found, ignore_index=True))[CLAIM_COLUMNS]


def exception_counts(partitions: Sequence[dict[str, Any]], reader_exceptions: Sequence[pd.DataFrame],
                     repeat_exceptions: pd.DataFrame) -> dict[str, int]:
    """Exception rows by reason over the partitions, the readers and the settlement repeats (what the
    summary reports when the rows themselves are not collected)."""
    counts = pd.concat([p["counts"] for p in partitions] + [e.groupby("reason").size() for e in reader_exceptions]
                       + ([repeat_exceptions.groupby("reason").size()] if len(repeat_exceptions) else []))
    by_reason = counts.groupby(level=0).sum() if len(counts) else counts
    return {str(k): int(v) for k, v in by_reason.items()}


def rows_read_by_department(counts: Iterable[tuple[str, int]]) -> dict[str, int]:
    """Σ rows read per department over its chunks."""
    by_dept: dict[str, int] = {}
    for dept, n in counts:
        by_dept[dept] = by_dept.get(dept, 0) + int(n)
    return by_dept


def merge_partitions(product: Product, partitions: Sequence[dict[str, Any]],
                     reader_exceptions: Sequence[pd.DataFrame], rows_read: Iterable[tuple[str, int]],
                     repeats: tuple[pd.DataFrame, pd.DataFrame], details: bool) -> CalcResult:
    """The run's result from the partitions' (:func:`claims.scale.worker.claims_of_partition`), the
    chunks' reader exceptions and row counts, and the resolved settlement repeats (rows dropped,
    exceptions; :func:`claims.scale.repeats.resolve_duplicates`).  ``details=False``: exception counts
    only, no exception rows, no sources."""
    dropped, repeat_exc = repeats
    claims = merged_claims(product, partitions)
    rows_in = sum(p["rows_in"] for p in partitions) + int(dropped["screened"].sum())
    reader_exc = [e for e in reader_exceptions if len(e)]
    if details:
        exceptions = pd.concat([*reader_exc, repeat_exc,
                                *[p["exceptions"] for p in partitions if len(p["exceptions"])]], ignore_index=True)
        found = [p["sources"] for p in partitions if len(p["sources"])]
        sources = pd.concat(found, ignore_index=True) if found else partitions[0]["sources"]
        summary = summarise(claims, exceptions, rows_in)
    else:
        exceptions = exceptions_frame([], [], [], [])
        sources = pd.DataFrame(columns=SOURCE_COLUMNS)
        summary = summarise(claims, exceptions, rows_in)
        summary["exceptions"] = exception_counts(partitions, reader_exc, repeat_exc)
    by_dept = rows_read_by_department(rows_read)
    summary["rows_read"] = by_dept
    summary["rows_read_total"] = int(sum(by_dept.values()))
    return CalcResult(claims=claims, exceptions=exceptions, sources=sources, summary=summary)
