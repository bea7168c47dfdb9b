"""The real-shaped corpus (issue 11, acceptance 1): every file of ``tests/data/corpus`` run through
``relief calc``, the claims checked to the fen against amounts computed by hand here, every data row
either used (``claim_sources.csv``) or listed in ``exceptions.csv``, and the expected reasons present.

The files are written by ``tests/data/corpus/build.py`` (its docstring says how each one imitates a
county export); the roster is ``persons.csv``/``households.csv`` there.  Products and the numbers the
arithmetic below uses (``products/catalog/*.yaml``):

* 魏县 防贫保 ``fangpinbao-weixian-2025``: illness self-paid, trigger 5,000 and start line 5,000, brackets
  50% to 10,000, 60% to 20,000, 70% above, cap 50,000; schooling net cost (tuition + board + books − aid)
  80% above 8,000, cap 30,000; 升学 本科 2,000 / 专科 1,000 once; disaster net loss (核定损失 − 其他赔偿)
  100% above 10,000, cap 30,000 per household; income line 1.5 × 4,000 = 6,000 per capita, net of the
  household's rigid costs to the event date; 特困供养 excluded.
* 凤县 助农保 ``zhunongbao-fengxian-2025``: death 50,000; disability 50,000 × grade rate (grade 1 = 100%,
  3 = 80%, 5 = 60%, 10 = 10%), both in one cover with the household's victims table (50,000 / 100,000 /
  120,000 for 1 / 2 / 3+ victims); accident hospital cost 100%, cap 30,000; 建档立卡 categories only, not
  稳定脱贫户 nor 集中供养 特困供养 (a blank 供养方式 is refused too) — run as a copy for the corpus county 130434.

The same files imported with ``relief import``, one after the other, give the claims with an amount due,
to the fen (SQLite; :data:`ON_POSTGRESQL` on PostgreSQL too when ``RELIEF_TEST_DATABASE_URL`` is set).

The warning lines are the county plans' (seed 001, 篇7 "防贫预警线"): "因病自付医疗费用超过0.5万元为预警线;
因灾自付超过1万元为预警线;因学年支付学费等超过0.8万元为预警线。" — *above* the line: 9,999.99 of disaster loss
(d01, the re-sends) and exactly 8,000 of schooling cost (e04) pay nothing, 5,000.01 of self-paid cost (m11)
pays.  助农保 covers 建档立卡 households "不包含集中供养五保户、稳定脱贫户" (seed 000, 篇七): a01's 特困供养
victim is not eligible.

A payment is rounded half up to the fen.  Person keys (p1 …) and households (H01 …) are build.py's.
"""

from __future__ import annotations

import importlib.util
import sqlite3
import sys
import tempfile
import uuid
from contextlib import closing
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
import yaml
from click.testing import CliRunner
from conftest import PG_URL, _pg_schema_url
from sqlalchemy import select, text

from claims.engine.files import parse_report_specs
from claims.lifecycle.database import make_engine, session_factory, upgrade
from claims.lifecycle.models import Claim
from flask_app.cli import relief
from products.loader import CATALOG

CORPUS = Path(__file__).parent / "data" / "corpus"


def _zhunongbao_of_the_corpus_county() -> str:
    """凤县's 助农保 catalog document for the corpus county 魏县 (130434), written to a scratch file: a product
    runs on its own county's roster only (凤县's own product on this roster is refused, tests/test_eligibility.py)."""
    doc = yaml.safe_load((CATALOG / "zhunongbao-fengxian-2025.yaml").read_text(encoding="utf-8"))
    doc.update(code="ZNB-130434-2025-CORPUS", county="130434", name="助农保（语料县）")
    path = Path(tempfile.mkdtemp(prefix="corpus-product-")) / "zhunongbao-corpus.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return str(path)


FPB, ZNB = "fangpinbao-weixian-2025", _zhunongbao_of_the_corpus_county()


