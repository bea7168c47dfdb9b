"""Acceptance 5 of issue 11: the import page maps an unknown header through the UI, and the saved profile
imports the next file without asking.

A browser (Playwright driving Debian's chromium, never downloaded) logs in as an insurer adjudicator and
uploads a 医保 file whose headers the alias table does not know (单据号, 参保人证件, 业务日期 …): the mapping
page shows the header line, the file's first 5 rows and a dropdown per field; the person chooses a header
for each field and names the profile; the import lands with the hand-computed claim.  A second file with the
same headers goes straight to its report, read with the saved profile.  Screenshots go to
``tests/artifacts/`` (git-ignored).  Skipped with the reason when chromium or playwright is missing.

Product fangpinbao-weixian-2025, illness line (products/catalog/fangpinbao-weixian-2025.yaml): self-paid
above 5,000 yuan, brackets (5,000, 10,000] × 50 %, (10,000, 20,000] × 60 %, above × 70 %.
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import factories as f
import pytest
from browser_helpers import CHROMIUM, need_browser, served
from sqlalchemy import select, update
from test_api import make_app
from test_mapping_profiles import COLUMNS, COUNTY_HEADERS

from claims.lifecycle.database import transaction, upgrade
from claims.lifecycle.models import Claim, MappingProfile, User
from flask_app import db as web_db
from flask_app.auth import hash_password

pytestmark = pytest.mark.e2e

ARTIFACTS = Path(__file__).parent / "artifacts"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
PASSWORD = "mapping-test-1"
PROFILE = "某县医保导出"


def county_csv(rows: list[tuple[str, int, str, str, str]]) -> bytes:
    """rows: (单据号, person n, 业务日期, 费用合计, 统筹报销); the other amounts are 0."""
    lines = [",".join(COUNTY_HEADERS)]
    lines += [f"{s},{f.pid(n)},测试{n},{d},{total},{hifp},0,0,0,0,0" for s, n, d, total, hifp in rows]
    return ("\n".join(lines) + "\n").encode("utf-8")


# March: person 1 self-paid 20,000.00 − 8,000.00 = 12,000.00 (one row over the line); persons 2 and 4 stay
# under it (2 × 1,000.00 and 3 × 1,000.00 self-paid).  Six rows, so the page shows the first five.
MARCH = county_csv([("D1", 1, "2025-03-01", "20000.00", "8000.00"), ("D2", 2, "2025-03-02", "3000.00", "2000.00"),
                    ("D3", 2, "2025-03-03", "2000.00", "1000.00"), ("D4", 4, "2025-03-04", "1500.00", "500.00"),
                    ("D5", 4, "2025-03-05", "1500.00", "500.00"), ("D6", 4, "2025-03-06", "1200.00", "200.00")])
# April, same layout: person 3 self-paid 30,000.00 − 5,000.00 = 25,000.00
APRIL = county_csv([("D7", 3, "2025-04-02", "30000.00", "5000.00")])


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    need_browser()
    work = tmp_path_factory.mktemp("mapping-browser")
    url = f"sqlite:///{work / 'relief.db'}"
    upgrade(url)
    app = make_app(url, work)
    app.config.update(TESTING=False, RELIEF_PENDING_UPLOADS=str(work / "pending"))
    with app.app_context(), transaction(web_db.factory()) as s:
        s.execute(update(User).values(password_hash=hash_password(PASSWORD)))
    with served(app) as base:
        yield app, base, work


@pytest.fixture(scope="module")
def page(server):
    from playwright.sync_api import sync_playwright

    _, base, _ = server
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(accept_downloads=True, locale="zh-CN", viewport={"width": 1280, "height": 900})
        context.set_default_timeout(15_000)
        p = context.new_page()
        p.goto(f"{base}/login")
        p.fill("input[name=username]", "insurer_adjudicator")
        p.fill("input[name=password]", PASSWORD)
        p.click("button[type=submit]")
        p.wait_for_url(f"{base}/")
        yield p
        browser.close()


def _upload(page, base: str, name: str, data: bytes) -> None:
    page.goto(f"{base}/imports")
    page.select_option("select[name=department]", "medical")
    page.set_input_files("input[name=file]", files=[{"name": name, "mimeType": "text/csv", "buffer": data}])
    page.click("#upload button[type=submit]")
    page.wait_for_load_state()


def _claim_amounts(app, n: int) -> list[Decimal]:
    with app.app_context():
        return list(web_db.session().scalars(select(Claim.amount).where(Claim.unit_id == f.pid(n))))


def test_unknown_headers_mapped_in_the_browser_then_the_profile_reads_the_next_file(server, page):
    app, base, work = server
    ARTIFACTS.mkdir(exist_ok=True)

    # 1. the upload is not refused: the mapping page shows the header line, the first 5 rows, the dropdowns
    _upload(page, base, "m03.csv", MARCH)
    assert re.search(r"/imports/mapping/[0-9a-f]{64}\?", page.url), page.url
    assert "第 1 行" in page.inner_text("#mapping-why")
    assert page.locator("#first-rows thead th").all_inner_texts() == list(COUNTY_HEADERS)
    body = page.locator("#first-rows tbody tr")
    assert body.count() == 5  # six data rows, the first five shown
    assert body.nth(0).locator("td").all_inner_texts()[:4] == ["D1", f.pid(1), "测试1", "2025-03-01"]
    assert page.locator("select[name^=col-]").count() >= len(COLUMNS)
    # each dropdown lists the file's headers after "not chosen"
    options = page.locator("#col-setl_id option").all_inner_texts()
    assert options[1:] == list(COUNTY_HEADERS)
    assert len(list((work / "pending").iterdir())) == 1  # the upload waits on the server, by its sha256
    page.screenshot(path=str(ARTIFACTS / "mapping-1-page.png"), full_page=True)

    # 2. the person picks the header of each field and names the profile
    for canonical, header in COLUMNS.items():
        page.select_option(f"#col-{canonical}", header)
    page.fill("input[name=profile_name]", PROFILE)
    page.click("#mapping button[type=submit]")
    page.wait_for_load_state()
    assert re.search(r"/imports/\d+$", page.url), page.url
    flash = page.inner_text(".flash.ok")
    assert f"已保存映射方案“{PROFILE}”" in flash and "新建理赔 1 笔" in flash
    assert page.locator(".flash.error").count() == 0
    assert list((work / "pending").iterdir()) == []  # imported: the kept upload is gone
    page.screenshot(path=str(ARTIFACTS / "mapping-2-imported.png"), full_page=True)
    # person 1: self-paid 12,000.00 → 5,000 × 50 % + 2,000 × 60 % = 2,500 + 1,200 = 3,700.00;
    # persons 2 (2,000.00) and 4 (3,000.00) stay under the 5,000 line: no claim
    assert _claim_amounts(app, 1) == [Decimal("3700.00")]
    assert _claim_amounts(app, 2) == [] and _claim_amounts(app, 4) == []
    with app.app_context():
        saved = web_db.session().scalar(select(MappingProfile).where(MappingProfile.name == PROFILE))
        assert (saved.department, saved.columns) == ("medical", COLUMNS)

    # 3. April, same headers: straight to the report, read with the saved profile
    _upload(page, base, "m04.csv", APRIL)
    assert re.search(r"/imports/\d+$", page.url), page.url
    flash = page.inner_text(".flash.ok")
    assert f"（按映射方案“{PROFILE}”读取列）" in flash and "新建理赔 1 笔" in flash  # the Chinese half
    page.screenshot(path=str(ARTIFACTS / "mapping-3-next-file.png"), full_page=True)
    # person 3: self-paid 25,000.00 → 5,000 × 50 % + 10,000 × 60 % + 5,000 × 70 % = 2,500 + 6,000 + 3,500
    assert _claim_amounts(app, 3) == [Decimal("12000.00")]

    # 4. the profile is listed on the import page and downloads as the YAML relief calc --mapping reads
    page.goto(f"{base}/imports")
    assert PROFILE in page.inner_text("#profiles")
    with page.expect_download() as download:
        page.click("#profiles a")
    text = Path(download.value.path()).read_text(encoding="utf-8")
    assert "department: medical" in text and "setl_id: 单据号" in text
