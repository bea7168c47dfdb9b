"""The departments: each one's :class:`~claims.reports.columns.Spec` in :data:`SPECS` (columns, record
identity, event date, Chinese label; whether rows name a person or a household comes from
:data:`products.model.SOURCES`) and its derivation, in two forms side by side.

The general reader's form (``medical`` …) takes the typed frame (canonical columns, one row per data
row), the raw cells (for details) and the :class:`~claims.reports.parse.Problems` of the file; it
returns the frame with the derived columns and records errors/warnings.  Rows that already have a cell
error are not re-checked.  The fast path's form (``medical_plain`` …) computes the same columns on the
typed arrays of a slice of rows and says which rows it has nothing to say about (the others go to the
general reader, which words their problems).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from claims.reports.columns import Col, Spec, completed
from claims.reports.parse import Problems, parse_term
from tabular.money import fen_to_yuan_text

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


def agriculture(rows: pd.DataFrame, raw: pd.DataFrame, problems: Problems) -> pd.DataFrame:
    """产业受损: ``net_loss = max(0, assessed_loss − other_compensation)`` (农业保险赔款, 补助 already had)."""
    return disaster(rows, raw, problems)


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




# ---- the same derivations on the fast path's arrays ---------------------------------------------------

def medical_plain(out: dict[str, object], cells: dict[str, pa.ChunkedArray]) -> np.ndarray:
    """``self_paid = medfee_sumamt − Σ funds`` and ``policy_self_paid = self_paid − fulamt_ownpay_amt −
    overlmt_selfpay`` (columns added to ``out``) → plain where both are ≥ 0, ``psn_part_amt`` (when
    given) is within 1 fen of ``self_paid`` and the row is not a refund (flagged, or naming an original
    settlement: the general reader signs its amounts; a negative amount is not plain already)."""
    self_paid = out["medfee_sumamt"] - out["hifp_pay"] - out["hifmi_pay"] - out["maf_pay"] - out["oth_pay"]
    policy = self_paid - out["fulamt_ownpay_amt"] - out["overlmt_selfpay"]
    psn = out["psn_part_amt"]
    given = ~psn.isna()
    ok = (self_paid >= 0) & (policy >= 0)
    ok &= ~given | (np.abs(psn.to_numpy(dtype=np.int64, na_value=0) - self_paid) <= 1)
    ok &= ~np.asarray(out["refund"], dtype=bool)
    ok &= ~pc.is_valid(out["orig_setl_id"]).to_numpy(zero_copy_only=False)
    out["self_paid"] = self_paid
    out["policy_self_paid"] = policy
    return ok


def education_plain(out: dict[str, object], cells: dict[str, pa.ChunkedArray]) -> np.ndarray:
    """``event_date`` = 1 September of the first school year; ``net_cost = max(0, tuition +
    accommodation + textbooks − other_aid)`` (the general reader's derivation; nothing refuses a row)."""
    first = np.asarray(out["school_year"], dtype=np.int64)
    september = (np.maximum(first, 1950) - 1970) * 12 + 8
    out["event_date"] = september.astype("datetime64[M]").astype("datetime64[ns]")
    cost = out["tuition"] + out["accommodation"] + out["textbooks"] - out["other_aid"]
    out["net_cost"] = np.maximum(cost, 0)
    return np.ones(len(first), dtype=bool)


def disaster_plain(out: dict[str, object], cells: dict[str, pa.ChunkedArray]) -> np.ndarray:
    """``net_loss = max(0, assessed_loss − other_compensation)``."""
    out["net_loss"] = np.maximum(out["assessed_loss"] - out["other_compensation"], 0)
    return np.ones(len(out["net_loss"]), dtype=bool)


def accident_plain(out: dict[str, object], cells: dict[str, pa.ChunkedArray]) -> np.ndarray:
    """A disability needs a grade: plain unless kind = disability with a blank grade."""
    disability = pc.equal(out["kind"], "disability").to_numpy(zero_copy_only=False)
    return ~(np.asarray(disability, dtype=bool) & out["grade"].isna())


# ---- the departments ----------------------------------------------------------------------------------

SPECS: dict[str, Spec] = {
    # 医保结算 (NHSA setlinfo field names)
    "medical": Spec(
        columns={
            "setl_id": Col("key"),
            "id_no": Col("id"),
            "name": Col("text"),
            "setl_date": Col("date"),
            "medfee_sumamt": Col("signed_money_required"),
            "hifp_pay": Col("signed_money"),
            "hifmi_pay": Col("signed_money"),
            "maf_pay": Col("signed_money"),
            "oth_pay": Col("signed_money"),
            "fulamt_ownpay_amt": Col("signed_money"),
            "overlmt_selfpay": Col("signed_money"),
            "psn_part_amt": Col("signed_money_or_null"),
            # a refund / reversal (退费、冲销): flagged, or naming the settlement it reverses, or negative
            "refund": Col("flag"),
            "orig_setl_id": Col("text"),
            # 医疗类别 (NHSA med_type): inpatient (住院) / outpatient (门诊, 门诊慢特病 …) / other; <NA> blank
            "med_type": Col("visit"),
        },
        required=("setl_id", "id_no", "setl_date", "medfee_sumamt", "hifp_pay", "hifmi_pay", "maf_pay",
                  "oth_pay", "fulamt_ownpay_amt", "overlmt_selfpay"),
        event_date="setl_date",
        label="医保（医疗费用结算）",
        derive=medical,
        plain=medical_plain,
        derived={"self_paid": "int64", "policy_self_paid": "int64"},
        identity=("setl_id", "refund"),  # a reversal is its own record
    ),
    # 教育
    "education": Spec(
        columns={
            "id_no": Col("id"),
            "name": Col("text"),
            "school_year": Col("school_year"),
            "term": Col("term"),
            "level": Col("level"),
            "tuition": Col("money_or_zero"),
            "accommodation": Col("money_or_zero"),
            "textbooks": Col("money_or_zero"),
            "other_aid": Col("money_or_zero"),
            "entry": Col("flag"),
            "record_no": Col("text"),
        },
        required=("id_no", "school_year", "level", "tuition", "accommodation", "textbooks"),
        event_date="event_date",
        label="教育（学费与升学）",
        derive=education,
        plain=education_plain,
        derived={"event_date": "datetime64[ns]", "net_cost": "int64"},
        # fees are columns of one row: the row is the record (no fee item in the key); a term's row is
        # its own record (autumn and spring of one school year)
        identity=("id_no", "school_year", "term", "record_no"),
        # a school term written with its year (2025-2026学年第一学期, 2025年秋季学期) gives the school year
        stand_ins={"school_year": "term"},
    ),
    # 应急管理 / 民政
    "disaster": Spec(
        columns={
            "household_no": Col("key"),
            "householder_id": Col("id"),
            "village_code": Col("village_code"),
            "event_date": Col("date"),
            "disaster_type": Col("required_text"),
            "assessed_loss": Col("money"),
            "other_compensation": Col("money_or_zero"),
            "disaster_no": Col("text"),
        },
        required=("household_no", "event_date", "disaster_type", "assessed_loss"),
        event_date="event_date",
        label="应急管理（灾害损失）",
        derive=disaster,
        plain=disaster_plain,
        derived={"net_loss": "int64"},
        identity=("household_no", "event_date", "disaster_type", "disaster_no"),
        # a list keyed by the householder's resident ID has no household number (the household is found
        # on the roster: claims.reports.householders)
        stand_ins={"household_no": "householder_id"},
    ),
    # 意外 (公安/卫健/医保 …)
    "accident": Spec(
        columns={
            "id_no": Col("id"),
            "name": Col("text"),
            "event_date": Col("date"),
            "kind": Col("kind"),
            "grade": Col("grade"),
            "medical_cost": Col("money_or_zero"),
        },
        required=("id_no", "event_date", "kind"),
        event_date="event_date",
        label="意外（伤残与身故）",
        derive=accident,
        plain=accident_plain,
        identity=("id_no", "event_date", "kind"),
    ),
    # 人社 / 乡村振兴: the household's per-capita income as of a date (nothing to derive)
    "income": Spec(
        columns={
            "household_no": Col("key"),
            "as_of": Col("date"),
            "per_capita_income": Col("money"),
            # 上年同期人均纯收入: the same household's per-capita income a year before, on the same row (an
            # income_drop line with drop_basis prior_year measures the fall against it)
            "prior_per_capita_income": Col("money_or_null"),
        },
        required=("household_no", "as_of", "per_capita_income"),
        event_date="as_of",
        label="收入监测",
        identity=("household_no", "as_of"),
    ),
    # 农业农村局: a household's loss of its farming or breeding business (产业受损), one row per household,
    # date and crop/industry item
    "agriculture": Spec(
        columns={
            "household_no": Col("key"),
            "householder_id": Col("id"),
            "village_code": Col("village_code"),
            "event_date": Col("date"),
            "item": Col("required_text"),
            "loss_cause": Col("text"),
            "assessed_loss": Col("money"),
            "other_compensation": Col("money_or_zero"),
            "loss_no": Col("text"),
        },
        required=("household_no", "event_date", "item", "assessed_loss"),
        event_date="event_date",
        label="农业农村（产业受损）",
        derive=agriculture,
        plain=disaster_plain,
        derived={"net_loss": "int64"},
        identity=("household_no", "event_date", "item", "loss_no"),
        stand_ins={"household_no": "householder_id"},
    ),
}
SPECS = {department: completed(department, spec) for department, spec in SPECS.items()}

DEPARTMENTS = tuple(SPECS)
#: Derived from :data:`SPECS` for the Dask engine: each department's event-date column, and the
#: departments whose rows name a person.
EVENT_DATE = {department: spec.event_date for department, spec in SPECS.items()}
PERSON_KEYED = frozenset(department for department, spec in SPECS.items() if spec.person_keyed)
