"""Fund operations on the page and in the API (issue 15, item 2): premiums with payer and date, the settlement
preview, posting and carry-over; refused for roles that do not operate the fund and for bad amounts."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select
from test_api import auth, make_app
from test_pages_money import client_for, env, tok  # noqa: F401 - env is a fixture

from claims.lifecycle.models import FundEntry


def test_the_county_office_records_a_premium_on_the_fund_page(env):  # noqa: F811
    app, sd = env
    county = client_for(app, "county")
    page = county.get("/fund").get_data(as_text=True)
    assert "登记保费" in page and "结算预览" in page
    # rollover (the seed's policy has no rule): nothing to post; no 2026 policy yet to carry over to
    assert "过账年终结算" not in page and "下一年度保单尚未建立" not in page  # balance 0: nothing to carry
    r = county.post(f"/fund/{sd.policy_id}/premium", data={
        "amount": "1,234.56", "payer": "individual", "received_on": "2025-02-01", "reference": "个人缴费",
        "csrf_token": tok(county)}, follow_redirects=True)
    text = r.get_data(as_text=True)
    assert "已登记保费 1,234.56 元" in text and "1,234.56" in text
    assert "下一年度保单尚未建立" in text  # balance 1,234.56 now, and no next-year policy
    r = county.post(f"/fund/{sd.policy_id}/premium", data={
        "amount": "12.345", "payer": "government", "received_on": "2025-02-01", "csrf_token": tok(county)},
        follow_redirects=True)
    assert "最多两位小数" in r.get_data(as_text=True)  # refused, not rounded
    r = county.post(f"/fund/{sd.policy_id}/premium", data={
        "amount": "", "payer": "government", "received_on": "", "csrf_token": tok(county)}, follow_redirects=True)
    assert "请填写金额" in r.get_data(as_text=True)
    act = client_for(app, "act")  # the actuary reads the fund, never operates it
    assert act.post(f"/fund/{sd.policy_id}/premium", data={
        "amount": "1.00", "payer": "other", "received_on": "2025-02-01", "csrf_token": tok(act)}).status_code == 403
    assert county.post("/fund/999999/premium", data={"amount": "1.00", "payer": "other", "received_on": "2025-02-01",
                                                     "csrf_token": tok(county)}).status_code == 404
    with app.factory() as s:
        rows = s.execute(select(FundEntry.amount, FundEntry.payer, FundEntry.at)).all()
    assert [(r.amount, r.payer, r.at.date().isoformat()) for r in rows] == \
        [(Decimal("1234.56"), "individual", "2025-02-01")]


def test_the_fund_api_records_previews_and_refuses(db_url, tmp_path):
    app = make_app(db_url, tmp_path)
    client = app.test_client()
    sup = auth("insurer_supervisor")
    r = client.post("/api/v1/fund/1/premiums", headers=sup,
                    json={"amount": "63000.00", "payer": "财政", "received_on": "2025-01-15", "reference": "国库"})
    assert r.status_code == 201 and r.json["amount"] == "63000.00" and r.json["payer"] == "government"
    r = client.post("/api/v1/fund/1/premiums", headers=sup, json={"amount": "1.005", "payer": "财政",
                                                                  "received_on": "2025-01-15"})
    assert r.status_code == 422 and "two decimals" in r.json["detail"]
    r = client.post("/api/v1/fund/1/premiums", headers=sup, json={"amount": "1.00", "payer": "银行",
                                                                  "received_on": "2025-01-15"})
    assert r.status_code == 422
    preview = client.get("/api/v1/fund/1/settlement", headers=sup).json
    # no claims paid: P = 63,000, L = 0; the policy's rule is rollover → settlement 0, balance stays 63,000
    assert (preview["premium"], preview["net_claims"], preview["amount"], preview["balance_after"]) == \
        ("63000.00", "0.00", "0.00", "63000.00")
    r = client.post("/api/v1/fund/1/carry-over", headers=sup)
    assert r.status_code == 422 and "does not exist yet" in r.json["detail"]
    assert client.post("/api/v1/fund/1/premiums", headers=auth("insurer_adjudicator"),
                       json={"amount": "1.00", "payer": "其他", "received_on": "2025-01-15"}).status_code == 403
    assert client.get("/api/v1/fund", headers=sup).json[0]["balance"] == "63000.00"
    app.extensions["relief_engine"].dispose()
