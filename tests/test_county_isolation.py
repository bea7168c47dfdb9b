"""Issue 13, item 5: two counties in one database, and no user reads or changes the other county's data.

One database holds two policies: 魏县 130434 and a second county 610330, each with its roster, one medical
import, a notice per village, a payout batch.  Every user serves counties (``user_counties``); village clerks
see their villages, township reviewers their townships; the city viewer (市级查看) reads both counties and
writes nothing; an admin sees everything.

The matrices below are written out cell by cell (role × endpoint × own / other county's object), not read
from ``flask_app/permissions.py`` or ``claims/lifecycle/scope.py``: ``ok`` = 200 (the notice PDF may answer
503 where no CJK font is installed — past every gate), ``404`` = not shown, not even its existence,
``403`` = the role may not use the endpoint at all.  Lists are compared with the exact claims (person numbers
of each county), notices, batches, policies a role must see.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select, update

from claims.lifecycle.database import transaction
from claims.lifecycle.mapping_profiles import import_mapped
from claims.lifecycle.models import Claim, ImportBatch, Notice, Objection, PayoutBatch
from claims.lifecycle.notices import post_notice
from claims.lifecycle.payouts import build_batch
from claims.lifecycle.registry import create_policy, register_product
from claims.lifecycle.roster_store import store_roster
from claims.lifecycle.store import Household
from claims.lifecycle.transitions import SYSTEM, Actor, advance
from claims.lifecycle.users import create_user
from flask_app import create_app
from flask_app import db as web_db
from flask_app.auth import hash_password
from products import load_product
from products.roster import check_roster, load_households, load_persons
from tabular.resident_id import make_id

A, B = "130434", "610330"
#: county → (village of township 1, village of township 2): clerks and township reviewers serve the first.
VILLAGES = {A: ("130434100200", "130434101201"), B: ("610330100200", "610330101201")}
NAMES = {A: ("张三", "李四", "王五", "赵六"), B: ("张七", "钱八", "孙九", "周十")}
PASSWORD = "county-isolation-pw"
#: Roles × their county: each role exists once per county; the city viewer and the admin once for both.
COUNTY_ROLES = {"adj": "insurer_adjudicator", "sup": "insurer_supervisor", "county": "county_reviewer",
                "town": "township_reviewer", "clerk": "village_clerk", "actuary": "actuary"}
ROLES = (*COUNTY_ROLES, "city", "admin")


def pid(county: str, n: int) -> str:
    return make_id(county, "19800101", n)


def write_csv(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def medical(county: str) -> bytes:
    """Persons 1 (village 1), 3 (village 2), 4 (village 1) each self-paid enough for a claim."""
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["结算ID", "身份证号", "结算日期", "医疗费总额", "统筹基金支出", "大病保险", "医疗救助", "其他支出",
                "全自费金额", "超限价自费"])
    for n, paid in ((1, 9000), (3, 12000), (4, 9000)):
        w.writerow([f"{county}-S{n}", pid(county, n), f"2025-03-0{n}", paid + 1000, 1000, 0, 0, 0, 0, 0])
    return out.getvalue().encode()


def product_of(county: str, tmp_path: Path):
    base = load_product("fangpinbao-weixian-2025")
    if county == A:
        return base
    doc = yaml.safe_load((Path(__file__).parents[1] / "products/catalog/fangpinbao-weixian-2025.yaml").read_text())
    doc.update(code=f"FPB-{county}-2025", county=county, name="测试县防贫保2025")
    return load_product(doc)


def setup_county(s, county: str, tmp_path: Path) -> int:
    """Product, policy and roster of one county (households X1, X3 in village 1, X2 in village 2)."""
    v1, v2 = VILLAGES[county]
    n = NAMES[county]
    persons = write_csv(tmp_path / f"persons-{county}.csv", ["身份证号", "姓名", "户编号", "与户主关系"], [
        [pid(county, 1), n[0], f"{county}-X1", "户主"], [pid(county, 2), n[1], f"{county}-X1", "配偶"],
        [pid(county, 3), n[2], f"{county}-X2", "户主"], [pid(county, 4), n[3], f"{county}-X3", "户主"]])
    households = write_csv(tmp_path / f"households-{county}.csv",
                           ["户编号", "村代码", "自然村", "户类型", "家庭人均纯收入", "家庭人口数"], [
        [f"{county}-X1", v1, "东庄", "边缘易致贫户", "5000", "2"], [f"{county}-X2", v2, "西庄", "脱贫不稳定户", "5000", "1"],
        [f"{county}-X3", v1, "", "边缘易致贫户", "5000", "1"]])
    p, h = load_persons(persons), load_households(households)
    check_roster(p, h)
    version = register_product(s, product_of(county, tmp_path))
    policy = create_policy(s, version, 1000)
    store_roster(s, p, h)
    s.execute(update(Household).where(Household.household_no.like(f"{county}-%"))
              .values(bank_account="6217000000000001"))
    return policy.id


def make_users(s) -> dict[tuple[str, str], int]:
    """(role key, county) → user id; the city viewer and the admin under county 'AB'."""
    users = {}
    for county in (A, B):
        for key, role in COUNTY_ROLES.items():
            villages = [VILLAGES[county][0]] if key in ("town", "clerk") else []
            user = create_user(s, f"{key}-{county}", f"{key} {county}", role, villages=villages, counties=[county],
                               approval_limit="100000" if role.startswith("insurer") else None)
            users[(key, county)] = user
    users[("city", "AB")] = create_user(s, "city", "市级查看", "city_viewer", counties=[A, B])
    users[("admin", "AB")] = create_user(s, "admin", "管理员", "admin", counties=[])
    hashed = hash_password(PASSWORD)  # once: scrypt is slow on purpose
    for user in users.values():
        user.password_hash = hashed
    s.flush()
    return {k: u.id for k, u in users.items()}


def seed_county(factory, county: str, policy_id: int, importer: Actor) -> dict[str, int]:
    """Import; claim 1 on notice (village 1), claim 3 paid out in a batch (village 2), claim 4 left computed."""
    done = import_mapped(factory, policy_id, "medical", medical(county), actor=importer,
                         file_name=f"medical-{county}.csv", period="2025-03")
    v1, v2 = VILLAGES[county]
    with transaction(factory) as s:
        ids = dict(s.execute(select(Claim.unit_id, Claim.id).where(Claim.policy_id == policy_id)).all())
        c1, c3, c4 = (ids[pid(county, n)] for n in (1, 3, 4))
        for cid in (c1, c3):
            for state, action, role in (("computed", "start_investigation", "insurer_supervisor"),
                                        ("investigating", "verify", "insurer_supervisor"),
                                        ("verified", "village_review", "village_clerk"),
                                        ("village_reviewed", "township_review", "township_reviewer"),
                                        ("township_reviewed", "file", "county_reviewer")):
                advance(s, [cid], state, action, Actor(None, role))
        county_actor = Actor(None, "county_reviewer")
        n1 = post_notice(s, policy_id, v1, county_actor, posted_on=dt.date(2025, 3, 20), days=10).id
        n2 = post_notice(s, policy_id, v2, county_actor, posted_on=dt.date(2025, 3, 20), days=10).id
        advance(s, [c3], "on_notice", "notice_ended", SYSTEM)
        batch = build_batch(s, policy_id, "2025-03", Actor(None, "insurer_supervisor")).id
        version = s.scalar(select(ImportBatch.policy_id).where(ImportBatch.id == done.result.batch_id))
        assert version == policy_id
    return {"claim": c1, "claim3": c3, "claim4": c4, "notice": n1, "notice2": n2, "payout": batch,
            "import": done.result.batch_id, "policy": policy_id}


@pytest.fixture
def world(db_url, tmp_path):
    """The app on one database with both counties seeded; logged-in clients per (role, county)."""
    app = create_app({"DATABASE_URL": db_url, "SECRET_KEY": "test", "TESTING": True, "RELIEF_TODAY": "2025-04-01",
                      "WTF_CSRF_ENABLED": False})
    with app.app_context():
        factory = web_db.factory()
        with transaction(factory) as s:
            policies = {c: setup_county(s, c, tmp_path) for c in (A, B)}
            users = make_users(s)
        objects = {c: seed_county(factory, c, policies[c], Actor(users[("adj", c)], "insurer_adjudicator"))
                   for c in (A, B)}
        with transaction(factory) as s:
            from claims.lifecycle.store import Policy, ProductVersion
            versions = dict(s.execute(select(Policy.county, ProductVersion.id)
                                      .join(ProductVersion, ProductVersion.id == Policy.product_version_id)).all())
        for c in (A, B):
            objects[c]["version"] = versions[c]
    clients = {}
    for (key, county) in users:
        client = app.test_client()
        r = client.post("/login", data={"username": "city" if key == "city" else "admin" if key == "admin"
                                        else f"{key}-{county}", "password": PASSWORD})
        assert r.status_code in (302, 303), (key, county, r.status_code)
        clients[(key, county)] = client
    yield app, clients, objects
    app.extensions["relief_engine"].dispose()


def snapshot(app) -> dict[str, list]:
    """Everything a write could change, per table: compared before and after the refused writes."""
    with app.app_context():
        s = web_db.session()
        return {"claims": s.execute(select(Claim.id, Claim.state, Claim.version, Claim.amount, Claim.notice_id)
                                    .order_by(Claim.id)).all(),
                "notices": s.execute(select(Notice.id, Notice.state).order_by(Notice.id)).all(),
                "objections": s.execute(select(Objection.id, Objection.claim_id)).all(),
                "payouts": s.execute(select(PayoutBatch.id, PayoutBatch.policy_id, PayoutBatch.state)).all(),
                "imports": s.execute(select(ImportBatch.id, ImportBatch.policy_id)).all()}


# ------------------------------------------------------------------------------------------- read matrix

#: endpoint → role → "own other": the answer for an object of the user's county, and of the other county.
#: The city viewer and the admin serve both counties: their "other" is the second county.
DETAIL: dict[str, dict[str, str]] = {
    "/api/v1/claims/{claim}": dict(adj="ok 404", sup="ok 404", county="ok 404", town="ok 404", clerk="ok 404",
                                   actuary="403 403", city="ok ok", admin="ok ok"),
    "/claims/{claim}": dict(adj="ok 404", sup="ok 404", county="ok 404", town="ok 404", clerk="ok 404",
                            actuary="403 403", city="ok ok", admin="ok ok"),
    "/api/v1/notices/{notice}": dict(adj="ok 404", sup="ok 404", county="ok 404", town="ok 404", clerk="ok 404",
                                     actuary="403 403", city="ok ok", admin="ok ok"),
    "/notices/{notice}": dict(adj="ok 404", sup="ok 404", county="ok 404", town="ok 404", clerk="ok 404",
                              actuary="403 403", city="ok ok", admin="ok ok"),
    "/notices/{notice}.pdf": dict(adj="ok 404", sup="ok 404", county="ok 404", town="ok 404", clerk="ok 404",
                                  actuary="403 403", city="ok ok", admin="ok ok"),
    "/api/v1/payouts/{payout}": dict(adj="ok 404", sup="ok 404", county="403 403", town="403 403",
                                     clerk="403 403", actuary="403 403", city="403 403", admin="403 403"),
    # the county office reads its batches, and exports their lists with accounts masked (issue 15.1)
    "/payouts/{payout}": dict(adj="ok 404", sup="ok 404", county="ok 404", town="403 403", clerk="403 403",
                              actuary="403 403", city="403 403", admin="ok ok"),
    "/payouts/{payout}/list.xlsx": dict(adj="ok 404", sup="ok 404", county="ok 404", town="403 403",
                                        clerk="403 403", actuary="403 403", city="403 403", admin="ok ok"),
    # the report upward: the county office, the insurer's supervisor, the city (both counties), the admin
    "/reports/{policy}/2025-02.xlsx": dict(adj="403 403", sup="ok 404", county="ok 404", town="403 403",
                                           clerk="403 403", actuary="403 403", city="ok ok", admin="ok ok"),
    "/payouts/{payout}/bank.csv": dict(adj="ok 404", sup="ok 404", county="403 403", town="403 403",
                                       clerk="403 403", actuary="403 403", city="403 403", admin="ok ok"),
    "/payouts/{payout}/bank.xlsx": dict(adj="ok 404", sup="ok 404", county="403 403", town="403 403",
                                        clerk="403 403", actuary="403 403", city="403 403", admin="ok ok"),
    "/api/v1/imports/{import}/exceptions": dict(adj="ok 404", sup="ok 404", county="403 403", town="403 403",
                                                clerk="403 403", actuary="403 403", city="403 403", admin="ok ok"),
    "/imports/{import}": dict(adj="ok 404", sup="ok 404", county="ok 404", town="403 403", clerk="403 403",
                              actuary="403 403", city="403 403", admin="ok ok"),
    "/imports/{import}/exceptions.csv": dict(adj="ok 404", sup="ok 404", county="ok 404", town="403 403",
                                             clerk="403 403", actuary="403 403", city="403 403", admin="ok ok"),
    "/api/v1/products/{version}": dict(adj="ok 404", sup="ok 404", county="ok 404", town="ok 404", clerk="ok 404",
                                       actuary="ok 404", city="ok ok", admin="ok ok"),
    "/products/{version}": dict(adj="ok 404", sup="ok 404", county="ok 404", town="ok 404", clerk="ok 404",
                                actuary="ok 404", city="ok ok", admin="ok ok"),
}


def outcome(status: int, path: str) -> str:
    if status == 200 or (status == 503 and path.endswith(".pdf")):
        return "ok"
    return str(status)


def users_of(clients) -> list[tuple[str, str, str, str]]:
    """(role key, the user's county key, the own county, the other county) for every user."""
    out = []
    for key, county in clients:
        if county == "AB":
            out.append((key, county, A, B))
        else:
            out.append((key, county, county, B if county == A else A))
    return out


def test_detail_matrix_role_by_county_by_endpoint(world):
    app, clients, objects = world
    wrong, checked = [], 0
    for template, expected in DETAIL.items():
        for key, county, own, other in users_of(clients):
            want_own, want_other = expected[key].split()
            for target, want in ((own, want_own), (other, want_other)):
                path = re.sub(r"\{(\w+)\}", lambda m: str(objects[target][m.group(1)]), template)  # noqa: B023
                got = outcome(clients[(key, county)].get(path).status_code, path)
                checked += 1
                if got != want:
                    wrong.append(f"{key}@{county} GET {path} (object of {target}): {got}, expected {want}")
    assert checked == len(DETAIL) * len(clients) * 2 == 16 * 14 * 2
    assert wrong == [], "\n".join(wrong)


#: Which claims each role's lists show, as (county, person number): persons 1 and 4 live in village 1
#: (township 1), person 3 in village 2 (township 2).  "-": the role may not open the list (403).
OWN_ALL = "1 3 4"
CLAIM_LISTS = dict(adj=OWN_ALL, sup=OWN_ALL, county=OWN_ALL, town="1 4", clerk="1 4", actuary="-")


def expected_claims(key: str, own: str, objects) -> set[int] | None:
    if key in ("city", "admin"):
        return {objects[c][f] for c in (A, B) for f in ("claim", "claim3", "claim4")}
    spec = CLAIM_LISTS[key]
    if spec == "-":
        return None
    field = {"1": "claim", "3": "claim3", "4": "claim4"}
    return {objects[own][field[n]] for n in spec.split()}


def test_lists_show_only_the_users_counties_and_area(world):
    app, clients, objects = world
    wrong = []
    for key, county, own, _other in users_of(clients):
        client = clients[(key, county)]
        want = expected_claims(key, own, objects)
        r = client.get("/api/v1/claims?page_size=100")
        page = client.get("/claims")
        if want is None:
            assert (r.status_code, page.status_code) == (403, 403), (key, county)
            continue
        got_api = {c["id"] for c in r.json}
        got_page = {int(i) for i in re.findall(r'href="/claims/(\d+)"', page.get_data(as_text=True))}
        if got_api != want or got_page != want:
            wrong.append(f"{key}@{county}: API {sorted(got_api)}, page {sorted(got_page)}, expected {sorted(want)}")
    assert wrong == [], "\n".join(wrong)

    # notices, payout and import batches, the fund, product versions: the policies of the user's counties
    policies = {c: objects[c]["policy"] for c in (A, B)}
    lists = {  # endpoint → role → counties seen ("-": 403)
        "/api/v1/notices": dict(adj="own", sup="own", county="own", town="own", clerk="own", actuary="-",
                                city="AB", admin="AB"),
        "/api/v1/payouts": dict(adj="own", sup="own", county="-", town="-", clerk="-", actuary="-", city="-",
                                admin="-"),
        "/api/v1/imports": dict(adj="own", sup="own", county="-", town="-", clerk="-", actuary="-", city="-",
                                admin="AB"),
        "/api/v1/fund": dict(adj="own", sup="own", county="own", town="-", clerk="-", actuary="own", city="AB",
                             admin="AB"),
        "/api/v1/products": dict(adj="own", sup="own", county="own", town="own", clerk="own", actuary="own",
                                 city="AB", admin="AB"),
    }
    for path, expected in lists.items():
        for key, county, own, _other in users_of(clients):
            r = clients[(key, county)].get(path)
            want = expected[key]
            if want == "-":
                assert r.status_code == 403, (path, key, county, r.status_code)
                continue
            assert r.status_code == 200, (path, key, county, r.status_code)
            seen = {item.get("county") or next(c for c, p in policies.items() if p == item["policy_id"])
                    for item in r.json}
            assert seen == ({A, B} if want == "AB" else {own}), (path, key, county, seen)
    # the clerk's and the township reviewer's notice list: their village's notice only
    for key in ("clerk", "town"):
        for county in (A, B):
            got = {n["id"] for n in clients[(key, county)].get("/api/v1/notices").json}
            assert got == {objects[county]["notice"]}, (key, county, got)


def test_pages_list_only_the_users_counties(world):
    app, clients, objects = world
    pages = {  # page → link pattern → the object field it lists
        "/notices": (r'href="/notices/(\d+)"', ("notice", "notice2")),
        "/payouts": (r'href="/payouts/(\d+)"', ("payout",)),
        "/imports": (r'href="/imports/(\d+)"', ("import",)),
        "/products": (r'href="/products/(\d+)"', ("version",)),
    }
    for key, county in (("adj", A), ("adj", B), ("sup", B), ("admin", "AB")):
        counties = (A, B) if county == "AB" else (county,)
        for path, (pattern, fields) in pages.items():
            html = clients[(key, county)].get(path).get_data(as_text=True)
            got = {int(i) for i in re.findall(pattern, html)}
            want = {objects[c][f] for c in counties for f in fields}
            assert got == want, (key, county, path, got, want)
    # the fund page names each policy's product: only the own county's
    for key, county, name, other_name in (("county", A, "魏县防贫保2025", "测试县防贫保2025"),
                                          ("actuary", B, "测试县防贫保2025", "魏县防贫保2025")):
        html = clients[(key, county)].get("/fund").get_data(as_text=True)
        assert name in html and other_name not in html, (key, county)
    html = clients[("city", "AB")].get("/fund").get_data(as_text=True)
    assert "魏县防贫保2025" in html and "测试县防贫保2025" in html


# ------------------------------------------------------------------------------------------- write matrix

def test_no_user_changes_the_other_countys_data(world):
    """Each write endpoint, by every role of county A that may use it, aimed at county B's objects: refused
    (404 / 409 / 422 as written per cell), and nothing of county B changed."""
    app, clients, objects = world
    b = objects[B]
    before = snapshot(app)
    with app.app_context():
        versions = dict(web_db.session().execute(select(Claim.id, Claim.version)).all())
    missing = 999_999
    cells = [  # (role, method, path, body, expected status)
        ("sup", "post", f"/api/v1/claims/{b['claim4']}/transitions",
         {"action": "start_investigation", "expected_version": versions[b["claim4"]]}, 404),
        ("adj", "post", f"/api/v1/claims/{b['claim4']}/transitions",
         {"action": "reject", "expected_version": versions[b["claim4"]], "reason_code": "other", "note": "x"}, 404),
        ("county", "post", f"/api/v1/claims/{b['claim']}/transitions",
         {"action": "file", "expected_version": versions[b["claim"]]}, 404),
        # bulk: another county's claim is answered exactly as a claim that does not exist (409)
        ("sup", "post", "/api/v1/claims/transitions", {"action": "start_investigation", "claim_ids": [b["claim4"]]},
         409),
        ("sup", "post", "/api/v1/claims/transitions", {"action": "start_investigation", "claim_ids": [missing]}, 409),
        ("adj", "post", "/api/v1/claims/transitions",
         {"action": "reject", "claim_ids": [b["claim4"]], "reason_code": "other", "note": "x"}, 409),
        ("clerk", "post", f"/api/v1/notices/{b['notice']}/objections", {"claim_id": b["claim"], "text": "异议"}, 404),
        ("county", "post", "/api/v1/notices", {"village_code": VILLAGES[B][0], "policy_id": b["policy"]}, 422),
        ("clerk", "post", "/api/v1/notices", {"village_code": VILLAGES[B][0], "policy_id": b["policy"]}, 403),
        ("sup", "post", "/api/v1/payouts", {"period": "2025-05", "policy_id": b["policy"]}, 422),
    ]
    wrong = []
    for key, method, path, body, want in cells:
        r = getattr(clients[(key, A)], method)(path, json=body)
        if r.status_code != want:
            wrong.append(f"{key}@{A} {method.upper()} {path} {body}: {r.status_code}, expected {want}")
    # the two bulk answers (another county's claim, a missing claim) say the same words
    other, absent = (clients[("sup", A)].post("/api/v1/claims/transitions", json={
        "action": "start_investigation", "claim_ids": [i]}).json["detail"] for i in (b["claim4"], missing))
    assert other.replace(str(b["claim4"]), "N") == absent.replace(str(missing), "N")

    uploads = [  # multipart writes: (role, path, form, expected)
        ("adj", f"/api/v1/payouts/{b['payout']}/return", {"file": (io.BytesIO(b"a,b\n"), "r.csv")}, 404),
        ("adj", "/api/v1/imports", {"department": "medical", "policy_id": str(b["policy"]),
                                    "file": (io.BytesIO(medical(A)), "other.csv")}, 422),
        ("sup", f"/payouts/{b['payout']}/return", {"file": (io.BytesIO(b"a,b\n"), "r.csv")}, 404),
    ]
    for key, path, form, want in uploads:
        r = clients[(key, A)].post(path, data=form, content_type="multipart/form-data")
        if r.status_code != want:
            wrong.append(f"{key}@{A} POST {path}: {r.status_code}, expected {want}")
    forms = [  # page forms: (role, path, form, expected)
        ("sup", f"/claims/{b['claim4']}/action", {"action": "start_investigation",
                                                  "expected_version": str(versions[b["claim4"]])}, 404),
        ("clerk", f"/notices/{b['notice']}/objections", {"claim_id": str(b["claim"]), "text": "异议"}, 404),
        ("county", "/notices", {"village_code": VILLAGES[B][0], "policy_id": str(b["policy"])}, 403),
        ("sup", "/claims/bulk", {"action": "start_investigation", "claim_id": str(b["claim4"])}, 302),
        ("sup", "/payouts", {"period": "2025-06", "policy_id": str(b["policy"])}, 302),
        ("adj", "/imports", {"department": "medical", "policy_id": str(b["policy"])}, 302),
        ("county", "/notices/close-due", {}, 302),  # closes county A's due notices only
    ]
    for key, path, form, want in forms:
        r = clients[(key, A)].post(path, data=form)
        if r.status_code != want:
            wrong.append(f"{key}@{A} POST {path}: {r.status_code}, expected {want}")
    assert wrong == [], "\n".join(wrong)

    after = snapshot(app)
    with app.app_context():
        s = web_db.session()
        b_claims = set(s.scalars(select(Claim.id).where(Claim.policy_id == b["policy"])))
        b_notices = set(s.scalars(select(Notice.id).where(Notice.policy_id == b["policy"])))
    assert [c for c in after["claims"] if c[0] in b_claims] == [c for c in before["claims"] if c[0] in b_claims]
    assert [n for n in after["notices"] if n[0] in b_notices] == [n for n in before["notices"] if n[0] in b_notices]
    assert dict(after["notices"])[b["notice"]] == "posted"  # due, but county A's reviewer may not close it
    assert dict(after["notices"])[objects[A]["notice"]] == "ended"  # while county A's own due notice closed
    assert after["objections"] == before["objections"]
    assert after["payouts"] == before["payouts"]
    assert after["imports"] == before["imports"]


def test_city_viewer_reads_both_counties_and_writes_nothing(world):
    app, clients, objects = world
    city = clients[("city", "AB")]
    for c in (A, B):
        assert city.get(f"/api/v1/claims/{objects[c]['claim']}").status_code == 200
        assert city.get(f"/claims/{objects[c]['claim']}").status_code == 200
    r = city.get("/api/v1/claims/1")
    unit = r.json["unit_id"]
    assert "********" in unit  # the city viewer sees masked IDs
    before = snapshot(app)
    b = objects[B]
    refused = [
        city.post(f"/api/v1/claims/{b['claim4']}/transitions", json={"action": "start_investigation",
                                                                    "expected_version": 1}),
        city.post("/api/v1/claims/transitions", json={"action": "start_investigation", "claim_ids": [b["claim4"]]}),
        city.post(f"/claims/{b['claim4']}/action", data={"action": "start_investigation", "expected_version": "1"}),
        city.post("/claims/bulk", data={"action": "start_investigation", "claim_id": str(b["claim4"])}),
        city.post("/api/v1/notices", json={"village_code": VILLAGES[B][0], "policy_id": b["policy"]}),
        city.post(f"/api/v1/notices/{b['notice']}/objections", json={"claim_id": b["claim"], "text": "x"}),
        city.post("/notices/close-due"),
        city.post("/api/v1/payouts", json={"period": "2025-07", "policy_id": b["policy"]}),
        city.post("/payouts", data={"period": "2025-07", "policy_id": str(b["policy"])}),
        city.post("/api/v1/imports", data={"department": "medical", "file": (io.BytesIO(medical(B)), "m.csv")},
                  content_type="multipart/form-data"),
    ]
    assert [r.status_code for r in refused] == [403] * len(refused)
    assert snapshot(app) == before


# ------------------------------------------------------------------------------------------- masked IDs

def test_masked_roles_search_whole_ids_and_names_never_a_prefix(world):
    app, clients, objects = world
    a = objects[A]
    full, prefix = pid(A, 1), pid(A, 1)[:14]  # the prefix is shared by persons 1, 3 and 4 of county A

    def found(client, q: str) -> tuple[set[int], set[int]]:
        api = {c["id"] for c in client.get("/api/v1/claims", query_string={"q": q}).json}
        html = client.get("/claims", query_string={"q": q}).get_data(as_text=True)
        return api, {int(i) for i in re.findall(r'href="/claims/(\d+)"', html)}

    for key in ("county", "town", "clerk"):
        client = clients[(key, A)]
        assert found(client, full) == ({a["claim"]}, {a["claim"]}), key
        assert found(client, full.lower()) == ({a["claim"]}, {a["claim"]}), key
        for q in (prefix, full[:17], full[:6], full[:10] + "%", "_" * 3 + full[3:]):
            assert found(client, q) == (set(), set()), (key, q)
        assert found(client, NAMES[A][0]) == ({a["claim"]}, {a["claim"]}), key  # 张三
        assert found(client, NAMES[A][0][0]) == ({a["claim"]}, {a["claim"]}), key  # 张: 张七 is county B's
        assert found(client, pid(B, 1)) == (set(), set()), key  # another county's person, even by the whole ID
    city = clients[("city", "AB")]
    assert found(city, prefix) == (set(), set())
    assert found(city, "张") == ({a["claim"], objects[B]["claim"]},) * 2
    # roles that see full IDs keep the prefix search, within their county
    insurer = clients[("adj", A)]
    assert found(insurer, prefix) == ({a["claim"], a["claim3"], a["claim4"]},) * 2
    assert found(insurer, pid(B, 1)[:14]) == (set(), set())


def test_township_reviewer_sees_and_acts_only_in_their_township(world):
    app, clients, objects = world
    a = objects[A]
    town = clients[("town", A)]
    assert {c["id"] for c in town.get("/api/v1/claims").json} == {a["claim"], a["claim4"]}
    assert town.get(f"/api/v1/claims/{a['claim3']}").status_code == 404  # village 2: township 2
    assert town.get(f"/claims/{a['claim3']}").status_code == 404
    assert town.get(f"/api/v1/notices/{a['notice2']}").status_code == 404
    assert town.get(f"/api/v1/notices/{a['notice']}").status_code == 200
    with app.app_context():
        version = web_db.session().scalar(select(Claim.version).where(Claim.id == a["claim3"]))
    r = town.post(f"/api/v1/claims/{a['claim3']}/transitions", json={"action": "township_review",
                                                                     "expected_version": version})
    assert r.status_code == 404


def test_cli_users_add_takes_counties(db_url, tmp_path):
    from click.testing import CliRunner

    from flask_app.cli import relief

    app = create_app({"DATABASE_URL": db_url, "SECRET_KEY": "test", "TESTING": True})
    with app.app_context(), transaction(web_db.factory()) as s:
        for c in (A, B):
            setup_county(s, c, tmp_path)
    app.extensions["relief_engine"].dispose()
    runner = CliRunner()
    base = ["users", "add", "--database", db_url]
    r = runner.invoke(relief, [*base, "u1", "--name", "x", "--role", "county_reviewer"])
    assert r.exit_code != 0 and "--county" in r.output  # two counties: the user's must be named
    r = runner.invoke(relief, [*base, "u1", "--name", "x", "--role", "county_reviewer", "--county", B])
    assert r.exit_code == 0, r.output
    r = runner.invoke(relief, [*base, "u2", "--name", "x", "--role", "city_viewer", "--policy", "1", "--county", B])
    assert r.exit_code == 0, r.output
    r = runner.invoke(relief, [*base, "u3", "--name", "x", "--role", "township_reviewer", "--county", A,
                             "--township", VILLAGES[A][1][:9]])
    assert r.exit_code == 0, r.output
    from claims.lifecycle.database import make_engine, session_factory
    from claims.lifecycle.models import User, UserCounty, UserVillage
    engine = make_engine(db_url)
    with session_factory(engine)() as s:
        ids = dict(s.execute(select(User.username, User.id)).all())
        counties = {u: sorted(s.scalars(select(UserCounty.county).where(UserCounty.user_id == ids[u])))
                    for u in ("u1", "u2", "u3")}
        villages = sorted(s.scalars(select(UserVillage.village_code).where(UserVillage.user_id == ids["u3"])))
    engine.dispose()
    assert counties == {"u1": [B], "u2": [A, B], "u3": [A]}
    assert villages == [VILLAGES[A][1]]
    # set-counties replaces them (audited by claims.lifecycle.users), a bad code is refused
    r = runner.invoke(relief, ["users", "set-counties", "u1", A, B, "--database", db_url])
    assert r.exit_code == 0, r.output
    r = runner.invoke(relief, ["users", "set-counties", "u1", "1304", "--database", db_url])
    assert r.exit_code != 0 and "6" in r.output
    engine = make_engine(db_url)
    with session_factory(engine)() as s:
        assert sorted(s.scalars(select(UserCounty.county).where(UserCounty.user_id == ids["u1"]))) == [A, B]
    engine.dispose()


def test_migration_0010_keeps_existing_users_seeing_what_they_saw(tmp_path):
    """Users that exist when 0010 runs serve every county that has a policy; the downgrade turns a city viewer
    into an inactive actuary (the old role check has no city_viewer) and drops the links."""
    from sqlalchemy import text

    from claims.lifecycle.database import downgrade, make_engine, upgrade

    url = f"sqlite:///{tmp_path / 'm.db'}"
    upgrade(url, "0009")
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO product_versions (id, code, family, name, county, year, digest, document, "
                          "created_at) VALUES (1, 'P', 'fangpinbao', 'p', :a, 2025, 'd', '{}', '2025-01-01'), "
                          "(2, 'Q', 'fangpinbao', 'q', :b, 2025, 'e', '{}', '2025-01-01')"), {"a": A, "b": B})
        for pid_, version, county in ((1, 1, A), (2, 2, B)):
            conn.execute(text("INSERT INTO policies (id, product_version_id, county, year, framed_heads, "
                              "premium_per_head, premium_total, settlement_rule, period_start, period_end, created_at)"
                              " VALUES (:i, :v, :c, 2025, 1, 5000, 5000, '{}', '2025-01-01', '2025-12-31', "
                              "'2025-01-01')"), {"i": pid_, "v": version, "c": county})
        conn.execute(text("INSERT INTO users (id, username, name, role, active, failed_logins) VALUES "
                          "(1, 'old', 'old', 'county_reviewer', 1, 0)"))
    engine.dispose()
    upgrade(url)
    engine = make_engine(url)
    with engine.begin() as conn:
        assert conn.execute(text("SELECT user_id, county FROM user_counties ORDER BY county")).all() == [(1, A), (1, B)]
        conn.execute(text("INSERT INTO users (id, username, name, role, active, failed_logins) VALUES "
                          "(2, 'city', 'city', 'city_viewer', 1, 0)"))
    engine.dispose()
    downgrade(url, "0009")
    engine = make_engine(url)
    with engine.begin() as conn:
        assert conn.execute(text("SELECT role, active FROM users WHERE id = 2")).one() == ("actuary", 0)
        assert "user_counties" not in {r[0] for r in conn.execute(text("SELECT name FROM sqlite_master"))}
    engine.dispose()


