"""Record identity: which report rows are the same record, re-sent, corrected, or a reversal of another.

Pure (no I/O).  Each department declares the canonical columns that name one record beside its column
map (:attr:`claims.reports.columns.Spec.identity`, gathered here as :data:`IDENTITY`):

============ ===================================================================================
medical      settlement number + refund flag (a 冲销/退费 row is its own record, never a repeat of
             the settlement it reverses; see :func:`claims.reports.departments.medical`)
education    student ID + school year + term + the bureau's record number (tuition, accommodation
             and textbooks are columns of one row, so the row is the record; blank term/number = "")
disaster     household + event date + disaster type + 灾情编号 (blank = "")
accident     person + accident date + kind
income       household + period (``as_of``)
agriculture  household + loss date + crop/industry item + 灾损编号 (blank = "")
============ ===================================================================================

A record's *content* is every canonical column of its department (not ``source_file``/``source_line``,
not derived columns), so byte-level variants of a file — CRLF, GB18030, reordered columns, another
file name — give the same keys and the same digests.

:func:`reconcile` takes the frames of a run (or of everything imported) in arrival order and, per key:

* a row whose content equals the version standing before it is a **re-send**: not counted again
  (``info`` ``resent``, naming the row it repeats);
* a row whose content differs is a **correction**: it supersedes the standing version (``warning``
  ``corrected`` on the new row with the old and new values; ``info`` ``superseded`` on the old row);
* a frame of the same file name as an earlier frame, all of whose rows are re-sends of that frame, is
  **the same file given twice**: one ``info`` ``same_file`` row for the file (line 0) instead of a row per
  line (a renamed or re-encoded copy is a re-send, reported row by row with both places).

Rows are compared with their immediate predecessor of the same key in arrival order: equal to it means
equal to the standing version (it is that version or a re-send of it), so A → B → A is two corrections.
A refund row that names the settlement it reverses (``orig_setl_id``) must be of the same person as
that settlement when it is in the run (``refund_person_mismatch`` otherwise, the refund not used).

Only rows whose first identity column repeats can share a key, so the work past that check (text
keys, digests) is done on those rows alone: a province's settlement file with no repeated number costs
one int64 repeat check.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow.compute as pc

from claims.reports.departments import SPECS
from claims.reports.exceptions import EXCEPTION_COLUMNS, exceptions_frame
from claims.reports.parse import ABSENT, MONEY_KINDS
from tabular.keys import as_arrow, fixed_width_bytes, radix_codes
from tabular.money import fen_to_yuan_text

#: department → canonical columns naming one record (the Specs' ``identity``, one fact in one place).
IDENTITY: dict[str, tuple[str, ...]] = {dept: spec.identity for dept, spec in SPECS.items()}

#: Separator of the parts of a text key (a control character: never inside a cell's text).
KEY_SEPARATOR = "\x1f"
_FNV_PRIME = np.uint64(0x100000001B3)
_NULL_INT = np.iinfo(np.int64).min


@dataclass(frozen=True)
class Reconciled:
    """The rows that count (canonical columns + provenance, in arrival order) and the exception rows."""

    rows: pd.DataFrame
    exceptions: pd.DataFrame  # EXCEPTION_COLUMNS


def content_columns(department: str) -> list[str]:
    """The canonical columns whose values are a record's content (every column of the department's spec)."""
    return list(SPECS[department].columns)


def _column(department: str, rows: pd.DataFrame, name: str) -> pd.Series:
    """A canonical column of ``rows``; a column the frame lacks reads as the reader's value for an
    absent optional column (blank, 0 or False), so a file without it matches one with it blank."""
    if name in rows.columns:
        return rows[name].reset_index(drop=True)
    kind = SPECS[department].columns[name].kind
    return ABSENT[kind](len(rows)) if kind in ABSENT else pd.Series(pd.NA, index=range(len(rows)), dtype="str")


def _as_text(values: pd.Series) -> pd.Series:
    """Canonical text of a column for a key: dates as YYYY-MM-DD, numbers as digits, booleans 1/0, blank "" ."""
    if pd.api.types.is_datetime64_any_dtype(values):
        return values.dt.strftime("%Y-%m-%d").fillna("").astype(object)
    if pd.api.types.is_bool_dtype(values):
        return pd.Series(np.where(values.fillna(False).to_numpy(dtype=bool), "1", "0"), dtype=object)
    return values.astype(object).where(values.notna(), "").astype(str).astype(object)


def record_keys(department: str, rows: pd.DataFrame) -> pd.Series:
    """One text key per row: the department's :data:`IDENTITY` columns joined by :data:`KEY_SEPARATOR`.

    Example: a medical settlement ``S001`` → ``"S001\\x1f0"``; its reversal → ``"S001\\x1f1"``."""
    parts = [_as_text(_column(department, rows, c)) for c in SPECS[department].identity]
    key = parts[0]
    for part in parts[1:]:
        key = key + KEY_SEPARATOR + part
    return pd.Series(key.to_numpy(dtype=object), index=rows.index, dtype=object)


def _hash(values: pd.Series) -> np.ndarray:
    """uint64 hash of each value of a column, equal for equal values whatever the column's storage
    (str/object text, int64/Int64, datetime64 of any unit, bool)."""
    if pd.api.types.is_datetime64_any_dtype(values):
        ints = values.astype("datetime64[ns]").to_numpy().view(np.int64)
        return pd.util.hash_array(np.where(values.isna().to_numpy(), _NULL_INT, ints))
    if pd.api.types.is_bool_dtype(values):
        return pd.util.hash_array(values.fillna(False).to_numpy(dtype=np.int64))
    if pd.api.types.is_integer_dtype(values):
        return pd.util.hash_array(values.astype("Int64").fillna(_NULL_INT).to_numpy(dtype=np.int64))
    text = values.astype(object).where(values.notna(), None).to_numpy(dtype=object)
    return pd.util.hash_array(text, categorize=False)


#: Columns a department gained after records were stored with their digests: blank, they leave a row's
#: digest as it was before they existed, so a file imported before and sent again after is a re-send.
ADDED_LATER: dict[str, tuple[str, ...]] = {"medical": ("med_type",), "income": ("prior_per_capita_income",)}


def _digest_codes(department: str, rows: pd.DataFrame) -> np.ndarray:
    """uint64 digest per row of its content columns, combined in the spec's column order (FNV-1 style);
    a blank column of :data:`ADDED_LATER` is skipped."""
    digest = np.full(len(rows), np.uint64(0xCBF29CE484222325), dtype=np.uint64)
    later = ADDED_LATER.get(department, ())
    with np.errstate(over="ignore"):
        for name in content_columns(department):
            column = _column(department, rows, name)
            mixed = (digest * _FNV_PRIME) ^ _hash(column)
            digest = np.where(column.isna().to_numpy(), digest, mixed) if name in later else mixed
    return digest


def content_digests(department: str, rows: pd.DataFrame) -> pd.Series:
    """One text digest (16 hex digits) per row of its canonical content (not ``source_file``/``source_line``)."""
    return pd.Series([f"{d:016x}" for d in _digest_codes(department, rows)], index=rows.index, dtype=object)


def repeating(values: pd.Series) -> np.ndarray:
    """True for every row whose value occurs on more than one row (all occurrences; blanks included).

    Fixed-width codes (settlement numbers, IDs) are packed into int64 (:mod:`tabular.keys`); strictly
    increasing codes — exports come sorted — repeat nothing; otherwise equal neighbours once sorted."""
    arr = as_arrow(values)
    n = len(arr)
    if n < 2:
        return np.zeros(n, dtype=bool)
    m = fixed_width_bytes(arr)
    packed = radix_codes(m) if m is not None else None
    if packed is not None:
        codes = packed[0]
        if (codes[1:] > codes[:-1]).all():
            return np.zeros(n, dtype=bool)
    else:
        codes = pc.fill_null(arr.dictionary_encode().indices, -1).to_numpy(zero_copy_only=False).astype(np.int64)
    order = np.argsort(codes, kind="stable")  # a sort of int64 beats a hash table on 10⁷ codes
    ordered = codes[order]
    equal = ordered[1:] == ordered[:-1]
    out = np.zeros(n, dtype=bool)
    out[order] = np.r_[equal, False] | np.r_[False, equal]
    return out


def _place(rows: pd.DataFrame, at: np.ndarray) -> tuple[pd.Series, pd.Series]:
    """'a.csv 第 3 行' / 'a.csv line 3' parts for the rows at positions ``at``."""
    files = rows["source_file"].to_numpy(dtype=object)[at].astype(str)
    lines = rows["source_line"].to_numpy(dtype=np.int64)[at].astype(str)
    return pd.Series(files, dtype=object), pd.Series(lines, dtype=object)


def _value_text(values: pd.Series, money: bool) -> pd.Series:
    if money:
        fen = values.astype("Int64")
        text = fen_to_yuan_text(fen.fillna(0).to_numpy(dtype=np.int64))
        return text.where(fen.notna().to_numpy(), "（空）").astype(object)
    return _as_text(values).replace("", "（空）")


def _changes(department: str, old: pd.DataFrame, new: pd.DataFrame) -> pd.Series:
    """'列 旧值 → 新值' for every content column that differs between ``old`` and ``new`` (row by row)."""
    spec = SPECS[department]
    out = pd.Series("", index=range(len(new)), dtype=object)
    for name in content_columns(department):
        a, b = _column(department, old, name), _column(department, new, name)
        differs = _hash(a) != _hash(b)
        if not differs.any():
            continue
        money = spec.columns[name].kind in MONEY_KINDS  # amounts in fen, shown in yuan
        label = f"{spec.columns[name].aliases[0]}({name})"
        text = label + " " + _value_text(a, money) + " → " + _value_text(b, money)
        out = out.where(~differs, out.where(out == "", out + "，") + text)
    return out


def _refund_mismatch(department: str, rows: pd.DataFrame, counted: np.ndarray) -> np.ndarray:
    """Counted refund rows naming an original settlement (``orig_setl_id``) that is in the run under
    another resident ID."""
    bad = np.zeros(len(rows), dtype=bool)
    if department != "medical" or "orig_setl_id" not in rows.columns:
        return bad
    ref = rows["orig_setl_id"]
    refs = np.flatnonzero(counted & ref.notna().to_numpy())
    if not len(refs):
        return bad
    originals = np.flatnonzero(counted & ~rows["refund"].to_numpy(dtype=bool))
    person = pd.Series(rows["id_no"].to_numpy(dtype=object)[originals],
                       index=rows["setl_id"].to_numpy(dtype=object)[originals])
    person = person[~person.index.duplicated(keep="last")]
    theirs = ref.iloc[refs].map(person)
    bad[refs] = (theirs.notna() & (theirs.to_numpy(dtype=object) != rows["id_no"].to_numpy(dtype=object)[refs]))
    return bad


def _concat(frames: Sequence[pd.DataFrame]) -> tuple[pd.DataFrame, np.ndarray]:
    """Frames in arrival order as one frame, and each row's frame number."""
    frames = [f for f in frames if f is not None]
    if not frames:
        return pd.DataFrame(), np.zeros(0, dtype=np.int64)
    number = np.repeat(np.arange(len(frames), dtype=np.int64), [len(f) for f in frames])
    rows = frames[0].reset_index(drop=True) if len(frames) == 1 else pd.concat(frames, ignore_index=True)
    return rows, number


