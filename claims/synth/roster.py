"""The roster of a synthetic county: villages, households and their people, as arrays.

Magnitudes follow ``domain.md`` §2–§6: household size 1–7 (mean ≈ 3.2), about one administrative
village per 1,500 people in townships of 10–20 villages, 3–6 natural villages each, category shares of
:data:`CATEGORY_SHARES`.  Names are drawn from common surname and given-name characters; resident IDs
follow GB 11643 (area code, real birth date, odd sequence for men and even for women, check digit) and
belong to no one.  Every draw comes from the part generators ``"households"`` and ``"persons"``
(:func:`claims.synth.arrays.part_rng`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from claims.synth.arrays import ascii_text, digits, part_rng, round_fen, year_month_day, yuan_text, zero_padded
from tabular.resident_id import CHECK_CHARS, WEIGHTS

#: Household categories and their shares (domain.md §6).  特困供养 only occurs in 1–2 person households.
CATEGORIES = ("脱贫不稳定户", "边缘易致贫户", "突发严重困难户", "稳定脱贫户", "一般农户", "特困供养", "低保户")
CATEGORY_SHARES = np.array([0.15, 0.20, 0.05, 0.30, 0.20, 0.05, 0.05])
TEKUN = CATEGORIES.index("特困供养")
DIBAO = CATEGORIES.index("低保户")
MONITORED = np.array([1, 1, 1, 0, 0, 0, 0], dtype=bool)  # the three monitoring types (三类监测对象)
#: per-capita income (yuan): lognormal median and sigma per category
INCOME_MEDIAN = np.array([6500, 7000, 6000, 9000, 11000, 5500, 5200], dtype=float)
INCOME_SIGMA = np.array([0.30, 0.30, 0.40, 0.35, 0.45, 0.25, 0.25])
#: lowest per-capita income of a household (fen)
INCOME_FLOOR_FEN = 120_000

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

# neighbouring county codes used for in-migrants (spouses married in, etc.): last two digits
NEIGHBOUR_SUFFIXES = (21, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 35)

#: 3-digit ID sequence: at most 490 people of one sex share an area code and a birth date
MAX_SAME_BIRTH = 490
#: a synthetic 19-digit 社保卡/一卡通 account: this bank prefix + 13 random digits
BANK_PREFIX = "621799"


# ---------------------------------------------------------------------------------------------------
# Households


def households(people: int, seed: int, county: str) -> dict:
    """Households of a county of ``people`` people: sizes, villages and codes, natural villages,
    categories and per-capita income (fen), as arrays indexed by household."""
    rng = part_rng(seed, "households")
    size = _household_sizes(rng, people)
    n_hh = len(size)
    village, serial, n_vil = _village_blocks(rng, people, n_hh)
    town_of_vil, vil_tail = _township_codes(rng, n_vil)
    county_m = np.frombuffer(county.encode("ascii"), dtype=np.uint8)
    village_code = ascii_text(np.hstack([np.tile(county_m, (n_vil, 1)), vil_tail]))
    household_no = ascii_text(np.hstack([np.tile(county_m, (n_hh, 1)), vil_tail[village], digits(serial, 4)]))

    # natural villages: 3–6 distinct names per administrative village
    n_nat = rng.integers(3, 7, size=n_vil)
    pick = np.argsort(rng.random((n_vil, len(NV_POOL))), axis=1)[:, :6]
    nat_idx = np.floor(rng.random(n_hh) * n_nat[village]).astype(np.int64)
    natural_village = NV_POOL[pick[village, nat_idx]]

    category = _categories(rng, size)
    income = round_fen(INCOME_MEDIAN[category] * np.exp(rng.normal(0.0, 1.0, n_hh) * INCOME_SIGMA[category]))
    income = np.maximum(income, INCOME_FLOOR_FEN)
    return {
        "n": n_hh, "size": size, "village": village, "village_code": village_code, "n_villages": n_vil,
        "n_natural": int(n_nat.sum()), "household_no": household_no, "natural_village": natural_village,
        "category": category, "income": income, "town": town_of_vil[village],
    }


def _household_sizes(rng: np.random.Generator, people: int) -> np.ndarray:
    """Sizes drawn from :data:`SIZE_PMF` until they hold ``people``; the last household takes the rest."""
    draw = rng.choice(7, size=people // 2 + 16, p=SIZE_PMF) + 1
    while draw.sum() < people:  # only for tiny counties (never loops more than once or twice)
        draw = np.concatenate([draw, rng.choice(7, size=people + 16, p=SIZE_PMF) + 1])
    csum = np.cumsum(draw)
    n_hh = int(np.searchsorted(csum, people)) + 1
    size = draw[:n_hh].copy()
    size[-1] = people - (csum[n_hh - 2] if n_hh > 1 else 0)
    return size


def _village_blocks(rng: np.random.Generator, people: int, n_hh: int) -> tuple[np.ndarray, np.ndarray, int]:
    """(village per household, household serial 1.. within its village, number of villages).

    Administrative villages: ~1 per 1,500 people, lognormal populations, contiguous blocks of households,
    each holding at least one household."""
    n_vil = max(1, min(n_hh, int(round(people / 1500))))
    share = rng.lognormal(0.0, 0.3, n_vil)
    bounds = np.round(np.cumsum(share) / share.sum() * n_hh).astype(np.int64)
    bounds[-1] = n_hh
    starts = np.concatenate([[0], bounds[:-1]])
    if (bounds <= starts).any():
        bounds = np.linspace(0, n_hh, n_vil + 1).round().astype(np.int64)[1:]
        starts = np.concatenate([[0], bounds[:-1]])
    village = np.repeat(np.arange(n_vil), bounds - starts)
    serial = np.arange(n_hh) - starts[village] + 1
    if serial.max() > 9999:
        raise ValueError("a village would hold more than 9,999 households")
    return village, serial, n_vil


def _township_codes(rng: np.random.Generator, n_vil: int) -> tuple[np.ndarray, np.ndarray]:
    """(township per village, 6 ASCII digits per village): townships of 10–20 villages, township code
    100 + t, village code 200 + its index within the township."""
    per_town = rng.integers(10, 21, size=n_vil // 10 + 2)
    town_of_vil = np.repeat(np.arange(len(per_town)), per_town)[:n_vil]
    town_start = np.concatenate([[0], np.cumsum(per_town)[:-1]])
    vil_in_town = np.arange(n_vil) - town_start[town_of_vil]
    if town_of_vil.max() > 899:
        raise ValueError("too many townships for 3-digit township codes")
    return town_of_vil, np.hstack([digits(100 + town_of_vil, 3), digits(200 + vil_in_town, 3)])


def _categories(rng: np.random.Generator, size: np.ndarray) -> np.ndarray:
    """Category index per household: 特困供养 only in 1–2 person households, its share there raised to
    ``share / P(size ≤ 2)`` (at most 0.9) so that the overall shares stay :data:`CATEGORY_SHARES`."""
    small = size <= 2
    small_share = max(small.mean(), 1e-9)
    p_small = CATEGORY_SHARES.copy()
    p_small[TEKUN] = min(0.9, CATEGORY_SHARES[TEKUN] / small_share)
    rest = 1.0 - CATEGORY_SHARES[TEKUN]
    p_small[np.arange(7) != TEKUN] *= (1.0 - p_small[TEKUN]) / rest
    p_big = CATEGORY_SHARES.copy()
    p_big[TEKUN] = 0.0
    p_big /= p_big.sum()
    u = rng.random(len(size))
    category = np.where(small, np.searchsorted(np.cumsum(p_small), u * p_small.sum(), side="right"),
                        np.searchsorted(np.cumsum(p_big), u, side="right"))
    return np.minimum(category, 6)


# ---------------------------------------------------------------------------------------------------
# Persons


def persons(hh: dict, people: int, seed: int, year: int, county: str,
            neighbours: np.ndarray | None = None) -> dict:
    """People of the households, as arrays indexed by person (household members contiguous, head first):
    ``hh`` (household index), ``relation`` (index into :data:`RELATIONS`), ``age``, ``male``, ``birth``
    (datetime64[D]), ``name``, ``id_no``.

    In-migrants carry an area code from ``neighbours`` (default: the neighbouring counties of the same
    prefecture, :data:`NEIGHBOUR_SUFFIXES`).  Ages are on 1 January of ``year``."""
    rng = part_rng(seed, "persons")
    size = hh["size"]
    hh_of = np.repeat(np.arange(hh["n"]), size)
    first = np.concatenate([[0], np.cumsum(size)[:-1]])
    position = np.arange(people) - first[hh_of]  # 0 for the head

    rel = _relations(rng, position)
    rel, age = _ages(rng, hh, hh_of, rel)
    male = _sexes(rng, hh, hh_of, rel)
    birth = _birth_dates(rng, year, age)
    name = _names(rng, hh, hh_of, rel, male, age)
    if neighbours is None:
        neighbours = np.array([int(county[:4] + f"{k:02d}") for k in NEIGHBOUR_SUFFIXES if f"{k:02d}" != county[4:]])
    id_no = _resident_ids(rng, int(county), np.asarray(neighbours, dtype=np.int64), rel, male, birth)
    return {"hh": hh_of, "relation": rel, "age": age, "male": male, "birth": birth, "name": name, "id_no": id_no}


def _relations(rng: np.random.Generator, position: np.ndarray) -> np.ndarray:
    """Relation to the head by position in the household: the first is the head, the second mostly a
    spouse, the others mostly children, then parents, grandchildren, daughters-in-law."""
    u = rng.random(len(position))
    rel = np.full(len(position), R_CHILD, dtype=np.int64)
    rel[position == 0] = R_HEAD
    p1 = position == 1
    rel[p1 & (u < 0.85)] = R_SPOUSE
    rel[p1 & (u >= 0.85) & (u < 0.94)] = R_CHILD
    rel[p1 & (u >= 0.94)] = R_PARENT
    p2 = position >= 2
    rel[p2 & (u < 0.65)] = R_CHILD
    rel[p2 & (u >= 0.65) & (u < 0.78)] = R_PARENT
    rel[p2 & (u >= 0.78) & (u < 0.93)] = R_GRANDCHILD
    rel[p2 & (u >= 0.93)] = R_INLAW
    return rel


def _ages(rng: np.random.Generator, hh: dict, hh_of: np.ndarray, rel: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(relations, ages): the head's age (22–88) drives everyone else's; a parent, grandchild or
    daughter-in-law that does not fit the head's age becomes a child.  Returns new arrays."""
    people = len(hh_of)
    head_age = np.where(hh["size"] == 1, rng.normal(63, 13, hh["n"]), rng.normal(50, 12, hh["n"]))
    head_age = np.clip(np.round(head_age), 22, 88).astype(np.int64)
    ha = head_age[hh_of]
    rel = rel.copy()
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
    adult = (rel == R_SPOUSE) | (rel == R_INLAW)
    age[adult] = np.maximum(age[adult], 18)
    return rel, age


