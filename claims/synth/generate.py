"""A realistic synthetic county: roster plus a policy year of department reports, deterministic by seed.

:func:`synth_county` writes a household roster (``households.csv``), its people (``persons.csv``) and the
monthly department reports the claims engine reads (医保 medical settlements, 教育 school fees, 应急
disaster losses, 公安/医院 accidents, the year-end income re-survey), plus ``manifest.json``.

Everything is synthetic: names are drawn from common surname and given-name characters, resident IDs
are built with :func:`tabular.resident_id` rules (GB 11643 check digit, real birth dates, odd sequence
for men and even for women) and do not belong to anyone.

Magnitudes follow ``domain.md`` §2–§10 (see the constants below): household size 1–7 (mean ≈ 3.2),
about one administrative village per 1,500 people with 3–6 natural villages each, ~12–18 % of people
with a medical settlement in a year with a heavy-tailed cost, ~0.8 % of households with a disaster
loss, accident rates of 0.02 % (death) / 0.05 % (disability) / 0.4 % (hospital) per person-year.

Design:

* fully vectorised numpy: persons and households are generated as arrays (no loop per person); the
  only loops are over months and departments;
* every part draws from its own generator derived from ``(seed, part name)``, so adding or changing
  one department never shifts the numbers of another;
* money is integer fen throughout and written as yuan text with exactly two decimals; the medical
  identity ``psn_part_amt = medfee_sumamt − hifp_pay − hifmi_pay − maf_pay − oth_pay`` holds to the fen;
* files are UTF-8 with BOM, ``\\n`` line ends, canonical English headers except the medical file,
  which carries the usual Chinese 医保 export headers (:data:`MEDICAL_HEADERS_ZH`).
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from tabular.money import fen_to_yuan_text
from tabular.resident_id import CHECK_CHARS, WEIGHTS

__all__ = ["CATEGORIES", "MEDICAL_COLUMNS", "MEDICAL_HEADERS_ZH", "county_roster", "medical_chunk", "province_counties",
           "synth_county", "synth_province"]

# ---------------------------------------------------------------------------------------------------
# Tables

#: Household categories and their shares (domain.md §6).  特困供养 only occurs in 1–2 person households.
CATEGORIES = ("脱贫不稳定户", "边缘易致贫户", "突发严重困难户", "稳定脱贫户", "一般农户", "特困供养", "低保户")
CATEGORY_SHARES = np.array([0.15, 0.20, 0.05, 0.30, 0.20, 0.05, 0.05])
TEKUN = CATEGORIES.index("特困供养")
DIBAO = CATEGORIES.index("低保户")
MONITORED = np.array([1, 1, 1, 0, 0, 0, 0], dtype=bool)  # the three monitoring types (三类监测对象)
#: per-capita income (yuan): lognormal median and sigma per category
INCOME_MEDIAN = np.array([6500, 7000, 6000, 9000, 11000, 5500, 5200], dtype=float)
INCOME_SIGMA = np.array([0.30, 0.30, 0.40, 0.35, 0.45, 0.25, 0.25])

#: household size 1..7, mean ≈ 3.27
SIZE_PMF = np.array([0.14, 0.22, 0.22, 0.20, 0.12, 0.07, 0.03])

RELATIONS = ("户主", "配偶", "子女", "父母", "孙子女", "儿媳")
R_HEAD, R_SPOUSE, R_CHILD, R_PARENT, R_GRANDCHILD, R_INLAW = range(6)

# common surnames with rough frequency weights (per mille)
SURNAMES = (
    "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎余潘杜"
    "戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段雷钱汤尹黎易常武乔贺赖龚文"
)
_SURNAME_W = np.concatenate([np.array([72, 71, 69, 54, 45, 31, 23, 22, 21, 21, 17, 17, 13, 12, 11, 10, 10, 9, 9, 9]),
                             np.full(len(SURNAMES) - 20, 4.0)])
SURNAME_P = _SURNAME_W / _SURNAME_W.sum()
MALE_CHARS = "伟强磊军勇杰涛明超华建国平刚辉鹏斌波宇浩凯健俊帆峰亮成志新海林东文龙振宏庆春德福贵生永胜利金山忠兴旺"
FEMALE_CHARS = "芳娜敏静丽艳娟霞秀英华玲兰红梅燕琴云莲珍凤翠桂萍雪琳婷慧颖洁晶倩月荣爱淑彩春巧妮玉芬菊"

#: natural-village (自然村) name parts: 张庄, 李家沟, 王家洼, 后营 …
NV_SURNAMES = "张王李刘陈杨赵黄周吴孙胡朱高马郭何宋郑韩冯董曹邓彭吕苏蒋魏田"
NV_SUFFIXES = ("庄", "家沟", "家洼", "家屯", "家寨", "家湾", "家坡", "楼", "集", "店", "营", "堡", "家岭", "村")
NV_DIRECTIONS = "前后东西南北大小上下"
NV_DIR_SUFFIXES = ("营", "庄", "屯", "街", "寨", "堡", "岗", "河")
NV_POOL = np.array([s + x for s in NV_SURNAMES for x in NV_SUFFIXES] + [d + x for d in NV_DIRECTIONS
                                                                        for x in NV_DIR_SUFFIXES])

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

# neighbouring county codes used for in-migrants (spouses married in, etc.): last two digits
NEIGHBOUR_SUFFIXES = (21, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 35)

Progress = Callable[[str, int, int], None] | None


def _rng(seed: int, part: str) -> np.random.Generator:
    """An independent generator per part, stable under adding parts."""
    return np.random.default_rng([int(seed), zlib.crc32(part.encode("utf-8"))])


# ---------------------------------------------------------------------------------------------------
# Small vectorised helpers


def _digits(values: np.ndarray, width: int) -> np.ndarray:
    """(n,) non-negative ints → (n, width) uint8 ASCII digit matrix, zero-padded."""
    v = np.asarray(values, dtype=np.int64)
    pow10 = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    return ((v[:, None] // pow10) % 10 + 48).astype(np.uint8)


def _ascii(matrix: np.ndarray) -> np.ndarray:
    """(n, w) uint8 ASCII matrix → (n,) unicode strings."""
    m = np.ascontiguousarray(matrix, dtype=np.uint8)
    return m.view(f"S{m.shape[1]}").ravel().astype(f"U{m.shape[1]}")


def _fmt_int(values: np.ndarray, width: int) -> np.ndarray:
    return _ascii(_digits(values, width))


def _yuan(fen: np.ndarray) -> np.ndarray:
    f = np.asarray(fen, dtype=np.int64)
    if len(f) and f.min() < 0:
        raise AssertionError("negative amount in synthetic data")
    return fen_to_yuan_text(f).to_numpy(dtype=object)


def _date_text(days: np.ndarray) -> np.ndarray:
    return np.datetime_as_string(np.asarray(days, dtype="datetime64[D]"), unit="D")


def _ymd(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    d = np.asarray(days, dtype="datetime64[D]")
    y = d.astype("datetime64[Y]").astype(np.int64) + 1970
    m = d.astype("datetime64[M]")
    month = m.astype(np.int64) % 12 + 1
    day = (d - m.astype("datetime64[D]")).astype(np.int64) + 1
    return y, month, day


def _month_days(year: int, months: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A uniform random day within the given months (1..12) of ``year``, as datetime64[D]."""
    months = np.asarray(months, dtype=np.int64)
    start = np.datetime64(f"{year}-01", "M") + (months - 1)
    first = start.astype("datetime64[D]")
    length = ((start + 1).astype("datetime64[D]") - first).astype(np.int64)
    return first + np.floor(rng.random(len(months)) * length).astype(np.int64)