def reconcile(department: str, frames: Sequence[pd.DataFrame]) -> Reconciled:
    """The rows that count among ``frames`` (arrival order) and the identity exceptions (module docstring).

    ``rows`` keeps the arrival order of the rows that count; a correction counts at its own place (its
    file and line), the row it supersedes is left out."""
    rows, counted, exceptions = counted_rows(department, frames)
    return Reconciled(rows if counted.all() else rows[counted].reset_index(drop=True), exceptions)


def counted_rows(department: str, frames: Sequence[pd.DataFrame]) -> tuple[pd.DataFrame, np.ndarray, pd.DataFrame]:
    """:func:`reconcile` without taking the rows apart: (every row in arrival order, which of them count,
    the identity exceptions) — the engine marks rows instead of copying a province's frame."""
    rows, frame_no = _concat(frames)
    n = len(rows)
    counted = np.ones(n, dtype=bool)
    out: list[pd.DataFrame] = []
    first = SPECS[department].identity[0]
    candidates = np.flatnonzero(repeating(_column(department, rows, first))) if n else np.zeros(0, dtype=np.int64)
    if len(candidates):
        sub = rows.iloc[candidates].reset_index(drop=True)  # the few rows whose first identity column repeats
        key = pd.factorize(record_keys(department, sub), use_na_sentinel=False)[0]
        digest = _digest_codes(department, sub)
        order = np.lexsort([candidates, key])  # by key, then arrival
        k, d = key[order], digest[order]
        same_key = np.r_[False, k[1:] == k[:-1]]
        resend = same_key & np.r_[False, d[1:] == d[:-1]]
        correction = same_key & ~resend
        position = np.arange(len(order))
        version = np.maximum.accumulate(np.where(resend, 0, position))  # the version each row repeats
        # superseded: a version with a correction after it in its key group
        group = np.cumsum(~same_key) - 1
        last_correction = np.full(group[-1] + 1, -1, dtype=np.int64)
        np.maximum.at(last_correction, group[correction], position[correction])
        superseded = ~resend & (position < last_correction[group])
        counted[candidates[order[resend | superseded]]] = False
        names = [str(f["source_file"].iloc[0]) if len(f) else "" for f in frames if f is not None]
        sizes = np.bincount(frame_no, minlength=len(names))
        out += _identity_rows(department, sub, frame_no[candidates], sizes, names, order, resend, correction,
                              superseded, version)
    mismatch = _refund_mismatch(department, rows, counted)
    if mismatch.any():
        where = np.flatnonzero(mismatch)
        detail = ("原结算ID / orig_setl_id " + rows["orig_setl_id"].iloc[where].astype(str)
                  + "：身份证号不一致 / resident ID differs")
        out.append(exceptions_frame(rows["source_file"].iloc[where], rows["source_line"].iloc[where],
                                    "refund_person_mismatch", detail, "error"))
        counted &= ~mismatch
    exceptions = pd.concat(out, ignore_index=True)[EXCEPTION_COLUMNS] if out else pd.DataFrame(columns=EXCEPTION_COLUMNS)
    return rows, counted, exceptions


