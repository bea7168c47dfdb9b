"""Cell parsers of the report readers (whole columns at a time) and the per-row problem collector.

Every parser takes a column of raw cells (text from CSV; native types from Excel/Parquet) and returns
:class:`~tabular.cells.Cells`: typed ``values`` and a ``reason`` code where a cell is unusable.
"""

from __future__ import annotations

import datetime as dt
from functools import partial

import numpy as np
import pandas as pd

from claims.reports.reasons import REASONS, split_reason
from tabular.cells import (
    Cells,
    cell_text,
    is_blank,
    normalise_text,
    number_mask,
    parse_key,
    parse_village_code,
    unwrap_text,
)
from tabular.money import FEN_PER_YUAN, parse_fen
from tabular.resident_id import validate_ids

_DATE = (r"^(?P<y>\d{4})\s*[-/.年]\s*(?P<m>\d{1,2})\s*[-/.月]\s*(?P<d>\d{1,2})\s*日?"
         r"(?:[ T]+\d{1,2}[:：]\d{2}(?:[:：]\d{2}(?:\.\d+)?)?)?$")
_COMPACT_DATE = r"^(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})$"
#: A school year, optionally with its term: 2025, 2025-2026, 2025学年, 2025-2026学年第一学期, 2025年秋季学期,
#: 2025春 (spaces removed and NFKC applied first).
_SCHOOL_YEAR = (r"^(?P<first>\d{4})(?:[-/~～—–至](?P<second>\d{4}))?(?P<unit>学年度?|年度?)?"
                r"(?P<term>第[一二12]学期|[上下]学期|[秋春]季?(?:学期)?)?$")
#: The term part of a cell (alone, or after a school year): autumn = the school year's first term.
_TERM = r"(?P<term>第[一二12]学期|[上下]学期|[秋春]季?(?:学期)?)$"
TERM_WORDS = {"第一学期": "autumn", "第1学期": "autumn", "上学期": "autumn",
              "第二学期": "spring", "第2学期": "spring", "下学期": "spring"}
_GRADE = (r"^(?:伤残)?(?:等级)?第?(?P<n>\d{1,2}|[一二三四五六七八九十壹贰叁肆伍陆柒捌玖拾]|"
          r"I{1,3}|IV|VI{0,3}|IX|X)级?(?:伤残)?$")
#: Chinese (plain and financial) and Roman numerals of the disability grades (Ⅰ–Ⅹ are I–X after NFKC).
_CN_DIGITS = {"一": "1", "二": "2", "三": "3", "四": "4", "五": "5", "六": "6", "七": "7", "八": "8", "九": "9",
              "十": "10", "壹": "1", "贰": "2", "叁": "3", "肆": "4", "伍": "5", "陆": "6", "柒": "7", "捌": "8",
              "玖": "9", "拾": "10", "I": "1", "II": "2", "III": "3", "IV": "4", "V": "5", "VI": "6", "VII": "7",
              "VIII": "8", "IX": "9", "X": "10"}
#: Excel's day 0 (serial 1 = 1900-01-01; the epoch absorbs Excel's fictitious 1900-02-29 for serials ≥ 61).
EXCEL_EPOCH = pd.Timestamp("1899-12-30")
#: Serial numbers read as dates (a number cell, or text of five digits): 1950-01-01 … 2099-12-31.
SERIAL_RANGE = ((pd.Timestamp("1950-01-01") - EXCEL_EPOCH).days, (pd.Timestamp("2099-12-31") - EXCEL_EPOCH).days)

TRUE_WORDS = {"1", "true", "t", "y", "yes", "是", "录取", "已录取"}
FALSE_WORDS = {"", "0", "false", "f", "n", "no", "否", "未录取"}
KIND_WORDS = {
    "death": "death", "死亡": "death", "身故": "death",
    "disability": "disability", "伤残": "disability", "残疾": "disability",
    "hospital": "hospital", "住院": "hospital", "医疗": "hospital",
}
#: 医疗类别 (NHSA ``med_type``) written exactly so → inpatient | outpatient.  The national codes: 11 普通门诊,
#: 12 门诊挂号, 13 急诊, 14 门诊慢特病, 41 定点药店购药, 51 生育门诊; 21 普通住院, 22 外伤住院, 23 转外诊治住院,
#: 24 急诊转住院, 52 生育住院.  Other text: :func:`parse_visit`.
VISIT_WORDS = {
    **{w: "inpatient" for w in ("住院", "普通住院", "外伤住院", "转外诊治住院", "急诊转住院", "生育住院", "inpatient",
                                 "21", "22", "23", "24", "52")},
    **{w: "outpatient" for w in ("门诊", "普通门诊", "门诊慢特病", "门诊慢性病", "门诊特殊病", "门诊大病", "急诊",
                                  "门诊挂号", "定点药店购药", "药店购药", "outpatient", "11", "12", "13", "14", "41", "51")},
}


