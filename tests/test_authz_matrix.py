"""Acceptance 4: every endpoint × every role (and anonymous) gets the expected allow / deny, never a 500.

The expected matrix is written out here, endpoint by endpoint — deliberately NOT read from
flask_app/permissions.py, so a wrong entry there fails this test.  The test walks ``app.url_map``: an
endpoint of the app without an expectation below fails the test, listing it.

Allowed = the request got past the gate (any status but 401/403 and not a redirect to the login
page; a 422 validation answer to a minimal body counts as allowed).  Denied = 401/403 or, for pages
and anonymous users, the redirect to /login.
"""

from __future__ import annotations

import io
from urllib.parse import urlsplit

from sqlalchemy import select, update
from test_api import V1, auth, claim_ids, make_app, upload_march

from claims.lifecycle.api_tokens import issue_token
from claims.lifecycle.models import ImportBatch, Notice, PayoutBatch
from claims.lifecycle.users import Operator, get_user
from flask_app import db as web_db
from flask_app.pdf import cjk_font

ANON = "anonymous"
ROLES = ["insurer_adjudicator", "insurer_supervisor", "county_reviewer", "township_reviewer", "village_clerk",
         "actuary", "admin", "city_viewer"]
ALL = (*ROLES, ANON)

# role shorthands, spelled out once
ADJ, SUP, COUNTY, TOWN, VILLAGE, ACT, ADMIN, CITY = ROLES
INS = {ADJ, SUP}
PUBLIC = set(ALL)
EVERY_USER = set(ROLES)
STAFF = {ADJ, SUP, COUNTY, TOWN, VILLAGE, ADMIN}  # every user but the actuary and the city viewer
READERS = STAFF | {CITY}  # the city viewer reads claims and notices (its counties), never writes
FUND = {ADJ, SUP, COUNTY, ACT, ADMIN, CITY}