def _sexes(rng: np.random.Generator, hh: dict, hh_of: np.ndarray, rel: np.ndarray) -> np.ndarray:
    """True for men: heads 82 % men, the spouse of the other sex, parents 40 %, daughters-in-law women,
    others 52 %."""
    head_male = rng.random(hh["n"]) < 0.82
    s = rng.random(len(hh_of))
    male = s < 0.52
    male[rel == R_HEAD] = head_male
    male[rel == R_SPOUSE] = ~head_male[hh_of[rel == R_SPOUSE]]
    male[rel == R_PARENT] = s[rel == R_PARENT] < 0.4
    male[rel == R_INLAW] = False
    return male


def _birth_dates(rng: np.random.Generator, year: int, age: np.ndarray) -> np.ndarray:
    """Born in calendar year ``year − age − 1`` (any day of it), so the age on 1 January is exact."""
    by = year - age - 1
    jan1 = (by - 1970).astype("datetime64[Y]").astype("datetime64[D]")
    ylen = np.where((by % 4 == 0) & ((by % 100 != 0) | (by % 400 == 0)), 366, 365)
    return jan1 + np.floor(rng.random(len(age)) * ylen).astype(np.int64)


def _names(rng: np.random.Generator, hh: dict, hh_of: np.ndarray, rel: np.ndarray, male: np.ndarray,
           age: np.ndarray) -> np.ndarray:
    """Surname + one or two given-name characters by sex; the head, most children and grandchildren and
    the head's father share the head's surname."""
    people = len(hh_of)
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
    return np.char.add(np.char.add(surname, c1), np.where(two, c2, ""))


