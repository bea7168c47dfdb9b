"""Readable everywhere (issue 15.4) on the demo county: village names from its villages file on the pages, the
printed notice, the payout list's Excel and the 明白卡; one hotline; source rows in yuan under Chinese names;
one number format; times on the app's clock, nothing dated after the app's today.

Expectations come from the demo's own input files (``villages.csv``, ``medical/2025-01.csv``), read here with
pandas, not from the code under test."""

from __future__ import annotations

import datetime as dt
import io
import re
from decimal import Decimal

import pandas as pd
import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select
from web_helpers import csrf_token, login

from claims.lifecycle.labels import label
from claims.lifecycle.models import Claim, ClaimEvent, FundEntry, ImportBatch, Notice, NoticeLine, PayoutBatch
from claims.lifecycle.store import Household, Person
from flask_app import create_app
from flask_app import db as web_db
from flask_app.demo import DEMO_HOTLINE, build_demo
from flask_app.display import yuan


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    work = tmp_path_factory.mktemp("readable")
    url = f"sqlite:///{work / 'relief.db'}"
    info = build_demo(url, work, people=3000)
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "test", "TESTING": True,
                      "RELIEF_TODAY": info.today.isoformat()})
    villages = pd.read_csv(info.county_dir / "villages.csv", dtype=str, encoding="utf-8-sig")
    yield app, info, dict(zip(villages["村代码"], villages["村名"], strict=True))
    app.extensions["relief_engine"].dispose()


def _client(app, info, role):  # noqa: ANN001, ANN202
    client = app.test_client()
    login(client, *info.users[role])
    return client


def test_one_number_format():
    # thousands separators and two decimals, whatever the input's type
    assert yuan(Decimal("1368.71")) == "1,368.71" and yuan("1368.71") == "1,368.71"
    assert yuan("1234567.8") == "1,234,567.80" and yuan(Decimal("0")) == "0.00" and yuan(None) == ""


def test_labels_come_from_the_tables_that_define_the_codes():
    assert label("state", "awaiting_approval") == "待复核"  # workflow.STATES
    assert label("peril", "illness") == "因病"  # products.model.PERILS
    assert label("notice_state", "posted") == "公示中"
    assert label("department", "medical") == "医保（医疗费用结算）"
    assert label("state", "not_a_state") == "not_a_state"


def test_the_printed_notice_names_its_village_and_the_county_hotline(demo):
    app, info, names = demo
    with app.app_context():
        notice = web_db.session().scalars(select(Notice).order_by(Notice.id)).first()
        code = notice.village_code
        biggest = web_db.session().scalar(select(func.max(NoticeLine.amount)).where(NoticeLine.notice_id == notice.id))
    page = _client(app, info, "county_reviewer").get(f"/notices/{notice.id}").get_data(as_text=True)
    name = names[code]  # e.g. 吴家庄村 (villages.csv)
    assert f"行政村：{name}" in page
    # the sign: 吴家庄村 → 吴家庄村民委员会 (the 村 of the name is the 村 of 村民委员会); never the code
    assert f"{name[:-1]}村民委员会" in page and f"{code}村民委员会" not in page
    assert f"异议电话：<strong>{DEMO_HOTLINE}</strong>" in page
    # every amount of the sheet with thousands separators: the largest line of this notice as 1,234.56
    assert f'<td class="num">{biggest:,.2f}</td>' in page
    assert not re.search(r'<td class="num">\d{4,}\.\d\d</td>', page)


def test_the_household_card_prints_the_same_hotline(demo):
    from claims.lifecycle.household_cards import household_card

    app, info, _ = demo
    with app.app_context():
        s = web_db.session()
        household_no = s.scalar(select(Household.household_no).order_by(Household.id))
        card = household_card(s, household_no, info.policy_id)  # no hotline given: the county's
    assert card.summary.hotline == DEMO_HOTLINE


def test_payout_list_excel_names_the_villages(demo):
    app, info, names = demo
    with app.app_context():
        batch_id = web_db.session().scalar(select(PayoutBatch.id).order_by(PayoutBatch.id))
        codes = dict(web_db.session().execute(select(Claim.id, Claim.village_code)).all())
    r = _client(app, info, "county_reviewer").get(f"/payouts/{batch_id}/list.xlsx")
    assert r.status_code == 200
    rows = list(load_workbook(io.BytesIO(r.data)).active.iter_rows(values_only=True))
    header = list(rows[0])
    village, claim, code = header.index("行政村"), header.index("理赔编号"), header.index("村代码")
    body = [row for row in rows[1:] if isinstance(row[claim], int)]
    assert body and all(row[village] == names[codes[row[claim]]] for row in body)
    assert all(row[code] == codes[row[claim]] for row in body)  # the code kept, in a column of its own
    page = _client(app, info, "county_reviewer").get(f"/payouts/{batch_id}").get_data(as_text=True)
    first = body[0]
    assert f'<span title="{codes[first[claim]]}">{names[codes[first[claim]]]}</span>' in page


