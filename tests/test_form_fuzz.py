"""hypothesis over the HTML forms (issue 13 item 8): login, user and token administration, claim actions (verify / approve / return /
reject with amounts, reasons and notes, single and bulk), notice post, objection and close, import upload,
the column-mapping page, payout batch creation — with NUL bytes, 20-digit and huge numbers, 10,000-character
strings, CR/LF and unicode.  Every answer is below 500, and a refused request changes nothing (the
claims, their events, notices, objections, payout and import batches, mapping profiles are as before).
SQLite always, PostgreSQL when configured; a few dozen examples per form."""

from __future__ import annotations

import io

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, update
from test_api import claim_ids, make_app, medical_bytes, upload_march
from web_helpers import csrf_token, login

from claims.lifecycle.models import (
    Claim,
    ClaimEvent,
    ImportBatch,
    MappingProfile,
    Notice,
    Objection,
    PayoutBatch,
    User,
)
from flask_app import db as web_db
from flask_app.auth import hash_password

PASSWORD = "form-fuzz-pw-1"
ODD = ["\x00", "a\x00b", "99999999999999999999", "-99999999999999999999", "1000000000000", "999999999999.999",
       "1e400", "NaN", "x" * 10_000, "2025-03\r\nX", "\r\n", "\t", "𝔘ñíçødé ‮ 测试", "<script>", "'; --", ""]
odd = st.one_of(st.sampled_from(ODD), st.text(max_size=30), st.integers(-(10**25), 10**25).map(str))
FUZZ = settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), database=None)


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


def state(app) -> tuple:
    """What a refused request must leave alone."""
    with app.app_context():
        s = web_db.session()
        claims = tuple(s.execute(select(Claim.id, Claim.state, Claim.amount, Claim.version).order_by(Claim.id)))
        counts = tuple(s.scalar(select(func.count()).select_from(t)) for t in
                       (ClaimEvent, Notice, Objection, PayoutBatch, ImportBatch, MappingProfile))
        return claims, counts


def refused(response) -> bool:
    """A 4xx, or a page (after the redirect) carrying an error message."""
    return response.status_code >= 400 or 'class="flash error"' in response.get_data(as_text=True)


def post(app, web, url: str, data: dict, **kw) -> None:
    before = state(app)
    r = web.post(url, data={**data, "csrf_token": web.csrf}, follow_redirects=True, **kw)
    assert r.status_code < 500, (url, {k: str(v)[:40] for k, v in data.items()}, r.get_data(as_text=True)[:300])
    if refused(r):
        assert state(app) == before, (url, {k: str(v)[:40] for k, v in data.items()})


def test_login_form(app):
    @given(username=odd, password=odd, next_=odd)
    @FUZZ
    def check(username, password, next_) -> None:
        client = app.test_client()
        r = client.post("/login", query_string={"next": next_},
                        data={"username": username, "password": password, "csrf_token": csrf_token(client)})
        assert r.status_code < 500
        assert client.get("/claims").status_code == 302  # never logged in by odd input

    check()


def test_claim_action_forms(app, web):
    ids = list(claim_ids(app).values())
    actions = st.sampled_from(["verify", "approve", "return", "reject", "start_investigation", "village_review"])

    @given(claim=st.sampled_from(ids), action=st.one_of(actions, odd), version=st.one_of(st.sampled_from(["1", "2"]), odd),
           amount=odd, reason=st.one_of(st.sampled_from(["document_shortfall", "other", "not_eligible"]), odd),
           note=odd)
    @FUZZ
    def check(claim, action, version, amount, reason, note) -> None:
        post(app, web, f"/claims/{claim}/action", {"action": action, "expected_version": version, "amount": amount,
                                                   "reason_code": reason, "note": note})
        post(app, web, "/claims/bulk", {"action": action, "claim_id": [str(claim), version], "reason_code": reason,
                                        "note": note, "back": note})

    check()


def test_notice_and_payout_forms(app, web):
    @given(village=odd, policy=st.one_of(st.just("1"), odd), claim=odd, text=odd, period=odd)
    @FUZZ
    def check(village, policy, claim, text, period) -> None:
        post(app, web, "/notices", {"village_code": village, "policy_id": policy})
        post(app, web, "/notices/1/objections", {"claim_id": claim, "text": text})
        post(app, web, "/payouts", {"period": period, "policy_id": policy})
        post(app, web, "/notices/close-due", {"x": text})

    check()


def test_import_upload_and_mapping_forms(app, web):
    unknown = "列A,列B\n1,2\n".encode()
    r = web.post("/imports", content_type="multipart/form-data", follow_redirects=False,
                 data={"csrf_token": web.csrf, "department": "medical", "period": "2025-06",
                       "file": (io.BytesIO(unknown), "unknown-columns.csv")})
    mapping = r.headers.get("Location") or ""
    assert r.status_code == 302 and "/imports/mapping/" in mapping, (r.status_code, mapping)

    @given(department=st.one_of(st.just("medical"), odd), period=odd, policy=st.one_of(st.just("1"), odd),
           name=odd, profile=odd, column=odd)
    @FUZZ
    def check(department, period, policy, name, profile, column) -> None:
        data = medical_bytes([("S9", 4, "2025-03-09", 9500)])
        post(app, web, "/imports", {"department": department, "period": period, "policy_id": policy,
                                    "file": (io.BytesIO(data), (name or "f")[:400] + ".csv")},
             content_type="multipart/form-data")
        post(app, web, mapping, {"profile_name": profile, "col-id_no": column, "col-settlement_id": column})
        assert web.get(mapping).status_code == 200

    check()


def test_user_and_token_administration_forms(app):
    admin = app.test_client()
    admin.csrf = login(admin, "admin", PASSWORD)
    assert admin.get("/admin/users").status_code == 200
    with app.app_context():
        clerk = web_db.session().scalar(select(User.id).where(User.username == "village_clerk"))
    roles = st.sampled_from(["village_clerk", "county_reviewer", "admin", "insurer_supervisor"])

    @given(username=odd, name=odd, role=st.one_of(roles, odd), limit=odd, villages=odd, counties=odd, password=odd,
           action=st.one_of(st.sampled_from(["deactivate", "activate", "password", "role", "villages", "limit"]), odd),
           days=odd, scope=st.one_of(st.sampled_from(["read", "write"]), odd))
    @FUZZ
    def check(username, name, role, limit, villages, counties, password, action, days, scope) -> None:
        for url, data in (
                ("/admin/users", {"username": username, "name": name, "role": role, "approval_limit": limit,
                                  "villages": villages, "counties": counties, "password": password}),
                (f"/admin/users/{clerk}", {"action": action, "role": role, "approval_limit": limit,
                                           "villages": villages, "counties": counties, "password": password}),
                (f"/admin/users/{clerk}/tokens", {"name": name, "scope": scope, "days": days}),
                ("/admin/tokens/1/revoke", {"reason": name})):
            r = admin.post(url, data={**data, "csrf_token": admin.csrf}, follow_redirects=True)
            assert r.status_code < 500, (url, {k: str(v)[:40] for k, v in data.items()},
                                         r.get_data(as_text=True)[:300])

    check()
