"""Acceptance 4 in a browser (Playwright driving Debian's chromium): manual amounts bounded.

On the demo county with April's medical report imported: the adjudicator's verification above the room left
under the caps is refused on the page (the amount input's ``max`` is the room; submitted anyway, the server's
bilingual refusal names the cap, shown on the claim page, not as JSON); a supervisor's verification above the
computed entitlement goes to awaiting approval and a second supervisor approves it; the claim then carries the
"超核定 / above entitlement" mark on the queue, the county's review list, the notice's internal list (not on
the printed notice) and the payout batch page.  Screenshots go to ``tests/artifacts/`` (git-ignored).

Skipped with the reason when chromium or the playwright package is missing; the browser is never downloaded.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from pathlib import Path

import pytest
from browser_helpers import CHROMIUM, log_in, need_browser, served

pytestmark = pytest.mark.e2e

ARTIFACTS = Path(__file__).parent / "artifacts"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
START = dt.date(2025, 5, 6)
MARK = "超核定"  # the mark's Chinese label (the English after the language switch)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    need_browser()
    from sqlalchemy import select

    from claims.lifecycle.imports import import_report
    from claims.lifecycle.models import User
    from claims.lifecycle.users import actor_of, create_user
    from flask_app import create_app
    from flask_app import db as web_db
    from flask_app.auth import hash_password
    from flask_app.demo import DEMO_PASSWORD, build_demo

    work = tmp_path_factory.mktemp("bounds")
    url = f"sqlite:///{work / 'relief.db'}"
    info = build_demo(url, work, people=400)
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "browser-test", "RELIEF_TODAY": START.isoformat()})
    with app.app_context(), web_db.write() as s:  # the second supervisor who approves
        create_user(s, "sup2", "第二主管", "insurer_supervisor").password_hash = hash_password(DEMO_PASSWORD)
        adjudicator = actor_of(s.scalar(select(User).where(User.username == info.users["insurer_adjudicator"][0])))
    with app.app_context():  # April's medical report: claims computed to work on
        import_report(web_db.factory(), info.policy_id, "medical", info.county_dir / "medical" / "2025-04.csv",
                      actor=adjudicator, file_name="medical/2025-04.csv", period="2025-04")
    info.users["second_supervisor"] = ("sup2", DEMO_PASSWORD)
    with served(app) as base:
        yield app, info, base


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


def login(browser, base: str, info, role: str):
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    username, password = info.users[role]
    return log_in(page, base, username, password)


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"bounds-{name}.png"), full_page=True)


def act(page, action: str) -> None:
    page.click(f"#action-{action} button[type=submit]")
    page.wait_for_load_state()
    assert page.locator(".flash.error").count() == 0, page.locator(".flash.error").all_inner_texts()


def claim(app, claim_id: int):
    from claims.lifecycle.models import Claim
    from flask_app import db as web_db

    with app.app_context():
        return web_db.session().get(Claim, claim_id)


def row_of(page, claim_id: int):
    """The table row whose claim cell is ``claim_id`` (queue: link text; payout batch: plain cell)."""
    return page.locator("table.grid tbody tr").filter(
        has=page.locator("td", has_text=re.compile(rf"^\s*{claim_id}\b")))


def test_bounded_amounts_and_the_above_entitlement_mark_on_every_list(server, browser):
    app, info, base = server
    from sqlalchemy import select

    from claims.lifecycle.models import Claim
    from flask_app import db as web_db

    with app.app_context():  # the smallest of the computed claims (April's report)
        claim_id = web_db.session().scalar(select(Claim.id).where(Claim.state == "computed")
                                           .order_by(Claim.amount, Claim.id).limit(1))
    computed = claim(app, claim_id).computed_amount

    # 1. the adjudicator starts the investigation; the verify form shows the entitlement and the room
    ins = login(browser, base, info, "insurer_adjudicator")
    ins.goto(f"{base}/claims/{claim_id}")
    act(ins, "start_investigation")
    assert ins.locator("#entitlement-verify").inner_text() == f"{computed:,.2f}"
    room = Decimal(ins.locator("#room-verify").inner_text().replace(",", ""))
    assert computed <= room <= Decimal("50000.00")  # the illness line: "caps: {per_year: 50000}"
    amount = ins.locator("#action-verify input[name=amount]")
    assert amount.get_attribute("max") == f"{room:.2f}"

    # 2. above the room: the browser flags the field; submitted anyway, the server refuses it on the page
    amount.fill("999999999999.99")
    assert amount.evaluate("el => el.validity.rangeOverflow")
    ins.select_option("#action-verify select[name=reason_code]", "calculation_error")
    ins.fill("#action-verify input[name=note]", "试图超限")
    ins.eval_on_selector("#action-verify", "form => { form.noValidate = true; }")
    ins.click("#action-verify button[type=submit]")
    ins.wait_for_url(f"{base}/claims/{claim_id}")
    error = ins.locator(".flash.error").inner_text()
    assert "超过本责任年度限额 50,000.00 元" in error and f"剩余 {room:,.2f}" in error, error
    assert "text/html" in ins.evaluate("document.contentType")
    assert claim(app, claim_id).state == "investigating"
    shot(ins, "01-over-cap-refused")

    # 3. a supervisor verifies above the entitlement (reason, note): awaiting a second supervisor
    above = computed + Decimal("100.00")
    sup1 = login(browser, base, info, "insurer_supervisor")
    sup1.goto(f"{base}/claims/{claim_id}")
    sup1.fill("#action-verify input[name=amount]", f"{above:.2f}")
    sup1.select_option("#action-verify select[name=reason_code]", "document_shortfall")
    sup1.fill("#action-verify input[name=note]", "补交住院票据一张，核增 100 元")
    act(sup1, "verify")
    c = claim(app, claim_id)
    assert (c.state, c.amount, c.proposed_amount, c.above_entitlement) == ("awaiting_approval", computed, above, True)
    assert MARK in sup1.locator("h1").inner_text()
    shot(sup1, "02-awaiting-second-supervisor")
    sup1.context.close()

    sup2 = login(browser, base, info, "second_supervisor")
    sup2.goto(f"{base}/claims/{claim_id}")
    act(sup2, "approve")
    c = claim(app, claim_id)
    assert (c.state, c.amount) == ("verified", above)
    sup2.context.close()

    # 4. the mark on the queue
    ins.goto(f"{base}/claims?state=verified")
    assert MARK in row_of(ins, claim_id).inner_text()
    shot(ins, "03-queue-mark")

    # 5. village and township review; the county's review list shows the mark; the county files
    for role, action in (("village_clerk", "village_review"), ("township_reviewer", "township_review")):
        page = login(browser, base, info, role)
        page.goto(f"{base}/claims/{claim_id}")
        act(page, action)
        page.context.close()
    county = login(browser, base, info, "county_reviewer")
    county.goto(f"{base}/claims?state=township_reviewed")
    assert MARK in row_of(county, claim_id).inner_text()
    county.select_option("select[name=above]", "1")  # the county's filter: only claims above the entitlement
    county.click("form.filters button[type=submit]")
    county.wait_for_url(re.compile(r"above=1"))
    assert [int(t) for t in county.locator("table.grid tbody tr td:nth-child(2) a").all_inner_texts()] == [claim_id]
    shot(county, "04-county-review-mark")
    county.goto(f"{base}/claims/{claim_id}")
    act(county, "file")

    # 6. the notice: the mark on its internal list, never on the printed sheet
    village = claim(app, claim_id).village_code
    county.goto(f"{base}/notices")
    county.locator(f"form[action$='/notices']:has(input[name=village_code][value='{village}']) "
                   "button[type=submit]").click()
    county.wait_for_url(re.compile(r"/notices/\d+$"))
    internal = county.locator("#above-entitlement").inner_text()
    assert str(claim_id) in internal and MARK in internal and f"{above:,.2f}" in internal
    for sheet in county.locator(".notice-sheet").all():  # the 行政村's sheet and each 自然村's
        assert "超核定" not in sheet.inner_text()
    shot(county, "05-notice-internal-mark")

    # 7. past the notice period, the payout batch page shows the mark
    from claims.lifecycle.models import Notice

    with app.app_context():
        end_on = web_db.session().get(Notice, claim(app, claim_id).notice_id).end_on
    app.config["RELIEF_TODAY"] = (end_on + dt.timedelta(days=1)).isoformat()
    county.goto(f"{base}/notices")
    county.click("form[action$='/notices/close-due'] button[type=submit]")
    county.wait_for_load_state()
    county.context.close()
    assert claim(app, claim_id).state == "payable"
    ins.goto(f"{base}/payouts")
    ins.fill("form[action$='/payouts'] input[name=period]", "2025-05")
    ins.click("form[action$='/payouts'] button[type=submit]")
    ins.wait_for_url(re.compile(r"/payouts/\d+$"))
    assert MARK in row_of(ins, claim_id).inner_text()
    assert claim(app, claim_id).state == "in_payout"
    shot(ins, "06-payout-batch-mark")
    ins.context.close()