def test_claim_page_source_rows_in_yuan_with_chinese_names(demo):
    app, info, _ = demo
    january = pd.read_csv(info.county_dir / "medical" / "2025-01.csv", dtype=str, encoding="utf-8-sig")
    with app.app_context():
        s = web_db.session()
        claim_id, id_no = s.execute(select(Claim.id, Claim.unit_id).where(Claim.state == "paid",
                                                                          Claim.unit_type == "person")
                                    .order_by(Claim.id)).first()
        name = s.scalar(select(Person.name).where(Person.id_no == id_no))
    rows = january[january["身份证号"] == id_no]
    assert len(rows) >= 1
    share = rows["个人负担总金额"].iloc[0]  # yuan text of the file, e.g. 4607.49
    whole, cents = share.split(".")
    expected = f"{int(whole):,}.{cents}"  # 4607.49 → 4,607.49
    page = _client(app, info, "insurer_supervisor").get(f"/claims/{claim_id}").get_data(as_text=True)
    assert f'<span title="psn_part_amt">个人负担总金额</span>：{expected}' in page
    assert "psn_part_amt=" not in page and name  # no raw field=fen pairs
    assert '<span title="setl_date">结算日期</span>' in page


def test_pages_name_villages_and_filters_show_labels(demo):
    app, info, names = demo
    county = _client(app, info, "county_reviewer")
    queue = county.get("/claims").get_data(as_text=True)
    some_code, some_name = sorted(names.items())[0]
    assert f'<option value="{some_code}" >{some_name}</option>' in queue or \
        f'<option value="{some_code}">{some_name}</option>' in queue
    assert ">因病防贫</option>" in queue or ">因病</option>" in queue  # the line filter by name, not "illness"
    notices = county.get("/notices").get_data(as_text=True)
    assert any(f'title="{code}">{name}</span>' in notices for code, name in names.items())


def test_nothing_is_dated_after_the_apps_today(demo):
    app, info, _ = demo
    end = dt.datetime.combine(info.today, dt.time.max)
    with app.app_context():
        s = web_db.session()
        for column in (ClaimEvent.at, FundEntry.at, ImportBatch.imported_at, PayoutBatch.created_at, Notice.posted_on):
            latest = s.scalar(select(func.max(column)))
            assert latest is not None, column
            assert (latest if isinstance(latest, dt.datetime) else dt.datetime.combine(latest, dt.time())) <= end, column
        # the demo's March is the first days of March only: no settlement after 2025-03-05 was imported
        assert s.scalar(select(func.max(Claim.id)).where(Claim.state == "computed")) is not None
    march = pd.read_csv(info.county_dir / "medical" / "2025-03.csv", dtype=str, encoding="utf-8-sig")
    assert (march["结算日期"] <= "2025-03-05").all()


def test_an_action_in_the_app_is_dated_on_the_apps_clock(demo):
    app, info, _ = demo
    with app.app_context():
        claim = web_db.session().scalars(select(Claim).where(Claim.state == "computed").order_by(Claim.id)).first()
    client = app.test_client()
    login(client, *info.users["insurer_adjudicator"])
    r = client.post(f"/claims/{claim.id}/action", data={"action": "start_investigation",
                                                         "expected_version": claim.version,
                                                         "csrf_token": csrf_token(client)})
    assert r.status_code == 302
    with app.app_context():
        at = web_db.session().scalar(select(ClaimEvent.at).where(ClaimEvent.claim_id == claim.id,
                                                                 ClaimEvent.action == "start_investigation"))
    assert at.date() == info.today  # 2025-03-05, not the wall clock's date
    page = client.get(f"/claims/{claim.id}").get_data(as_text=True)
    assert f"<td>{at:%Y-%m-%d %H:%M}</td>" in page and "2025-03-05" in page


