"""防贫监测 in the browser (issue 14 acceptance 3): the demo county's early-warning list seen by a county user and
by village users, each only their own village; a clerk records 已帮扶; the Excel export; a household crossing
the line in a later month moves from the list to a claim.  Playwright driving Debian's chromium on the demo
county of tests/test_browser.py (its ``server`` and ``browser`` fixtures and ``Walk`` reused).

Seed ../shared/seeds/001_d248a509f1250166.txt 篇7: "因病自付医疗费用超过0.5万元为预警线" and "对进入防贫预警线的脱贫户
和边缘户进行实时跟踪监测"; 篇2 "村“两委”…每月对监测对象进行一次动态监测".  The demo's product (魏县防贫保2025):
illness warning line 5,000; a household enters the list at 60% of it, 3,000.
"""

from __future__ import annotations

import io

import factories as f
import pytest
from sqlalchemy import select
from test_browser import Walk, browser, server  # noqa: F401 - fixtures
from test_imports import medical_file

from claims.lifecycle.database import make_engine, session_factory
from claims.lifecycle.imports import import_report
from claims.lifecycle.models import Claim, User
from claims.lifecycle.monitoring import WatchedHousehold
from claims.lifecycle.roster_store import store_roster
from claims.lifecycle.store import Person
from claims.lifecycle.transitions import SYSTEM
from claims.lifecycle.users import create_user
from flask_app import db as web_db
from flask_app.auth import hash_password
from flask_app.demo import DEMO_PASSWORD

pytestmark = pytest.mark.e2e

V2 = "130434100201"  # a second administrative village, added to the demo county here
HOUSEHOLD = V2 + "0001"
#: a household of the demo's own village on April's list too: the demo imports March only up to its today
#: (2025-03-05), which leaves a 400-person county's own list empty
DEMO_HOUSEHOLD = "130434100200" + "9001"


def _second_village(app, info, tmp_path) -> None:  # noqa: ANN001
    """A household of two in village V2 (4,200 per head, 边缘易致贫户), its clerk ``clerk2``, and April's
    medical file: person 901 pays 4,000 self-paid — below the 5,000 line, ≥ 60% × 5,000 = 3,000; and one of the
    demo's village (:data:`DEMO_HOUSEHOLD`): person 903 pays 3,500, also in [3,000, 5,000)."""
    persons, households = f.roster([{"household_no": HOUSEHOLD, "village_code": V2, "income_yuan": 4200},
                                    {"household_no": DEMO_HOUSEHOLD, "village_code": "130434100200",
                                     "income_yuan": 4200}],
                                   [{"n": 901, "household_no": HOUSEHOLD}, {"n": 902, "household_no": HOUSEHOLD},
                                    {"n": 903, "household_no": DEMO_HOUSEHOLD}, {"n": 904, "household_no": DEMO_HOUSEHOLD}])
    with app.app_context(), web_db.write() as s:
        assert s.scalar(select(Person.id).where(Person.id_no.in_(persons["id_no"].tolist()))) is None  # new people
        store_roster(s, persons, households)
        user = create_user(s, "clerk2", "二村文书", "village_clerk", villages=[V2], counties=["130434"])
        user.password_hash = hash_password(DEMO_PASSWORD)
    info.users["clerk2"] = ("clerk2", DEMO_PASSWORD)
    _import(app, info, medical_file(tmp_path / "apr.csv", [("M901-04", 901, "2025-04-10", 4000),
                                                           ("M903-04", 903, "2025-04-10", 3500)]), "2025-04")


def _import(app, info, path, period: str) -> None:  # noqa: ANN001
    engine = make_engine(app.config["DATABASE_URL"])
    try:
        import_report(session_factory(engine), info.policy_id, "medical", path, actor=SYSTEM, period=period)
    finally:
        engine.dispose()


def _listed(page) -> list[str]:  # noqa: ANN001
    return [t.strip() for t in page.locator("#watchlist tbody td:first-child a").all_inner_texts()]


def test_the_early_warning_list_by_scope_and_a_crossing(server, browser, tmp_path):  # noqa: F811
    app, info, base = server
    _second_village(app, info, tmp_path)
    with app.app_context():
        demo_village = sorted(web_db.session().scalars(select(WatchedHousehold.household_no)
                                                       .where(WatchedHousehold.village_code != V2)))
    assert demo_village, "the demo county's run put households on the list"
    walk = Walk(browser, base, info)

    # the county office: every village's households, through the navigation bar's 监测
    county = walk.login("county_reviewer")
    county.click("header nav a[href='/monitoring']")
    county.wait_for_url(f"{base}/monitoring")
    assert set(_listed(county)) == {*demo_village, HOUSEHOLD}
    row = county.locator("#watchlist tbody tr", has_text=HOUSEHOLD)
    assert "4,000.00" in row.inner_text() and "红" in row.inner_text()  # 4,200 per head < 5,000: 红
    walk.shot(county, "monitoring-county")
    with county.expect_download() as download:
        county.click("#watch-export")
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(download.value.path().read_bytes())).active
    assert HOUSEHOLD in [r[0] for r in sheet.iter_rows(min_row=2, values_only=True)]

    # village clerks: each sees only their own village
    clerk2 = walk.login("clerk2")
    clerk2.goto(f"{base}/monitoring")
    assert _listed(clerk2) == [HOUSEHOLD]
    with app.app_context():  # the demo's clerk serves the demo's village only
        assert web_db.session().scalar(select(User.id).where(User.username == info.users["village_clerk"][0]))
    clerk1 = walk.login("village_clerk")
    clerk1.goto(f"{base}/monitoring")
    assert set(_listed(clerk1)) == set(demo_village)
    with app.app_context():
        v2_id = web_db.session().scalar(select(WatchedHousehold.id).where(WatchedHousehold.household_no == HOUSEHOLD))
    assert clerk1.goto(f"{base}/monitoring/{v2_id}").status == 404  # another village's household: not shown

    # the clerk of V2 records 已帮扶 with a reason; the tracking record shows it with the actor
    clerk2.click(f"#watchlist a:text('{HOUSEHOLD}')")
    clerk2.wait_for_url(f"{base}/monitoring/{v2_id}")
    clerk2.select_option("#watch-action select[name=action]", "aided")
    clerk2.fill("#watch-action input[name=reason]", "落实临时救助 / temporary aid arranged")
    clerk2.click("#watch-action button[type=submit]")
    clerk2.wait_for_load_state()
    history = clerk2.inner_text("#watch-history")
    assert "已帮扶" in history and "落实临时救助" in history and "clerk2" in history
    walk.shot(clerk2, "monitoring-household")

    # May: 1,500 more self-paid — 4,000 + 1,500 = 5,500 > 5,000 crosses the line: a claim, off the list
    _import(app, info, medical_file(tmp_path / "may.csv", [("M901-05", 901, "2025-05-03", 1500)]), "2025-05")
    county.goto(f"{base}/monitoring")
    assert HOUSEHOLD not in _listed(county)
    county.goto(f"{base}/monitoring?state=claimed")
    assert _listed(county) == [HOUSEHOLD]
    county.click(f"#watchlist a:text('{HOUSEHOLD}')")
    with app.app_context():
        claim_id = web_db.session().scalar(select(Claim.id).where(Claim.household_no == HOUSEHOLD))
    assert county.locator(f"a[href='/claims/{claim_id}']").count() == 1
    walk.shot(county, "monitoring-claimed")
