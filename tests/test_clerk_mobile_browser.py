"""Issue 15, acceptance 1 (the village clerk's part) in Chromium on a phone's screen, 390 × 844 CSS px.

On the demo county (January paid, February on notice; April's medical report imported and three of its claims
verified by the insurer here), the village clerk (村委会文书) opens the claims queue as cards, opens a verified claim from its
card and gives the village's review (村审核, the clerk's step of the workflow: verified → village_reviewed),
opens the notices and a notice's sheet as it prints, reads the other pages of the clerk's work, and switches
the pages to English and back.  On every page nothing is wider than the screen
(``document.scrollingElement.scrollWidth <= 390``) and the favicon the page links loads.  Reuses the server and
browser fixtures of tests/test_browser.py (chromium on PATH, the playwright package; skipped with the reason
otherwise).  Screenshots go to ``tests/artifacts/``.
"""

from __future__ import annotations

import re

import pytest
from browser_helpers import log_in
from sqlalchemy import select
from test_browser import ARTIFACTS, browser, server  # noqa: F401 - fixtures

pytestmark = pytest.mark.e2e

WIDTH, HEIGHT = 390, 844  # an ordinary phone, in CSS pixels
LINE = 16 * 1.6  # px: one line of body text (style.css: 16px/1.6)


def _verify_three(app, info) -> list[int]:
    """April's medical report imported and three of its claims investigated and verified by the insurer's
    supervisor (services: the insurer's side is tests/test_browser.py's walk)."""
    from claims.lifecycle import adjudication as adj
    from claims.lifecycle.imports import import_report
    from claims.lifecycle.models import Claim, User
    from claims.lifecycle.transitions import Actor
    from flask_app import db as web_db

    def actor(s, role: str) -> Actor:
        return Actor.of(s.query(User).filter_by(username=info.users[role][0]).one())

    with app.app_context():
        s = web_db.session()
        insurer = actor(s, "insurer_adjudicator")
        s.close()
        import_report(web_db.factory(), info.policy_id, "medical", info.county_dir / "medical" / "2025-04.csv",
                      actor=insurer, file_name="medical/2025-04.csv", period="2025-04")
    with app.app_context(), web_db.write() as s:
        ids = list(s.scalars(select(Claim.id).where(Claim.state == "computed").order_by(Claim.id).limit(3)))
        adj.bulk(s, ids, "start_investigation", actor(s, "insurer_adjudicator"))
    with app.app_context(), web_db.write() as s:
        for claim_id in ids:
            adj.verify(s, claim_id, actor(s, "insurer_supervisor"), expected_version=s.get(Claim, claim_id).version)
    return ids


def _phone_login(browser, base: str, info):  # noqa: ANN001
    context = browser.new_context(locale="zh-CN", viewport={"width": WIDTH, "height": HEIGHT}, device_scale_factor=2,
                                  is_mobile=True, has_touch=True)
    context.set_default_timeout(15_000)
    page = context.new_page()
    username, password = info.users["village_clerk"]
    return log_in(page, base, username, password)


class Checks:
    """Per page: no horizontal overflow, the linked favicon loads, a screenshot."""

    def __init__(self) -> None:
        self.pages: list[str] = []
        ARTIFACTS.mkdir(exist_ok=True)

    def page(self, page, name: str) -> None:  # noqa: ANN001
        width = page.evaluate("document.scrollingElement.scrollWidth")
        assert width <= WIDTH, f"{name} ({page.url}) is {width} px wide on a {WIDTH} px screen: {self.widest(page)}"
        icon = page.evaluate("fetch(document.querySelector('link[rel=icon]').href).then(r => [r.status, r.headers.get('content-type')])")
        assert icon[0] == 200 and icon[1].startswith("image/"), (name, icon)
        self.pages.append(name)
        page.screenshot(path=str(ARTIFACTS / f"clerk-390-{len(self.pages):02d}-{name}.png"), full_page=True)

    @staticmethod
    def widest(page) -> list[str]:  # noqa: ANN001
        """The elements reaching past the screen's right edge, innermost first: what to fix."""
        return page.evaluate("""w => [...document.querySelectorAll('body *')]
            .filter(e => (e.getBoundingClientRect().right > w || e.getBoundingClientRect().left + e.scrollWidth > w)
                         && ![...e.children].some(c => c.getBoundingClientRect().right > w))
            .slice(-5).map(e => `${e.tagName.toLowerCase()}.${e.className} ${Math.round(e.getBoundingClientRect().right)}px`)""", WIDTH)