def _resident_ids(rng: np.random.Generator, county: int, neighbours: np.ndarray, rel: np.ndarray,
                  male: np.ndarray, birth: np.ndarray) -> np.ndarray:
    """18-character resident IDs (GB 11643): area + birth date + sequence + check character.

    Area: the county's code, or a neighbour's for in-migrants (18 % of spouses, 60 % of daughters-in-law,
    1.5 % of others).  Sequence ``2h − 1`` for men (odd) and ``2h`` for women, with ``h`` distinct among
    the people of one (area, birth date, sex), at a random offset.  Check character
    ``CHECK_CHARS[Σ digitᵢ × WEIGHTSᵢ mod 11]``."""
    people = len(rel)
    mig_p = np.select([rel == R_SPOUSE, rel == R_INLAW], [0.18, 0.6], 0.015)
    migrant = rng.random(people) < mig_p
    area = np.where(migrant, neighbours[rng.integers(0, len(neighbours), people)], county)
    key = ((area.astype(np.int64) * 100_000 + (birth.astype(np.int64) + 50_000)) * 2) + male
    order = np.argsort(key, kind="stable")
    ks = key[order]
    new = np.concatenate([[True], ks[1:] != ks[:-1]])
    gstart = np.flatnonzero(new)
    gsize = np.diff(np.concatenate([gstart, [people]]))
    if gsize.max() > MAX_SAME_BIRTH:
        raise ValueError("too many people share one birth date for 3-digit ID sequences")
    gid = np.cumsum(new) - 1
    rank = np.arange(people) - gstart[gid]
    offset = np.floor(rng.random(len(gstart)) * (499 - gsize)).astype(np.int64)
    half = np.empty(people, dtype=np.int64)
    half[order] = rank + offset[gid] + 1  # 1..498
    seq = 2 * half - male.astype(np.int64)  # men 2h−1 (odd), women 2h (even, ≥ 2)
    y, m, d = year_month_day(birth)
    body = np.hstack([digits(area, 6), digits(y, 4), digits(m, 2), digits(d, 2), digits(seq, 3)])
    check = (body.astype(np.int64) - 48) @ WEIGHTS % 11
    lut = np.frombuffer(CHECK_CHARS.encode("ascii"), dtype=np.uint8)
    return ascii_text(np.hstack([body, lut[check][:, None]]))


