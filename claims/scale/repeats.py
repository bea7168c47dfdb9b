"""Repeated settlement IDs (结算ID), the one rule of the run that is global rather than per household.

Re-sends, corrections and refunds (:mod:`claims.reports.identity`) repeat a settlement ID across chunks,
files or households.  The run keeps them identical to the single machine in three steps:

1. **pre-pass** — every medical chunk's settlement-ID column only, read through the reader's own key
   parser and hashed (:func:`chunk_settlement_hashes`); the hashes seen more than once anywhere are the
   suspects (:func:`repeated_hashes`);
2. **collect** — while a chunk is read, its rows with a suspect hash are taken out whole
   (:func:`suspect_rows`);
3. **resolve** — :func:`resolve_duplicates` reconciles them per file in the run's order, exactly as
   screening does on one machine; the rows that do not count are dropped in every partition.

The other departments' records are a household's (a person's household, or the household itself): they
meet in one partition, where screening reconciles them.  (A refund naming its original by
``orig_setl_id`` under another person's ID is refused only when the original shares its household: the
single machine also checks it across households.)
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from claims.reports import SPECS
from claims.reports.exceptions import exceptions_frame
from claims.reports.identity import reconcile
from claims.reports.parse import PARSERS
from claims.scale.chunks import FILE, ROW, Chunk, parquet_columns


def settlement_hashes(keys: pd.Series) -> np.ndarray:
    """uint64 hash of each settlement ID (the same fixed key in every process)."""
    return pd.util.hash_array(keys.astype(object).to_numpy())


def chunk_settlement_hashes(chunk: Chunk, frame: pd.DataFrame | None = None) -> np.ndarray:
    """Pre-pass: the hashes of the chunk's settlement IDs as the reader's key parser reads them (every
    row, usable or not: a superset of the IDs the reader keeps).  ``frame``: the chunk's canonical rows
    when it is one part of a frame."""
    import pyarrow.parquet as pq

    from tabular.headers import match_columns
    from tabular.sheets import read_table

    if frame is not None:
        keys = frame["setl_id"].dropna()
    else:
        if chunk.groups is None:
            spec = SPECS["medical"]
            table = read_table(chunk.path, file_name=chunk.label)
            found = match_columns([str(c) for c in table.columns], spec.column_map, required=list(spec.required),
                                  file_name=chunk.label)
            raw = table[{c: h for h, c in found.items()}["setl_id"]]
        else:
            pf = pq.ParquetFile(chunk.path)
            column = parquet_columns(pf, "medical", chunk.label)["setl_id"]
            col = pf.read_row_groups(list(chunk.groups), columns=[column]).column(0)
            if chunk.part is not None:
                col = col.slice(chunk.part[0], chunk.part[1] - chunk.part[0])
            raw = col.to_pandas()
        keys = _settlement_keys(raw)
    return settlement_hashes(keys)


def _settlement_keys(raw: pd.Series) -> pd.Series:
    """Settlement IDs as the reader's key parser reads them; cells already in the canonical form
    (``^[0-9A-Za-z_-]+$``, as machine exports write them) are their own key, so only a column with some
    other cell goes through the parser (the regex test is pyarrow's, on the whole column at once)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if raw.dtype != object or pd.api.types.is_string_dtype(raw.dtype):
        try:
            arr = pa.array(raw, type=pa.string(), from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            arr = None
        if arr is not None and arr.null_count == 0 and pc.all(
                pc.match_substring_regex(arr, r"^[0-9A-Za-z_-]+$")).as_py():
            return raw.astype(object)
    return PARSERS["key"](raw).values.dropna()


def repeated_hashes(chunk_hashes: list[np.ndarray]) -> np.ndarray:
    """The hashes seen more than once over all chunks (sorted): the suspects."""
    every = np.concatenate(chunk_hashes) if chunk_hashes else np.array([], dtype=np.uint64)
    uniq, counts = np.unique(every, return_counts=True)
    return uniq[counts > 1]


def suspect_rows(rows: pd.DataFrame, order: int, position: np.ndarray, suspects: np.ndarray) -> pd.DataFrame:
    """The medical rows read from chunk ``order`` whose settlement ID is a suspect, with every column of the
    reader and their place (:data:`~claims.scale.chunks.FILE`, :data:`~claims.scale.chunks.ROW`)."""
    hit = np.isin(settlement_hashes(rows["setl_id"]), suspects)
    whole = [c for c in SPECS["medical"].output if c in rows.columns]
    return rows.loc[hit, whole].assign(**{FILE: np.int32(order), ROW: position[hit].astype(np.int64)})


def concat_suspects(found: list[pd.DataFrame]) -> pd.DataFrame:
    """The chunks' suspect rows in one frame (empty when there are none)."""
    found = [f for f in found if len(f)]
    return pd.concat(found, ignore_index=True) if found else pd.DataFrame()


def resolve_duplicates(suspects: pd.DataFrame, file_of: Mapping[int, int]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The suspect rows (every row of a settlement ID seen more than once) reconciled globally by
    :func:`claims.reports.identity.reconcile`, one frame per file in the run's order (``file_of``: chunk
    order → the file it is part of), rows in (chunk, row) order: the single machine's frames, cut down to
    the rows whose ID repeats (a row whose ID does not repeat cannot share a key).

    Returns (the rows that do not count, as ``_file, _row, screened`` — screened: the single-machine
    engine counts them in ``rows_in`` —, the identity exception rows)."""
    none = pd.DataFrame({FILE: pd.Series(dtype="int64"), ROW: pd.Series(dtype="int64"),
                         "screened": pd.Series(dtype="bool")})
    if suspects is None or not len(suspects):
        return none, exceptions_frame([], [], [], [])
    s = suspects.sort_values([FILE, ROW], kind="stable").reset_index(drop=True)
    s["_at"] = np.arange(len(s))
    file_no = s[FILE].map(file_of).to_numpy()
    frames = [s[file_no == k] for k in pd.unique(file_no)]
    result = reconcile("medical", frames)
    gone = np.setdiff1d(s["_at"].to_numpy(), result.rows["_at"].to_numpy())
    drop = s.iloc[gone][[FILE, ROW]].astype("int64").assign(screened=True)
    return drop.reset_index(drop=True), result.exceptions


def dropped_rows(resolved: tuple[pd.DataFrame, pd.DataFrame]) -> pd.DataFrame:
    """The rows that do not count, from :func:`resolve_duplicates`' result (what every partition needs)."""
    return resolved[0]