def _load_builder():
    spec = importlib.util.spec_from_file_location("corpus_build", CORPUS / "build.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # (dataclasses look their module up there)
    spec.loader.exec_module(module)
    return module


build = sys.modules.get("corpus_build") or _load_builder()


@dataclass(frozen=True)
class Scenario:
    """Files given to one ``relief calc`` (department, path under the corpus), the claims expected as
    (line_id, unit) → (base, entitlement, due) or (base, entitlement, paid_before, due, overpaid) in yuan,
    the exception rows expected as (file name, line, reason) — every error and warning of the run must be
    among them — and text each expected row's detail must hold."""

    product: str
    reports: list[tuple[str, str]]
    claims: dict[tuple[str, str], tuple[str, ...]]
    reasons: set[tuple[str, int, str]] = field(default_factory=set)
    paid: str | None = None
    details: dict[tuple[str, int, str], str] = field(default_factory=dict)


SCENARIOS: dict[str, Scenario] = {
    # ---- medical (illness) ----
    "m01 plain NHSA export": Scenario(FPB, [("medical", "medical/m01_plain.csv")], {
        # p1: 20,000 − 统筹 8,000 − 大病 2,000 − 救助 1,000 = 9,000 self-paid → (9,000 − 5,000) × 50% = 2,000
        ("illness", "p1"): ("9000.00", "2000.00", "2000.00"),
        # p2: 6,000 − 3,000 = 3,000, not above the 5,000 trigger → 0
        ("illness", "p2"): ("3000.00", "0.00", "0.00"),
        # p4: 30,000 − 10,000 = 20,000 → 5,000 × 50% + 10,000 × 60% = 2,500 + 6,000 = 8,500
        ("illness", "p4"): ("20000.00", "8500.00", "8500.00"),
        # p8 (H04, 1 person, 7,000 per capita, above the 6,000 line): 16,000 − 4,000 = 12,000 self-paid; net
        # of it 7,000 × 1 − 12,000 = −5,000 ≤ 6,000 × 1, eligible (income_test net_of_costs; seed 000
        # 突发严重困难户 "收入高于6000元，但因病因灾因意外事故等突发状况，刚性支出较大") → 5,000 × 50% + 2,000 × 60% = 3,700
        ("illness", "p8"): ("12000.00", "3700.00", "3700.00"),
    }, {("m01_plain.csv", 5, "not_eligible"),  # p9's household is 特困供养
        ("m01_plain.csv", 6, "unknown_person"),
        ("m01_plain.csv", 8, "id_check_digit"),
        ("m01_plain.csv", 9, "outside_period")}),  # 2024-12-31, before the 2025 policy year

    "m02 title rows and a total row that agrees, GB18030": Scenario(FPB, [("medical", "medical/m02_title_total_gb18030.csv")], {
        # p1: 15,000 − 6,000 − 1,000 = 8,000 → 3,000 × 50% = 1,500
        ("illness", "p1"): ("8000.00", "1500.00", "1500.00"),
        # p4: 7,000 − 1,000 = 6,000 → 1,000 × 50% = 500
        ("illness", "p4"): ("6000.00", "500.00", "500.00"),
        # p6: 12,500.50 − 2,000 − 救助 500 = 10,000.50 → 2,500 + 0.50 × 60% = 2,500.30
        ("illness", "p6"): ("10000.50", "2500.30", "2500.30"),
    }, {("m02_title_total_gb18030.csv", 4, "header_row"),  # title, unit row, blank row above line 4
        # 合计 15,000 + 7,000 + 12,500.50 = 34,500.50; 统筹 6,000 + 1,000 + 2,000 = 9,000; 大病 1,000; 救助 500
        ("m02_title_total_gb18030.csv", 8, "control_total_ok")}),

    "m03 total row that disagrees (a truncated export), UTF-8 BOM": Scenario(FPB, [("medical", "medical/m03_total_wrong_bom.csv")], {
        # p2: 11,000 − 2,000 = 9,000 → 4,000 × 50% = 2,000
        ("illness", "p2"): ("9000.00", "2000.00", "2000.00"),
        # p6: 8,000 − 1,000 = 7,000 → 2,000 × 50% = 1,000
        ("illness", "p6"): ("7000.00", "1000.00", "1000.00"),
    }, {("m03_total_wrong_bom.csv", 4, "control_total_mismatch")},  # 合计 26,000 ≠ 11,000 + 8,000 = 19,000
        details={("m03_total_wrong_bom.csv", 4, "control_total_mismatch"): "26000.00"}),

    "m04 county header variants": Scenario(FPB, [("medical", "medical/m04_header_variants.csv")], {
        # p1: 18,000 − 6,000 − 2,000 = 10,000 (个人自付 10,000 agrees) → 5,000 × 50% = 2,500
        ("illness", "p1"): ("10000.00", "2500.00", "2500.00"),
        # p7: 9,800 − 1,500 − 救助 300 = 8,000 → 3,000 × 50% = 1,500
        ("illness", "p7"): ("8000.00", "1500.00", "1500.00"),
    }),

    "m05 two ID columns that agree": Scenario(FPB, [("medical", "medical/m05_two_ids_agree.csv")], {
        # p4: 13,000 − 2,000 = 11,000 → 2,500 + 1,000 × 60% = 3,100
        ("illness", "p4"): ("11000.00", "3100.00", "3100.00"),
        # p6: 6,500 − 500 = 6,000 → 1,000 × 50% = 500
        ("illness", "p6"): ("6000.00", "500.00", "500.00"),
    }),

    "m06 two ID columns that disagree": Scenario(FPB, [("medical", "medical/m06_two_ids_disagree.csv")], {
        ("illness", "p4"): ("11000.00", "3100.00", "3100.00"),  # as in m05
    }, {("m06_two_ids_disagree.csv", 3, "id_columns_disagree")}),  # 身份证号 p6, 证件号码 p7: row not used

    "m07 full-width digits and X, zero-width space, NBSP": Scenario(FPB, [("medical", "medical/m07_fullwidth.csv")], {
        # p7 (ID ends in Ｘ, typed full width): １２０００.００ − 2,000 = 10,000 → 2,500
        ("illness", "p7"): ("10000.00", "2500.00", "2500.00"),
        # p1 (a zero-width space inside the ID): NBSP 9,000 − 1,000 = 8,000 → 1,500
        ("illness", "p1"): ("8000.00", "1500.00", "1500.00"),
        # p4 (NBSP around the ID): 7,000 − １,000 = 6,000 → 500
        ("illness", "p4"): ("6000.00", "500.00", "500.00"),
    }),

    "m08 accounting zeros": Scenario(FPB, [("medical", "medical/m08_accounting_zero.csv")], {
        # p1: 8,000 − 2,000 − four " - " (0) = 6,000 → 500
        ("illness", "p1"): ("6000.00", "500.00", "500.00"),
        # p6: 15,000 − 3,000 − "-" (0) = 12,000 → 2,500 + 2,000 × 60% = 3,700
        ("illness", "p6"): ("12000.00", "3700.00", "3700.00"),
    }),

    "m09 Excel: merged title, serial dates, ID stored as a number": Scenario(FPB, [("medical", "medical/m09_excel_title.xlsx")], {
        # p1 (date 45727 = 2025-03-11): 16,000 − 4,000 = 12,000 → 3,700
        ("illness", "p1"): ("12000.00", "3700.00", "3700.00"),
        # p6: 10,500.25 − 2,000 − 500 = 8,000.25 → 3,000.25 × 50% = 1,500.125 → 1,500.13 (half up)
        ("illness", "p6"): ("8000.25", "1500.13", "1500.13"),
        # p2 (a real date cell): 7,500 → 2,500 × 50% = 1,250
        ("illness", "p2"): ("7500.00", "1250.00", "1250.00"),
    }, {("m09_excel_title.xlsx", 2, "header_row"),
        ("m09_excel_title.xlsx", 5, "id_as_number")}),  # p4's ID kept by Excel as 1.30434196804040E+17

    "m10 one sheet per month": Scenario(FPB, [("medical", "medical/m10_sheets.xlsx")], {
        # p1: 3月 14,000 − 4,000 = 10,000; 4月 7,000 − 1,000 = 6,000; base 16,000 → 2,500 + 6,000 × 60% = 6,100
        ("illness", "p1"): ("16000.00", "6100.00", "6100.00"),
        # p6: 4月 11,000 → 2,500 + 1,000 × 60% = 3,100
        ("illness", "p6"): ("11000.00", "3100.00", "3100.00"),
    }),

    "m15 subtotal, total and footer rows, thousands separators": Scenario(FPB, [
        ("medical", "medical/m15_subtotal_footer.csv")], {
        # p7 (ID ending in a lower-case x): 12,000.00 − 2,000.00 = 10,000 → 5,000 × 50% = 2,500
        ("illness", "p7"): ("10000.00", "2500.00", "2500.00"),
        # p4: 6,500 − 500 = 6,000 → 1,000 × 50% = 500
        ("illness", "p4"): ("6000.00", "500.00", "500.00"),
    }, {("m15_subtotal_footer.csv", 3, "subtotal_row"),  # 小计: not data, not added to the control total
        ("m15_subtotal_footer.csv", 5, "control_total_ok"),  # 合计 12,000 + 6,500 = 18,500; 2,000 + 500 = 2,500
        ("m15_subtotal_footer.csv", 6, "footer_row")}),

    "m11 UTF-16 Unicode text, tab": Scenario(FPB, [("medical", "medical/m11_utf16.txt")], {
        # p4: 21,000 − 5,000 − 1,000 = 15,000 → 2,500 + 5,000 × 60% = 5,500
        ("illness", "p4"): ("15000.00", "5500.00", "5500.00"),
        # p7: 5,000.01 → 0.01 × 50% = 0.005 → 0.01 (half up)
        ("illness", "p7"): ("5000.01", "0.01", "0.01"),
    }),

    "medical re-sends: identical (GB18030, CRLF, reordered, renamed) and corrected": Scenario(FPB, [
        ("medical", "medical/resend/2025-04.csv"), ("medical", "medical/resend/2025-04 (1).csv"),
        ("medical", "medical/resend/2025-05_corrected.csv")], {
        # p1: April 9,000 − 1,000 = 8,000 (counted once) + May 3,000 − 500 = 2,500 → 10,500 → 2,500 + 300 = 2,800
        ("illness", "p1"): ("10500.00", "2800.00", "2800.00"),
        # p4: April S1202 10,000 corrected in May to 14,000 − 2,000 = 12,000 → 2,500 + 1,200 = 3,700
        ("illness", "p4"): ("12000.00", "3700.00", "3700.00"),
    }, {("2025-04 (1).csv", 2, "resent"), ("2025-04 (1).csv", 3, "resent"),  # a re-encoded copy: row by row
        ("2025-05_corrected.csv", 2, "corrected"),
        ("2025-04.csv", 3, "superseded")},
        details={("2025-05_corrected.csv", 2, "corrected"): "12000.00 → 14000.00"}),  # 医疗费总额, old → new

    "medical refunds in every spelling, overpaid": Scenario(FPB, [
        ("medical", "medical/refund/2025-06.csv"), ("medical", "medical/refund/2025-07_negative.csv"),
        ("medical", "medical/refund/2025-07_flag.csv"), ("medical", "medical/refund/2025-07_reference.csv"),
        ("medical", "medical/refund/2025-07_parens.csv")], {
        # paid before (paid.csv) = June's entitlements: p1 f(12,000) = 3,700; p4 f(9,000) = 2,000;
        # p6 f(8,000) = 1,500; p7 f(10,000) = 2,500.
        # p1: June 14,000 − 2,000 = 12,000; refund under S1301 −3,000 − (−1,000) = −2,000 → 10,000 → 2,500;
        #     paid 3,700 → due 0, overpaid 1,200
        ("illness", "p1"): ("10000.00", "2500.00", "3700.00", "0.00", "1200.00"),
        # p4: June 11,000 − 2,000 = 9,000; T1302 flagged 退费 2,500 − 500 = 2,000 → −2,000; S1305 1,000 → 8,000
        #     → 1,500; paid 2,000 → overpaid 500
        ("illness", "p4"): ("8000.00", "1500.00", "2000.00", "0.00", "500.00"),
        # p6: June 9,000 − 1,000 = 8,000; T1303 (原结算ID S1303) −1,500 − (−500) = −1,000 → 7,000 → 1,000;
        #     paid 1,500 → overpaid 500
        ("illness", "p6"): ("7000.00", "1000.00", "1500.00", "0.00", "500.00"),
        # p7: June 13,000 − 3,000 = 10,000; S1304 (4,000.00) − (1,000.00) = −3,000 → 7,000 → 1,000;
        #     paid 2,500 → overpaid 1,500
        ("illness", "p7"): ("7000.00", "1000.00", "2500.00", "0.00", "1500.00"),
    }, paid="medical/refund/paid.csv"),

    "medical refunds in every spelling, nothing paid before": Scenario(FPB, [
        ("medical", "medical/refund/2025-06.csv"), ("medical", "medical/refund/2025-07_negative.csv"),
        ("medical", "medical/refund/2025-07_flag.csv"), ("medical", "medical/refund/2025-07_reference.csv"),
        ("medical", "medical/refund/2025-07_parens.csv")], {
        # the bases netted as above: p1 12,000 − 2,000 = 10,000 → 2,500; p4 9,000 − 2,000 + 1,000 = 8,000
        # → 1,500; p6 8,000 − 1,000 = 7,000 → 1,000; p7 10,000 − 3,000 = 7,000 → 1,000
        ("illness", "p1"): ("10000.00", "2500.00", "2500.00"),
        ("illness", "p4"): ("8000.00", "1500.00", "1500.00"),
        ("illness", "p6"): ("7000.00", "1000.00", "1000.00"),
        ("illness", "p7"): ("7000.00", "1000.00", "1000.00"),
    }),

    "income report brings a household under the line": Scenario(FPB, [
        ("income", "income/i01_plain.csv"), ("income", "income/i02_resend_title.csv"),
        ("medical", "medical/m14_income_july.csv")], {
        # H04's roster income 7,000 > 6,000, but the report says 5,200 as of 2025-06-30: p8's July bill
        # 13,000 − 2,000 = 11,000 counts → 2,500 + 1,000 × 60% = 3,100
        ("illness", "p8"): ("11000.00", "3100.00", "3100.00"),
    }, {("i02_resend_title.csv", 2, "header_row"), ("i02_resend_title.csv", 3, "resent"),
        ("i02_resend_title.csv", 4, "resent")}),

    # ---- education (schooling, entry) ----
    "e01 plain education list": Scenario(FPB, [("education", "education/e01_plain.csv")], {
        # p3: 6,000 + 1,500 + 800 = 8,300 → 300 × 80% = 240; 新生 本科 → 2,000
        ("schooling", "p3"): ("8300.00", "240.00", "240.00"),
        ("entry", "p3"): ("2000.00", "2000.00", "2000.00"),
        # p5: 3,000 + 1,200 + 300 = 4,500, not above 8,000 → 0
        ("schooling", "p5"): ("4500.00", "0.00", "0.00"),
        # p11: 7,000 + 2,000 + 1,000 − 资助 500 = 9,500 → 1,500 × 80% = 1,200; 新生 专科 → 1,000
        ("schooling", "p11"): ("9500.00", "1200.00", "1200.00"),
        ("entry", "p11"): ("1000.00", "1000.00", "1000.00"),
    }, {("e01_plain.csv", 5, "not_eligible")}),  # p9: 特困供养

    "e02 term instead of school year, title row, GB18030": Scenario(FPB, [("education", "education/e02_term_gb18030.csv")], {
        # p3 (2025-2026学年第一学期): 5,000 + 1,000 + 500 = 6,500 → 0
        ("schooling", "p3"): ("6500.00", "0.00", "0.00"),
        # p11 (2025年秋季学期): 6,000 + 1,500 + 600 = 8,100 → 100 × 80% = 80
        ("schooling", "p11"): ("8100.00", "80.00", "80.00"),
    }, {("e02_term_gb18030.csv", 2, "header_row")}),

    "e03 amounts in wan yuan": Scenario(FPB, [("education", "education/e03_wanyuan.csv")], {
        # p3: 0.65 + 0.15 + 0.08 万元 = 6,500 + 1,500 + 800 = 8,800 → 800 × 80% = 640
        ("schooling", "p3"): ("8800.00", "640.00", "640.00"),
        # p5: 0.9 + 0.1 + 0.0125 万元 = 9,000 + 1,000 + 125 = 10,125 → 2,125 × 80% = 1,700
        ("schooling", "p5"): ("10125.00", "1700.00", "1700.00"),
    }, {("e03_wanyuan.csv", 1, "unit_wan")}),

    "e04 Excel with aid from other schemes": Scenario(FPB, [("education", "education/e04_aid.xlsx")], {
        # p3: 8,000 + 2,000 + 1,000 − 已获资助 3,000 = 8,000, not above 8,000 → 0; 新生 本科 → 2,000
        ("schooling", "p3"): ("8000.00", "0.00", "0.00"),
        ("entry", "p3"): ("2000.00", "2000.00", "2000.00"),
        # p11: 9,000 + 2,500 + 500 = 12,000 → 4,000 × 80% = 3,200
        ("schooling", "p11"): ("12000.00", "3200.00", "3200.00"),
    }, {("e04_aid.xlsx", 2, "header_row")}),

    "e05 UTF-16 Unicode text": Scenario(FPB, [("education", "education/e05_utf16.txt")], {
        # p5: 8,000 + 1,500 + 700 = 10,200 → 2,200 × 80% = 1,760
        ("schooling", "p5"): ("10200.00", "1760.00", "1760.00"),
    }),

    "e06 one row per fee, record numbers": Scenario(FPB, [("education", "education/e06_record_numbers.csv")], {
        # p5: JY-2025-0001 tuition 6,000 + JY-2025-0002 board 2,000 + books 800 = 8,800 (two records, not a
        # correction) → 800 × 80% = 640
        ("schooling", "p5"): ("8800.00", "640.00", "640.00"),
    }),

    "education re-sends: identical and corrected": Scenario(FPB, [
        ("education", "education/resend/2025-09.csv"), ("education", "education/resend/2025-09 (1).csv"),
        ("education", "education/resend/2025-10_corrected.csv")], {
        # p3: September 7,000 + 1,500 + 500 = 9,000, corrected in October to 9,000 + 1,500 + 500 = 11,000
        #     (not 9,000 × 2 + 11,000) → 3,000 × 80% = 2,400
        ("schooling", "p3"): ("11000.00", "2400.00", "2400.00"),
        # p11: 6,000 + 2,000 + 1,000 = 9,000 once → 1,000 × 80% = 800
        ("schooling", "p11"): ("9000.00", "800.00", "800.00"),
    }, {("2025-09 (1).csv", 2, "resent"), ("2025-09 (1).csv", 3, "resent"),
        ("2025-10_corrected.csv", 2, "corrected"),
        ("2025-09.csv", 2, "superseded")},
        details={("2025-10_corrected.csv", 2, "corrected"): "7000.00 → 9000.00"}),  # 学费, old → new

    # ---- disaster ----
    "d01 plain disaster list": Scenario(FPB, [("disaster", "disaster/d01_plain.csv")], {
        # H01: 15,000 − 其他赔偿 2,000 = 13,000 → 3,000 × 100% = 3,000
        ("disaster", "H01"): ("13000.00", "3000.00", "3000.00"),
        # H02: 9,999.99, not above 10,000 → 0
        ("disaster", "H02"): ("9999.99", "0.00", "0.00"),
        # H03: 42,000 → 32,000, capped at 30,000 per household per year
        ("disaster", "H03"): ("42000.00", "30000.00", "30000.00"),
    }, {("d01_plain.csv", 5, "unknown_household")}),

    "d01 given twice in one run": Scenario(FPB, [("disaster", "disaster/d01_plain.csv"),
                                                 ("disaster", "disaster/d01_plain.csv")], {
        # one file row same_file for the second (the same name); its lines are not listed one by one
        # counted once (the H02 at 9,999.99 was paid 9,999.98 when doubled)
        ("disaster", "H01"): ("13000.00", "3000.00", "3000.00"),
        ("disaster", "H02"): ("9999.99", "0.00", "0.00"),
        ("disaster", "H03"): ("42000.00", "30000.00", "30000.00"),
    }, {("d01_plain.csv", 5, "unknown_household"), ("d01_plain.csv", 0, "same_file")}),

    "d02 keyed by the householder's ID": Scenario(FPB, [("disaster", "disaster/d02_householder_id.csv")], {
        # H01 (householder p1): 18,000 → 8,000
        ("disaster", "H01"): ("18000.00", "8000.00", "8000.00"),
        # H03 (householder p6): 11,000.50 → 1,000.50
        ("disaster", "H03"): ("11000.50", "1000.50", "1000.50"),
    }),

    "d03 wan yuan in the title unit row, GB18030": Scenario(FPB, [("disaster", "disaster/d03_wanyuan_title.csv")], {
        # H01: 1.25 万元 = 12,500 → 2,500
        ("disaster", "H01"): ("12500.00", "2500.00", "2500.00"),
        # H02: 2.1 − 0.3 万元 = 21,000 − 3,000 = 18,000 → 8,000
        ("disaster", "H02"): ("18000.00", "8000.00", "8000.00"),
    }, {("d03_wanyuan_title.csv", 3, "header_row"), ("d03_wanyuan_title.csv", 3, "unit_wan")}),

    "d04 Excel: serial dates, total row that agrees": Scenario(FPB, [("disaster", "disaster/d04_serial_dates.xlsx")], {
        # H02 (45901 = 2025-09-01): 16,000 − 1,000 = 15,000 → 5,000
        ("disaster", "H02"): ("15000.00", "5000.00", "5000.00"),
        # H03 (a date cell): 12,000 → 2,000
        ("disaster", "H03"): ("12000.00", "2000.00", "2000.00"),
    }, {("d04_serial_dates.xlsx", 2, "header_row"),
        ("d04_serial_dates.xlsx", 5, "control_total_ok")}),  # 合计 16,000 + 12,000 = 28,000; 1,000 + 0 = 1,000

    "d05 two losses on one day, report numbers": Scenario(FPB, [("disaster", "disaster/d05_report_numbers.csv")], {
        # H03: ZQ-2025-017 6,000 + ZQ-2025-018 5,000 = 11,000 (two records, not a correction) → 1,000
        ("disaster", "H03"): ("11000.00", "1000.00", "1000.00"),
    }),

    "disaster re-sends: September again in October, corrected in November": Scenario(FPB, [
        ("disaster", "disaster/resend/2025-09.csv"), ("disaster", "disaster/resend/2025-10.csv"),
        ("disaster", "disaster/resend/2025-11_corrected.csv")], {
        # H01: 2025-09-15 洪涝 12,000, re-sent in October, corrected in November to 14,000 → 4,000
        ("disaster", "H01"): ("14000.00", "4000.00", "4000.00"),
        # H02: 9,999.99 once (not 19,999.98) → 0
        ("disaster", "H02"): ("9999.99", "0.00", "0.00"),
        # H03: 10,500 (October) → 500
        ("disaster", "H03"): ("10500.00", "500.00", "500.00"),
    }, {("2025-10.csv", 2, "resent"), ("2025-10.csv", 3, "resent"),
        ("2025-11_corrected.csv", 2, "corrected"), ("2025-09.csv", 3, "superseded")},
        details={("2025-11_corrected.csv", 2, "corrected"): "12000.00 → 14000.00"}),  # 核定损失, old → new

    # ---- accident (凤县 助农保) ----
    "a01 plain accident list": Scenario(ZNB, [("accident", "accident/a01_plain.csv")], {
        # p6: death → the sum insured 50,000
        ("death", "p6"): ("50000.00", "50000.00", "50000.00"),
        # p10: disability grade 3 → 50,000 × 80% = 40,000
        ("disability", "p10"): ("50000.00", "40000.00", "40000.00"),
        # p7: hospital 12,345.67 → 100%, under the 30,000 cap
        ("accident_medical", "p7"): ("12345.67", "12345.67", "12345.67"),
    }, {("a01_plain.csv", 5, "not_eligible"),  # p9: 特困供养
        ("a01_plain.csv", 6, "bad_grade")}),  # 伤残 without a grade

    "a02 Chinese grades, title row, GB18030": Scenario(ZNB, [("accident", "accident/a02_grades_gb18030.csv")], {
        # p1 三级 → 50,000 × 80% = 40,000; p4 伤残十级 → 10% = 5,000; p10 第五级 → 60% = 30,000
        ("disability", "p1"): ("50000.00", "40000.00", "40000.00"),
        ("disability", "p4"): ("50000.00", "5000.00", "5000.00"),
        ("disability", "p10"): ("50000.00", "30000.00", "30000.00"),
    }, {("a02_grades_gb18030.csv", 2, "header_row")}),

    "a03 Excel: serial dates, an ID stored as a number": Scenario(ZNB, [("accident", "accident/a03_serial_dates.xlsx")], {
        # p2 (45839 = 2025-07-01): hospital 8,000.50
        ("accident_medical", "p2"): ("8000.50", "8000.50", "8000.50"),
        # p10 (a 15-digit number: every digit is there, 19 and the check digit restored): hospital 2,000
        ("accident_medical", "p10"): ("2000.00", "2000.00", "2000.00"),
    }, {("a03_serial_dates.xlsx", 2, "header_row"), ("a03_serial_dates.xlsx", 4, "id_as_number")}),

    "a04 one household, three victims": Scenario(ZNB, [("accident", "accident/a04_three_victims.csv")], {
        # H01: p1 and p2 killed on 2025-09-01 (50,000 each), p3 disabled grade 一级 on 2025-09-03 (100% of
        # 50,000); one cover, 团体人身意外 "120,000 per household; one victim ≤ 50,000, two ≤ 100,000, three
        # or more ≤ 120,000" (catalog), first come first served: the disability gets 120,000 − 100,000 = 20,000
        ("death", "p1"): ("50000.00", "50000.00", "50000.00"),
        ("death", "p2"): ("50000.00", "50000.00", "50000.00"),
        ("disability", "p3"): ("50000.00", "20000.00", "20000.00"),
    }),

    "accident re-send as Unicode text": Scenario(ZNB, [
        ("accident", "accident/resend/2025-08.csv"), ("accident", "accident/resend/2025-08_unicode.txt")], {
        # p4: hospital 6,000 once (not 12,000); p1: death 50,000
        ("accident_medical", "p4"): ("6000.00", "6000.00", "6000.00"),
        ("death", "p1"): ("50000.00", "50000.00", "50000.00"),
    }, {("2025-08_unicode.txt", 2, "resent"), ("2025-08_unicode.txt", 3, "resent")}),
}


def unit_id(unit: str) -> str:
    return build.pid(unit) if unit in build.PERSONS else unit


@pytest.fixture(scope="module")
def rebuilt(tmp_path_factory) -> tuple[Path, dict[str, object]]:
    """build.py run again into a scratch directory: (that directory, its description of every file)."""
    out = tmp_path_factory.mktemp("corpus")
    return out, {f.path: f for f in build.build(out)}


@pytest.fixture(scope="module")
def described(rebuilt) -> dict[str, object]:
    return rebuilt[1]


def test_the_committed_files_are_what_build_writes(rebuilt):
    fresh, described = rebuilt
    assert len(described) >= 40
    for path in [*described, *build.OTHER_FILES]:
        assert (fresh / path).read_bytes() == (CORPUS / path).read_bytes(), path


def test_every_file_is_in_a_scenario(described):
    used = {path for s in SCENARIOS.values() for _, path in s.reports}
    assert sorted(set(described) - used) == []


def run_calc(scenario: Scenario, out: Path) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, list]:
    reports = [f"{dept}={CORPUS / path}" for dept, path in scenario.reports]
    args = ["calc", "--product", scenario.product, "--persons", str(CORPUS / "persons.csv"),
            "--households", str(CORPUS / "households.csv"), "--out", str(out), "--quiet"]
    for r in reports:
        args += ["--report", r]
    if scenario.paid:
        args += ["--paid", str(CORPUS / scenario.paid)]
    result = CliRunner().invoke(relief, args)
    assert result.exit_code == 0, result.output
    read = {name: pd.read_csv(out / name, dtype=str, keep_default_na=False, encoding="utf-8-sig")
            for name in ("claims.csv", "exceptions.csv", "claim_sources.csv")}
    return read["claims.csv"], read["exceptions.csv"], read["claim_sources.csv"], parse_report_specs(reports)


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_scenario(name, described, tmp_path):
    scenario = SCENARIOS[name]
    claims, exceptions, sources, labelled = run_calc(scenario, tmp_path / "out")

    width = len(next(iter(scenario.claims.values())))
    cols = ["base", "entitlement", "due"] if width == 3 else ["base", "entitlement", "paid_before", "due", "overpaid"]
    got = {(line, unit): tuple(amounts) for line, unit, *amounts in claims[["line_id", "unit_id", *cols]].itertuples(
        index=False)}
    expected = {(line, unit_id(unit)): amounts for (line, unit), amounts in scenario.claims.items()}
    assert got == expected

    # files are compared by name (a file given twice in one run is labelled by its full path)
    rows = {(Path(f).name, int(line), reason): (severity, detail) for f, line, reason, severity, detail in zip(
        exceptions["file"], exceptions["line"], exceptions["reason"], exceptions["severity"], exceptions["detail"])}
    listed = set(rows)
    table = exceptions[["file", "line", "reason", "severity"]].to_string()
    assert scenario.reasons - listed == set(), table
    unexpected = {r for r, (severity, _) in rows.items() if severity in ("error", "warning")} - scenario.reasons
    assert unexpected == set(), table
    for place, words in scenario.details.items():
        assert words in rows[place][1], rows[place][1]

    # every data row is used or listed by file and line (a file named as given twice: by its file row)
    used = {(Path(f).name, int(line)) for f, line in zip(sources["source_file"], sources["source_line"])}
    places = {(f, line) for f, line, _ in listed}
    whole_files = {f for f, line, reason in listed if reason == "same_file"}
    unaccounted = []
    for _, path, label in labelled:
        corpus_file = described[path.relative_to(CORPUS).as_posix()]
        for sheet, lines in corpus_file.data_lines.items():
            name = Path(f"{label}!{sheet}" if len(corpus_file.data_lines) > 1 else label).name  # file!sheet
            unaccounted += [(name, line) for line in lines
                            if (name, line) not in used and (name, line) not in places and name not in whole_files]
    assert unaccounted == [], table


