"""Pages of the claims queue, claim detail and imports (Flask test client, SQLite and PostgreSQL).

A tiny roster (all synthetic people): H1 (village V1) persons 1, 2; H2 (V2) person 3; H3 (V1) person 4.
Product fangpinbao-weixian-2025, illness line: self-paid above 5,000 yuan is paid by brackets.
"""

from __future__ import annotations

import csv
import io

import pytest
from factories import pid
from sqlalchemy import func, select

from claims.lifecycle.database import transaction
from claims.lifecycle.models import Claim, ClaimEvent, ImportBatch
from claims.lifecycle.registry import create_policy, register_product
from claims.lifecycle.roster_store import store_roster
from claims.lifecycle.users import create_user
from flask_app import create_app
from flask_app import db as web_db
from flask_app.auth import hash_password
from flask_app.views import claims as claim_views
from products import load_product
from products.roster import check_roster, load_households, load_persons

PRODUCT = "fangpinbao-weixian-2025"
V1, V2 = "130434100200", "130434101201"
MEDICAL_HEADER = ["结算ID", "身份证号", "结算日期", "医疗费总额", "统筹基金支出", "大病保险", "医疗救助", "其他支出",
                  "全自费金额", "超限价自费"]
PASSWORD = "pw-for-tests"
USERS = {"ins": ("insurer_adjudicator", 100000, ()), "sup": ("insurer_supervisor", None, ()),
         "clerk": ("village_clerk", None, (V1,)), "town": ("township_reviewer", None, (V1, V2)),
         "county": ("county_reviewer", None, ())}


def _csv(header: list[str], rows: list[list[object]]) -> bytes:
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(header)
    w.writerows(rows)
    return out.getvalue().encode("utf-8")


def medical_bytes(rows: list[tuple[str, object, str, int]]) -> bytes:
    """rows: (setl_id, person n or a raw ID, date, self-paid yuan); 1,000 yuan paid by the fund."""
    return _csv(MEDICAL_HEADER, [[s, pid(n) if isinstance(n, int) else n, d, sp + 1000, 1000, 0, 0, 0, 0, 0]
                                 for s, n, d, sp in rows])


@pytest.fixture
def app(db_url, tmp_path):
    persons = tmp_path / "persons.csv"
    persons.write_bytes(_csv(["身份证号", "姓名", "户编号", "与户主关系"], [
        [pid(1), "张三", "H1", "户主"], [pid(2), "李四", "H1", "配偶"], [pid(3), "王五", "H2", "户主"],
        [pid(4), "赵六", "H3", "户主"]]))
    households = tmp_path / "households.csv"
    households.write_bytes(_csv(["户编号", "村代码", "自然村", "户类型", "家庭人均纯收入", "家庭人口数"], [
        ["H1", V1, "张庄", "边缘易致贫户", "5000", "2"], ["H2", V2, "李庄", "脱贫不稳定户", "5000", "1"],
        ["H3", V1, "", "边缘易致贫户", "5000", "1"]]))
    p, h = load_persons(persons), load_households(households)
    check_roster(p, h)
    app = create_app({"DATABASE_URL": db_url, "SECRET_KEY": "test", "TESTING": True})
    with app.app_context():
        with transaction(web_db.factory()) as s:
            version = register_product(s, load_product(PRODUCT))
            app.config["TEST_POLICY_ID"] = create_policy(s, version, 1000).id
            store_roster(s, p, h)
        with web_db.write() as s:
            for username, (role, limit, villages) in USERS.items():
                user = create_user(s, username, username, role, approval_limit=limit, villages=villages)
                user.password_hash = hash_password(PASSWORD)
    yield app
    app.extensions["relief_engine"].dispose()


def login(app, username: str):
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    client.csrf = page.split('name="csrf_token" value="')[1].split('"')[0]
    r = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": client.csrf})
    assert r.status_code == 302, r.get_data(as_text=True)
    return client