def _no_reason(index: pd.Index) -> pd.Series:
    return pd.Series(pd.NA, index=index, dtype=object)


def parse_ids(col: pd.Series) -> Cells:
    """Resident IDs via :func:`tabular.resident_id.validate_ids` (number cells stay numbers, so an ID
    Excel stored as a number is refused with ``id_as_number``; ``'1304…`` and ``="1304…"`` are unwrapped)."""
    is_num = number_mask(col)
    text = unwrap_text(cell_text(col))
    cells = col.astype(object).where(is_num, text.astype(object))
    check = validate_ids(cells)
    return Cells(values=check.id_no.astype("str"), reason=check.reason)


def parse_id_pair(first: pd.Series, second: pd.Series) -> Cells:
    """Two ID columns of one file (身份证号 and 证件号码): where one is blank the other is used; where both
    are filled they must be the same ID once normalised (NFKC, upper case, no spaces; 15 → 18 digits),
    else ``id_columns_disagree``.  Both blank → ``id_missing``."""
    one, two = parse_ids(first), parse_ids(second)
    blank_one, blank_two = one.reason == "id_missing", two.reason == "id_missing"
    text_one, text_two = (unwrap_text(normalise_text(cell_text(c))).str.upper() for c in (first, second))
    same = (one.values == two.values).fillna(False) | (text_one == text_two).fillna(False)
    values = one.values.where(~blank_one, two.values)
    reason = one.reason.where(~blank_one, two.reason)
    disagree = ~blank_one & ~blank_two & ~same
    reason[disagree] = "id_columns_disagree"
    return Cells(values=values.where(~disagree).astype("str"), reason=reason)


def parse_money(col: pd.Series, blank: str, *, signed: bool = False, fen_per_unit: int = FEN_PER_YUAN) -> Cells:
    """Amount → int64 fen via :func:`tabular.money.parse_fen` (``fen_per_unit``: 100 for a column in 元,
    1,000,000 for one in 万元; ``signed``: a negative amount is kept).  ``blank``: ``"error"``
    (``amount_missing``), ``"zero"`` (blank reads as 0) or ``"null"`` (blank reads as <NA>; nullable Int64)."""
    empty = is_blank(col)
    fen = pd.Series(0, index=col.index, dtype="int64")
    reason = _no_reason(col.index)
    if blank == "error":
        reason[empty] = "amount_missing"
    if (~empty).any():  # only filled cells go through the parser (blank columns are common and cheap)
        parsed = parse_fen(col[~empty], signed=signed, fen_per_unit=fen_per_unit)
        fen[~empty] = parsed.fen
        reason[~empty] = parsed.reason
    if blank == "null":
        return Cells(values=fen.astype("Int64").mask(empty), reason=reason)
    return Cells(values=fen, reason=reason)


def parse_text(col: pd.Series, missing: str | None = None) -> Cells:
    """Stripped text; blank → <NA>, with reason ``missing`` when given (a required text)."""
    text = cell_text(col)
    reason = _no_reason(col.index)
    if missing is not None:
        reason[text.isna()] = missing
    return Cells(values=text.astype("str"), reason=reason)


def _to_ns(values: pd.Series) -> pd.Series:
    """Timestamps (any unit, naive or aware: wall time kept) → datetime64[ns] midnight; NaT outside
    the years 1678–2261 that nanoseconds can hold."""
    stamps = pd.to_datetime(values, errors="coerce")
    if stamps.dt.tz is not None:
        stamps = stamps.dt.tz_localize(None)
    stamps = stamps.where(stamps.dt.year.between(1678, 2261))
    return stamps.dt.normalize().astype("datetime64[ns]")


