"""A household application (申报) in the browser: the village clerk records it with its receipt scan, the insurer
opens it, downloads the receipt and verifies it, and the claim appears (Playwright driving Debian's chromium,
on the demo county of tests/test_browser.py; its ``server`` and ``browser`` fixtures and ``Walk`` reused).

Seed ../shared/seeds/002_02e39174bb6f32cc.txt: "农户自愿申请。由农户向村“两委”提出书面申请" — the clerk records what the
household brought to the village committee.  Product fangpinbao-weixian-2025, illness: self-paid above 5,000 by
brackets (5,000, 10,000] × 50 %, (10,000, 20,000] × 60 %.
"""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from sqlalchemy import select
from test_browser import Walk, browser, server  # noqa: F401 - fixtures

from claims.lifecycle.models import Claim, ImportRow
from claims.lifecycle.store import Household, Person
from flask_app import db as web_db

pytestmark = pytest.mark.e2e

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _quiet_person(app) -> tuple[str, str]:  # noqa: ANN001
    """(household_no, resident ID) of a person with no report rows and no claims, in a household below the
    6,000 income line, so the application's claim is the only one."""
    with app.app_context():
        s = web_db.session()
        busy = select(ImportRow.unit_key)
        claimed = select(Claim.household_no)
        return s.execute(select(Household.household_no, Person.id_no)
                         .join(Person, Person.household_no == Household.household_no)
                         .where(Household.per_capita_income < 5000, Person.id_no.not_in(busy),
                                Household.household_no.not_in(claimed))
                         .order_by(Person.id_no).limit(1)).one()


def test_clerk_records_an_application_and_the_insurer_verifies_it(server, browser, tmp_path):  # noqa: F811
    app, info, base = server
    household, id_no = _quiet_person(app)
    walk = Walk(browser, base, info)
    scan = tmp_path / "发票.pdf"
    scan.write_bytes(PDF)

    # the village clerk: a hospital bill of 13,000.00, 1,000.00 reimbursed, with its scan
    clerk = walk.login("village_clerk")
    clerk.click("header nav a[href='/applications']")  # the navigation bar's 申报
    clerk.wait_for_url(f"{base}/applications")
    clerk.click("#new-application")
    clerk.fill("input[name=household_no]", household)
    clerk.fill("input[name=id_no]", id_no)
    clerk.select_option("select[name=peril]", "illness")
    clerk.fill("input[name=event_date]", "2025-04-20")
    clerk.fill("input[name=amount]", "13000")
    clerk.fill("input[name=compensated]", "1000")
    clerk.fill("textarea[name=note]", "住院费用自付较高，农户向村两委书面申请")
    clerk.set_input_files("input[name=receipts]", str(scan))
    walk.shot(clerk, "application-form")
    clerk.click("#apply button[type=submit]")
    clerk.wait_for_url(re.compile(r"/applications/\d+$"))
    assert "待核实" in clerk.inner_text("#application-state")
    assert clerk.locator("#verify").count() == 0  # the clerk records; only the insurer verifies
    application_id = int(clerk.url.rsplit("/", 1)[1])

    # the insurer: the list of submitted applications, the receipt, verify
    insurer = walk.login("insurer_adjudicator")
    insurer.goto(f"{base}/applications?state=submitted")
    insurer.click(f"#applications a[href$='/applications/{application_id}']")
    insurer.wait_for_url(f"{base}/applications/{application_id}")
    with insurer.expect_download() as download:
        insurer.click("#receipts a")
    assert download.value.suggested_filename == "发票.pdf"
    assert download.value.path().read_bytes() == PDF
    insurer.click("#verify button[type=submit]")
    insurer.wait_for_load_state()
    assert "已核实" in insurer.inner_text("#application-state"), insurer.locator(".flash").all_inner_texts()
    walk.shot(insurer, "application-verified")
    # self-paid 13,000 − 1,000 = 12,000: (10,000 − 5,000) × 50 % + (12,000 − 10,000) × 60 % = 2,500 + 1,200
    with app.app_context():
        amounts = web_db.session().scalars(select(Claim.amount).where(Claim.unit_id == id_no)).all()
    assert amounts == [Decimal("3700.00")]
