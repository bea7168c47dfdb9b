"""The department reports of a synthetic county for one policy year, and their monthly files.

Each builder returns a frame of the department's canonical columns, amounts in int fen, plus a
``month`` column (the file the row goes to): 医保 medical settlements (~12–18 % of people in a year,
heavy-tailed cost), 教育 school fees, 应急 disaster losses (~0.8 % of households), 公安/医院 accidents
(0.02 % death, 0.05 % disability, 0.4 % hospital per person-year) and the year-end income re-survey
(``domain.md`` §7–§10).  Every department draws from its own part generator, so changing one never
shifts the numbers of another.  In the files money is yuan text with exactly two decimals; the medical
file carries the Chinese 医保 export headers (:data:`MEDICAL_HEADERS_ZH`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from claims.synth.arrays import (
    date_text,
    days_in_months,
    days_in_year,
    part_rng,
    round_fen,
    year_month_day,
    yuan_text,
    zero_padded,
)
from claims.synth.files import write_frame
from claims.synth.roster import DIBAO, MONITORED, TEKUN

MEDICAL_COLUMNS = ("setl_id", "id_no", "name", "setl_date", "medfee_sumamt", "hifp_pay", "hifmi_pay", "maf_pay",
                   "oth_pay", "fulamt_ownpay_amt", "overlmt_selfpay", "psn_part_amt")
#: canonical medical column → the Chinese header of a county 医保 settlement export
MEDICAL_HEADERS_ZH = dict(zip(MEDICAL_COLUMNS, (
    "结算ID", "身份证号", "姓名", "结算日期", "医疗费总额", "统筹基金支出", "大病保险", "医疗救助", "其他支出",
    "全自费金额", "超限价自费", "个人负担总金额")))
EDUCATION_COLUMNS = ("id_no", "name", "school_year", "level", "tuition", "accommodation", "textbooks",
                     "other_aid", "entry")
DISASTER_COLUMNS = ("household_no", "event_date", "disaster_type", "assessed_loss", "other_compensation")
ACCIDENT_COLUMNS = ("id_no", "name", "event_date", "kind", "grade", "medical_cost")
INCOME_COLUMNS = ("household_no", "as_of", "per_capita_income")

#: the columns of each department's file, and which of them are amounts (fen → yuan text when written)
COLUMNS = {"medical": MEDICAL_COLUMNS, "education": EDUCATION_COLUMNS, "disaster": DISASTER_COLUMNS,
           "accident": ACCIDENT_COLUMNS, "income": INCOME_COLUMNS}
AMOUNT_COLUMNS = {
    "medical": ("medfee_sumamt", "hifp_pay", "hifmi_pay", "maf_pay", "oth_pay", "fulamt_ownpay_amt",
                "overlmt_selfpay", "psn_part_amt"),
    "education": ("tuition", "accommodation", "textbooks", "other_aid"),
    "disaster": ("assessed_loss", "other_compensation"),
    "accident": (),
    "income": ("per_capita_income",),
}

DISASTER_TYPES = ("洪涝", "风雹", "干旱", "火灾", "农作物受灾", "养殖损失", "房屋损坏")
DISASTER_TYPE_P = np.array([0.30, 0.15, 0.10, 0.08, 0.17, 0.10, 0.10])
# month weights (Jan..Dec) per disaster type: summer flood months heavier
DISASTER_MONTHS = np.array([
    [0, 0, 0, 0, 1, 4, 10, 10, 3, 0, 0, 0],   # 洪涝
    [0, 0, 0, 2, 4, 5, 4, 3, 1, 0, 0, 0],     # 风雹
    [0, 0, 2, 4, 5, 4, 0, 0, 0, 0, 0, 0],     # 干旱
    [4, 4, 2, 1, 0, 0, 0, 0, 0, 1, 3, 4],     # 火灾
    [0, 0, 0, 1, 2, 3, 4, 4, 3, 1, 0, 0],     # 农作物受灾
    [1, 1, 1, 1, 1, 2, 3, 3, 2, 1, 1, 1],     # 养殖损失
    [1, 1, 1, 1, 1, 2, 4, 4, 2, 1, 1, 1],     # 房屋损坏
], dtype=float)
CLUSTERED_DISASTERS = np.array([1, 1, 1, 0, 1, 0, 0], dtype=bool)  # one event date per village and type

#: medical settlements per calendar month (winter heavier)
MEDICAL_MONTH_W = np.array([1.2, 1.0, 1.05, 0.95, 0.9, 0.85, 0.9, 0.9, 0.9, 0.95, 1.05, 1.25])


# ---------------------------------------------------------------------------------------------------
# 医保 medical settlements


def medical_propensity(age: np.ndarray, category: np.ndarray) -> np.ndarray:
    """Yearly chance of a medical settlement: 7 % under 15, 8 % under 45, 15 % under 65, 26 % above,
    × 1.3 for 特困供养 and 低保户, × 1.6 for 突发严重困难户."""
    p = np.select([age < 15, age < 45, age < 65], [0.07, 0.08, 0.15], 0.26)
    return p * np.select([category == TEKUN, category == DIBAO, category == 2], [1.3, 1.3, 1.6], 1.0)


def settlement_amounts(rng: np.random.Generator, who: np.ndarray, is_major: np.ndarray, pcat: np.ndarray,
                       year: int) -> dict[str, np.ndarray]:
    """Amounts (fen) and dates of the settlements of patients ``who`` (person index per settlement).

    ``medfee_sumamt`` heavy-tailed; ``hifp_pay`` = 55–65 % of the policy scope above the hospital level's
    deductible (inpatient); ``hifmi_pay`` (大病保险): :func:`_critical_illness_pay`; ``maf_pay`` (医疗救助)
    by category; ``psn_part_amt = medfee_sumamt − hifp_pay − hifmi_pay − maf_pay − oth_pay`` exactly.
    """
    k = len(who)
    inpatient = is_major | (rng.random(k) < 0.55)
    body = np.where(inpatient, rng.lognormal(np.log(4800), 0.75, k), rng.lognormal(np.log(1100), 0.75, k))
    tail = 15_000 * (1.0 - rng.random(k)) ** (-1 / 2.2)  # Pareto(x_m=15,000, α=2.2)
    total_yuan = np.where(is_major, np.maximum(body, tail), body)
    total = np.clip(round_fen(total_yuan), 5_000, 150_000_000)  # 50 yuan … 1.5 million

    full_own = (total * rng.uniform(0.03, 0.10, k)).astype(np.int64)
    overlmt = (total * np.where(rng.random(k) < 0.4, rng.uniform(0.0, 0.02, k), 0.0)).astype(np.int64)
    scope = total - full_own - overlmt
    level = rng.choice(3, size=k, p=[0.35, 0.45, 0.20])  # township / county / city hospital
    deductible = np.where(inpatient, np.array([30_000, 60_000, 100_000])[level], 0)
    hifp = ((np.maximum(scope - deductible, 0)) * rng.uniform(0.55, 0.65, k)).astype(np.int64)
    hifp = np.minimum(hifp, 20_000_000)  # pooled-fund ceiling 200,000 yuan
    scope_self = scope - hifp
    poor = MONITORED[pcat] | (pcat == TEKUN) | (pcat == DIBAO)
    month = rng.choice(12, size=k, p=MEDICAL_MONTH_W / MEDICAL_MONTH_W.sum()) + 1
    date = days_in_months(year, month, rng)
    hifmi = _critical_illness_pay(who, date, scope_self, poor)
    rem = scope_self - hifmi
    maf_rate = np.select(
        [pcat == TEKUN, pcat == DIBAO, MONITORED[pcat] & (rng.random(k) < 0.15)],
        [rng.uniform(0.7, 1.0, k), rng.uniform(0.6, 0.7, k), rng.uniform(0.2, 0.4, k)], 0.0)
    maf = np.minimum((rem * maf_rate).astype(np.int64), 3_000_000)
    rem = rem - maf
    oth = np.where(rng.random(k) < 0.02, (rem * rng.uniform(0.1, 0.5, k)).astype(np.int64), 0)
    psn = total - hifp - hifmi - maf - oth
    assert (psn >= full_own + overlmt).all() and (np.stack([hifp, hifmi, maf, oth]) >= 0).all()

    return {"medfee_sumamt": total, "hifp_pay": hifp, "hifmi_pay": hifmi, "maf_pay": maf, "oth_pay": oth,
            "fulamt_ownpay_amt": full_own, "overlmt_selfpay": overlmt, "psn_part_amt": psn, "month": month,
            "date": date}


def _critical_illness_pay(who: np.ndarray, date: np.ndarray, scope_self: np.ndarray, poor: np.ndarray) -> np.ndarray:
    """大病保险 per settlement (fen), exact: with ``C`` a person's cumulative policy-scope self-pay of the
    year in date order, ``paid(C) = ⌊max(C − line, 0) × permille / 1000⌋`` and each settlement gets
    ``paid(C) − paid(C before it)``.  Line 15,000 yuan at 600 ‰; poor households 7,500 yuan at 650 ‰."""
    k = len(who)
    by_person = np.lexsort((date, who))
    ci_line = np.where(poor, 750_000, 1_500_000)[by_person]
    ci_permille = np.where(poor, 650, 600)[by_person]
    ss, w = scope_self[by_person], who[by_person]
    first = np.ones(k, dtype=bool)
    first[1:] = w[1:] != w[:-1]
    cum = np.cumsum(ss)
    cum = cum - (cum - ss)[first][np.cumsum(first) - 1]
    paid_cum = np.maximum(cum - ci_line, 0) * ci_permille // 1000
    prev = np.zeros(k, dtype=np.int64)
    prev[1:] = paid_cum[:-1]
    prev[first] = 0
    hifmi = np.empty(k, dtype=np.int64)
    hifmi[by_person] = paid_cum - prev
    return hifmi


def medical(hh: dict, ps: dict, seed: int, year: int) -> pd.DataFrame:
    """Medical settlements in date order: patients drawn by :func:`medical_propensity`, 3 % of them
    seriously ill with more stays (geometric counts, at most 24), settlement ids increasing with date."""
    rng = part_rng(seed, "medical")
    n = len(ps["age"])
    cat = hh["category"][ps["hh"]]
    patient = np.flatnonzero(rng.random(n) < medical_propensity(ps["age"], cat))
    n_pat = len(patient)
    major = rng.random(n_pat) < 0.03  # serious illness: repeated, expensive inpatient stays
    count = np.where(major, rng.geometric(0.35, n_pat), rng.geometric(0.6, n_pat))
    count = np.minimum(count, 24)
    who = np.repeat(patient, count)
    is_major = np.repeat(major, count)
    k = len(who)

    a = settlement_amounts(rng, who, is_major, cat[who], year)
    date = a["date"]
    order = np.lexsort((who, date))  # settlement ids in date order
    serial = np.cumsum(rng.integers(1, 10, size=k))
    setl = np.empty(k, dtype=np.int64)
    setl[order] = serial
    setl_id = np.char.add("S", zero_padded(year * 100_000_000 + setl, 12))
    frame = pd.DataFrame({
        "setl_id": setl_id, "id_no": ps["id_no"][who], "name": ps["name"][who], "setl_date": date_text(date),
        **{c: a[c] for c in MEDICAL_COLUMNS[4:]}, "month": a["month"],
    })
    return frame.iloc[order].reset_index(drop=True)


# ---------------------------------------------------------------------------------------------------
# The other departments


def education(hh: dict, ps: dict, seed: int, year: int) -> pd.DataFrame:
    """School fees of the school year starting in September: ages 15–22 on 1 September (85 % of 15–17,
    45 % of 18–22 in school), 高中 / 中职 / 专科 / 本科 fee ranges, 30 % of poor students with other aid."""
    rng = part_rng(seed, "education")
    n = len(ps["age"])
    _, bm, bd = year_month_day(ps["birth"])
    by = year - ps["age"] - 1
    age = year - by - ((bm * 100 + bd) > 901)  # age on 1 September of the policy year
    in_range = (age >= 15) & (age <= 22)
    attend = in_range & (rng.random(n) < np.where(age <= 17, 0.85, 0.45))
    idx = np.flatnonzero(attend)
    a = age[idx]
    k = len(idx)
    u = rng.random(k)
    level = np.where(a <= 17, np.where(u < 0.62, 0, 1),                        # 高中 / 中职
                     np.where(a <= 20, np.where(u < 0.45, 2, 3), np.where(u < 0.1, 2, 3)))  # 专科 / 本科
    level_names = np.array(["高中", "中职", "专科", "本科"])
    entry = ((level <= 1) & (a == 15)) | ((level >= 2) & (a == 18))
    lo = np.array([1200, 1600, 5000, 4500], dtype=float)[level]
    hi = np.array([1800, 2400, 8000, 12000], dtype=float)[level]
    tuition = round_fen(lo + (hi - lo) * rng.random(k) ** 2, 50)  # most fees near the low end
    accommodation = round_fen(rng.uniform(800, 1500, k), 50)
    textbooks = round_fen(rng.uniform(300, 900, k), 10)
    cat = hh["category"][ps["hh"][idx]]
    aided = np.where(MONITORED[cat] | (cat == TEKUN) | (cat == DIBAO), rng.random(k) < 0.30, rng.random(k) < 0.03)
    other_aid = np.where(aided, round_fen(rng.uniform(2000, 5000, k), 500), 0)
    return pd.DataFrame({
        "id_no": ps["id_no"][idx], "name": ps["name"][idx], "school_year": f"{year}-{year + 1}",
        "level": level_names[level], "tuition": tuition, "accommodation": accommodation, "textbooks": textbooks,
        "other_aid": other_aid, "entry": entry.astype(np.int64), "month": 9,
    })


def disaster(hh: dict, seed: int, year: int) -> pd.DataFrame:
    """Disaster losses of 0.8 % of households: weather events share one date per village and type
    (:data:`CLUSTERED_DISASTERS`), losses lognormal with an 8 % Pareto tail, some compensation."""
    rng = part_rng(seed, "disaster")
    n_hh = hh["n"]
    k = int(rng.binomial(n_hh, 0.008))
    which = np.sort(rng.choice(n_hh, size=k, replace=False))
    dtype = rng.choice(len(DISASTER_TYPES), size=k, p=DISASTER_TYPE_P)
    mw = DISASTER_MONTHS / DISASTER_MONTHS.sum(axis=1, keepdims=True)
    n_vil = hh["n_villages"]
    vil_month = np.stack([rng.choice(12, size=n_vil, p=mw[t]) + 1 for t in range(len(DISASTER_TYPES))], axis=1)
    vil_date = days_in_months(year, vil_month.ravel(), rng).reshape(n_vil, -1)
    own_month = (mw.cumsum(axis=1)[dtype] < rng.random(k)[:, None]).sum(axis=1) + 1
    own_date = days_in_months(year, own_month, rng)
    date = np.where(CLUSTERED_DISASTERS[dtype], vil_date[hh["village"][which], dtype], own_date)
    body = rng.lognormal(np.log(8000), 0.8, k)
    tail = 30_000 * (1.0 - rng.random(k)) ** (-1 / 1.3)
    loss = np.minimum(round_fen(np.where(rng.random(k) < 0.08, tail, body), 10), 80_000_000)
    house = dtype == DISASTER_TYPES.index("房屋损坏")
    comp = np.where(house & (rng.random(k) < 0.5), np.where(loss >= 5_000_000, 2_000_000, 200_000), 0)
    comp = np.where(~house & (rng.random(k) < 0.15), (loss * rng.uniform(0.1, 0.3, k)).astype(np.int64), comp)
    comp = np.minimum(round_fen(comp / 100, 10), loss)
    frame = pd.DataFrame({
        "household_no": hh["household_no"][which], "event_date": date_text(date),
        "disaster_type": np.array(DISASTER_TYPES)[dtype], "assessed_loss": loss, "other_compensation": comp,
        "month": year_month_day(date)[1],
    })
    return frame.sort_values(["event_date", "household_no"], kind="stable").reset_index(drop=True)


def accident(hh: dict, ps: dict, seed: int, year: int) -> pd.DataFrame:
    """Accidents: deaths 0.02 %, disabilities 0.05 % (grade 1–10), hospital stays 0.4 % per person-year,
    plus in a county of ≥ 50,000 people one multi-victim crash per 200,000 people (three members of one
    household, severe)."""
    rng = part_rng(seed, "accident")
    people = len(ps["age"])
    kinds, victims = [], []
    n_multi = max(1, people // 200_000) if people >= 50_000 else 0
    big = np.flatnonzero(hh["size"] >= 3)
    multi_hh = np.array([], dtype=np.int64)
    if n_multi and len(big):
        multi_hh = rng.choice(big, size=min(n_multi, len(big)), replace=False)
    first = np.concatenate([[0], np.cumsum(hh["size"])[:-1]])
    mv = (first[multi_hh][:, None] + np.arange(3)).ravel()
    m_kind = np.where(rng.random(len(mv)) < 0.5, 0, 1)  # death or disability
    m_date = np.repeat(days_in_year(year, len(multi_hh), rng), 3)
    taken = np.zeros(people, dtype=bool)
    taken[mv] = True
    for kind, rate in ((0, 0.0002), (1, 0.0005), (2, 0.004)):
        k = int(rng.binomial(people, rate))
        pool = np.flatnonzero(~taken)
        v = rng.choice(pool, size=min(k, len(pool)), replace=False)
        if kind < 2:
            taken[v] = True
        victims.append(v)
        kinds.append(np.full(len(v), kind))
    victims.append(mv)
    kinds.append(m_kind)
    v = np.concatenate(victims)
    kind = np.concatenate(kinds)
    date = np.concatenate([days_in_year(year, len(v) - len(mv), rng), m_date]).astype("datetime64[D]")
    k = len(v)
    g = rng.choice(10, size=k, p=np.array([1, 1, 2, 3, 4, 6, 8, 10, 14, 18]) / 67) + 1
    g = np.where(np.arange(k) >= k - len(mv), rng.integers(1, 4, k), g)  # the multi-victim crash: severe
    grade = np.where(kind == 1, g.astype(str).astype(object), "")
    cost = round_fen(np.minimum(rng.lognormal(np.log(6000), 0.8, k), 300_000))
    frame = pd.DataFrame({
        "id_no": ps["id_no"][v], "name": ps["name"][v], "event_date": date_text(date),
        "kind": np.array(["death", "disability", "hospital"])[kind], "grade": grade,
        "medical_cost": np.where(kind == 2, yuan_text(cost), ""), "month": year_month_day(date)[1],
    })
    return frame.sort_values(["event_date", "id_no"], kind="stable").reset_index(drop=True)


def income(hh: dict, seed: int, year: int) -> pd.DataFrame:
    """The December income re-survey of 30 % of households: income × lognormal(3 %, 15 %), 3 % falling to
    2,500–5,900 yuan, floor 1,000 yuan; each township on its own day."""
    rng = part_rng(seed, "income")
    n_hh = hh["n"]
    which = np.flatnonzero(rng.random(n_hh) < 0.30)
    k = len(which)
    old = hh["income"][which]
    new = (old * rng.lognormal(0.03, 0.15, k)).astype(np.int64)
    drop = rng.random(k) < 0.03
    new = np.where(drop, np.minimum((old * rng.uniform(0.3, 0.6, k)).astype(np.int64),
                                    round_fen(rng.uniform(2500, 5900, k))), new)
    new = np.maximum(round_fen(new / 100), 100000)
    day = 1 + hh["town"][which] % 20  # each township surveys on its own day
    as_of = np.datetime64(f"{year}-12-01") + (day - 1)
    return pd.DataFrame({"household_no": hh["household_no"][which], "as_of": date_text(as_of),
                         "per_capita_income": new, "month": 12})


def department_builders(hh: dict, ps: dict, seed: int, year: int) -> tuple[tuple[str, Callable[[], pd.DataFrame]], ...]:
    """``(department, build)`` in file order; ``build()`` makes the department's frame when called."""
    return (
        ("medical", lambda: medical(hh, ps, seed, year)),
        ("education", lambda: education(hh, ps, seed, year)),
        ("disaster", lambda: disaster(hh, seed, year)),
        ("accident", lambda: accident(hh, ps, seed, year)),
        ("income", lambda: income(hh, seed, year)),
    )