def parse_dates(col: pd.Series) -> Cells:
    """Dates → ``datetime64[ns]`` at midnight.  Accepts 2025-03-04, 2025/3/4, 2025.3.4, 20250304,
    2025年3月4日, with or without a time (2025-03-04 10:22:01), Excel date cells, an 8-digit number
    cell 20250304 and an Excel serial number (a number cell or five digits of text, 1950–2099):
    date = 1899-12-30 + serial days (45352 → 2024-03-01), a fraction (the time) dropped.  Full-width
    digits and zero-width characters are normalised first.  Blank → ``missing_value``; anything else
    (incl. 31 February) → ``bad_date``."""
    raw = col.astype(object)
    index = col.index
    values = pd.Series(pd.NaT, index=index, dtype="datetime64[ns]")
    reason = _no_reason(index)
    if pd.api.types.infer_dtype(col, skipna=True) in ("string", "empty"):  # CSV: text only
        is_dt = pd.Series(False, index=index)
    else:
        is_dt = raw.map(lambda v: isinstance(v, (dt.date, np.datetime64)) and not pd.isna(v)).astype(bool)
    if is_dt.any():
        values[is_dt] = _to_ns(pd.Series(raw[is_dt].tolist(), index=raw[is_dt].index, dtype=object))
    text = normalise_text(cell_text(col.where(~is_dt, None) if is_dt.any() else col)).fillna("")
    serial = text.str.extract(r"^(?P<days>\d{5})(?:\.\d+)?$")["days"].astype(float)
    serial = serial.where(serial.between(*SERIAL_RANGE))
    serial = serial.where(~is_dt)
    if serial.notna().any():
        values[serial.notna()] = EXCEL_EPOCH + pd.to_timedelta(serial[serial.notna()], unit="D")
        text = text.where(serial.isna(), "")
    # fast path: plain ISO dates (the usual export); the regexes below handle the other forms
    iso_like = text.str.fullmatch(r"\d{4}-\d{2}-\d{2}") & ~is_dt
    if iso_like.any():
        values[iso_like] = _to_ns(pd.to_datetime(text[iso_like], format="%Y-%m-%d", errors="coerce"))
    rest = text.where(~iso_like & ~is_dt, "")
    if (rest != "").any():
        parts = rest.str.extract(_DATE).fillna(rest.str.extract(_COMPACT_DATE))
        has = parts["y"].notna()
        if has.any():
            iso = parts["y"] + "-" + parts["m"].str.zfill(2) + "-" + parts["d"].str.zfill(2)
            values[has] = _to_ns(pd.to_datetime(iso[has], format="%Y-%m-%d", errors="coerce"))
    blank = (text == "") & ~is_dt & serial.isna()
    reason[blank] = "missing_value"
    reason[values.isna() & ~blank] = "bad_date"
    return Cells(values=values, reason=reason)


def parse_school_year(col: pd.Series) -> Cells:
    """School year → int64 first year: 2025, 2025-2026, 2025/2026, 2025学年, 2025-2026学年 (the second
    year must follow the first), optionally with a term (2025-2026学年第一学期, 2025学年下学期); or a
    calendar year with a season (2025年秋季学期 → 2025, 2025年春季 → 2024: spring ends the school year
    that began the autumn before); 1950–2100.  Blank → ``missing_value``, else ``bad_school_year``."""
    text = _compact(col)
    m = text.str.extract(_SCHOOL_YEAR)
    first = pd.to_numeric(m["first"], errors="coerce")
    second = pd.to_numeric(m["second"], errors="coerce")
    calendar_spring = (m["term"].fillna("").str.startswith("春") & second.isna()
                       & ~m["unit"].fillna("").str.startswith("学年"))
    first = first - calendar_spring.astype(int)
    ok = first.between(1950, 2100) & (second.isna() | (second == first + 1))
    reason = _no_reason(col.index)
    reason[text == ""] = "missing_value"
    reason[~ok & (text != "")] = "bad_school_year"
    return Cells(values=first.where(ok, 0).astype("int64"), reason=reason)