# ---------------------------------------------------------------------------------------------------
# Roster files of a county


def bank_accounts(seed: int, n: int) -> np.ndarray:
    """``n`` synthetic 19-digit 社保卡/一卡通 accounts: :data:`BANK_PREFIX` + 13 random digits (part ``"bank"``)."""
    return np.char.add(BANK_PREFIX, zero_padded(part_rng(seed, "bank").integers(0, 10**13, n), 13))


def persons_frame(hh: dict, ps: dict) -> pd.DataFrame:
    """``persons`` file: id_no, name, household_no, relation."""
    return pd.DataFrame({"id_no": ps["id_no"], "name": ps["name"], "household_no": hh["household_no"][ps["hh"]],
                         "relation": np.array(RELATIONS)[ps["relation"]]})


def households_frame(hh: dict, seed: int) -> pd.DataFrame:
    """``households`` file: household_no, village_code, natural_village, category, per_capita_income
    (yuan text), members, bank_account (text)."""
    return pd.DataFrame({
        "household_no": hh["household_no"], "village_code": hh["village_code"][hh["village"]],
        "natural_village": hh["natural_village"], "category": np.array(CATEGORIES)[hh["category"]],
        "per_capita_income": yuan_text(hh["income"]), "members": hh["size"],
        "bank_account": bank_accounts(seed, len(hh["size"])),
    })
