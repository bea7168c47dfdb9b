"""Issue 15, acceptance 1 (the actuary's part) in Chromium: on the demo county (400 people, claims reported up to
2025-03-05) the actuary opens 精算 from the navigation, reads that the history is two months and too short to
price, sees the in-year table (expected to date from the premium, against the claims so far), starts a budget
run and watches it refused, starts a trial run and watches it finish, then opens its report: the short-history
warning, the charts as images, the comparison with the current premium.  The browser fixture comes from
tests/test_browser.py (chromium on PATH, the playwright package; skipped with the reason otherwise); the server is
this module's own, with the reports under a temporary folder.  Screenshots go to ``tests/artifacts/``.
"""

from __future__ import annotations

import re
import time

import pytest
from browser_helpers import need_browser, served
from test_browser import Walk, browser  # noqa: F401 - fixture

pytestmark = pytest.mark.e2e

TODAY = "2025-03-05"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    need_browser()
    from flask_app import create_app
    from flask_app.demo import build_demo

    work = tmp_path_factory.mktemp("actuary-browser")
    url = f"sqlite:///{work / 'relief.db'}"
    info = build_demo(url, work, people=400)
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "browser-test", "RELIEF_TODAY": TODAY,
                      "RELIEF_BUDGET_REPORTS": str(work / "reports")})
    with served(app) as base:
        yield app, info, base


def _run_status(page, base: str, run_id: str, seconds: float = 600) -> str:
    """The run's status once it has left ``queued`` (the page is reloaded until then)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        page.goto(f"{base}/actuary")
        status = page.get_attribute(f"tr[data-run='{run_id}']", "data-status")
        if status != "queued":
            return status
        time.sleep(1)
    raise AssertionError(f"budget run {run_id} still queued after {seconds} s")


def _start(page, trial: bool) -> str:
    """Start a run for 2026 from the form; the id of the newest run listed."""
    page.select_option("form.start-run select[name=year]", "2026")
    if trial:
        page.check("form.start-run input[name=trial]")
    page.click("form.start-run button[type=submit]")
    page.wait_for_load_state()
    return page.get_attribute("table.budget-runs tbody tr", "data-run")


def test_the_actuary_prices_the_demo_in_the_browser(server, browser):  # noqa: F811
    app, info, base = server
    walk = Walk(browser, base, info)
    page = walk.login("actuary")
    assert "精算" in page.locator("nav").inner_text()
    page.click("nav >> text=精算")
    page.wait_for_url(re.compile(r"/actuary$"))

    # the history, said plainly: two whole months (January, February), 400 × 2/12 = 67 person-years
    history = page.locator("#history-check").inner_text()
    assert "2 个月" in history and "不能测算" in history and "67 人年" in history
    # the in-year table from the premium (no run budgets 2025): 400 × 50.00 = 20,000.00 premium, 85% for claims:
    # 17,000.00 a year; 2025-03-05 is 63 of 365 days in: 17,000 × 63/365 = 2,934.25 expected to date
    assert page.locator("#in-year .expected-source").count() == 1
    row = page.locator("table.in-year-table tbody tr[data-line=all]")
    assert row.locator("td.expected").inner_text() == "2,934.25"
    actual = float(row.locator("td.actual").inner_text().replace(",", ""))
    projected = float(row.locator("td.projected").inner_text().replace(",", ""))
    assert projected == pytest.approx(actual + 17_000 - 2_934.25, abs=0.005)  # actual + the rest of the year
    walk.shot(page, "actuary-in-year")

    refused = _start(page, trial=False)
    assert _run_status(page, base, refused) == "refused"
    assert "不足以测算保费" in page.locator(f"tr[data-run='{refused}'] td.run-status").inner_text()
    assert page.locator(f"tr[data-run='{refused}'] a.run-report").count() == 0

    trial = _start(page, trial=True)
    assert trial != refused
    assert _run_status(page, base, trial) == "done"
    listed = page.locator(f"tr[data-run='{trial}']")
    assert "试算" in listed.inner_text()
    walk.shot(page, "actuary-runs")
    with page.expect_navigation():
        listed.locator("a.run-report").click()
    assert re.search(rf"/actuary/runs/{trial}/report\.html$", page.url)
    warning = page.locator("#history-warning").inner_text()
    assert "试算，不可用于定价" in warning and "2025 年只有 2/12 个月的数据" in warning
    images = page.eval_on_selector_all("img", "els => els.map(e => ({alt: e.alt, w: e.naturalWidth}))")
    assert len(images) >= 2 and all(img["w"] > 0 and img["alt"] for img in images), images
    assert page.inner_text("#current-premium").strip() == "¥50.00"
    # the one probability: the card's P(S > budget) is the one the text states
    card = page.inner_text("#prob-exceed").strip()
    assert f"赔付超过预算的概率为 {card}" in page.inner_text("#headline")
    walk.shot(page, "actuary-report")
    page.context.close()