def _identity_rows(department: str, sub: pd.DataFrame, frame_no: np.ndarray, sizes: np.ndarray, names: list[str],
                   at: np.ndarray, resend: np.ndarray, correction: np.ndarray, superseded: np.ndarray,
                   version: np.ndarray) -> list[pd.DataFrame]:
    """Exception rows of re-sends (or one row per file given twice), corrections and superseded rows.
    ``sub``: the candidate rows, ``frame_no`` their frames (``sizes``, ``names``: of every frame);
    ``at``: positions in ``sub`` by key then arrival; ``version[i]``: position in ``at`` of the version
    row i repeats."""
    out = []
    repeat_of = at[version]
    same_file = _files_given_twice(frame_no, sizes, names, at[resend], repeat_of[resend])
    res = np.flatnonzero(resend)
    res = res[~np.isin(frame_no[at[res]], list(same_file))]
    if len(res):
        file, line = _place(sub, repeat_of[res])
        detail = "与 " + file + " 第 " + line + " 行相同 / same as " + file + " line " + line
        out.append(exceptions_frame(sub["source_file"].iloc[at[res]], sub["source_line"].iloc[at[res]],
                                    "resent", detail, "info"))
    for later, earlier in same_file.items():
        was = names[earlier]
        out.append(exceptions_frame([names[later]], [0], "same_file",
                                    [f"与 {was} 各行相同，只计一次 / every row equals {was}; counted once"], "info"))
    fix = np.flatnonzero(correction)
    if len(fix):
        old_at, new_at = at[version[fix - 1]], at[fix]
        file, line = _place(sub, old_at)
        changes = _changes(department, sub.iloc[old_at], sub.iloc[new_at])
        detail = ("更正 " + file + " 第 " + line + " 行：" + changes + " / corrects " + file + " line " + line
                  + ": " + changes)
        out.append(exceptions_frame(sub["source_file"].iloc[new_at], sub["source_line"].iloc[new_at],
                                    "corrected", detail, "warning"))
    gone = np.flatnonzero(superseded)
    if len(gone):
        nxt = _next_correction(correction, gone)
        file, line = _place(sub, at[nxt])
        detail = "被 " + file + " 第 " + line + " 行更正 / superseded by " + file + " line " + line
        out.append(exceptions_frame(sub["source_file"].iloc[at[gone]], sub["source_line"].iloc[at[gone]],
                                    "superseded", detail, "info"))
    return out


def _next_correction(correction: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """For each position in ``rows``, the position of the first correction after it."""
    fixes = np.flatnonzero(correction)
    return fixes[np.searchsorted(fixes, rows, side="right")]


def _files_given_twice(frame_no: np.ndarray, sizes: np.ndarray, names: list[str], resent: np.ndarray,
                       repeats: np.ndarray) -> dict[int, int]:
    """{later frame: earlier frame} for frames every row of which is a re-send of a row of one earlier
    frame of the same name and length (the same file given twice; a renamed or re-encoded copy is a
    re-send, reported row by row).  ``resent``/``repeats``: positions (in ``frame_no``) of the re-sent rows
    and of the rows they repeat."""
    out: dict[int, int] = {}
    if not len(resent):
        return out
    later, earlier = frame_no[resent], frame_no[repeats]
    for frame in np.unique(later):
        mine = later == frame
        sources = np.unique(earlier[mine])
        if (len(sources) == 1 and mine.sum() == sizes[frame] and sizes[sources[0]] == sizes[frame]
                and sources[0] != frame and names[frame] == names[sources[0]]):
            out[int(frame)] = int(sources[0])
    return out