# ---------------------------------------------------------------------------------------------------
# Monthly files


def file_table(dept: str, frame: pd.DataFrame) -> pd.DataFrame:
    """The department's file columns, amounts as yuan text, medical headers in Chinese."""
    table = pd.DataFrame({c: (yuan_text(frame[c].to_numpy()) if c in AMOUNT_COLUMNS[dept] else frame[c])
                          for c in COLUMNS[dept]})
    return table.rename(columns=MEDICAL_HEADERS_ZH) if dept == "medical" else table


def write_monthly_files(dept: str, frame: pd.DataFrame, out: Path, year: int, fmt: str,
                        on_file: Callable[[int], None]) -> dict:
    """``<dept>/<year>-<month>.<fmt>`` for every month with rows; returns the manifest entry
    ``{"rows", "files", "rows_per_file"}``.  ``on_file(month)`` is called after each file."""
    files: list[str] = []
    rows: dict[str, int] = {}
    for month in range(1, 13):
        part = frame[frame["month"] == month]
        if not len(part):
            continue
        rel = f"{dept}/{year}-{month:02d}.{fmt}"
        write_frame(file_table(dept, part.reset_index(drop=True)), out / rel, fmt)
        files.append(rel)
        rows[rel] = len(part)
        on_file(month)
    return {"rows": int(len(frame)), "files": files, "rows_per_file": rows}