def upload(client, data: bytes, name: str = "medical-2025-03.csv", period: str = "2025-03"):
    return client.post("/imports", data={"csrf_token": client.csrf, "department": "medical", "period": period,
                                         "file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data", follow_redirects=True)


MARCH = [("S1", 1, "2025-03-02", 9000), ("S2", 3, "2025-03-05", 12000), ("S3", 4, "2025-03-09", 7000),
         ("S4", 2, "2025-03-10", 200)]


@pytest.fixture
def imported(app):
    """The March medical file imported through the upload page; returns the insurer's client."""
    client = login(app, "ins")
    r = upload(client, medical_bytes(MARCH))
    assert r.status_code == 200
    return client


def claim_of(app, person: int) -> Claim:
    with app.app_context():
        return web_db.session().scalar(select(Claim).where(Claim.unit_id == pid(person)))


def counts(app) -> tuple[int, int]:
    with app.app_context():
        s = web_db.session()
        return s.scalar(select(func.count()).select_from(Claim)), s.scalar(select(func.count()).select_from(ClaimEvent))


# ------------------------------------------------------------------------------------------- imports

def test_upload_shows_the_validation_report_and_reupload_is_refused(app):
    client = login(app, "ins")
    data = medical_bytes([*MARCH, ("S5", "12345", "2025-03-11", 8000), ("S1", 1, "2025-03-02", 9000)])
    page = upload(client, data).get_data(as_text=True)
    assert "校验报告" in page and "medical-2025-03.csv" in page
    with app.app_context():
        batch = web_db.session().scalar(select(ImportBatch))
    assert batch.rows_read == 6 and batch.rows_stored == 4 and batch.rows_exception >= 1
    # exceptions by reason, with the file's line numbers (header = line 1)
    assert "下载异常明细" in page and "6" in page
    csv_resp = client.get(f"/imports/{batch.id}/exceptions.csv")
    assert csv_resp.status_code == 200 and csv_resp.mimetype == "text/csv"
    body = csv_resp.data.decode("utf-8")
    assert body.startswith("\ufeff")
    lines = list(csv.reader(io.StringIO(body[1:])))
    assert {int(r[1]) for r in lines[1:]} >= {6}
    assert "medical-2025-03.csv" in client.get("/imports").get_data(as_text=True)

    again = upload(client, data, name="copy.csv").get_data(as_text=True)
    assert "已导入过" in again  # the Chinese half: pages are Chinese by default (tests/test_i18n.py)
    with app.app_context():
        assert web_db.session().scalar(select(func.count()).select_from(ImportBatch)) == 1


def test_imports_pages_are_for_the_insurer_the_county_office_and_admin_only(app):
    # seed 003: "人社、教育、民政、医保每月向区扶贫办报送" — the departments report to the county office (issue 15.1)
    assert login(app, "county").get("/imports").status_code == 200
    assert login(app, "clerk").get("/imports").status_code == 403
    assert login(app, "sup").get("/imports").status_code == 200


# --------------------------------------------------------------------------------------------- queue

def test_queue_filters_and_pagination(app, imported, monkeypatch):
    page = imported.get("/claims").get_data(as_text=True)
    assert "共 3 笔" in page  # person 2's 200 yuan is below the deductible: no claim
    assert "张三" in page and "王五" in page and "赵六" in page
    page = imported.get(f"/claims?village={V1}").get_data(as_text=True)
    assert "共 2 笔" in page and "王五" not in page
    page = imported.get("/claims?q=王五").get_data(as_text=True)
    assert "共 1 笔" in page and "张三" not in page
    page = imported.get(f"/claims?q={pid(4)}").get_data(as_text=True)
    assert "共 1 笔" in page and "赵六" in page
    assert "共 3 笔" in imported.get("/claims?state=computed&line=illness").get_data(as_text=True)
    assert "共 0 笔" in imported.get("/claims?state=verified").get_data(as_text=True)
    with app.app_context():
        batch_id = web_db.session().scalar(select(ImportBatch.id))
    assert "共 3 笔" in imported.get(f"/claims?batch={batch_id}").get_data(as_text=True)
    # amount bands: person 3 (12,000 self-paid) is owed the most
    big = imported.get("/claims?band=ge20000").get_data(as_text=True)
    assert "共 0 笔" in big
    # sort by amount, descending: 王五 first
    page = imported.get("/claims?sort=amount&dir=desc").get_data(as_text=True)
    assert page.index("王五") < page.index("张三")

    monkeypatch.setattr(claim_views, "PER_PAGE", 2)
    first = imported.get("/claims?sort=id&dir=asc").get_data(as_text=True)
    assert "第 1 / 2 页" in first and 'rel="next"' in first
    second = imported.get("/claims?sort=id&dir=asc&page=2").get_data(as_text=True)
    assert "第 2 / 2 页" in second and second.count('name="claim_id"') == 1


def test_village_clerk_sees_only_own_villages(app, imported):
    clerk = login(app, "clerk")
    page = clerk.get("/claims").get_data(as_text=True)
    assert "共 2 笔" in page and "王五" not in page
    other = claim_of(app, 3)
    assert clerk.get(f"/claims/{other.id}").status_code == 404
    assert clerk.get(f"/claims?village={V2}").get_data(as_text=True).count('name="claim_id"') == 0


def test_ids_masked_for_reviewers_full_for_insurers(app, imported):
    full = pid(1)
    masked = full[:6] + "*" * 8 + full[-4:]
    assert full in imported.get("/claims").get_data(as_text=True)
    page = login(app, "county").get("/claims").get_data(as_text=True)
    assert full not in page and masked in page
    claim = claim_of(app, 1)
    detail = login(app, "town").get(f"/claims/{claim.id}").get_data(as_text=True)
    assert full not in detail and masked in detail


# -------------------------------------------------------------------------------------------- detail

def test_detail_shows_person_trace_and_source_file_and_line(app, imported):
    claim = claim_of(app, 3)
    page = imported.get(f"/claims/{claim.id}").get_data(as_text=True)
    assert "王五" in page and "李庄" in page and "脱贫不稳定户" in page
    assert 'class="trace"' in page and claim.trace.splitlines()[0][:20] in page
    # person 3's row is line 3 of the file (header is line 1)
    assert "medical-2025-03.csv" in page and '<td class="num">3</td>' in page


def test_actions_through_the_form_move_the_state_and_write_events(app, imported):
    claim = claim_of(app, 1)
    form = {"csrf_token": imported.csrf, "note": ""}
    r = imported.post(f"/claims/{claim.id}/action", data={**form, "action": "start_investigation",
                                                         "expected_version": claim.version}, follow_redirects=True)
    assert "开始调查" in r.get_data(as_text=True)
    claim = claim_of(app, 1)
    assert claim.state == "investigating"
    r = imported.post(f"/claims/{claim.id}/action", data={
        **form, "action": "verify", "expected_version": claim.version, "amount": "1000.00",
        "reason_code": "document_shortfall"}, follow_redirects=True)
    page = r.get_data(as_text=True)
    claim = claim_of(app, 1)
    assert claim.state == "verified" and str(claim.amount) == "1000.00"
    assert "票据不足" in page and "已核定" in page
    with app.app_context():
        events = list(web_db.session().scalars(select(ClaimEvent).where(ClaimEvent.claim_id == claim.id)
                                              .order_by(ClaimEvent.id)))
    assert [e.action for e in events][-2:] == ["start_investigation", "verify"]
    assert events[-1].reason_code == "document_shortfall"

    # the village clerk of V1 reviews it
    clerk = login(app, "clerk")
    assert "村审核" in clerk.get(f"/claims/{claim.id}").get_data(as_text=True)
    clerk.post(f"/claims/{claim.id}/action", data={"csrf_token": clerk.csrf, "action": "village_review",
                                                   "expected_version": claim.version})
    assert claim_of(app, 1).state == "village_reviewed"


def test_refused_action_shows_bilingual_message_and_changes_nothing(app, imported):
    claim = claim_of(app, 1)
    before = counts(app)
    clerk = login(app, "clerk")
    r = clerk.post(f"/claims/{claim.id}/action", data={"csrf_token": clerk.csrf, "action": "start_investigation",
                                                       "expected_version": claim.version}, follow_redirects=True)
    page = r.get_data(as_text=True)
    assert "无权" in page and "may not" not in page  # the Chinese half by default, the English after the switch
    clerk.get("/lang/en")
    page = clerk.post(f"/claims/{claim.id}/action", data={"csrf_token": clerk.csrf, "action": "start_investigation",
                                                          "expected_version": claim.version}, follow_redirects=True)
    assert "may not" in page.get_data(as_text=True)
    assert claim_of(app, 1).state == "computed" and counts(app) == before
    # a stale version: the insurer's form was loaded before someone else acted
    imported.post(f"/claims/{claim.id}/action", data={"csrf_token": imported.csrf, "action": "start_investigation",
                                                      "expected_version": claim.version})
    r = imported.post(f"/claims/{claim.id}/action", data={
        "csrf_token": imported.csrf, "action": "reject", "reason_code": "not_eligible",
        "expected_version": claim.version}, follow_redirects=True)
    assert "未做任何更改" in r.get_data(as_text=True)
    assert claim_of(app, 1).state == "investigating"


def test_bulk_actions_offered_by_role_and_applied(app, imported):
    page = imported.get("/claims?state=computed").get_data(as_text=True)
    assert 'value="start_investigation"' in page and 'value="village_review"' not in page
    clerk_page = login(app, "clerk").get("/claims?state=computed").get_data(as_text=True)
    assert 'value="start_investigation"' not in clerk_page
    with app.app_context():
        ids = list(web_db.session().scalars(select(Claim.id)))
    r = imported.post("/claims/bulk", data={"csrf_token": imported.csrf, "action": "start_investigation",
                                            "claim_id": ids, "back": "/claims"}, follow_redirects=True)
    assert "3 笔" in r.get_data(as_text=True)
    with app.app_context():
        assert set(web_db.session().scalars(select(Claim.state))) == {"investigating"}
    # a bulk reject without a reason is refused, nothing changes
    r = imported.post("/claims/bulk", data={"csrf_token": imported.csrf, "action": "reject", "claim_id": ids},
                      follow_redirects=True)
    assert "未知的拒赔原因代码" in r.get_data(as_text=True)
    with app.app_context():
        assert set(web_db.session().scalars(select(Claim.state))) == {"investigating"}