def _compact(col: pd.Series) -> pd.Series:
    """Cell text NFKC-normalised without any white space ("" where blank)."""
    return normalise_text(cell_text(col)).fillna("").str.replace(r"\s+", "", regex=True)


def parse_term(col: pd.Series) -> Cells:
    """School term → ``autumn`` (秋季, 秋季学期, 第一学期, 上学期) or ``spring`` (春季, 第二学期, 下学期),
    alone or after a school year (2025-2026学年第一学期); blank → <NA>; anything else → ``bad_term``."""
    text = _compact(col)
    term = text.str.extract(_TERM)["term"]
    season = term.str.slice(0, 1).map({"秋": "autumn", "春": "spring"})
    values = term.map(TERM_WORDS).fillna(season)
    reason = _no_reason(col.index)
    reason[values.isna() & (text != "")] = "bad_term"
    return Cells(values=values.astype("str"), reason=reason)


def parse_flag(col: pd.Series) -> Cells:
    """Yes/no → bool: 1/true/Y/yes/是/录取 → True; blank/0/false/N/no/否 → False; else ``bad_flag``."""
    text = cell_text(col).fillna("").str.lower()
    true = text.isin(TRUE_WORDS)
    reason = _no_reason(col.index)
    reason[~true & ~text.isin(FALSE_WORDS)] = "bad_flag"
    return Cells(values=true.astype(bool), reason=reason)


def parse_kind(col: pd.Series) -> Cells:
    """Accident kind → ``death|disability|hospital`` (死亡/身故, 伤残/残疾, 住院/医疗 accepted).
    Blank → ``missing_value``, else ``bad_kind``."""
    text = cell_text(col).fillna("")
    kind = text.str.lower().map(KIND_WORDS)
    reason = _no_reason(col.index)
    reason[text == ""] = "missing_value"
    reason[kind.isna() & (text != "")] = "bad_kind"
    return Cells(values=kind.astype("str"), reason=reason)


def parse_visit(col: pd.Series) -> Cells:
    """医疗类别 → ``inpatient`` (a word of :data:`VISIT_WORDS`, or any text with 住院: 住院, 普通住院, 急诊转住院 …),
    ``outpatient`` (门诊, 门诊慢特病, 急诊, 药店购药 …: text with 门诊/急诊/购药) or ``other`` (家庭病床 …, kept,
    never refused: only a line with ``inpatient_only`` reads it); blank → <NA>."""
    text = _compact(col)
    known = text.str.lower().map(VISIT_WORDS)
    inpatient = text.str.contains("住院", regex=False)
    outpatient = text.str.contains("门诊|急诊|购药", regex=True)
    values = known.fillna(pd.Series(np.select([inpatient, outpatient], ["inpatient", "outpatient"], "other"),
                                    index=col.index)).where(text != "")
    return Cells(values=values.astype("str"), reason=_no_reason(col.index))


def parse_grade(col: pd.Series) -> Cells:
    """Disability grade 1–10 (``3``, ``3级``, ``三级``, ``伤残十级``, ``一级伤残``, ``叁级``, ``Ⅲ级``, ``第3级``)
    → nullable Int64; a filled cell outside that → ``bad_grade``.  Whether a grade is required depends
    on the kind: see the accident derivation."""
    text = _compact(col).str.upper()
    n = text.str.extract(_GRADE)["n"].replace(_CN_DIGITS)
    grade = pd.to_numeric(n, errors="coerce")
    ok = grade.between(1, 10)
    reason = _no_reason(col.index)
    reason[~ok & (text != "")] = "bad_grade"
    return Cells(values=grade.where(ok).astype("Int64"), reason=reason)


PARSERS = {
    "id": parse_ids,
    "key": parse_key,
    "text": parse_text,
    "required_text": lambda c: parse_text(c, "missing_value"),
    "level": lambda c: parse_text(c, "missing_level"),
    "date": parse_dates,
    "money": partial(parse_money, blank="error"),
    "money_or_zero": partial(parse_money, blank="zero"),
    "money_or_null": partial(parse_money, blank="null"),
    "signed_money": partial(parse_money, blank="zero", signed=True),
    "signed_money_required": partial(parse_money, blank="error", signed=True),
    "signed_money_or_null": partial(parse_money, blank="null", signed=True),
    "school_year": parse_school_year,
    "term": parse_term,
    "flag": parse_flag,
    "kind": parse_kind,
    "grade": parse_grade,
    "visit": parse_visit,
    "village_code": lambda c: parse_village_code(c, required=False),
}