def _year_days(year: int, n: int, rng: np.random.Generator, weights: np.ndarray | None = None) -> np.ndarray:
    w = np.ones(12) if weights is None else np.asarray(weights, dtype=float)
    months = rng.choice(12, size=n, p=w / w.sum()) + 1
    return _month_days(year, months, rng)


def _round_fen(yuan: np.ndarray, step_yuan: float = 0.01) -> np.ndarray:
    """Yuan floats → int fen, rounded to a multiple of ``step_yuan``."""
    step = int(round(step_yuan * 100))
    return (np.round(np.asarray(yuan) * 100 / step) * step).astype(np.int64)


# ---------------------------------------------------------------------------------------------------
# Roster


def _households(people: int, seed: int, county: str) -> dict:
    rng = _rng(seed, "households")
    draw = rng.choice(7, size=people // 2 + 16, p=SIZE_PMF) + 1
    while draw.sum() < people:  # only for tiny counties (never loops more than once or twice)
        draw = np.concatenate([draw, rng.choice(7, size=people + 16, p=SIZE_PMF) + 1])
    csum = np.cumsum(draw)
    n_hh = int(np.searchsorted(csum, people)) + 1
    size = draw[:n_hh].copy()
    size[-1] = people - (csum[n_hh - 2] if n_hh > 1 else 0)

    # administrative villages: ~1 per 1,500 people, lognormal populations, contiguous blocks of households
    n_vil = max(1, min(n_hh, int(round(people / 1500))))
    share = rng.lognormal(0.0, 0.3, n_vil)
    bounds = np.round(np.cumsum(share) / share.sum() * n_hh).astype(np.int64)
    bounds[-1] = n_hh
    starts = np.concatenate([[0], bounds[:-1]])
    bad = bounds <= starts  # guarantee ≥ 1 household per village
    if bad.any():
        bounds = np.linspace(0, n_hh, n_vil + 1).round().astype(np.int64)[1:]
        starts = np.concatenate([[0], bounds[:-1]])
    village = np.repeat(np.arange(n_vil), bounds - starts)
    serial = np.arange(n_hh) - starts[village] + 1
    if serial.max() > 9999:
        raise ValueError("a village would hold more than 9,999 households")

    # townships of 10–20 villages; codes 100+t, village codes 200+index within the township
    per_town = rng.integers(10, 21, size=n_vil // 10 + 2)
    town_of_vil = np.repeat(np.arange(len(per_town)), per_town)[:n_vil]
    town_start = np.concatenate([[0], np.cumsum(per_town)[:-1]])
    vil_in_town = np.arange(n_vil) - town_start[town_of_vil]
    if town_of_vil.max() > 899:
        raise ValueError("too many townships for 3-digit township codes")
    town_code = 100 + town_of_vil
    vil_code = 200 + vil_in_town
    county_m = np.frombuffer(county.encode("ascii"), dtype=np.uint8)
    vil_tail = np.hstack([_digits(town_code, 3), _digits(vil_code, 3)])
    village_code = _ascii(np.hstack([np.tile(county_m, (n_vil, 1)), vil_tail]))
    household_no = _ascii(np.hstack([np.tile(county_m, (n_hh, 1)), vil_tail[village], _digits(serial, 4)]))

    # natural villages: 3–6 distinct names per administrative village
    n_nat = rng.integers(3, 7, size=n_vil)
    pick = np.argsort(rng.random((n_vil, len(NV_POOL))), axis=1)[:, :6]
    nat_idx = np.floor(rng.random(n_hh) * n_nat[village]).astype(np.int64)
    natural_village = NV_POOL[pick[village, nat_idx]]

    # categories (特困供养 only in 1–2 person households, keeping the overall shares)
    small = size <= 2
    small_share = max(small.mean(), 1e-9)
    p_small = CATEGORY_SHARES.copy()
    p_small[TEKUN] = min(0.9, CATEGORY_SHARES[TEKUN] / small_share)
    rest = 1.0 - CATEGORY_SHARES[TEKUN]
    p_small[np.arange(7) != TEKUN] *= (1.0 - p_small[TEKUN]) / rest
    p_big = CATEGORY_SHARES.copy()
    p_big[TEKUN] = 0.0
    p_big /= p_big.sum()
    u = rng.random(n_hh)
    category = np.where(small, np.searchsorted(np.cumsum(p_small), u * p_small.sum(), side="right"),
                        np.searchsorted(np.cumsum(p_big), u, side="right"))
    category = np.minimum(category, 6)
    income = _round_fen(INCOME_MEDIAN[category] * np.exp(rng.normal(0.0, 1.0, n_hh) * INCOME_SIGMA[category]))
    income = np.maximum(income, 120000)

    return {
        "n": n_hh, "size": size, "village": village, "village_code": village_code, "n_villages": n_vil,
        "n_natural": int(n_nat.sum()), "household_no": household_no, "natural_village": natural_village,
        "category": category, "income": income, "town": town_of_vil[village],
    }


def _persons(hh: dict, people: int, seed: int, year: int, county: str,
             neighbours: np.ndarray | None = None) -> dict:
    """People of the households; in-migrants carry an area code from ``neighbours`` (default: the
    neighbouring counties of the same prefecture, :data:`NEIGHBOUR_SUFFIXES`)."""
    rng = _rng(seed, "persons")
    size = hh["size"]
    hh_of = np.repeat(np.arange(hh["n"]), size)
    first = np.concatenate([[0], np.cumsum(size)[:-1]])
    pos = np.arange(people) - first[hh_of]
    psize = size[hh_of]

    # relations
    u = rng.random(people)
    rel = np.full(people, R_CHILD, dtype=np.int64)
    rel[pos == 0] = R_HEAD
    p1 = pos == 1
    rel[p1 & (u < 0.85)] = R_SPOUSE
    rel[p1 & (u >= 0.85) & (u < 0.94)] = R_CHILD
    rel[p1 & (u >= 0.94)] = R_PARENT
    p2 = pos >= 2
    rel[p2 & (u < 0.65)] = R_CHILD
    rel[p2 & (u >= 0.65) & (u < 0.78)] = R_PARENT
    rel[p2 & (u >= 0.78) & (u < 0.93)] = R_GRANDCHILD
    rel[p2 & (u >= 0.93)] = R_INLAW

    # ages at 1 January of the policy year; the head's age drives everyone else's
    head_age = np.where(size == 1, rng.normal(63, 13, hh["n"]), rng.normal(50, 12, hh["n"]))
    head_age = np.clip(np.round(head_age), 22, 88).astype(np.int64)
    ha = head_age[hh_of]
    # relations that do not fit the head's age become children
    rel[(rel == R_PARENT) & (ha > 62)] = R_CHILD
    rel[(rel == R_GRANDCHILD) & (ha < 50)] = R_CHILD
    rel[(rel == R_INLAW) & (ha < 44)] = R_CHILD
    g = rng.random(people)
    age = ha.copy()
    age = np.where(rel == R_SPOUSE, ha + np.round(rng.normal(-2, 3, people)), age)
    age = np.where(rel == R_CHILD, ha - (22 + np.floor(g * 15)), age)
    age = np.where(rel == R_PARENT, ha + (22 + np.floor(g * 12)), age)
    age = np.where(rel == R_GRANDCHILD, ha - (44 + np.floor(g * 16)), age)
    age = np.where(rel == R_INLAW, ha - (22 + np.floor(g * 10)), age)
    age = np.clip(age, 0, 90).astype(np.int64)
    age[(rel == R_SPOUSE) | (rel == R_INLAW)] = np.maximum(age[(rel == R_SPOUSE) | (rel == R_INLAW)], 18)

    # sex: 1 = male
    head_male = rng.random(hh["n"]) < 0.82
    s = rng.random(people)
    male = s < 0.52
    male[rel == R_HEAD] = head_male
    male[rel == R_SPOUSE] = ~head_male[hh_of[rel == R_SPOUSE]]
    male[rel == R_PARENT] = s[rel == R_PARENT] < 0.4
    male[rel == R_INLAW] = False

    # birth dates: born in calendar year (year − age − 1), so the age on 1 January is exact
    by = year - age - 1
    jan1 = (by - 1970).astype("datetime64[Y]").astype("datetime64[D]")
    ylen = np.where((by % 4 == 0) & ((by % 100 != 0) | (by % 400 == 0)), 366, 365)
    birth = jan1 + np.floor(rng.random(people) * ylen).astype(np.int64)

    # names
    head_sur = rng.choice(len(SURNAMES), size=hh["n"], p=SURNAME_P)
    own_sur = rng.choice(len(SURNAMES), size=people, p=SURNAME_P)
    share_head = ((rel == R_HEAD) | ((rel == R_CHILD) | (rel == R_GRANDCHILD)) & (rng.random(people) < 0.95)
                  | ((rel == R_PARENT) & male))
    sur = np.where(share_head, head_sur[hh_of], own_sur)
    surname = np.array(list(SURNAMES))[sur]
    mc, fc = np.array(list(MALE_CHARS)), np.array(list(FEMALE_CHARS))
    c1 = np.where(male, mc[rng.integers(0, len(mc), people)], fc[rng.integers(0, len(fc), people)])
    c2 = np.where(male, mc[rng.integers(0, len(mc), people)], fc[rng.integers(0, len(fc), people)])
    two = rng.random(people) < np.where(age < 60, 0.75, 0.55)
    name = np.char.add(np.char.add(surname, c1), np.where(two, c2, ""))

    # resident IDs: county area code, neighbouring codes for in-migrants
    mig_p = np.select([rel == R_SPOUSE, rel == R_INLAW], [0.18, 0.6], 0.015)
    migrant = rng.random(people) < mig_p
    neigh = (np.asarray(neighbours, dtype=np.int64) if neighbours is not None else
             np.array([int(county[:4] + f"{k:02d}") for k in NEIGHBOUR_SUFFIXES if f"{k:02d}" != county[4:]]))
    area = np.where(migrant, neigh[rng.integers(0, len(neigh), people)], int(county))
    days = birth.astype(np.int64)
    key = ((area.astype(np.int64) * 100_000 + (days + 50_000)) * 2) + male
    order = np.argsort(key, kind="stable")
    ks = key[order]
    new = np.concatenate([[True], ks[1:] != ks[:-1]])
    gstart = np.flatnonzero(new)
    gsize = np.diff(np.concatenate([gstart, [people]]))
    if gsize.max() > 490:
        raise ValueError("too many people share one birth date for 3-digit ID sequences")
    gid = np.cumsum(new) - 1
    rank = np.arange(people) - gstart[gid]
    offset = np.floor(rng.random(len(gstart)) * (499 - gsize)).astype(np.int64)
    half = np.empty(people, dtype=np.int64)
    half[order] = rank + offset[gid] + 1  # 1..498
    seq = 2 * half - male.astype(np.int64)  # men 2h−1 (odd), women 2h (even, ≥ 2)
    y, m, d = _ymd(birth)
    body = np.hstack([_digits(area, 6), _digits(y, 4), _digits(m, 2), _digits(d, 2), _digits(seq, 3)])
    check = (body.astype(np.int64) - 48) @ WEIGHTS % 11
    lut = np.frombuffer(CHECK_CHARS.encode("ascii"), dtype=np.uint8)
    id_no = _ascii(np.hstack([body, lut[check][:, None]]))

    return {"hh": hh_of, "pos": pos, "psize": psize, "relation": rel, "age": age, "male": male,
            "birth": birth, "name": name, "id_no": id_no}


# ---------------------------------------------------------------------------------------------------
# Department reports (each returns a frame of canonical columns with fen amounts plus a "month" column)


def _settlement_amounts(rng: np.random.Generator, who: np.ndarray, is_major: np.ndarray, pcat: np.ndarray,
                        year: int) -> dict[str, np.ndarray]:
    """Amounts (fen) and dates of the settlements of patients ``who`` (person index per settlement).

    ``medfee_sumamt`` heavy-tailed; ``hifp_pay`` = 55–65 % of the policy scope above the hospital level's
    deductible (inpatient); ``hifmi_pay`` (大病保险) = the increment of
    ``max(cumulative scope self-pay − line, 0) × rate`` per person in date order; ``maf_pay`` (医疗救助)
    by category; ``psn_part_amt = medfee_sumamt − hifp_pay − hifmi_pay − maf_pay − oth_pay`` exactly.
    """
    k = len(who)
    inpatient = is_major | (rng.random(k) < 0.55)
    body = np.where(inpatient, rng.lognormal(np.log(4800), 0.75, k), rng.lognormal(np.log(1100), 0.75, k))
    tail = 15_000 * (1.0 - rng.random(k)) ** (-1 / 2.2)  # Pareto(x_m=15,000, α=2.2)
    total_yuan = np.where(is_major, np.maximum(body, tail), body)
    total = np.clip(_round_fen(total_yuan), 5_000, 150_000_000)  # 50 yuan … 1.5 million

    full_own = (total * rng.uniform(0.03, 0.10, k)).astype(np.int64)
    overlmt = (total * np.where(rng.random(k) < 0.4, rng.uniform(0.0, 0.02, k), 0.0)).astype(np.int64)
    scope = total - full_own - overlmt
    level = rng.choice(3, size=k, p=[0.35, 0.45, 0.20])  # township / county / city hospital
    deductible = np.where(inpatient, np.array([30_000, 60_000, 100_000])[level], 0)
    hifp = ((np.maximum(scope - deductible, 0)) * rng.uniform(0.55, 0.65, k)).astype(np.int64)
    hifp = np.minimum(hifp, 20_000_000)  # pooled-fund ceiling 200,000 yuan
    scope_self = scope - hifp
    poor = MONITORED[pcat] | (pcat == TEKUN) | (pcat == DIBAO)
    # 大病保险 works on the yearly cumulative policy-scope self-pay above its start line (halved, with a
    # higher rate, for poor households); each settlement gets the increment, exactly in fen
    month = rng.choice(12, size=k, p=MEDICAL_MONTH_W / MEDICAL_MONTH_W.sum()) + 1
    date = _month_days(year, month, rng)
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


def _medical(hh: dict, ps: dict, seed: int, year: int) -> pd.DataFrame:
    rng = _rng(seed, "medical")
    n = len(ps["age"])
    age = ps["age"]
    cat = hh["category"][ps["hh"]]
    p = np.select([age < 15, age < 45, age < 65], [0.07, 0.08, 0.15], 0.26)
    p = p * np.select([cat == TEKUN, cat == DIBAO, cat == 2], [1.3, 1.3, 1.6], 1.0)
    patient = np.flatnonzero(rng.random(n) < p)
    n_pat = len(patient)
    major = rng.random(n_pat) < 0.03  # serious illness: repeated, expensive inpatient stays
    count = np.where(major, rng.geometric(0.35, n_pat), rng.geometric(0.6, n_pat))
    count = np.minimum(count, 24)
    who = np.repeat(patient, count)
    is_major = np.repeat(major, count)
    k = len(who)

    a = _settlement_amounts(rng, who, is_major, cat[who], year)
    date = a["date"]
    order = np.lexsort((who, date))  # settlement ids in date order
    serial = np.cumsum(rng.integers(1, 10, size=k))
    setl = np.empty(k, dtype=np.int64)
    setl[order] = serial
    setl_id = np.char.add("S", _fmt_int(year * 100_000_000 + setl, 12))
    frame = pd.DataFrame({
        "setl_id": setl_id, "id_no": ps["id_no"][who], "name": ps["name"][who], "setl_date": _date_text(date),
        **{c: a[c] for c in MEDICAL_COLUMNS[4:]}, "month": a["month"],
    })
    return frame.iloc[order].reset_index(drop=True)


def _education(hh: dict, ps: dict, seed: int, year: int) -> pd.DataFrame:
    rng = _rng(seed, "education")
    n = len(ps["age"])
    _, bm, bd = _ymd(ps["birth"])
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
    tuition = _round_fen(lo + (hi - lo) * rng.random(k) ** 2, 50)  # most fees near the low end
    accommodation = _round_fen(rng.uniform(800, 1500, k), 50)
    textbooks = _round_fen(rng.uniform(300, 900, k), 10)
    cat = hh["category"][ps["hh"][idx]]
    aided = np.where(MONITORED[cat] | (cat == TEKUN) | (cat == DIBAO), rng.random(k) < 0.30, rng.random(k) < 0.03)
    other_aid = np.where(aided, _round_fen(rng.uniform(2000, 5000, k), 500), 0)
    return pd.DataFrame({
        "id_no": ps["id_no"][idx], "name": ps["name"][idx], "school_year": f"{year}-{year + 1}",
        "level": level_names[level], "tuition": tuition, "accommodation": accommodation, "textbooks": textbooks,
        "other_aid": other_aid, "entry": entry.astype(np.int64), "month": 9,
    })


def _disaster(hh: dict, seed: int, year: int) -> pd.DataFrame:
    rng = _rng(seed, "disaster")
    n_hh = hh["n"]
    k = int(rng.binomial(n_hh, 0.008))
    which = np.sort(rng.choice(n_hh, size=k, replace=False))
    dtype = rng.choice(len(DISASTER_TYPES), size=k, p=DISASTER_TYPE_P)
    mw = DISASTER_MONTHS / DISASTER_MONTHS.sum(axis=1, keepdims=True)
    # one event date per (village, type) for weather events; an individual date otherwise
    n_vil = hh["n_villages"]
    vil_month = np.stack([rng.choice(12, size=n_vil, p=mw[t]) + 1 for t in range(len(DISASTER_TYPES))], axis=1)
    vil_date = _month_days(year, vil_month.ravel(), rng).reshape(n_vil, -1)
    own_month = (mw.cumsum(axis=1)[dtype] < rng.random(k)[:, None]).sum(axis=1) + 1
    own_date = _month_days(year, own_month, rng)
    date = np.where(CLUSTERED_DISASTERS[dtype], vil_date[hh["village"][which], dtype], own_date)
    body = rng.lognormal(np.log(8000), 0.8, k)
    tail = 30_000 * (1.0 - rng.random(k)) ** (-1 / 1.3)
    loss = np.minimum(_round_fen(np.where(rng.random(k) < 0.08, tail, body), 10), 80_000_000)
    house = dtype == DISASTER_TYPES.index("房屋损坏")
    comp = np.where(house & (rng.random(k) < 0.5), np.where(loss >= 5_000_000, 2_000_000, 200_000), 0)
    comp = np.where(~house & (rng.random(k) < 0.15), (loss * rng.uniform(0.1, 0.3, k)).astype(np.int64), comp)
    comp = np.minimum(_round_fen(comp / 100, 10), loss)
    month = _ymd(date)[1]
    frame = pd.DataFrame({
        "household_no": hh["household_no"][which], "event_date": _date_text(date),
        "disaster_type": np.array(DISASTER_TYPES)[dtype], "assessed_loss": loss, "other_compensation": comp,
        "month": month,
    })
    return frame.sort_values(["event_date", "household_no"], kind="stable").reset_index(drop=True)


def _accident(hh: dict, ps: dict, seed: int, year: int) -> pd.DataFrame:
    rng = _rng(seed, "accident")
    people = len(ps["age"])
    kinds, victims = [], []
    # multi-victim household accidents (e.g. a traffic accident): first three members of a 3+ household
    n_multi = max(1, people // 200_000) if people >= 50_000 else 0
    big = np.flatnonzero(hh["size"] >= 3)
    multi_hh = np.array([], dtype=np.int64)
    if n_multi and len(big):
        multi_hh = rng.choice(big, size=min(n_multi, len(big)), replace=False)
    first = np.concatenate([[0], np.cumsum(hh["size"])[:-1]])
    mv = (first[multi_hh][:, None] + np.arange(3)).ravel()
    m_kind = np.where(rng.random(len(mv)) < 0.5, 0, 1)  # death or disability
    m_date = np.repeat(_year_days(year, len(multi_hh), rng), 3)
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
    date = np.concatenate([_year_days(year, len(v) - len(mv), rng), m_date]).astype("datetime64[D]")
    k = len(v)
    g = rng.choice(10, size=k, p=np.array([1, 1, 2, 3, 4, 6, 8, 10, 14, 18]) / 67) + 1
    g = np.where(np.arange(k) >= k - len(mv), rng.integers(1, 4, k), g)  # the multi-victim crash: severe
    grade = np.where(kind == 1, g.astype(str).astype(object), "")
    cost = _round_fen(np.minimum(rng.lognormal(np.log(6000), 0.8, k), 300_000))
    cost_text = np.where(kind == 2, _yuan(cost), "")
    month = _ymd(date)[1]
    frame = pd.DataFrame({
        "id_no": ps["id_no"][v], "name": ps["name"][v], "event_date": _date_text(date),
        "kind": np.array(["death", "disability", "hospital"])[kind], "grade": grade, "medical_cost": cost_text,
        "month": month,
    })
    return frame.sort_values(["event_date", "id_no"], kind="stable").reset_index(drop=True)


def _income(hh: dict, seed: int, year: int) -> pd.DataFrame:
    rng = _rng(seed, "income")
    n_hh = hh["n"]
    which = np.flatnonzero(rng.random(n_hh) < 0.30)
    k = len(which)
    old = hh["income"][which]
    new = (old * rng.lognormal(0.03, 0.15, k)).astype(np.int64)
    drop = rng.random(k) < 0.03
    new = np.where(drop, np.minimum((old * rng.uniform(0.3, 0.6, k)).astype(np.int64),
                                    _round_fen(rng.uniform(2500, 5900, k))), new)
    new = np.maximum(_round_fen(new / 100), 100000)
    day = 1 + hh["town"][which] % 20  # each township surveys on its own day
    as_of = np.datetime64(f"{year}-12-01") + (day - 1)
    return pd.DataFrame({"household_no": hh["household_no"][which], "as_of": _date_text(as_of),
                         "per_capita_income": new, "month": 12})


# ---------------------------------------------------------------------------------------------------
# Writing


AMOUNT_COLUMNS = {
    "medical": ("medfee_sumamt", "hifp_pay", "hifmi_pay", "maf_pay", "oth_pay", "fulamt_ownpay_amt",
                "overlmt_selfpay", "psn_part_amt"),
    "education": ("tuition", "accommodation", "textbooks", "other_aid"),
    "disaster": ("assessed_loss", "other_compensation"),
    "accident": (),
    "income": ("per_capita_income",),
}
COLUMNS = {"medical": MEDICAL_COLUMNS, "education": EDUCATION_COLUMNS, "disaster": DISASTER_COLUMNS,
           "accident": ACCIDENT_COLUMNS, "income": INCOME_COLUMNS}


def _write(frame: pd.DataFrame, path: Path, fmt: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "csv":
        # UTF-8 with BOM; the BOM by hand because pandas' utf-8-sig path encodes row by row in Python
        with open(path, "w", encoding="utf-8", newline="") as handle:
            handle.write("\ufeff")
            frame.to_csv(handle, index=False, lineterminator="\n")
    else:
        frame.to_parquet(path, index=False)


def synth_county(out_dir, people: int, *, seed: int = 20250101, year: int = 2025, county: str = "130434",
                 fmt: str = "csv", progress: Progress = None) -> dict:
    """Write a synthetic county (roster + a policy year of department reports) under ``out_dir``.

    Returns the manifest, which is also written as ``manifest.json``.  The same arguments always give
    byte-identical files.
    """
    if fmt not in ("csv", "parquet"):
        raise ValueError("fmt must be 'csv' or 'parquet'")
    if people < 1:
        raise ValueError("people must be ≥ 1")
    if len(county) != 6 or not county.isdigit():
        raise ValueError("county must be a 6-digit GB/T 2260 code")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    ext = "." + fmt
    report = progress or (lambda stage, done, total: None)
    stages = 8

    report("roster", 0, stages)
    hh = _households(people, seed, county)
    ps = _persons(hh, people, seed, year, county)
    persons = pd.DataFrame({"id_no": ps["id_no"], "name": ps["name"],
                            "household_no": hh["household_no"][ps["hh"]],
                            "relation": np.array(RELATIONS)[ps["relation"]]})
    _write(persons, out / f"persons{ext}", fmt)
    del persons
    households = pd.DataFrame({
        "household_no": hh["household_no"], "village_code": hh["village_code"][hh["village"]],
        "natural_village": hh["natural_village"], "category": np.array(CATEGORIES)[hh["category"]],
        "per_capita_income": _yuan(hh["income"]), "members": hh["size"],
        # a synthetic 19-digit 社保卡/一卡通 account (bank prefix 621799 + 13 random digits), text in the file
        "bank_account": np.char.add("621799", _fmt_int(_rng(seed, "bank").integers(0, 10**13, len(hh["size"])), 13)),
    })
    _write(households, out / f"households{ext}", fmt)
    del households
    report("roster", 2, stages)

    departments: dict[str, dict] = {}
    builders = (
        ("medical", lambda: _medical(hh, ps, seed, year)),
        ("education", lambda: _education(hh, ps, seed, year)),
        ("disaster", lambda: _disaster(hh, seed, year)),
        ("accident", lambda: _accident(hh, ps, seed, year)),
        ("income", lambda: _income(hh, seed, year)),
    )
    for i, (dept, build) in enumerate(builders):
        frame = build()
        files: list[str] = []
        rows: dict[str, int] = {}
        for month in range(1, 13):
            part = frame[frame["month"] == month]
            if not len(part):
                continue
            part = part.reset_index(drop=True)
            table = pd.DataFrame({c: (_yuan(part[c].to_numpy()) if c in AMOUNT_COLUMNS[dept] else part[c])
                                  for c in COLUMNS[dept]})
            if dept == "medical":
                table = table.rename(columns=MEDICAL_HEADERS_ZH)
            rel = f"{dept}/{year}-{month:02d}{ext}"
            _write(table, out / rel, fmt)
            files.append(rel)
            rows[rel] = len(part)
            report(dept, month, 12)
        departments[dept] = {"rows": int(len(frame)), "files": files, "rows_per_file": rows}
        del frame
        report("reports", 3 + i, stages)

    manifest = {
        "generator": "claims.synth.generate.synth_county",
        "seed": int(seed), "year": int(year), "county": county, "format": fmt,
        "people": int(people), "households": int(hh["n"]), "villages": int(hh["n_villages"]),
        "natural_villages": int(hh["n_natural"]),
        "roster": {"persons": f"persons{ext}", "households": f"households{ext}"},
        "departments": departments,
        "encoding": "utf-8-sig" if fmt == "csv" else None,
        "medical_headers": "zh",
    }
    (out / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    report("done", stages, stages)
    return manifest


# ---------------------------------------------------------------------------------------------------
# Province scale: many counties, medical reports streamed chunk by chunk

#: people per generated county in province mode (a typical Hebei county has 300–600 thousand people)
PROVINCE_COUNTY_PEOPLE = 400_000
PROVINCE_CODE = "13"
#: medical settlements per patient-year are drawn from these person weights (age × category)
MAJOR_SHARE = 0.01  # people with a serious illness: about 20 × the settlements of others


def province_counties(people: int, county_people: int = PROVINCE_COUNTY_PEOPLE,
                      province: str = PROVINCE_CODE) -> list[tuple[str, int]]:
    """``[(county code, people), …]``: ⌈people / county_people⌉ counties of equal size (±1).

    Codes are ``province + prefecture (01, 02 …) + county (02 … 19)``, 18 counties per prefecture."""
    n = max(1, -(-int(people) // int(county_people)))
    sizes = np.full(n, people // n, dtype=np.int64)
    sizes[: people % n] += 1
    return [(f"{province}{1 + c // 18:02d}{2 + c % 18:02d}", int(sizes[c])) for c in range(n)]


def _split(total: int, weights: np.ndarray) -> np.ndarray:
    """Split ``total`` in proportion to ``weights`` exactly (largest remainder)."""
    w = np.asarray(weights, dtype=float)
    exact = total * w / w.sum()
    out = np.floor(exact).astype(np.int64)
    rest = int(total - out.sum())
    if rest:
        out[np.argsort(-(exact - out), kind="stable")[:rest]] += 1
    return out


def _migrant_codes(county_index: int) -> np.ndarray:
    """13 area codes (other provinces, 41xxxx …) used only by the in-migrants of this county, so IDs
    stay unique across the counties of a province."""
    j = county_index * 13 + np.arange(13)
    return (41 + j // 9000) * 10_000 + 1000 + j % 9000


def _county_seed(seed: int, county_index: int) -> int:
    return int(np.random.SeedSequence([int(seed), 6, int(county_index)]).generate_state(1, np.uint64)[0] >> 1)


def _chunk_rng(seed: int, county_index: int, chunk: int) -> np.random.Generator:
    return np.random.default_rng([int(seed), zlib.crc32(b"province-medical"), int(county_index), int(chunk)])


def _yuan_arrow(fen: np.ndarray):
    """int64 fen → pyarrow strings '1234.56' (pyarrow kernels: about 20 × faster than Python formatting)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    f = pa.array(np.asarray(fen, dtype=np.int64))
    whole = pc.cast(pc.divide(f, 100), pa.string())
    cents = pc.utf8_lpad(pc.cast(pc.subtract(f, pc.multiply(pc.divide(f, 100), 100)), pa.string()), 2, "0")
    return pc.binary_join_element_wise(whole, cents, ".")


def county_roster(seed: int, county_index: int, county: str, people: int, year: int = 2025) -> tuple[dict, dict]:
    """Households and persons (arrays) of county ``county_index`` of a province: the county generator's
    roster with the county's own seed and in-migrant area codes (:func:`_migrant_codes`)."""
    import pyarrow as pa

    cseed = _county_seed(seed, county_index)
    hh = _households(people, cseed, county)
    ps = _persons(hh, people, cseed, year, county, neighbours=_migrant_codes(county_index))
    ps["id_arrow"] = pa.array(ps["id_no"].astype(object), type=pa.string())
    ps["name_arrow"] = pa.array(ps["name"].astype(object), type=pa.string())
    return hh, ps


def medical_chunk(seed: int, county_index: int, county: str, chunk: int, persons: dict, households: dict,
                  first: int, stop: int, rows: int, year: int = 2025):
    """One chunk of a county's medical settlements as a pyarrow table with the Chinese headers.

    The chunk covers the people ``first … stop−1`` of the county (all their settlements of the year, so
    the 大病保险 cumulation per person is exact) and has exactly ``rows`` rows.  Each person's share of
    the rows ∝ p(age) × p(category) × (20 if seriously ill), drawn as one multinomial; the generator is
    seeded by ``(seed, county, chunk)`` only, so a chunk can be rebuilt alone.  Rows are in date order.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    rng = _chunk_rng(seed, county_index, chunk)
    age = persons["age"][first:stop]
    cat = households["category"][persons["hh"][first:stop]]
    n = stop - first
    p = np.select([age < 15, age < 45, age < 65], [0.07, 0.08, 0.15], 0.26)
    p = p * np.select([cat == TEKUN, cat == DIBAO, cat == 2], [1.3, 1.3, 1.6], 1.0)
    major = rng.random(n) < MAJOR_SHARE
    weight = p * np.where(major, 20.0, 1.0)
    count = rng.multinomial(rows, weight / weight.sum())
    who = np.repeat(np.arange(n), count)
    a = _settlement_amounts(rng, who, major[who], cat[who], year)
    order = np.lexsort((who, a["date"]))
    serial = np.cumsum(rng.integers(1, 10, size=rows))  # increasing settlement numbers in date order
    who_sorted = pa.array(first + who[order])
    setl_prefix = f"S{county}{chunk:03d}"
    days = pa.array(a["date"][order].astype("datetime64[D]").astype(np.int32), type=pa.date32())
    columns = {
        "setl_id": pc.binary_join_element_wise(setl_prefix, pc.utf8_lpad(pc.cast(pa.array(serial), pa.string()),
                                                                           9, "0"), ""),
        "id_no": pc.take(persons["id_arrow"], who_sorted),
        "name": pc.take(persons["name_arrow"], who_sorted),
        "setl_date": pc.strftime(pc.cast(days, pa.timestamp("s")), "%Y-%m-%d"),
    }
    for c in MEDICAL_COLUMNS[4:]:
        columns[c] = _yuan_arrow(a[c][order])
    return pa.table({MEDICAL_HEADERS_ZH[c]: columns[c] for c in MEDICAL_COLUMNS})


def _write_arrow(table, path: Path, fmt: str) -> None:
    """Write a pyarrow table: Parquet, or CSV (UTF-8 with BOM, quoting only where needed, \\n)."""
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "parquet":
        pq.write_table(table, path)
        return
    with open(path, "wb") as handle:
        handle.write(b"\xef\xbb\xbf")
        pacsv.write_csv(table, handle, pacsv.WriteOptions(quoting_style="none"))


def _frame_to_arrow(frame: pd.DataFrame, amounts: tuple[str, ...]):
    import pyarrow as pa

    return pa.table({c: (_yuan_arrow(frame[c].to_numpy()) if c in amounts else
                         pa.array(frame[c].astype(str).to_numpy(dtype=object), type=pa.string()))
                     for c in frame.columns})


def synth_province(out_dir, people: int, medical_rows: int, *, seed: int = 20250101, fmt: str = "parquet",
                   chunk_rows: int = 1_000_000, progress: Progress = None, year: int = 2025,
                   county_people: int = PROVINCE_COUNTY_PEOPLE, province: str = PROVINCE_CODE,
                   other_departments: bool = True) -> dict:
    """Write a synthetic province under ``out_dir``, streamed county by county and chunk by chunk.

    Layout (``ext`` = ``.parquet`` or ``.csv``)::

        persons.ext, households.ext            the whole roster (written county by county)
        medical/<county>-<chunk>.ext           ≤ chunk_rows settlements each, Chinese 医保 headers
        education|disaster|accident|income/<county>.ext   (when other_departments)
        manifest.json

    Counties: :func:`province_counties` (``county_people`` each).  ``medical_rows`` is split over the
    counties ∝ people and, within a county, over ⌈rows / chunk_rows⌉ chunks, each covering a block of
    the county's people (listed in the manifest, ``departments.medical.chunks``); memory holds one
    county's roster and one chunk of report rows at a time.
    Deterministic by ``seed``: county ``c`` uses its own seed, medical chunk ``k`` of county ``c`` the
    generator ``(seed, c, k)`` (see :func:`medical_chunk`).  ``progress(stage, done, total)`` is called
    after every file with ``done``/``total`` in medical rows.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    if fmt not in ("csv", "parquet"):
        raise ValueError("fmt must be 'csv' or 'parquet'")
    if people < 10 or medical_rows < 0 or chunk_rows < 1:
        raise ValueError("people must be ≥ 10, medical_rows ≥ 0 and chunk_rows ≥ 1")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    ext = "." + fmt
    report = progress or (lambda stage, done, total: None)
    counties = province_counties(people, county_people, province)
    rows_per_county = _split(medical_rows, np.array([size for _, size in counties]))
    writers: dict[str, object] = {}
    done = 0
    files: dict[str, list[str]] = {d: [] for d in COLUMNS}
    rows: dict[str, int] = {d: 0 for d in COLUMNS}
    n_households = 0
    chunks: list[dict] = []

    def append_roster(name: str, table) -> None:
        path = out / f"{name}{ext}"
        if fmt == "parquet":
            if name not in writers:
                writers[name] = pq.ParquetWriter(path, table.schema)
            writers[name].write_table(table)
        else:
            import pyarrow.csv as pacsv

            first = name not in writers
            writers[name] = True
            with open(path, "wb" if first else "ab") as handle:
                if first:
                    handle.write(b"\xef\xbb\xbf")
                pacsv.write_csv(table, handle, pacsv.WriteOptions(quoting_style="none", include_header=first))

    try:
        for c, (code, size) in enumerate(counties):
            cseed = _county_seed(seed, c)
            hh, ps = county_roster(seed, c, code, size, year)
            n_households += hh["n"]
            append_roster("persons", pa.table({
                "id_no": ps["id_arrow"], "name": ps["name_arrow"],
                "household_no": pa.array(hh["household_no"][ps["hh"]].astype(object), type=pa.string()),
                "relation": pa.array(np.array(RELATIONS, dtype=object)[ps["relation"]], type=pa.string())}))
            append_roster("households", pa.table({
                "household_no": pa.array(hh["household_no"].astype(object), type=pa.string()),
                "village_code": pa.array(hh["village_code"][hh["village"]].astype(object), type=pa.string()),
                "natural_village": pa.array(hh["natural_village"].astype(object), type=pa.string()),
                "category": pa.array(np.array(CATEGORIES, dtype=object)[hh["category"]], type=pa.string()),
                "per_capita_income": _yuan_arrow(hh["income"]),
                "members": pa.array(hh["size"].astype(str).astype(object), type=pa.string()),
                "bank_account": pa.array(np.char.add("621799", _fmt_int(
                    _rng(cseed, "bank").integers(0, 10**13, hh["n"]), 13)).astype(object), type=pa.string()),
            }))
            report("roster", c + 1, len(counties))

            county_rows = int(rows_per_county[c])
            n_chunks = max(1, -(-county_rows // chunk_rows)) if county_rows else 0
            bounds = np.linspace(0, size, n_chunks + 1).round().astype(np.int64)
            chunk_sizes = _split(county_rows, np.diff(bounds)) if n_chunks else []
            for k in range(n_chunks):
                table = medical_chunk(seed, c, code, k, ps, hh, int(bounds[k]), int(bounds[k + 1]),
                                      int(chunk_sizes[k]), year)
                rel = f"medical/{code}-{k:03d}{ext}"
                _write_arrow(table, out / rel, fmt)
                files["medical"].append(rel)
                chunks.append({"file": rel, "county": c, "chunk": k, "first_person": int(bounds[k]),
                               "stop_person": int(bounds[k + 1]), "rows": table.num_rows})
                rows["medical"] += table.num_rows
                done += table.num_rows
                del table
                report("medical", done, medical_rows)

            if other_departments:
                for dept, build in (("education", lambda: _education(hh, ps, cseed, year)),
                                    ("disaster", lambda: _disaster(hh, cseed, year)),
                                    ("accident", lambda: _accident(hh, ps, cseed, year)),
                                    ("income", lambda: _income(hh, cseed, year))):
                    frame = build()
                    if not len(frame):
                        continue
                    rel = f"{dept}/{code}{ext}"
                    _write_arrow(_frame_to_arrow(frame[list(COLUMNS[dept])], AMOUNT_COLUMNS[dept]), out / rel, fmt)
                    files[dept].append(rel)
                    rows[dept] += len(frame)
    finally:
        for writer in writers.values():
            if fmt == "parquet":
                writer.close()

    manifest = {
        "generator": "claims.synth.generate.synth_province",
        "seed": int(seed), "year": int(year), "province": province, "format": fmt, "chunk_rows": int(chunk_rows),
        "people": int(people), "households": int(n_households),
        "counties": [{"code": code, "people": size, "medical_rows": int(r)}
                     for (code, size), r in zip(counties, rows_per_county)],
        "roster": {"persons": f"persons{ext}", "households": f"households{ext}"},
        "departments": {d: {"rows": rows[d], "files": files[d], **({"chunks": chunks} if d == "medical" else {})}
                        for d in COLUMNS if files[d]},
        "encoding": "utf-8-sig" if fmt == "csv" else None,
        "medical_headers": "zh",
    }
    (out / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    report("done", done, medical_rows)
    return manifest