# ---- the same files through relief import -------------------------------------------------------------

ALREADY_IMPORTED = 3  # relief import's exit code for a file whose bytes were imported before
#: Scenarios also run on PostgreSQL when it is configured (each needs a migrated schema of its own).
ON_POSTGRESQL = ["m09 Excel: merged title, serial dates, ID stored as a number",
                 "medical re-sends: identical (GB18030, CRLF, reordered, renamed) and corrected",
                 "medical refunds in every spelling, nothing paid before",
                 "education re-sends: identical and corrected",
                 "disaster re-sends: September again in October, corrected in November"]


def setup_county(url: str, product: str) -> None:
    """Migrate, then the product, its policy and the corpus roster (``relief setup``)."""
    upgrade(url)
    result = CliRunner().invoke(relief, [
        "setup", "--product", product, "--framed-heads", "100", "--persons", str(CORPUS / "persons.csv"),
        "--households", str(CORPUS / "households.csv"), "--database", url])
    assert result.exit_code == 0, result.output


def check_imported(url: str, scenario: Scenario) -> None:
    """Each file of the scenario through ``relief import`` in turn: the database's claims are the expected
    claims with an amount due (base, entitlement, amount = due)."""
    for dept, file in scenario.reports:
        result = CliRunner().invoke(relief, ["import", "--department", dept, str(CORPUS / file), "--database", url])
        assert result.exit_code in (0, ALREADY_IMPORTED), result.output
    engine = make_engine(url)
    try:
        with session_factory(engine)() as session:
            got = {(c.line_id, c.unit_id): (c.base, c.entitlement, c.amount) for c in session.scalars(select(Claim))}
    finally:
        engine.dispose()
    expected = {(line, unit_id(unit)): tuple(Decimal(a) for a in amounts)
                for (line, unit), amounts in scenario.claims.items() if Decimal(amounts[-1]) > 0}
    assert got == expected


