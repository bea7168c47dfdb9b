"""Acceptance 5: the budget report of the synthetic county opens in a browser and shows its charts.

``relief budget`` writes report.html for the synthetic county's year of claims (3,000 people, through the
engine), with and without a what-if draft; chromium (Playwright driving Debian's package, never downloaded)
opens the file:// URL.  Every <img> must be loaded (complete, naturalWidth > 0) and carry alt text, at least
two charts without and three with the what-if, and the headline budget on the page must be budget.json's.
A screenshot goes to ``tests/artifacts/`` (git-ignored).  Skipped with the reason when chromium or the
playwright package is missing.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from test_budget_cli import PEOPLE, PRODUCT, county_claims, draft_product, invoke_budget

pytestmark = pytest.mark.e2e

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = Path(__file__).parent / "artifacts"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        pytest.skip("chromium not found on PATH (Debian: apt-get install chromium; .ci/run installs it)")
    pytest.importorskip("playwright.sync_api", reason="the playwright Python package is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    """{"plain": dir, "whatif": dir}: the two reports of the same history."""
    work = tmp_path_factory.mktemp("budget-browser")
    history = county_claims(work)
    draft = draft_product(work / "draft.yaml")
    out = {}
    for name, extra in (("plain", ()), ("whatif", ("--draft", str(draft)))):
        out[name] = work / name
        result = invoke_budget("--claims", str(history), "--heads", str(PEOPLE), "--product", PRODUCT,
                               "--year", "2026", "--out", str(out[name]), "--bootstrap", "10", *extra)
        assert result.exit_code == 0, result.output
    return out


def _open(browser, report_dir: Path):
    page = browser.new_page(locale="zh-CN", viewport={"width": 1200, "height": 900})
    page.set_default_timeout(15_000)
    page.goto((report_dir / "report.html").resolve().as_uri())
    page.wait_for_load_state("load")
    return page


def _images(page) -> list[dict]:
    return page.eval_on_selector_all(
        "img", "els => els.map(e => ({src: e.getAttribute('src'), alt: e.alt, complete: e.complete,"
               " width: e.naturalWidth, height: e.naturalHeight}))")


@pytest.mark.parametrize(("name", "charts"), [("plain", 2), ("whatif", 3)])
def test_report_shows_its_charts_and_the_budget(browser, reports, name, charts):
    report_dir = reports[name]
    page = _open(browser, report_dir)
    try:
        images = _images(page)
        assert len(images) == charts, images
        for img in images:
            assert img["complete"] and img["width"] > 0 and img["height"] > 0, f"chart not shown: {img}"
            assert img["alt"].strip(), f"no alt text: {img['src']}"
        srcs = {img["src"] for img in images}
        assert {"charts/loss_distribution.png", "charts/experience.png"} <= srcs
        if name == "whatif":
            assert "charts/whatif.png" in srcs

        doc = json.loads((report_dir / "budget.json").read_text(encoding="utf-8"))
        assert page.title() == "魏县防贫保2025 2026年度保费预算测算报告"
        # the headline shows budget.json's figures: total to the yuan, per head to the fen, with separators
        assert page.inner_text("#budget-total").strip() == f"¥{doc['budget_total']:,.0f}"
        assert page.inner_text("#budget-per-head").strip() == f"¥{doc['budget_per_head']:,.2f}"
        assert page.inner_text("#heads").strip() == f"{doc['heads']:,}"
        assert page.inner_text("#prob-exceed").strip() == f"{doc['prob_exceed'] * 100:.1f}%"
        body = page.inner_text("body")
        assert "方法说明" in body and "Acerbi–Tasche" in body
        if name == "whatif":
            assert page.locator("#whatif").count() == 1
            assert f"¥{doc['whatif']['budget_total']:,.0f}" in page.inner_text("#whatif")
        else:
            assert page.locator("#whatif").count() == 0
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"budget-report-{name}.png"), full_page=True)
    finally:
        page.close()
