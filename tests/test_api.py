"""REST API /api/v1: happy paths with hand-checked values, pagination, filters, masking, problems.

A small county (the roster of tests/test_imports.py: H1 and H3 in village V1, H2 in V2), the 2025
防贫保 product and one user per role with an API token.  The March medical file is uploaded through
the API: person 1 self-paid 9,000 → (9,000 − 5,000) × 50% = 2,000.00 (V1); person 3 self-paid
12,000 → 2,500 + 1,200 = 3,700.00 (V2); person 2 (4,000) is below the warning line.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from factories import pid
from sqlalchemy import select, update

from claims.lifecycle.api_tokens import issue_token
from claims.lifecycle.database import transaction
from claims.lifecycle.models import Claim
from claims.lifecycle.registry import create_policy, register_product
from claims.lifecycle.roster_store import store_roster
from claims.lifecycle.users import Operator, create_user
from flask_app import create_app
from flask_app import db as web_db
from products import load_product
from products.roster import check_roster, load_households, load_persons

PRODUCT = "fangpinbao-weixian-2025"
V1, V2 = "130434100200", "130434101201"
ROLES = ["insurer_adjudicator", "insurer_supervisor", "county_reviewer", "township_reviewer", "village_clerk",
         "actuary", "admin", "city_viewer"]
MEDICAL_HEADER = ["结算ID", "身份证号", "结算日期", "医疗费总额", "统筹基金支出", "大病保险", "医疗救助", "其他支出",
                  "全自费金额", "超限价自费"]
MARCH = [("S1", 1, "2025-03-01", 9000), ("S2", 2, "2025-03-02", 4000), ("S3", 3, "2025-03-05", 12000)]


def write_csv(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def medical_bytes(rows: list[tuple[str, int, str, int]]) -> bytes:
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(MEDICAL_HEADER)
    w.writerows([[s, pid(n), d, sp + 1000, 1000, 0, 0, 0, 0, 0] for s, n, d, sp in rows])
    return out.getvalue().encode()


def token(role: str) -> str:
    return f"token-{role}"


def auth(role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(role)}"}


def make_app(db_url: str, tmp_path: Path):
    """The app on a migrated database with product, policy (1,000 heads), roster and one user per role."""
    persons = write_csv(tmp_path / "persons.csv", ["身份证号", "姓名", "户编号", "与户主关系"], [
        [pid(1), "张三", "H1", "户主"], [pid(2), "李四", "H1", "配偶"], [pid(3), "王五", "H2", "户主"],
        [pid(4), "赵六", "H3", "户主"]])
    households = write_csv(tmp_path / "households.csv", ["户编号", "村代码", "自然村", "户类型", "家庭人均纯收入", "家庭人口数"], [
        ["H1", V1, "张庄", "边缘易致贫户", "5000", "2"], ["H2", V2, "李庄", "脱贫不稳定户", "5000", "1"],
        ["H3", V1, "", "边缘易致贫户", "5000", "1"]])
    p, h = load_persons(persons), load_households(households)
    check_roster(p, h)
    app = create_app({"DATABASE_URL": db_url, "SECRET_KEY": "test", "TESTING": True, "RELIEF_TODAY": "2025-04-01"})
    with app.app_context(), transaction(web_db.factory()) as s:
        version = register_product(s, load_product(PRODUCT))
        create_policy(s, version, 1000)
        store_roster(s, p, h)
        for role in ROLES:
            limit = {"insurer_adjudicator": "5000", "insurer_supervisor": None}.get(role)
            villages = {"village_clerk": [V1], "township_reviewer": [V1]}.get(role, [])
            user = create_user(s, role, role, role, approval_limit=limit, villages=villages)
            issue_token(s, Operator(None, "tests"), user, "tests", "write", secret=token(role))
    return app


@pytest.fixture
def app(db_url, tmp_path):
    app = make_app(db_url, tmp_path)
    yield app
    app.extensions["relief_engine"].dispose()


@pytest.fixture
def client(app):
    return app.test_client()


def upload_march(client) -> dict:
    r = client.post("/api/v1/imports", headers=auth("insurer_adjudicator"), content_type="multipart/form-data",
                    data={"department": "medical", "period": "2025-03",
                          "file": (io.BytesIO(medical_bytes(MARCH)), "m03.csv")})
    assert r.status_code == 201, r.get_data(as_text=True)
    return r.json


def claim_ids(app) -> dict[int, int]:
    """person n → claim id."""
    with app.app_context():
        rows = web_db.session().execute(select(Claim.unit_id, Claim.id)).all()
    return {n: cid for n in (1, 2, 3, 4) for unit, cid in rows if unit == pid(n)}


def act(client, role: str, claim_id: int, **body) -> object:
    return client.post(f"/api/v1/claims/{claim_id}/transitions", headers=auth(role), json=body)


# ------------------------------------------------------------------------------------------------ tests

def test_products_list_and_detail(client):
    r = client.get("/api/v1/products", headers=auth("actuary"))
    assert r.status_code == 200
    [v] = r.json
    assert (v["code"], v["family"], v["county"], v["year"]) == ("FPB-130434-2025", "fangpinbao", "130434", 2025)
    assert len(v["digest"]) == 64
    d = client.get(f"/api/v1/products/{v['id']}", headers=auth("village_clerk")).json
    assert [line["id"] for line in d["lines"]] == [line["id"] for line in d["document"]["lines"]]
    assert "illness" in [line["id"] for line in d["lines"]]
    r = client.get("/api/v1/products/999", headers=auth("actuary"))
    assert r.status_code == 404 and r.mimetype == "application/problem+json"


def test_import_upload_history_and_refusals(client):
    result = upload_march(client)
    assert {k: result[k] for k in ("rows_read", "rows_stored", "rows_exception", "rows_duplicate",
                                   "claims_created", "claims_updated", "claims_withdrawn")} == {
        "rows_read": 3, "rows_stored": 3, "rows_exception": 0, "rows_duplicate": 0,
        "claims_created": 2, "claims_updated": 0, "claims_withdrawn": 0}
    [batch] = client.get("/api/v1/imports", headers=auth("admin")).json
    assert (batch["id"], batch["department"], batch["file_name"], batch["period"], batch["rows_stored"]) == (
        result["batch_id"], "medical", "m03.csv", "2025-03", 3)
    assert client.get(f"/api/v1/imports/{batch['id']}/exceptions", headers=auth("admin")).json == []
    # the same file again: 409 problem naming the batch, nothing changed
    r = client.post("/api/v1/imports", headers=auth("insurer_supervisor"), content_type="multipart/form-data",
                    data={"department": "medical", "file": (io.BytesIO(medical_bytes(MARCH)), "again.csv")})
    assert r.status_code == 409 and r.mimetype == "application/problem+json"
    assert r.json["type"] == "/problems/already-imported" and f"batch {batch['id']}" in r.json["detail"]
    # a row with a bad ID is an exception with its line number
    bad = medical_bytes([("S9", 4, "2025-03-09", 8000)]).replace(pid(4).encode(), b"123")
    r = client.post("/api/v1/imports", headers=auth("insurer_adjudicator"), content_type="multipart/form-data",
                    data={"department": "medical", "file": (io.BytesIO(bad), "bad.csv")})
    assert r.status_code == 201 and r.json["rows_exception"] == 1
    [exc] = client.get(f"/api/v1/imports/{r.json['batch_id']}/exceptions", headers=auth("admin")).json
    assert exc["line"] == 2 and exc["severity"] == "error"
    # unknown department, no file: 422 listing the fields
    r = client.post("/api/v1/imports", headers=auth("admin"), content_type="multipart/form-data",
                    data={"department": "astrology", "file": (io.BytesIO(b"x"), "x.csv")})
    assert r.status_code == 422 and r.mimetype == "application/problem+json"
    assert r.json["type"] == "/problems/validation" and list(r.json["errors"]["form"]) == ["department"]
    r = client.post("/api/v1/imports", headers=auth("admin"), content_type="multipart/form-data",
                    data={"department": "medical"})
    assert r.status_code == 422 and list(r.json["errors"]["files"]) == ["file"]


def test_claims_list_filters_sort_pagination_and_masking(app, client):
    upload_march(client)
    ids = claim_ids(app)
    r = client.get("/api/v1/claims?page_size=1&sort=-amount", headers=auth("insurer_adjudicator"))
    assert r.status_code == 200
    assert json.loads(r.headers["X-Pagination"]) == {"total": 2, "total_pages": 2, "first_page": 1, "last_page": 2,
                                                     "page": 1, "next_page": 2}
    [first] = r.json
    assert (first["id"], first["unit_id"], first["amount"], first["village_code"], first["state"],
            first["state_label"]) == (ids[3], pid(3), "3700.00", V2, "computed", "已计算")
    r = client.get("/api/v1/claims?page=2&page_size=1&sort=-amount", headers=auth("insurer_adjudicator"))
    assert [c["id"] for c in r.json] == [ids[1]]

    def listed(query: str, role: str = "insurer_supervisor") -> list[int]:
        r = client.get(f"/api/v1/claims?{query}", headers=auth(role))
        assert r.status_code == 200, r.get_data(as_text=True)
        return [c["id"] for c in r.json]

    assert listed("sort=id") == sorted([ids[1], ids[3]])
    assert listed(f"village_code={V1}") == [ids[1]]
    assert listed("min_amount=2000.01") == [ids[3]]
    assert listed("max_amount=2000") == [ids[1]]
    assert listed("state=verified") == []
    assert listed("line_id=illness&state=computed") == sorted([ids[1], ids[3]])
    assert listed(f"q={pid(3)}") == [ids[3]] and listed(f"q={pid(3)[:17]}") == [ids[3]]
    assert listed("q=H1") == [ids[1]]
    assert listed("batch_id=1") == sorted([ids[1], ids[3]]) and listed("batch_id=99") == []
    # a village clerk sees only their village; reviewer roles see masked IDs
    assert listed("", "village_clerk") == [ids[1]]
    r = client.get("/api/v1/claims", headers=auth("county_reviewer"))
    masked = {c["id"]: c["unit_id"] for c in r.json}
    assert masked[ids[1]] == pid(1)[:6] + "********" + pid(1)[-4:]
    assert pid(1) not in r.get_data(as_text=True) and pid(3) not in r.get_data(as_text=True)
    d = client.get(f"/api/v1/claims/{ids[1]}", headers=auth("township_reviewer")).json
    assert d["unit_id"] == masked[ids[1]]
    with app.app_context(), web_db.write() as s:  # free text naming an ID is masked too
        s.execute(update(Claim).where(Claim.id == ids[1]).values(flags=f"疑似重复 / duplicate of {pid(3)}"))
    d = client.get(f"/api/v1/claims/{ids[1]}", headers=auth("township_reviewer")).json
    assert d["flags"] == f"疑似重复 / duplicate of {pid(3)[:6]}********{pid(3)[-4:]}"
    d = client.get(f"/api/v1/claims/{ids[1]}", headers=auth("admin")).json
    assert d["unit_id"] == pid(1) and d["flags"].endswith(pid(3))
    assert client.get(f"/api/v1/claims/{ids[3]}", headers=auth("village_clerk")).status_code == 404
    # a bad query: 422 naming the field
    r = client.get("/api/v1/claims?state=nonsense&sort=colour", headers=auth("admin"))
    assert r.status_code == 422 and set(r.json["errors"]["query"]) == {"state", "sort"}


def test_claim_detail_trace_and_events(app, client):
    upload_march(client)
    ids = claim_ids(app)
    d = client.get(f"/api/v1/claims/{ids[1]}", headers=auth("insurer_adjudicator")).json
    assert (d["base"], d["entitlement"], d["paid_before"], d["computed_amount"], d["amount"], d["version"]) == (
        "9000.00", "2000.00", "0.00", "2000.00", "2000.00", 1)
    assert "2000.00" in d["trace"]
    assert [(e["action"], e["from_state"], e["to_state"], e["amount_after"]) for e in d["events"]] == [
        ("compute", None, "computed", "2000.00")]
    r = client.get("/api/v1/claims/999999", headers=auth("admin"))
    assert r.status_code == 404 and r.json["type"] == "/problems/not-found"


def test_walk_a_month_through_the_api(app, client):
    upload_march(client)
    ids = claim_ids(app)
    c1, c3 = ids[1], ids[3]
    r = client.post("/api/v1/claims/transitions", headers=auth("insurer_adjudicator"),
                    json={"action": "start_investigation", "claim_ids": [c1, c3]})
    assert r.status_code == 200 and r.json == {"action": "start_investigation", "moved": 2}
    # stale version: 409 problem naming the claim, nothing changed
    r = act(client, "insurer_adjudicator", c1, action="verify", expected_version=1)
    assert r.status_code == 409 and r.mimetype == "application/problem+json"
    assert r.json["type"] == "/problems/conflict" and r.json["claim_ids"] == [c1]
    r = act(client, "insurer_adjudicator", c1, action="verify", expected_version=2)
    assert r.status_code == 200 and (r.json["state"], r.json["version"], r.json["amount"]) == ("verified", 3, "2000.00")
    # an adjusted amount needs a coded reason (422 problem), then it is taken
    r = act(client, "insurer_adjudicator", c3, action="verify", expected_version=2, amount="3500.00")
    assert r.status_code == 422 and "reason" in r.json["detail"]
    r = act(client, "insurer_adjudicator", c3, action="verify", expected_version=2, amount="3500.00",
            reason_code="document_shortfall")
    assert (r.json["state"], r.json["amount"], r.json["adjustment_reason"]) == ("verified", "3500.00",
                                                                                "document_shortfall")
    assert r.json["events"][-1]["amount_before"] == "3700.00" and r.json["events"][-1]["amount_after"] == "3500.00"
    # wrong role for the action: 422 transition-refused
    r = act(client, "county_reviewer", c1, action="village_review", expected_version=3)
    assert r.status_code == 422 and r.json["type"] == "/problems/transition-refused"
    # the clerk of V1 reviews claim 1; claim 3 (V2) is not theirs
    r = act(client, "village_clerk", c1, action="village_review", expected_version=3)
    assert r.status_code == 200 and r.json["state"] == "village_reviewed"
    r = client.post("/api/v1/claims/transitions", headers=auth("village_clerk"),
                    json={"action": "village_review", "claim_ids": [c3]})
    assert r.status_code == 422 and r.json["type"] == "/problems/transition-refused"
    r = client.post("/api/v1/claims/transitions", headers=auth("township_reviewer"),
                    json={"action": "township_review", "claim_ids": [c1]})
    assert r.json == {"action": "township_review", "moved": 1}
    assert act(client, "county_reviewer", c1, action="file", expected_version=5).json["state"] == "filed"
    # the notice: posted today (injected clock 2025-04-01) for the product's days
    r = client.post("/api/v1/notices", headers=auth("county_reviewer"), json={"village_code": V1})
    assert r.status_code == 201, r.get_data(as_text=True)
    notice = r.json
    assert (notice["village_code"], notice["posted_on"], notice["state"]) == (V1, "2025-04-01", "posted")
    d = client.get(f"/api/v1/notices/{notice['id']}", headers=auth("village_clerk")).json
    assert d["rows"] == [{"no": 1, "name": "张*", "natural_village": "张庄", "line": d["rows"][0]["line"],
                          "amount": "2000.00"}]
    assert d["total"] == "2000.00"
    assert [n["id"] for n in client.get("/api/v1/notices", headers=auth("insurer_adjudicator")).json] == [notice["id"]]
    # no filed claims left in V1: 422 notice-refused
    r = client.post("/api/v1/notices", headers=auth("village_clerk"), json={"village_code": V1})
    assert r.status_code == 422 and r.json["type"] == "/problems/notice-refused"
    # a clerk may not post another village's notice
    assert client.post("/api/v1/notices", headers=auth("village_clerk"), json={"village_code": V2}).status_code == 403
    # an objection puts the claim in dispute
    r = client.post(f"/api/v1/notices/{notice['id']}/objections", headers=auth("village_clerk"),
                    json={"claim_id": c1, "text": "收入核查有误"})
    assert r.status_code == 201 and (r.json["claim_id"], r.json["state"]) == (c1, "open")
    assert client.get(f"/api/v1/claims/{c1}", headers=auth("admin")).json["state"] == "disputed"
    # rejecting claim 3 with a coded reason; a stale version is a conflict
    r = act(client, "county_reviewer", c3, action="reject", expected_version=1, reason_code="not_eligible")
    assert r.status_code == 409
    r = act(client, "county_reviewer", c3, action="reject", expected_version=3, reason_code="not_eligible")
    assert r.status_code == 200 and r.json["state"] == "rejected"
    # nothing payable: building a batch is refused
    r = client.post("/api/v1/payouts", headers=auth("insurer_supervisor"), json={"period": "2025-04"})
    assert r.status_code == 422 and r.json["type"] == "/problems/payout-refused"
    assert client.get("/api/v1/payouts", headers=auth("insurer_supervisor")).json == []


def test_payout_batch_and_bank_return(app, client):
    upload_march(client)
    ids = claim_ids(app)
    with app.app_context(), web_db.write() as s:  # claim 1 straight to payable (the lifecycle is tested elsewhere)
        from claims.lifecycle.transitions import SYSTEM, Actor, advance

        ins = Actor(id=None, role="insurer_supervisor")
        advance(s, [ids[1]], "computed", "start_investigation", ins)
        advance(s, [ids[1]], "investigating", "verify", ins)
        advance(s, [ids[1]], "verified", "village_review", Actor(id=None, role="village_clerk"))
        advance(s, [ids[1]], "village_reviewed", "township_review", Actor(id=None, role="township_reviewer"))
        advance(s, [ids[1]], "township_reviewed", "file", Actor(id=None, role="county_reviewer"))
        advance(s, [ids[1]], "filed", "post_notice", Actor(id=None, role="county_reviewer"))
        advance(s, [ids[1]], "on_notice", "notice_ended", SYSTEM)
    with app.app_context(), web_db.write() as s:
        from claims.lifecycle.store import Household

        s.execute(update(Household).values(bank_account="6217000000000001"))
    r = client.post("/api/v1/payouts", headers=auth("insurer_supervisor"), json={"period": "2025-04"})
    assert r.status_code == 201, r.get_data(as_text=True)
    batch = r.json
    assert (batch["period"], batch["state"], batch["total"]) == ("2025-04", "exported", "2000.00")
    d = client.get(f"/api/v1/payouts/{batch['id']}", headers=auth("insurer_adjudicator")).json
    [line] = d["lines"]
    assert (line["claim_id"], line["payee_name"], line["amount"], line["status"]) == (ids[1], "张三", "2000.00",
                                                                                      "pending")
    assert line["payee_id_masked"] == pid(1)[:6] + "********" + pid(1)[-4:]
    again = client.post("/api/v1/payouts", headers=auth("insurer_supervisor"), json={"period": "2025-04"})
    assert again.status_code == 422
    ret = f"理赔编号,状态,原因\n{ids[1]},成功,\n".encode()
    r = client.post(f"/api/v1/payouts/{batch['id']}/return", headers=auth("insurer_adjudicator"),
                    content_type="multipart/form-data", data={"file": (io.BytesIO(ret), "return.csv")})
    assert r.status_code == 200 and r.json == {"paid": 1, "failed": 0}
    assert client.get(f"/api/v1/payouts/{batch['id']}", headers=auth("insurer_adjudicator")).json["state"] == \
        "reconciled"
    r = client.post(f"/api/v1/payouts/{batch['id']}/return", headers=auth("insurer_adjudicator"),
                    content_type="multipart/form-data", data={"file": (io.BytesIO(ret), "return.csv")})
    assert r.status_code == 422 and "already returned" in r.json["detail"]
    [fund] = client.get("/api/v1/fund", headers=auth("actuary")).json
    assert (fund["claims_paid"], fund["net_claims"], fund["balance"], fund["loss_ratio"]) == (
        "2000.00", "2000.00", "-2000.00", None)


def test_bad_body_is_a_problem_listing_the_fields(app, client):
    upload_march(client)
    c1 = claim_ids(app)[1]
    r = client.post(f"/api/v1/claims/{c1}/transitions", headers=auth("insurer_adjudicator"),
                    json={"action": "fly", "note": 5})
    assert r.status_code == 422 and r.mimetype == "application/problem+json"
    assert r.json["type"] == "/problems/validation" and r.json["status"] == 422
    assert set(r.json["errors"]["json"]) == {"action", "expected_version", "note"}
    r = client.post("/api/v1/claims/transitions", headers=auth("insurer_adjudicator"), json={"claim_ids": []})
    assert r.status_code == 422 and set(r.json["errors"]["json"]) == {"action", "claim_ids"}


def test_unauthenticated_and_forbidden_are_problems(client):
    r = client.get("/api/v1/claims")
    assert r.status_code == 401 and r.json["type"] == "/problems/unauthenticated"
    r = client.get("/api/v1/claims", headers=auth("actuary"))
    assert r.status_code == 403 and r.json["type"] == "/problems/forbidden"
    assert client.get("/api/v1/openapi.json").status_code == 200