def test_the_village_clerk_works_on_a_phone(server, browser):  # noqa: F811
    app, info, base = server
    verified = _verify_three(app, info)
    page = _phone_login(browser, base, info)
    check = Checks()
    check.page(page, "home")
    assert page.request.get(f"{base}/favicon.ico").status == 200

    # the queue as cards: a header row would be hidden, each claim a card with its name on one line
    page.goto(f"{base}/claims?state=verified")
    cards = page.locator("#claims tbody tr")
    assert cards.count() == len(verified)
    assert page.locator("#claims thead").is_hidden()
    card = cards.first
    box, name = card.bounding_box(), card.locator("td.lead").nth(2)
    assert box["width"] <= WIDTH and name.bounding_box()["height"] < 2 * LINE, "a name broken over lines"
    labels = card.locator("td[data-label]").evaluate_all("cells => cells.map(c => getComputedStyle(c, '::before').content)")
    assert name.inner_text().strip() and '"身份证号："' in labels  # the card labels its fields
    check.page(page, "queue-cards")

    # open a claim from its card and give the village's review
    card.locator("td.lead a").click()
    page.wait_for_url(re.compile(r"/claims/\d+$"))
    claim_id = int(page.url.rsplit("/", 1)[1])
    assert claim_id in verified
    check.page(page, "claim")
    tallest = page.locator("table.grid th").evaluate_all("ths => Math.max(...ths.map(t => t.getBoundingClientRect().height))")
    assert tallest < 2 * LINE, f"a label broken over lines ({tallest} px high)"  # was 家/庭/人/均… one per line
    page.click("#action-village_review button[type=submit]")
    page.wait_for_load_state()
    assert page.locator(".flash.error").count() == 0, page.locator(".flash.error").all_inner_texts()
    from claims.lifecycle.models import Claim
    from flask_app import db as web_db

    with app.app_context():
        assert web_db.session().get(Claim, claim_id).state == "village_reviewed"
    flash = page.locator(".flash").first.inner_text()
    assert "已执行" in flash and "done" not in flash  # the Chinese half only
    check.page(page, "claim-reviewed")

    # the notices (February's are on notice) as cards, one opened; its sheet as it prints
    page.click("nav >> text=公示")
    page.wait_for_url(re.compile(r"/notices$"))
    assert page.locator("table.cards tbody tr").count() > 0
    check.page(page, "notices")
    page.locator("a[href^='/notices/']:has-text('查看')").first.click()
    page.wait_for_url(re.compile(r"/notices/\d+$"))
    assert page.locator(".notice-sheet").count() >= 1 and page.locator("[data-print]").is_visible()
    check.page(page, "notice")
    page.emulate_media(media="print")
    assert page.locator("header.top").is_hidden() and page.locator(".notice-sheet").first.is_visible()
    page.screenshot(path=str(ARTIFACTS / "clerk-390-notice-print.png"), full_page=True)
    page.emulate_media(media="screen")

    # the clerk's other pages
    for path, name in (("/monitoring", "monitoring"), ("/applications", "applications"),
                       ("/applications/new", "application-form")):
        page.goto(f"{base}{path}")
        check.page(page, name)

    # English and back: the switch in the header keeps the page
    page.goto(f"{base}/claims?state=village_reviewed")
    page.click("#lang-switch")
    page.wait_for_url(re.compile(r"/claims\?state=village_reviewed$"))
    assert page.locator("html").get_attribute("lang") == "en"
    assert "Claims" in page.locator("h1").inner_text() and "理赔列表" not in page.locator("main").inner_text()
    check.page(page, "queue-english")
    page.click("#lang-switch")
    page.wait_for_url(re.compile(r"/claims\?state=village_reviewed$"))
    assert "理赔列表" in page.locator("h1").inner_text() and page.locator("html").get_attribute("lang") == "zh-CN"
    page.context.close()
    assert len(check.pages) == 10