#: endpoint → roles allowed (ANON included where the endpoint is public).
EXPECTED: dict[str, set[str]] = {
    # public
    "static": PUBLIC, "health": PUBLIC, "auth.login": PUBLIC, "auth.logout": PUBLIC,
    "api-docs.openapi_json": PUBLIC, "api-docs.openapi_swagger_ui": PUBLIC, "swagger_assets.asset": PUBLIC,
    "i18n.switch": PUBLIC, "favicon": PUBLIC,
    # API
    "api_products.ProductList": EVERY_USER,
    "api_products.ProductDetail": EVERY_USER,
    "api_imports.ImportList": INS | {ADMIN},
    "api_imports.ImportExceptions": INS | {ADMIN},
    "api_imports.MappingProfiles": INS | {ADMIN},
    "api_claims.ClaimList": READERS,
    "api_claims.ClaimDetail": READERS,
    "api_claims.ClaimTransition": {ADJ, SUP, COUNTY, TOWN, VILLAGE},
    "api_claims.ClaimBulkTransition": {ADJ, SUP, COUNTY, TOWN, VILLAGE},
    "api_notices.NoticeList": READERS,
    "api_notices.NoticeCreate": {COUNTY, VILLAGE},
    "api_notices.NoticeDetail": READERS,
    "api_notices.NoticeObjections": {VILLAGE},
    "api_applications.ApplicationList": STAFF, "api_applications.ApplicationDetail": STAFF,
    "api_applications.ApplicationCreate": {COUNTY, VILLAGE},
    "api_applications.ApplicationVerify": INS, "api_applications.ApplicationReject": INS,
    "api_payouts.PayoutList": INS,
    "api_payouts.PayoutDetail": INS,
    "api_payouts.PayoutReturn": INS,
    "api_fund.Fund": FUND,
    # fund operations: the county office and the insurer's supervisor (and the admin)
    "api_fund.Premiums": {SUP, COUNTY, ADMIN}, "api_fund.Settlement": {SUP, COUNTY, ADMIN},
    "api_fund.CarryOver": {SUP, COUNTY, ADMIN},
    # pages
    "home.index": EVERY_USER,
    "claims.queue": READERS,
    "claims.detail": READERS,
    "claims.bulk_action": STAFF,  # the page refuses a wrong role per action (transition table)
    "claims.action": STAFF,
    # department files: the insurer, the admin and the county office they report to (seed 003)
    "imports.index": INS | {ADMIN, COUNTY},
    "imports.upload": INS | {ADMIN, COUNTY},
    "imports.report": INS | {ADMIN, COUNTY},
    "imports.exceptions_csv": INS | {ADMIN, COUNTY},
    "imports.mapping": INS | {ADMIN, COUNTY},
    "imports.map_upload": INS | {ADMIN, COUNTY},
    "imports.profile_download": INS | {ADMIN, COUNTY},
    # 申报: village clerks and the county (hotline) record, the insurer verifies or rejects, staff read
    "applications.index": STAFF, "applications.show": STAFF, "applications.receipt": STAFF,
    "applications.new": {COUNTY, VILLAGE}, "applications.create": {COUNTY, VILLAGE},
    "applications.verify": INS, "applications.reject": INS,
    "notices.index": READERS,
    "notices.create": {COUNTY, VILLAGE},
    "notices.show": READERS,
    "notices.pdf": READERS,
    "notices.objection": {VILLAGE},
    "notices.close_due": {COUNTY, ADMIN},
    "notices.posting": {COUNTY, VILLAGE}, "notices.posting_photo": READERS,
    # the public check of a posted sheet's digest: no login, no personal data
    "notices.verify": PUBLIC, "notices.verify_form": PUBLIC,
    # 明白卡 and policy summaries: staff of the area
    "cards.index": STAFF, "cards.household": STAFF, "cards.policy": STAFF,
    # the county office reads batches and exports their lists (accounts masked); bank files stay the payers'
    "payouts.index": INS | {ADMIN, COUNTY},
    "payouts.create": INS | {ADMIN},
    "payouts.show": INS | {ADMIN, COUNTY},
    "payouts.list_xlsx": INS | {ADMIN, COUNTY},
    "payouts.cosign": {COUNTY, ADMIN},  # 县会签: a row of claims.lifecycle.batch_cosign's transition table
    "payouts.bank_file": INS | {ADMIN},
    "payouts.bank_return": INS | {ADMIN},
    "fund.index": FUND,
    # background jobs: the insurer's staff, the county office, the actuary and the admin see their counties' jobs
    "jobs.index": INS | {COUNTY, ACT, ADMIN}, "jobs.show": INS | {COUNTY, ACT, ADMIN}, "jobs.recompute": {SUP, ADMIN},
    "jobs.download": INS | {COUNTY, ACT, ADMIN}, "jobs.notices": INS | {COUNTY, ADMIN},
    "jobs.upward_report": {SUP, COUNTY, ADMIN},
    # the actuary's page: budget runs, their reports, in-year monitoring (issue 15.3)
    "actuary.index": {ACT, ADMIN}, "actuary.start": {ACT, ADMIN}, "actuary.report": {ACT, ADMIN},
    "fund.premium": {SUP, COUNTY, ADMIN}, "fund.settle": {SUP, COUNTY, ADMIN}, "fund.carry": {SUP, COUNTY, ADMIN},
    # the county's report upward, statistics and department board: county office, city, supervisor, admin
    "reports.index": {COUNTY, CITY, SUP, ADMIN}, "reports.xlsx": {COUNTY, CITY, SUP, ADMIN},
    "reports.pdf": {COUNTY, CITY, SUP, ADMIN}, "reports.statistics": {COUNTY, CITY, SUP, ADMIN},
    "reports.statistics_xlsx": {COUNTY, CITY, SUP, ADMIN},
    # 防贫监测: county, township and village staff act on their scope; insurer staff and the city read
    "monitoring.index": READERS, "monitoring.export": READERS, "monitoring.household": READERS,
    "monitoring.action": {COUNTY, TOWN, VILLAGE, ADMIN},
    "products.index": EVERY_USER,
    "products.show": EVERY_USER,
    "admin.users": {ADMIN},
    "admin.create_user": {ADMIN},
    "admin.user": {ADMIN},
    "admin.change_user": {ADMIN},
    "admin.issue_token": {ADMIN},
    "admin.revoke_token": {ADMIN},
    "admin.tokens": {ADMIN},
    "admin.villages": {ADMIN},
    "admin.set_hotline": {ADMIN},
}

#: Methods not exercised: logging out ends nothing worth testing here; a login POST with an empty
#: form answers 401 by design (wrong password), not a gate decision.
SKIP = {("auth.logout", "POST"), ("auth.login", "POST")}


def seed(app, client) -> dict[str, int]:
    """March imported; claim 1 (V1) on a notice, claim 3 paid out in a batch: ids for URL arguments."""
    from claims.lifecycle.store import Household
    from claims.lifecycle.transitions import SYSTEM, Actor, advance

    upload_march(client)
    ids = claim_ids(app)
    with app.app_context(), web_db.write() as s:
        s.execute(update(Household).values(bank_account="6217000000000001"))
        for cid in (ids[1], ids[3]):
            advance(s, [cid], "computed", "start_investigation", Actor(None, SUP))
            advance(s, [cid], "investigating", "verify", Actor(None, SUP))
            advance(s, [cid], "verified", "village_review", Actor(None, VILLAGE))
            advance(s, [cid], "village_reviewed", "township_review", Actor(None, TOWN))
            advance(s, [cid], "township_reviewed", "file", Actor(None, COUNTY))
    r = client.post("/api/v1/notices", headers=auth(COUNTY), json={"village_code": V1})
    assert r.status_code == 201, r.get_data(as_text=True)
    with app.app_context(), web_db.write() as s:
        advance(s, [ids[3]], "filed", "post_notice", Actor(None, COUNTY))
        advance(s, [ids[3]], "on_notice", "notice_ended", SYSTEM)
    assert client.post("/api/v1/payouts", headers=auth(SUP), json={"period": "2025-04"}).status_code == 201
    with app.app_context(), web_db.write() as s:  # a spare token for the revoke endpoint (not one the matrix uses)
        spare = issue_token(s, Operator(None, "tests"), get_user(s, ADMIN), "spare", "read")[0]
        spare_ids = {"token_id": spare.id, "user_id": spare.user_id}
    with app.app_context():
        s = web_db.session()
        return {**spare_ids, "claim_id": ids[1], "notice_id": s.scalar(select(Notice.id)),
                "import_batch": s.scalar(select(ImportBatch.id)), "payout_batch": s.scalar(select(PayoutBatch.id)),
                "version_id": 1, "digest": "0" * 64, "profile_id": 1, "watch_id": 1}


