"""Odd input never answers 500 (issue 13 item 8), on SQLite and PostgreSQL: each case the issue measured,
with the status it must get now and, for writes, that nothing changed.

* a NUL byte in ``village``/``line``/``q`` (PostgreSQL refuses NUL in text): 400 for pages and API;
* ``page=10^20``: the API 422 (page bounded), the queue page shows its last page (200);
* a 20-digit ID in a path (``integer out of range`` on PostgreSQL): 404, page and API;
* a 300-character file name: the upload is taken and the name stored shortened to 255 characters;
* ``%0A`` (or NUL) in ``next``: the login goes to the home page (302 to ``/``);
* an amount of 1,000,000,000,000 (NUMERIC(14, 2) holds 999,999,999,999.99): 422 / refused by the service;
* a payout ``period`` with CR/LF: refused (a month ``YYYY-MM``); an old batch with such a period still
  downloads its ``bank.csv`` (200, a file name without the line break).
"""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from sqlalchemy import func, insert, select, update
from test_api import auth, claim_ids, make_app, medical_bytes, upload_march
from web_helpers import csrf_token, login

from claims.lifecycle.adjudication import verify
from claims.lifecycle.fund import FundError, record_premium
from claims.lifecycle.models import Claim, ClaimEvent, ImportBatch, PayoutBatch, User
from claims.lifecycle.payouts import build_batch
from claims.lifecycle.transitions import Actor
from flask_app import db as web_db
from flask_app.auth import hash_password
from tabular.errors import InvalidInputError

PASSWORD = "odd-input-pw-1"
BIG = "99999999999999999999"  # 20 digits: beyond int64 and far beyond PostgreSQL's integer


@pytest.fixture
def app(db_url, tmp_path):
    app = make_app(db_url, tmp_path)
    with app.app_context(), web_db.write() as s:
        s.execute(update(User).values(password_hash=hash_password(PASSWORD)))
    upload_march(app.test_client())
    yield app
    app.extensions["relief_engine"].dispose()


@pytest.fixture
def web(app):
    client = app.test_client()
    client.csrf = login(client, "insurer_supervisor", PASSWORD)
    return client


def events(app) -> int:
    with app.app_context():
        return web_db.session().scalar(select(func.count()).select_from(ClaimEvent))


@pytest.mark.parametrize("query", ["village_code=%00", "line_id=%00", "q=a%00b", "q=%0D%0A", "state=%00"])
def test_nul_and_control_characters_in_api_query_are_400(app, query):
    r = app.test_client().get(f"/api/v1/claims?{query}", headers=auth("insurer_supervisor"))
    assert r.status_code == 400 and r.mimetype == "application/problem+json"
    assert "NUL" in r.json["detail"]


@pytest.mark.parametrize("query", ["village=%00", "line=%00", "q=a%00", "sort=%00"])
def test_nul_in_page_query_is_400_page(web, query):
    r = web.get(f"/claims?{query}")
    assert r.status_code == 400 and r.mimetype == "text/html"


def test_huge_page_number(app, web):
    r = app.test_client().get("/api/v1/claims?page=100000000000000000000", headers=auth("insurer_supervisor"))
    assert r.status_code == 422 and r.json["errors"]["query"]["page"]
    assert app.test_client().get("/api/v1/claims?page=10000000", headers=auth("insurer_supervisor")).json == []
    r = web.get("/claims?page=100000000000000000000")
    assert r.status_code == 200 and "第 1 / 1 页" in r.get_data(as_text=True)  # the last (only) page


@pytest.mark.parametrize("path", [f"/api/v1/claims/{BIG}", f"/api/v1/imports/{BIG}", f"/api/v1/notices/{BIG}",
                                  f"/api/v1/payouts/{BIG}", f"/api/v1/products/{BIG}", "/api/v1/claims/2147483648"])
def test_twenty_digit_id_in_api_path_is_404(app, path):
    r = app.test_client().get(path, headers=auth("insurer_supervisor"))
    assert r.status_code == 404 and r.mimetype == "application/problem+json"
    r = app.test_client().post(f"/api/v1/claims/{BIG}/transitions", headers=auth("insurer_supervisor"),
                               json={"action": "verify", "expected_version": 1})
    assert r.status_code == 404


@pytest.mark.parametrize("path", [f"/claims/{BIG}", f"/notices/{BIG}", f"/payouts/{BIG}", f"/imports/{BIG}",
                                  f"/payouts/{BIG}/bank.csv", f"/products/{BIG}"])
def test_twenty_digit_id_in_page_path_is_404(web, path):
    assert web.get(path).status_code == 404


def test_twenty_digit_ids_in_forms_change_nothing(app, web):
    before = events(app)
    r = web.post("/claims/bulk", data={"action": "start_investigation", "claim_id": BIG, "csrf_token": web.csrf})
    assert r.status_code == 302
    r = web.post(f"/claims/{claim_ids(app)[1]}/action", data={"action": "start_investigation",
                                                             "expected_version": BIG, "csrf_token": web.csrf})
    assert r.status_code == 302
    r = web.post("/payouts", data={"period": "2025-03", "policy_id": BIG, "csrf_token": web.csrf})
    assert r.status_code == 302
    assert web.get(f"/claims?batch={BIG}").status_code == 200
    assert events(app) == before