def test_admin_page_changes_a_users_counties_at_once(world):
    """The admin gives county A's reviewer county B too (audited): B's claims show on their next request;
    taking every county away leaves them seeing nothing."""
    app, clients, objects = world
    reviewer, admin = clients[("county", A)], clients[("admin", "AB")]
    b_claim = objects[B]["claim"]
    with app.app_context():
        from claims.lifecycle.models import User, UserEvent
        s = web_db.session()
        user_id = s.scalar(select(User.id).where(User.username == f"county-{A}"))
    assert reviewer.get(f"/api/v1/claims/{b_claim}").status_code == 404
    r = admin.post(f"/admin/users/{user_id}", data={"action": "counties", "counties": f"{A}, {B}"})
    assert r.status_code in (302, 303)
    assert reviewer.get(f"/api/v1/claims/{b_claim}").status_code == 200
    assert f"{A}, {B}" in admin.get(f"/admin/users/{user_id}").get_data(as_text=True)
    admin.post(f"/admin/users/{user_id}", data={"action": "counties", "counties": ""})
    assert reviewer.get("/api/v1/claims").json == []
    assert reviewer.get(f"/api/v1/claims/{objects[A]['claim']}").status_code == 404
    with app.app_context():
        events = web_db.session().execute(select(UserEvent.action).where(UserEvent.user_id == user_id)).all()
    assert [e[0] for e in events].count("counties_changed") == 2