@pytest.fixture(scope="module")
def counties(tmp_path_factory) -> dict[str, Path]:
    """Per product, a SQLite file set up by :func:`setup_county` (migrating takes seconds: copied per test)."""
    out = {}
    for product in (FPB, ZNB):
        path = tmp_path_factory.mktemp("county") / "county.db"
        setup_county(f"sqlite:///{path}", product)
        out[product] = path
    return out


@pytest.mark.parametrize("name", [n for n, s in SCENARIOS.items() if s.paid is None])
def test_scenario_imported(name, counties, tmp_path):
    scenario = SCENARIOS[name]
    path = tmp_path / "county.db"
    with closing(sqlite3.connect(counties[scenario.product])) as src, closing(sqlite3.connect(path)) as dst:
        src.backup(dst)  # (the backup reads the template's WAL too)
    check_imported(f"sqlite:///{path}", scenario)


@pytest.mark.pg
@pytest.mark.skipif(not PG_URL, reason="PostgreSQL not configured: set RELIEF_TEST_DATABASE_URL")
@pytest.mark.parametrize("name", ON_POSTGRESQL)
def test_scenario_imported_postgresql(name):
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = make_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        url = _pg_schema_url(PG_URL, schema)
        setup_county(url, SCENARIOS[name].product)
        check_imported(url, SCENARIOS[name])
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()