def test_three_hundred_character_file_name(app, web):
    name = "月报" + "a" * 300 + ".csv"
    r = app.test_client().post("/api/v1/imports", headers=auth("insurer_adjudicator"),
                               content_type="multipart/form-data",
                               data={"department": "medical", "period": "2025-04",
                                     "file": (io.BytesIO(medical_bytes([("S9", 4, "2025-04-09", 9500)])), name)})
    assert r.status_code == 201, r.get_data(as_text=True)
    r = web.post("/imports", content_type="multipart/form-data",
                 data={"csrf_token": web.csrf, "department": "medical", "period": "2025-05",
                       "file": (io.BytesIO(medical_bytes([("S8", 4, "2025-05-08", 9600)])), "b" * 300 + ".csv")})
    assert r.status_code == 302
    with app.app_context():
        names = web_db.session().scalars(select(ImportBatch.file_name).order_by(ImportBatch.id)).all()
    assert [len(n) for n in names[1:]] == [255, 255]
    assert names[1].startswith("月报aaa") and names[1].endswith("aaa.csv") and "…" in names[1]


@pytest.mark.parametrize("target", ["%0A", "%00", "%2F%0A%2Fevil.example"])
def test_line_feed_in_next_logs_in_to_the_home_page(app, target):
    client = app.test_client()
    r = client.post(f"/login?next={target}", data={"username": "insurer_supervisor", "password": PASSWORD,
                                                   "csrf_token": csrf_token(client)})
    assert r.status_code == 302 and r.headers["Location"] == "/"
    assert client.get("/claims").status_code == 200
    assert client.get("/claims?next=%00&q=%00").status_code == 400  # only next is left to the login's own check


def test_amount_beyond_numeric_14_2(app, web):
    ids = claim_ids(app)
    client = app.test_client()
    r = client.post("/api/v1/claims/transitions", headers=auth("insurer_adjudicator"),
                    json={"action": "start_investigation", "claim_ids": [ids[1]]})
    assert r.status_code == 200
    before = events(app)
    for amount in ("1000000000000", "1e30", "999999999999.999"):
        r = client.post(f"/api/v1/claims/{ids[1]}/transitions", headers=auth("insurer_supervisor"),
                        json={"action": "verify", "expected_version": 2, "amount": amount,
                              "reason_code": "document_shortfall", "note": "n"})
        assert r.status_code == 422 and "amount" in r.json["errors"]["json"], (amount, r.json)
        r = web.post(f"/claims/{ids[1]}/action", data={"action": "verify", "expected_version": "2", "amount": amount,
                                                      "reason_code": "document_shortfall", "note": "n",
                                                      "csrf_token": web.csrf}, follow_redirects=True)
        assert r.status_code == 200 and ("999,999,999,999.99" in r.get_data(as_text=True)
                                         or "two decimals" in r.get_data(as_text=True)), amount
    assert events(app) == before
    with app.app_context():
        claim = web_db.session().get(Claim, ids[1])
        assert (claim.state, claim.amount) == ("investigating", Decimal("2000.00"))
        actor = Actor(1, "insurer_supervisor")
        with web_db.write() as s, pytest.raises(InvalidInputError, match="999,999,999,999.99"):
            verify(s, ids[1], actor, expected_version=2, amount=Decimal("1000000000000"),
                   reason_code="document_shortfall", note="n")
        with web_db.write() as s, pytest.raises(FundError, match="999,999,999,999.99"):
            record_premium(s, claim.policy_id, "premium_received", Decimal("1000000000000"))


def test_payout_period_must_be_a_month(app, web):
    client = app.test_client()
    r = client.post("/api/v1/payouts", headers=auth("insurer_supervisor"), json={"period": "2025-03\r\nX"})
    assert r.status_code == 422 and "period" in r.json["errors"]["json"]
    r = web.post("/payouts", data={"period": "2025-03\r\nX", "policy_id": "1", "csrf_token": web.csrf},
                 follow_redirects=True)
    assert r.status_code == 200 and "支付期间须为年-月" in r.get_data(as_text=True)
    with app.app_context():
        with web_db.write() as s, pytest.raises(InvalidInputError, match="YYYY-MM"):
            build_batch(s, 1, "2025-13", Actor(1, "insurer_supervisor"))
        assert web_db.session().scalar(select(func.count()).select_from(PayoutBatch)) == 0
        # a batch stored before the rule, with CR/LF in its period: its bank file still downloads
        with web_db.write() as s:
            s.execute(insert(PayoutBatch).values(id=7, policy_id=1, period="2025-03\r\nX", state="exported",
                                                 total=Decimal("0.00")))
    r = web.get("/payouts/7/bank.csv")
    assert r.status_code == 200
    assert 'filename=payout-batch-7-2025-03__X.csv' in r.headers["Content-Disposition"]
