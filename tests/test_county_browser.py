"""Issue 15, acceptance 1 (the county office's part) in Chromium: on the demo county the county office opens its
report upward (上报市扶贫办备案, seed 003) for February, downloads the Excel and the PDF, reads the department ×
month board ("人社、教育、民政、医保每月向区扶贫办报送"), the statistics by village with their chart, and a payout
batch with the accounts masked.  Reuses the server and browser fixtures of tests/test_browser.py (chromium on PATH,
the playwright package; skipped with the reason otherwise).  Screenshots go to ``tests/artifacts/``.
"""

from __future__ import annotations

import io
import re

import pytest
from openpyxl import load_workbook
from test_browser import Walk, browser, server  # noqa: F401 - fixtures

from flask_app.pdf import cjk_font

pytestmark = pytest.mark.e2e


def test_the_county_office_reports_upward_in_the_browser(server, browser):  # noqa: F811
    app, info, base = server
    walk = Walk(browser, base, info)
    page = walk.login("county_reviewer")
    nav = page.locator("nav").inner_text()
    for label in ("上报", "统计", "支付", "导入"):
        assert label in nav, (label, nav)

    page.click("nav >> text=上报")
    page.wait_for_url(re.compile(r"/reports$"))
    page.fill("input[name=period]", "2025-02")
    page.click("form.filters button[type=submit]")
    page.wait_for_load_state()
    walk.shot(page, "county-report")
    shown = page.locator(".payout-total").inner_text()
    lines = page.locator("table.payout-list tbody tr").count()
    with page.expect_download() as download:
        page.click("a[href$='/2025-02.xlsx']")
    book = load_workbook(io.BytesIO(download.value.path().read_bytes()))
    payout = list(book["支付名单"].iter_rows(values_only=True))
    # the page's total and the workbook's 合计 row are the same money: lines paid in the 2025-02 batch
    assert f"{payout[-1][-1]:,.2f}" == shown and len(payout) - 2 == lines > 0
    pdf = page.request.get(f"{base}/reports/{info.policy_id}/2025-02.pdf")
    assert pdf.status == (200 if cjk_font() else 503)
    # the board: the demo sent only 医保 files, so 教育 is late for every month over by 2025-05-06
    assert page.locator("tr[data-department=education] td.late").count() == 4  # January to April
    assert page.locator("tr[data-department=medical] td.received").count() == 3  # January to March

    page.click("nav >> text=统计")
    page.select_option("select[name=by]", "village")
    page.click("form.filters button[type=submit]")
    page.wait_for_load_state()
    assert page.locator("svg.chart rect").count() > 2
    walk.shot(page, "county-statistics")

    page.click("nav >> text=支付")
    page.click("a[href^='/payouts/']:has-text('查看')")
    page.wait_for_url(re.compile(r"/payouts/\d+$"))
    walk.shot(page, "county-payout-batch")
    accounts = page.locator("table.grid tbody td:nth-child(6)").all_inner_texts()
    assert accounts and all(a.startswith("*") for a in accounts)
    assert page.locator("a[href$='/bank.xlsx']").count() == 0
    page.context.close()
    assert walk.shots == 3