#: Parsers of a required column read from the column standing in for it (a Spec's ``stand_ins``), by
#: kind: the school year from a term written with its year (2025年秋季学期); no household number (a
#: householder's ID stands in: the household is found on the roster, after reading).
FROM_STAND_IN = {
    "school_year": parse_school_year,
    "key": lambda c: Cells(values=pd.Series(pd.NA, index=c.index, dtype="str"), reason=_no_reason(c.index)),
}

#: Kinds whose parser takes the column's unit (``fen_per_unit``: a header or unit row in 万元).
MONEY_KINDS = {"money", "money_or_zero", "money_or_null", "signed_money", "signed_money_required",
               "signed_money_or_null"}

#: Value of an optional column the file does not have, per kind.
ABSENT = {
    "text": lambda n: pd.Series(pd.NA, index=range(n), dtype="str"),
    "village_code": lambda n: pd.Series(pd.NA, index=range(n), dtype="str"),
    "money_or_zero": lambda n: pd.Series(0, index=range(n), dtype="int64"),
    "signed_money": lambda n: pd.Series(0, index=range(n), dtype="int64"),
    "term": lambda n: pd.Series(pd.NA, index=range(n), dtype="str"),
    "id": lambda n: pd.Series(pd.NA, index=range(n), dtype="str"),
    "money_or_null": lambda n: pd.Series(pd.NA, index=range(n), dtype="Int64"),
    "signed_money_or_null": lambda n: pd.Series(pd.NA, index=range(n), dtype="Int64"),
    "flag": lambda n: pd.Series(False, index=range(n), dtype=bool),
    "grade": lambda n: pd.Series(pd.NA, index=range(n), dtype="Int64"),
    "visit": lambda n: pd.Series(pd.NA, index=range(n), dtype="str"),
}


class Problems:
    """Per-row problems of one file: the first error's code, all error details joined by "；", and
    warnings (kept apart: a warning is only reported for a row without errors)."""

    def __init__(self, index: pd.Index):
        self.reason = _no_reason(index)
        self.detail = pd.Series("", index=index, dtype=object)
        self.warnings: list[tuple[pd.Series, str, pd.Series]] = []

    @property
    def ok(self) -> pd.Series:
        return self.reason.isna()

    def error(self, mask: pd.Series, code: str | pd.Series, detail: str | pd.Series) -> None:
        mask = mask.fillna(False).astype(bool)
        if not mask.any():
            return
        codes = code if isinstance(code, pd.Series) else pd.Series(code, index=mask.index, dtype=object)
        first = mask & self.reason.isna()
        self.reason[first] = codes[first]
        detail = detail if isinstance(detail, pd.Series) else pd.Series(detail, index=mask.index, dtype=object)
        joined = self.detail.where(self.detail == "", self.detail + "；") + detail.astype(object)
        self.detail = self.detail.where(~mask, joined)

    def warn(self, mask: pd.Series, code: str, detail: str | pd.Series) -> None:
        mask = mask.fillna(False).astype(bool)
        detail = detail if isinstance(detail, pd.Series) else pd.Series(detail, index=mask.index, dtype=object)
        self.warnings.append((mask, code, detail))


_ZH = {code: split_reason(code)[0] for code in REASONS}
_EN = {code: split_reason(code)[1] for code in REASONS}


def cell_detail(label: str, raw: pd.Series, codes: pd.Series) -> pd.Series:
    """'列“label”的值“raw”：中文原因 / column "label" value "raw": English reason' for the rows with a
    code (the others get "")."""
    out = pd.Series("", index=raw.index, dtype=object)
    bad = codes.notna()
    if not bad.any():
        return out
    raw, codes = raw[bad], codes[bad]
    shown = cell_text(raw).fillna("").str.slice(0, 60).astype(object)
    zh = "列“" + label + "”的值“" + shown + "”：" + codes.map(_ZH).fillna("")
    en = 'column "' + label + '" value "' + shown + '": ' + codes.map(_EN).fillna("")
    out[bad] = zh + " / " + en
    return out