def test_a_village_without_a_name_signs_without_its_code(demo):
    from types import SimpleNamespace

    app, _, _ = demo
    code = "130434199299"  # in no villages file: the registry gives the code back as its name
    sheet = SimpleNamespace(place="", title="防贫保理赔公示", village_code=code, village_name=code, natural_village="",
                            family_name="防贫保", rows=[[1, "张*", "", "因病", "1368.71"]], total=Decimal("1368.71"))
    with app.test_request_context():
        html = app.jinja_env.get_template("notices_sheet.html").render(
            sheet=sheet, posted_on=dt.date(2025, 3, 1), end_on=dt.date(2025, 3, 11), days=10, hotline=DEMO_HOTLINE,
            qr="", verify_url="", csrf_token=lambda: "")
    assert f"{code}村民委员会" not in html and "村民委员会" in html
    assert '<td class="num">1,368.71</td>' in html and "合计 1,368.71 元" in html  # the row as its total


def test_the_notice_pdf_names_the_village(demo):
    from pypdf import PdfReader

    from flask_app import pdf as web_pdf

    if web_pdf.cjk_font() is None:
        pytest.skip("no CJK font installed (fonts-wqy-zenhei or fonts-noto-cjk): the PDF answers 503")
    app, info, names = demo
    with app.app_context():
        notice = web_db.session().scalars(select(Notice).order_by(Notice.id)).first()
    r = _client(app, info, "county_reviewer").get(f"/notices/{notice.id}.pdf")
    assert r.status_code == 200 and r.mimetype == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(r.data)).pages).replace(" ", "")
    name = names[notice.village_code]
    assert name in text and f"{notice.village_code}村民委员会" not in text and DEMO_HOTLINE in text


PAGES = ("/", "/claims", "/notices", "/payouts", "/reports", "/statistics", "/monitoring", "/applications", "/fund",
         "/jobs", "/imports", "/admin/users")


def test_no_page_shows_a_bare_village_code_where_a_name_is_known(demo):
    """Every role's pages (those it may open): the codes of the named villages appear only in attributes
    (a title, a form value), never as text; /admin/villages lists the codes on purpose and is left out."""
    app, info, names = demo
    with app.app_context():
        s = web_db.session()
        claim_id, notice_id, batch_id = (s.scalar(select(Claim.id)), s.scalar(select(Notice.id)),
                                         s.scalar(select(PayoutBatch.id)))
    pages = (*PAGES, f"/claims/{claim_id}", f"/notices/{notice_id}", f"/payouts/{batch_id}")
    towns = {code[:9] for code in names}
    opened = 0
    for role in info.users:
        client = _client(app, info, role)
        for path in pages:
            r = client.get(path)
            if r.status_code != 200:
                continue
            opened += 1
            text = re.sub(r"<[^>]*>", " ", r.get_data(as_text=True))  # the text, without tags and attributes
            bare = [c for c in (*names, *towns) if re.search(rf"(?<!\d){c}(?!\d)", text)]
            assert not bare, (role, path, bare)
    assert opened >= 40  # 7 roles × the pages each may open


def test_a_background_job_runs_on_the_clock_of_the_request_that_submitted_it(tmp_path):
    import time

    from claims.lifecycle.database import make_engine, session_factory, transaction, upgrade
    from claims.lifecycle.jobs import Job, submit
    from claims.lifecycle.store import clock_day

    url = f"sqlite:///{tmp_path / 'jobs.db'}"
    upgrade(url)
    factory = session_factory(make_engine(url))
    day = dt.date(2025, 3, 5)
    with clock_day(day), transaction(factory) as s:  # as a request of an app whose RELIEF_TODAY is 2025-03-05
        job_id = submit(s, "recompute", {"policy_id": 999}, database_url=url).id  # fails: no such policy
    reader = session_factory(make_engine(url, immediate=False))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with reader() as s:
            job = s.get(Job, job_id)
            if job.state in ("done", "failed"):
                break
        time.sleep(0.2)
    # the in-process thread does not inherit the request's context: the day travels with the job
    assert job.state == "failed" and job.started_at.date() == day and job.finished_at.date() == day


def test_the_watchlist_export_names_the_villages_and_keeps_their_codes(demo):
    app, info, names = demo
    r = _client(app, info, "county_reviewer").get("/monitoring/export.xlsx")
    assert r.status_code == 200
    rows = list(load_workbook(io.BytesIO(r.data)).active.iter_rows(values_only=True))
    header = list(rows[0])
    village, code = header.index("行政村"), header.index("村代码")
    assert len(rows) > 1 and all(row[village] == names[row[code]] for row in rows[1:])
