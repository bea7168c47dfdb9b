"""Per-department derivations and cross-column checks, run after every cell has been parsed.

Each function takes the typed frame (canonical columns, one row per data row), the raw cells (for
details) and the :class:`~claims.reports.parse.Problems` of the file; it returns the frame with the
derived columns and records errors/warnings.  Rows that already have a cell error are not re-checked.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from tabular.money import fen_to_yuan_text

from claims.reports.parse import Problems, parse_term

MEDICAL_FUNDS = ["hifp_pay", "hifmi_pay", "maf_pay", "oth_pay"]
MEDICAL_OWN = ["fulamt_ownpay_amt", "overlmt_selfpay"]


def _yuan(fen: pd.Series) -> pd.Series:
    return pd.Series(fen_to_yuan_text(fen.to_numpy(dtype=np.int64)).to_numpy(), index=fen.index, dtype=object)


MEDICAL_AMOUNTS = ["medfee_sumamt", *MEDICAL_FUNDS, *MEDICAL_OWN, "psn_part_amt"]


def _refund_sign(rows: pd.DataFrame, problems: Problems) -> pd.Series:
    """−1 for a refund / reversal row (退费、冲销), +1 otherwise.  A refund is written in any of three ways,
    all accepted: amounts negative (under the original's settlement number), the ``refund`` flag with
    amounts positive, or an ``orig_setl_id`` naming the settlement it reverses (either sign).  A row with
    both negative and positive amounts is refused (``refund_mixed_signs``): nobody can tell which it is."""
    amounts = rows[MEDICAL_AMOUNTS].astype("Int64").fillna(0)
    negative = (amounts < 0).any(axis=1)
    mixed = problems.ok & negative & (amounts > 0).any(axis=1)
    if mixed.any():
        problems.error(mixed, "refund_mixed_signs", "退费/冲销行的金额须全部为负或全部为正 / a refund row's amounts must "
                       "be all negative or all positive")
    refund = negative | rows["refund"].astype(bool) | rows["orig_setl_id"].notna()
    return pd.Series(np.where(refund, -1, 1), index=rows.index, dtype="int64")


def medical(rows: pd.DataFrame, raw: pd.DataFrame, problems: Problems) -> pd.DataFrame:
    """``self_paid = medfee_sumamt − hifp_pay − hifmi_pay − maf_pay − oth_pay`` and
    ``policy_self_paid = self_paid − fulamt_ownpay_amt − overlmt_selfpay``, on the amounts' magnitudes
    and then signed: a refund row (:func:`_refund_sign`) gets ``refund`` = True and every amount negative,
    so it nets against the person's base.

    Either magnitude negative → ``components_exceed_total``.  ``psn_part_amt`` given and more than 1 fen
    away from ``self_paid`` → warning ``psn_part_mismatch`` (the row is kept with the computed
    ``self_paid``).  A repeated ``setl_id`` is not judged here: record identity is a matter of every
    file of a run (:mod:`claims.reports.identity`)."""
    rows = rows.copy()
    sign = _refund_sign(rows, problems)
    for col in MEDICAL_AMOUNTS:
        rows[col] = rows[col].abs()
    rows["self_paid"] = rows["medfee_sumamt"] - rows[MEDICAL_FUNDS].sum(axis=1)
    rows["policy_self_paid"] = rows["self_paid"] - rows[MEDICAL_OWN].sum(axis=1)
    over = problems.ok & ((rows["self_paid"] < 0) | (rows["policy_self_paid"] < 0))
    if over.any():
        detail = ("医疗费总额 " + _yuan(rows["medfee_sumamt"]) + " 元，基金支付合计 "
                  + _yuan(rows[MEDICAL_FUNDS].sum(axis=1)) + " 元，全自费+超限价自费 "
                  + _yuan(rows[MEDICAL_OWN].sum(axis=1)) + " 元 / total " + _yuan(rows["medfee_sumamt"])
                  + ", fund payments " + _yuan(rows[MEDICAL_FUNDS].sum(axis=1)) + ", fully self-paid + above "
                  "price limit " + _yuan(rows[MEDICAL_OWN].sum(axis=1)) + " yuan")
        problems.error(over, "components_exceed_total", detail)

    psn = rows["psn_part_amt"]
    gap = (psn - rows["self_paid"]).abs()
    mismatch = problems.ok & psn.notna() & (gap > 1).fillna(False)
    if mismatch.any():
        detail = ("个人负担总金额 " + _yuan(psn.fillna(0)) + " 元，按各项计算的自付 " + _yuan(rows["self_paid"])
                  + " 元 / psn_part_amt " + _yuan(psn.fillna(0)) + ", computed self_paid "
                  + _yuan(rows["self_paid"]) + " yuan")
        problems.warn(mismatch, "psn_part_mismatch", detail)
    for col in [*MEDICAL_AMOUNTS, "self_paid", "policy_self_paid"]:
        rows[col] = rows[col] * sign
    rows["refund"] = sign < 0
    return rows


def education(rows: pd.DataFrame, raw: pd.DataFrame, problems: Problems) -> pd.DataFrame:
    """``event_date`` = the start of the term the cost is for, which places it in a policy year: 1 September
    of the first school year for the autumn term (秋季/第一学期/上学期) or when no term is given, 1 March of
    the year after for the spring term (春季/第二学期/下学期): 2025-2026学年第一学期 → 2025-09-01,
    2025-2026学年第二学期 → 2026-03-01.  The term is the ``term`` column's, else the one written in the
    school-year cell.  ``net_cost = max(0, tuition + accommodation + textbooks − other_aid)``."""
    rows = rows.copy()
    year = rows["school_year"].where(rows["school_year"] > 0)
    term = rows["term"]
    if "school_year" in raw:
        term = term.fillna(parse_term(raw["school_year"]).values)
    spring = (term == "spring").fillna(False)
    start = (year + spring.astype(int)).astype("Int64").astype(str) + spring.map({True: "-03-01", False: "-09-01"})
    rows["event_date"] = pd.to_datetime(start.where(year.notna()), format="%Y-%m-%d", errors="coerce"
                                        ).astype("datetime64[ns]")
    cost = rows["tuition"] + rows["accommodation"] + rows["textbooks"] - rows["other_aid"]
    rows["net_cost"] = cost.clip(lower=0).astype("int64")
    return rows


def disaster(rows: pd.DataFrame, raw: pd.DataFrame, problems: Problems) -> pd.DataFrame:
    """``net_loss = max(0, assessed_loss − other_compensation)``."""
    rows = rows.copy()
    rows["net_loss"] = (rows["assessed_loss"] - rows["other_compensation"]).clip(lower=0).astype("int64")
    return rows


def accident(rows: pd.DataFrame, raw: pd.DataFrame, problems: Problems) -> pd.DataFrame:
    """A disability needs a grade 1–10 (``bad_grade`` otherwise); for death and hospital the grade is
    not used and a blank or unreadable grade is left <NA>."""
    rows = rows.copy()
    missing = problems.ok & (rows["kind"] == "disability") & rows["grade"].isna()
    if missing.any():
        given = (raw["grade"] if "grade" in raw else pd.Series("", index=rows.index)).astype(str)
        given = given.where(given.str.strip() != "", "（空）")
        detail = ("伤残等级“" + given + "”：伤残须填 1–10 级 / grade \"" + given
                  + "\": a disability needs a grade from 1 to 10")
        problems.error(missing, "bad_grade", detail)
    return rows


def income(rows: pd.DataFrame, raw: pd.DataFrame, problems: Problems) -> pd.DataFrame:
    """Nothing to derive: the household's per-capita income as of a date."""
    return rows
