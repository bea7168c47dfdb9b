"""明白卡 and policy summaries (issue 14, item 6).

Seeds 000 and 002, 篇七 (../shared/seeds/000_b0b948f29a18e9c9.txt, 002_02e39174bb6f32cc.txt): "保险公司…按户向参保
贫困户发放保险服务明白卡，明确保障范围及理赔流程" — one card per household: who is insured, what each line pays and
from when, how a claim is made (seed 000: "农户自主申报…拨打12317咨询服务电话"), the hotline.  Every amount below is
read off the product YAML (products/catalog/…) and worked out by hand here.
"""

from __future__ import annotations

import shutil
import subprocess

import pytest
from click.testing import CliRunner
from factories import pid
from sqlalchemy import update
from test_api import make_app
from web_helpers import login

from claims.lifecycle.database import transaction
from claims.lifecycle.household_cards import household_card, line_terms, percent, policy_summary, yuan
from claims.lifecycle.models import User
from flask_app import db as web_db
from flask_app import pdf as web_pdf
from flask_app.auth import hash_password
from flask_app.cli import relief
from flask_app.documents import card_html
from products import load_product

PASSWORD = "pw-for-card-tests"


def masked(n: int) -> str:
    """The card's mask of resident ID n: its first 6 and last 4 characters around 8 stars."""
    return pid(n)[:6] + "********" + pid(n)[-4:]


# ------------------------------------------------------------------ words from the product document (pure)

def test_money_and_rate_words():
    assert (yuan(500_000), yuan(123_456), yuan(5), yuan(0)) == ("5,000", "1,234.56", "0.05", "0")
    assert (percent(5000), percent(10_000), percent(1250), percent(5)) == ("50%", "100%", "12.5%", "0.05%")


def test_weixian_fangpinbao_lines_in_words():
    """魏县 防贫保 (fangpinbao-weixian-2025.yaml): illness trigger and start_line 5,000, brackets to 10,000 at 0.5,
    to 20,000 at 0.6, above at 0.7, per_year 50,000; schooling start 8,000 at 0.8, cap 30,000; disaster (per
    household) start 10,000 at 1.0, cap 30,000; 升学 本科 2,000 / 专科 1,000; per person per year 100,000."""
    summary = policy_summary(load_product("fangpinbao-weixian-2025"), hotline="0310-1234567")
    lines = {t.id: t for t in summary.lines}
    assert lines["illness"].terms == ["年度个人自付医疗费用超过 5,000 元时赔付", "5,000–10,000 元部分赔付 50%",
                                      "10,000–20,000 元部分赔付 60%", "20,000 元以上部分赔付 70%", "每人每年最高 50,000 元"]
    # example at the last bounded bracket (20,000) + 5,000 = 25,000 self-paid:
    # (10,000 − 5,000) × 50% + (20,000 − 10,000) × 60% + (25,000 − 20,000) × 70% = 2,500 + 6,000 + 3,500 = 12,000
    assert lines["illness"].example == "例：年度个人自付医疗费用 25,000 元，赔付 5,000×50% + 10,000×60% + 5,000×70% = 12,000 元"
    # schooling: no bounded bracket → 8,000 + 5,000 = 13,000; (13,000 − 8,000) × 80% = 4,000
    assert lines["schooling"].example.endswith("13,000 元，赔付 5,000×80% = 4,000 元")
    assert "每人每年最高 30,000 元" in lines["schooling"].terms
    assert lines["disaster"].basis == "每户" and "每户每年最高 30,000 元" in lines["disaster"].terms
    # disaster: 10,000 + 5,000 = 15,000; (15,000 − 10,000) × 100% = 5,000
    assert lines["disaster"].example.endswith("15,000 元，赔付 5,000×100% = 5,000 元")
    assert lines["entry"].terms == ["一次性补助：本科 2,000 元，专科 1,000 元"]
    assert summary.caps == ["全部责任每人每年合计最高 100,000 元"]
    assert summary.premium.startswith("每人每年 50 元")
    steps = "".join(summary.steps)
    assert "12317" in steps and "0310-1234567" in steps and "公示 10 天" in steps


def test_fengxian_zhunongbao_lines_and_covers_in_words():
    """凤县 助农保: death 50,000; disability 50,000 × grade rate (1 → 100% … 10 → 10%); the 团体人身意外 cover
    50,000 per person and 1 / 2 / 3+ victims 50,000 / 100,000 / 120,000 per household; accident medical 30,000
    per person and per household; premium 180 per household."""
    product = load_product("zhunongbao-fengxian-2025")
    summary = policy_summary(product)
    lines = {t.id: t for t in summary.lines}
    assert lines["death"].terms == ["意外身故给付 50,000 元"]
    assert lines["disability"].terms[0].startswith("意外伤残按等级给付保额 50,000 元的：1级 100%，2级 90%")
    assert lines["disability"].terms[0].endswith("10级 10%")
    assert lines["accident_medical"].terms == ["按意外伤害医疗费用赔付", "全部赔付 100%", "每人每年最高 30,000 元",
                                               "全户每年合计最高 30,000 元"]
    assert "限：火灾、房屋损坏、洪涝" in lines["property"].terms
    assert summary.caps == ["团体人身意外（团体人身意外（身故）、团体人身意外（伤残））每人每年合计最高 50,000 元",
                            "团体人身意外每户按受害人数封顶：1人 50,000 元，2人 100,000 元，3人及以上 120,000 元"]
    assert summary.premium.startswith("每户每年 180 元")
    assert summary.hotline == "12317"  # no county hotline given: the national one of seed 000