def url_for_rule(rule, ids: dict[str, int]) -> str:
    values: dict[str, object] = {}
    for arg in rule.arguments:
        if arg == "batch_id":
            values[arg] = ids["payout_batch"] if "payout" in rule.endpoint else ids["import_batch"]
        elif arg == "fmt":
            values[arg] = "csv"
        elif arg == "filename":
            values[arg] = "nothing.css"
        elif arg in ("application_id", "receipt_id", "posting_id", "job_id", "run_id"):
            values[arg] = 1  # none: past the gate, 404
        elif arg == "digest":
            values[arg] = "0" * 64  # not filed: 404
        elif arg == "policy_id":
            values[arg] = 1
        elif arg == "period":
            values[arg] = "2025-04"  # a report month (reports.xlsx / reports.pdf)
        elif arg == "code":
            values[arg] = "en"  # the page language (i18n.switch)
        else:
            values[arg] = ids[arg]
    path = rule.rule
    for arg, value in values.items():
        path = path.replace(f"<{arg}>", str(value))
        for conv in ("int", "string", "path"):
            path = path.replace(f"<{conv}:{arg}>", str(value))
    return path


def denied(response) -> bool:
    if response.status_code in (401, 403):
        return True
    return response.status_code in (301, 302, 303) and urlsplit(response.headers.get("Location", "")).path == "/login"


def test_every_endpoint_has_an_expectation(db_url, tmp_path):
    app = make_app(db_url, tmp_path)
    try:
        missing = sorted({r.endpoint for r in app.url_map.iter_rules()} - set(EXPECTED))
        assert missing == [], f"endpoints without an expectation in the authorization matrix: {missing}"
    finally:
        app.extensions["relief_engine"].dispose()


def logged_in(app) -> dict[str, object]:
    """A logged-in client per role: a token opens the API only, a page needs a login session."""
    from claims.lifecycle.models import User
    from flask_app.auth import hash_password

    with app.app_context(), web_db.write() as s:
        s.execute(update(User).values(password_hash=hash_password("matrix-password")))
    clients = {}
    for role in ROLES:
        clients[role] = app.test_client()
        r = clients[role].post("/login", data={"username": role, "password": "matrix-password"})
        assert r.status_code == 302, role
    return clients


def test_authorization_matrix(db_url, tmp_path):
    app = make_app(db_url, tmp_path)
    app.config["WTF_CSRF_ENABLED"] = False  # pages' POSTs: the gate, not CSRF, is under test
    try:
        client = app.test_client(use_cookies=False)
        ids = seed(app, client)
        sessions = logged_in(app)
        wrong: list[str] = []
        checked = 0
        for rule in sorted(app.url_map.iter_rules(), key=lambda r: (r.endpoint, r.rule)):
            if rule.endpoint not in EXPECTED:
                continue  # reported by test_every_endpoint_has_an_expectation
            url = url_for_rule(rule, ids)
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                if (rule.endpoint, method) in SKIP:
                    continue
                for role in ALL:
                    page = not url.startswith("/api/")
                    headers = {} if role == ANON or page else auth(role)
                    who = sessions[role] if page and role != ANON else client
                    if method == "GET":
                        r = who.get(url, headers=headers)
                    elif rule.endpoint.startswith("api_"):
                        r = who.open(url, method=method, headers=headers, json={})
                    else:
                        r = who.open(url, method=method, headers=headers, data={"file": (io.BytesIO(b""), "")},
                                     content_type="multipart/form-data")
                    checked += 1
                    expect = role in EXPECTED[rule.endpoint]
                    if r.status_code == 503 and rule.endpoint in ("notices.pdf", "cards.policy", "reports.pdf") and cjk_font() is None:
                        pass  # past the gate; the PDF needs a CJK font this machine lacks (the page says so)
                    elif r.status_code >= 500:
                        wrong.append(f"{method} {url} as {role}: {r.status_code} server error")
                    elif expect and denied(r):
                        wrong.append(f"{method} {url} as {role}: denied ({r.status_code}), expected allowed")
                    elif not expect and not denied(r):
                        wrong.append(f"{method} {url} as {role}: allowed ({r.status_code}), expected denied")
        assert checked > 200
        assert wrong == [], "\n".join(wrong)
    finally:
        app.extensions["relief_engine"].dispose()
