"""The calculation trace (计算过程) word for word, one test per product: a person checks the amount from it,
so every figure in it is computed by hand here.  Written for the surviving trace mutants of
docs/mutation.md (lines.bracket_trace, lump_sum_units, death_units, disability_units, income_drop_units,
compute.claim_traces, caps' cut notes).  Amounts in fen unless said otherwise."""

from __future__ import annotations

import copy

import factories as f

from claims import compute_claims
from products import load_product

ZNB = load_product("zhunongbao-fengxian-2025")


def _traces(claims):
    return {(r.line_id, r.unit_id): (r.entitlement, r.due, r.trace) for r in claims.itertuples()}


def test_weixian_traces_of_brackets_a_lump_sum_and_an_income_shortfall_word_for_word():
    """../shared/seeds/004: "对收入骤减或支出骤增的按比例赔付" — 魏县防贫保's illness brackets (5,000 warning line,
    50% / 60% / 70%, cap 50,000), its school-entry lump sums and an income line (6,000 protection line,
    100%, cap 10,000) added as tests/test_engine.py's test_income_drop does."""
    doc = copy.deepcopy(load_product("fangpinbao-weixian-2025").document)
    doc["lines"].append({"id": "income", "peril": "income_drop", "basis": "household", "protection_line": 6000,
                         "rate": 1.0, "caps": {"per_year": 10000}})
    product = load_product(doc)
    persons, households = f.roster(
        [{"household_no": "H1", "income_yuan": 5000, "members": 3}, {"household_no": "H2", "income_yuan": 5000}],
        [{"n": 1, "household_no": "H1"}, {"n": 2, "household_no": "H1", "relation": "子女"},
         {"n": 3, "household_no": "H1", "relation": "配偶"}, {"n": 4, "household_no": "H2"}])
    med = f.medical([(2, "2025-03-01", 700_000), (2, "2025-04-01", 500_000), (3, "2025-05-01", 400_000),
                     (4, "2025-06-01", 10_000_000)])
    edu = f.education([(1, 2025, "专科", 0, True), (1, 2025, "本科", 0, True)])
    inc = f.income([("H1", "2025-06-30", 300_000), ("H2", "2025-06-30", 599_000)])
    claims = compute_claims(product, persons, households, {"medical": med, "education": edu, "income": inc},
                            paid=f.paid([(f.pid(2), "illness", 100_000)]))
    head = "[FPB-130434-2025/"
    assert _traces(claims) == {
        # person 2: 7,000 + 5,000 = 12,000 self-paid in 2 rows; (10,000 − 5,000) × 50% = 2,500 and
        # (12,000 − 10,000) × 60% = 1,200, together 3,700; 1,000 paid before → 2,700 due
        ("illness", f.pid(2)): (370_000, 270_000, head + "illness] 12000.00（2 条） > 预警线 5000.00：(5000.00, "
                                "10000.00]×50% = 2500.00 + (10000.00, 12000.00]×60% = 1200.00 = 3700.00；年封顶 "
                                "50000.00；已付 1000.00；本次应付 2700.00"),
        # person 3: 4,000 is not above the 5,000 warning line
        ("illness", f.pid(3)): (0, 0, head + "illness] 4000.00（1 条） 未超过预警线 5000.00，不予赔付；年封顶 50000.00；"
                                "已付 0.00；本次应付 0.00"),
        # person 4: 100,000 → 2,500 + (20,000 − 10,000) × 60% = 6,000 + (100,000 − 20,000) × 70% = 56,000,
        # together 64,500, above the 50,000 yearly cap: 50,000
        ("illness", f.pid(4)): (5_000_000, 5_000_000, head + "illness] 100000.00（1 条） > 预警线 5000.00：(5000.00, "
                                "10000.00]×50% = 2500.00 + (10000.00, 20000.00]×60% = 6000.00 + (20000.00, "
                                "100000.00]×70% = 56000.00 = 64500.00；超过年封顶 50000.00，按 50000.00；已付 0.00；"
                                "本次应付 50000.00"),
        # person 1 admitted as 专科 (1,000) and 本科 (2,000): the larger, once
        ("entry", f.pid(1)): (200_000, 200_000, head + "entry] 升学“本科”一次性补助 2000.00（每人每年一次）；已付 0.00；"
                              "本次应付 2000.00"),
        # H1: (6,000 − 3,000) × 3 members = 9,000 × 100% = 9,000 (cap 10,000)
        ("income", "H1"): (900_000, 900_000, head + "income] (保障线 6000.00 − 人均收入 3000.00) × 3 人 = 9000.00 × "
                           "100% = 9000.00；年封顶 10000.00；已付 0.00；本次应付 9000.00"),
        # H2: (6,000 − 5,990) × 1 member = 10.00
        ("income", "H2"): (1_000, 1_000, head + "income] (保障线 6000.00 − 人均收入 5990.00) × 1 人 = 10.00 × 100% = "
                           "10.00；年封顶 10000.00；已付 0.00；本次应付 10.00"),
    }


def test_fengxian_traces_of_death_disability_and_the_covers_cut_notes_word_for_word():
    """../shared/seeds/000: "防止因灾、因意外伤害、意外事故致贫返贫" — 凤县助农保's 团体人身意外 cover (death and
    disability share 50,000 per person and the household table 1 → 50,000, 2 → 100,000, 3 → 120,000)."""
    persons, households = f.roster([{"household_no": "A1"}], [{"n": n, "household_no": "A1"} for n in (11, 12, 13)])
    acc = f.accident([(11, "2025-03-01", "death", None, 0), (11, "2025-03-05", "death", None, 0),
                      (11, "2025-02-01", "disability", 1, 0), (12, "2025-04-01", "disability", 3, 0),
                      (13, "2025-05-01", "disability", 2, 0)])
    claims = compute_claims(ZNB, persons, households, {"accident": acc})
    head = "[ZNB-610330-2025-v3/"
    cover = "团体人身意外 共用限额 / shared cap of cover 团体人身意外："
    assert _traces(claims) == {
        # first come by date across the cover: person 11's grade-1 disability (1 Feb) 50,000 × 100% = 50,000
        # fills his 50,000; his death (1 Mar, reported twice, paid once) 50,000 is cut to 0
        ("disability", f.pid(11)): (5_000_000, 5_000_000, head + "disability] 伤残保额 50000.00 × 1 级比例 100% = "
                                    "50000.00；已付 0.00；本次应付 50000.00"),
        ("death", f.pid(11)): (0, 0, head + "death] 意外身故保额 50000.00（2 条报告，给付一次）；" + cover
                               + "每人年度封顶 50000.00，本项剩余 0.00，削减 50000.00；已付 0.00；本次应付 0.00"),
        # person 12 (1 Apr): grade 3, 50,000 × 80% = 40,000; household so far 50,000 + 40,000 = 90,000
        ("disability", f.pid(12)): (4_000_000, 4_000_000, head + "disability] 伤残保额 50000.00 × 3 级比例 80% = "
                                    "40000.00；已付 0.00；本次应付 40000.00"),
        # person 13 (1 May): grade 2, 50,000 × 90% = 45,000; 3 victims → 120,000 − 90,000 = 30,000 left, 15,000 cut
        ("disability", f.pid(13)): (3_000_000, 3_000_000, head + "disability] 伤残保额 50000.00 × 2 级比例 90% = "
                                    "45000.00；" + cover + "3 人受害，户封顶 120000.00，本项剩余 30000.00，削减 15000.00；"
                                    "已付 0.00；本次应付 30000.00"),
    }