def test_a_product_without_notice_says_so_on_the_card():
    product = load_product({**load_product("fangpinbao-weixian-2025").document, "notice_required": False,
                            "code": "FPB-no-notice"})
    steps = "".join(policy_summary(product).steps)
    assert "不公示" in steps and "公示 10 天" not in steps


def test_line_terms_of_an_inpatient_only_line():
    product = load_product("fangpinbao-weixian-2025")
    illness = product.line("illness")
    from dataclasses import replace

    assert line_terms(replace(illness, inpatient_only=True)).terms[0].endswith("（仅限住院）")


# ------------------------------------------------------------------ the card of a household, PDF, CLI and page

@pytest.fixture
def county(db_url, tmp_path):
    """tests/test_api.make_app: H1 (张三 户主 pid 1, 李四 配偶 pid 2; V1, 张庄) and H3 in V1, H2 (王五) in V2."""
    app = make_app(db_url, tmp_path)
    with app.app_context(), transaction(web_db.factory()) as s:
        s.execute(update(User).values(password_hash=hash_password(PASSWORD)))
    yield app
    app.extensions["relief_engine"].dispose()


def _pdf_text(data: bytes, tmp_path) -> list[str]:  # noqa: ANN001
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    path = tmp_path / "doc.pdf"
    path.write_bytes(data)
    out = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout
    return ["".join(page.split()) for page in out.split("\f") if page.strip()]


def _needs_font() -> None:
    if web_pdf.cjk_font() is None:
        pytest.skip("no CJK font installed (fonts-wqy-zenhei / fonts-arphic-uming / fonts-noto-cjk): no PDF is made")


def test_household_card_lists_members_with_masked_ids(county):
    with county.app_context(), web_db.factory()() as s:
        card = household_card(s, "H1", 1, hotline="0310-1234567")
        html = card_html(card)
    assert [(m["name"], m["relation"], m["id"]) for m in card.members] == [("张三", "户主", masked(1)),
                                                                          ("李四", "配偶", masked(2))]
    assert (card.natural_village, card.category) == ("张庄", "边缘易致贫户")
    assert pid(1) not in html and pid(2) not in html and masked(1) in html
    assert "防贫保保险服务明白卡" in html and "2025年1月1日起" in html


def test_card_pdf_is_one_chinese_page_with_lines_amounts_and_hotline(county, db_url, tmp_path):
    _needs_font()
    out = tmp_path / "card.pdf"
    result = CliRunner().invoke(relief, ["card", "--household", "H1", "--out", str(out), "--hotline",
                                         "0310-1234567", "--date", "2025-03-01", "--database", db_url])
    assert result.exit_code == 0, result.output
    pages = _pdf_text(out.read_bytes(), tmp_path)
    assert len(pages) == 1, "the 明白卡 is one page"
    text = pages[0]
    for words in ("防贫保保险服务明白卡", "张三", "李四", masked(1), masked(2), "因病防贫", "因学防贫", "因灾防贫",
                  "升学补助", "5,000–10,000元部分赔付50%", "每人每年最高50,000元", "本科2,000元", "12,000元",
                  "2025年1月1日起", "12317", "0310-1234567", "理赔流程", "2025年3月1日"):
        assert words in text, words
    assert pid(1) not in text and pid(2) not in text


def test_policy_summary_by_cli(county, db_url, tmp_path):
    _needs_font()
    out = tmp_path / "summary.pdf"
    result = CliRunner().invoke(relief, ["card", "--policy", "1", "--out", str(out), "--database", db_url])
    assert result.exit_code == 0, result.output
    text = "".join(_pdf_text(out.read_bytes(), tmp_path))
    assert "保障方案摘要" in text and "每人每年50元" in text and "全部责任每人每年合计最高100,000元" in text
    missing = CliRunner().invoke(relief, ["card", "--household", "NOPE", "--out", str(out), "--database", db_url])
    assert missing.exit_code != 0 and "不在参保名单中" in missing.output


def test_card_pages_scoped_to_the_users_area(county, tmp_path, monkeypatch):
    _needs_font()
    clerk = county.test_client()
    login(clerk, "village_clerk", PASSWORD)  # clerk of V1
    assert "明白卡" in clerk.get("/cards").get_data(as_text=True)
    r = clerk.get("/cards/household?household_no=H1")
    assert r.status_code == 200 and r.mimetype == "application/pdf"
    assert masked(1) in _pdf_text(r.data, tmp_path)[0]
    assert clerk.get("/cards/household?household_no=H2").status_code == 404  # H2 is in V2
    r = clerk.get("/cards/policy/1.pdf")
    assert r.status_code == 200 and r.mimetype == "application/pdf"
    assert clerk.get("/cards/policy/999.pdf").status_code == 404
    actuary = county.test_client()
    login(actuary, "actuary", PASSWORD)
    assert actuary.get("/cards").status_code == 403
    monkeypatch.setattr(web_pdf, "cjk_font", lambda: None)
    r = clerk.get("/cards/household?household_no=H1")
    assert r.status_code == 503 and "未安装中文字体" in r.get_data(as_text=True)
