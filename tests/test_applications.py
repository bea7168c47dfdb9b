"""Household applications (申报, issue 14 item 4) on SQLite and PostgreSQL.

Seed ../shared/seeds/000_b0b948f29a18e9c9.txt: "农户自主申报。包括向镇村干部申报，拨打12317咨询服务电话、脱贫户使用
手机app等渠道，接受农户个人或他人代为申报。"  Seed ../shared/seeds/002_02e39174bb6f32cc.txt: "农户自愿申请。由农户向村
“两委”提出书面申请".  A village clerk (村“两委”) or the county's 12317 hotline staff records the application, the
insurer verifies it into a department row (source 申报) under the same record identity as the department
files, so a bill the 医保 file also has is not paid twice.

Product fangpinbao-weixian-2025, illness line: self-paid above 5,000 yuan, brackets (5,000, 10,000] × 50 %,
(10,000, 20,000] × 60 %, above × 70 % (the roster and 医保 helpers are tests/test_imports.py's).
"""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pytest
from factories import pid
from sqlalchemy import func, select
from test_imports import V1, V2, claims_of, county, medical_file  # noqa: F401 - county is a fixture
from test_pages_claims import app  # noqa: F401 - a fixture: the tiny roster's app and users
from test_pages_claims import login as page_login

from claims.lifecycle.application_intake import (
    ApplicationInput,
    ApplicationRefusedError,
    Receipt,
    check_receipts,
    submit_application,
)
from claims.lifecycle.application_review import (
    application_in_scope,
    application_rows,
    reject_application,
    verify_application,
    visible,
)
from claims.lifecycle.applications import Application, ApplicationReceipt
from claims.lifecycle.database import transaction
from claims.lifecycle.imports import import_report
from claims.lifecycle.models import AuditEvent, Claim, ImportBatch, ImportException, ImportRow
from claims.lifecycle.scope import Scope
from claims.lifecycle.transitions import SYSTEM, Actor
from flask_app import db as web_db
from tabular.errors import NotFoundError

COUNTY = "130434"
CLERK_V1 = Actor(id=None, role="village_clerk", name="clerk-v1")
CLERK_V2 = Actor(id=None, role="village_clerk", name="clerk-v2")
HOTLINE = Actor(id=None, role="county_reviewer", name="hotline")
INSURER = Actor(id=None, role="insurer_adjudicator", name="adjuster")
SCOPE_V1 = Scope.of("village_clerk", [V1], [COUNTY])
SCOPE_V2 = Scope.of("village_clerk", [V2], [COUNTY])
COUNTY_SCOPE = Scope.of("insurer_adjudicator", [], [COUNTY])
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 32


def illness(policy_id: int, n: int = 1, *, household: str = "H1", amount: str = "13,000", compensated: str = "1000",
            bill_no: str | None = None, day: dt.date = dt.date(2025, 3, 10)) -> ApplicationInput:
    return ApplicationInput(policy_id=policy_id, household_no=household, id_no=pid(n), peril="illness",
                            event_date=day, amount=amount, compensated=compensated, bill_no=bill_no,
                            channel="village", note="住院自付费用较高，申请防贫保")


def submit(factory, given: ApplicationInput, actor: Actor = CLERK_V1, scope: Scope = SCOPE_V1,  # noqa: ANN001
           receipts: tuple[Receipt, ...] = ()) -> int:
    with transaction(factory) as s:
        return submit_application(s, given, actor, scope, receipts).id


def rows_and_batches(factory) -> tuple[int, int]:  # noqa: ANN001
    with factory() as s:
        return s.scalar(select(func.count()).select_from(ImportRow)), s.scalar(select(func.count()).select_from(ImportBatch))


def test_a_verified_application_becomes_a_row_and_a_hand_computed_claim(county):
    """Seed 000 "农户自主申报": the clerk records a bill of 13,000.00 of which 1,000.00 was reimbursed, with its
    receipt; the insurer verifies it.  self_paid = 13,000 − 1,000 = 12,000 →
    (10,000 − 5,000) × 50 % + (12,000 − 10,000) × 60 % = 2,500 + 1,200 = 3,700.00."""
    factory, policy_id = county
    app_id = submit(factory, illness(policy_id), receipts=(Receipt("发票.pdf", PDF),))
    assert claims_of(factory, 1) == []  # submitted: not a row, not a claim
    result = verify_application(factory, app_id, INSURER, COUNTY_SCOPE)
    assert (result.state, result.claims_created) == ("verified", 1)
    [claim] = claims_of(factory, 1)
    assert (claim.base, claim.amount, claim.line_id) == (Decimal("12000.00"), Decimal("3700.00"), "illness")
    with factory() as s:
        app = s.get(Application, app_id)
        batch = s.get(ImportBatch, app.batch_id)
        [row] = s.scalars(select(ImportRow).where(ImportRow.batch_id == batch.id)).all()
        assert batch.file_name == f"申报 #{app_id}.csv" and batch.department == "medical"
        assert (row.unit_key, row.data["setl_id"], row.data["self_paid"]) == (pid(1), f"申报{app_id}", 1_200_000)
        [receipt] = s.scalars(select(ApplicationReceipt)).all()
        assert (receipt.media_type, receipt.content) == ("application/pdf", PDF)
        kinds = s.scalars(select(AuditEvent.kind).where(AuditEvent.subject == f"application {app_id}")
                          .order_by(AuditEvent.id)).all()
    assert kinds == ["application_submitted", "application_verified"]


def test_an_application_for_a_bill_the_medical_file_has_is_a_duplicate(county, tmp_path):
    """The 医保 file has settlement S001 of person 1 (total 9,000.00, fund 1,000.00: self-paid 8,000 →
    (8,000 − 5,000) × 50 % = 1,500.00).  An application for the same bill — by its number, or without a
    number by the same person, date and total — is caught, nothing is stored, the claim stays 1,500.00."""
    factory, policy_id = county
    import_report(factory, policy_id, "medical", medical_file(tmp_path / "m.csv", [("S001", 1, "2025-03-10", 8000)]),
                  actor=SYSTEM)
    [claim] = claims_of(factory, 1)
    assert claim.amount == Decimal("1500.00")
    before = rows_and_batches(factory)
    by_number = submit(factory, illness(policy_id, amount="9000", bill_no="S001"))
    no_number = submit(factory, illness(policy_id, amount="9000.00", day=dt.date(2025, 3, 10)), HOTLINE,
                       Scope.of("county_reviewer", [], [COUNTY]))
    for app_id in (by_number, no_number):
        result = verify_application(factory, app_id, INSURER, COUNTY_SCOPE)
        assert result.state == "duplicate" and result.duplicate_row_id is not None
    assert rows_and_batches(factory) == before
    [claim] = claims_of(factory, 1)
    assert claim.amount == Decimal("1500.00")
    with factory() as s:
        reason = s.get(Application, by_number).reason
    assert "m.csv" in reason and "第 2 行" in reason and "duplicates a stored record" in reason


def test_the_medical_file_after_an_application_with_the_same_number_corrects_its_row(county, tmp_path):
    """The other order: a verified application for S002 (total 9,000, nothing reimbursed: self-paid 9,000 →
    2,000.00), then the 医保 file's S002 (self-paid 8,000 → 1,500.00) corrects that row: one record, paid once."""
    factory, policy_id = county
    app_id = submit(factory, illness(policy_id, amount="9000", compensated="0", bill_no="S002"))
    verify_application(factory, app_id, INSURER, COUNTY_SCOPE)
    assert claims_of(factory, 1)[0].amount == Decimal("2000.00")
    r = import_report(factory, policy_id, "medical", medical_file(tmp_path / "m.csv", [("S002", 1, "2025-03-10", 8000)]),
                      actor=SYSTEM)
    assert (r.rows_stored, r.rows_corrected) == (1, 1)
    [claim] = claims_of(factory, 1)
    assert claim.amount == Decimal("1500.00")


@pytest.mark.parametrize(("receipt", "words"), [
    (Receipt("big.pdf", PDF + b"0" * (5 * 1024 * 1024)), ("超过上限", "over the limit")),
    (Receipt("virus.pdf", b"MZ\x90\x00" + b"\x00" * 64), ("不是 PDF、JPEG 或 PNG", "not a PDF, JPEG or PNG")),
    (Receipt("photo.pdf", JPEG), ("扩展名须一致", "suffix must agree")),
])
def test_a_receipt_too_large_or_of_the_wrong_type_is_refused(county, receipt, words):
    factory, policy_id = county
    with pytest.raises(ApplicationRefusedError) as refused:
        submit(factory, illness(policy_id), receipts=(receipt,))
    assert all(w in str(refused.value) for w in words)
    with factory() as s:
        assert s.scalar(select(func.count()).select_from(Application)) == 0
    assert check_receipts([Receipt("scan.JPG", JPEG)]) == ["image/jpeg"]
    with pytest.raises(ApplicationRefusedError, match="at most 5 receipts"):
        check_receipts([Receipt(f"{i}.pdf", PDF) for i in range(6)])


def test_a_clerk_of_another_village_cannot_create_or_see_it(county):
    """H1 is in V1: the clerk of V2 can neither record an application for it nor see V1's."""
    factory, policy_id = county
    with pytest.raises(NotFoundError, match="outside your villages"):
        submit(factory, illness(policy_id), CLERK_V2, SCOPE_V2)
    app_id = submit(factory, illness(policy_id))
    with factory() as s:
        with pytest.raises(NotFoundError):
            application_in_scope(s, SCOPE_V2, app_id)
        assert s.scalars(visible(SCOPE_V2, select(Application.id))).all() == []
        assert s.scalars(visible(SCOPE_V1, select(Application.id))).all() == [app_id]
        assert s.scalars(visible(Scope.of("insurer_adjudicator", [], ["130435"]), select(Application.id))).all() == []
    with pytest.raises(NotFoundError):
        verify_application(factory, app_id, INSURER, Scope.of("insurer_adjudicator", [], ["130435"]))


def test_checks_at_submission_and_a_rejection_with_its_reason(county):
    """A person of another household, an amount with three decimals, a peril the product lacks are refused;
    a rejection needs a reason, is audited and stores no row."""
    factory, policy_id = county
    with pytest.raises(ApplicationRefusedError, match="not a member of household H1"):
        submit(factory, illness(policy_id, n=3))
    with pytest.raises(ApplicationRefusedError, match="at most two decimals"):
        submit(factory, illness(policy_id, amount="100.001"))
    with pytest.raises(ApplicationRefusedError, match="no line for peril"):
        submit(factory, ApplicationInput(policy_id=policy_id, household_no="H1", peril="no_such", id_no=pid(1),
                                         event_date=dt.date(2025, 3, 1), amount="1"))
    with pytest.raises(ApplicationRefusedError, match="outside the policy period 2025-01-01 to 2025-12-31"):
        submit(factory, illness(policy_id, day=dt.date(2026, 1, 2)))
    app_id = submit(factory, illness(policy_id), receipts=(Receipt("C:\\扫描\\票据\x07.png", b"\x89PNG\r\n\x1a\n" + b"0" * 8),))
    with factory() as s:
        assert s.scalar(select(ApplicationReceipt.file_name)) == "票据.png"
    with transaction(factory) as s, pytest.raises(ApplicationRefusedError, match="needs a reason"):
        reject_application(s, app_id, INSURER, COUNTY_SCOPE, "  ")
    with pytest.raises(Exception, match="only insurer staff"):
        verify_application(factory, app_id, CLERK_V1, SCOPE_V1)
    with transaction(factory) as s:
        reject_application(s, app_id, INSURER, COUNTY_SCOPE, "票据与住院记录不符")
    with pytest.raises(Exception, match="already decided"):
        verify_application(factory, app_id, INSURER, COUNTY_SCOPE)
    with factory() as s:
        app = s.get(Application, app_id)
        assert (app.state, app.reason, app.batch_id) == ("rejected", "票据与住院记录不符", None)
        assert s.scalar(select(AuditEvent.detail).where(AuditEvent.kind == "application_rejected")) == {
            "reason": "票据与住院记录不符"}
    assert rows_and_batches(factory) == (0, 0)


# ---- the pages (Flask test client; the tiny roster and users of tests/test_pages_claims.py) -----------------

def _form(policy_id: int, **fields) -> dict:
    return {"policy_id": str(policy_id), "channel": "village", "household_no": "H1", "id_no": pid(1),
            "peril": "illness", "event_date": "2025-03-10", "amount": "13000", "compensated": "1000", **fields}


def test_pages_clerk_records_insurer_verifies_receipts_download_safely(app):  # noqa: F811 - app is a fixture
    """The clerk of V1 records H1's bill with a receipt (self-paid 13,000 − 1,000 = 12,000 → 2,500 + 1,200 =
    3,700.00 once verified); another village's household and an oversized receipt are refused with words in
    Chinese and English; the receipt downloads as an attachment with nosniff; only the insurer verifies."""
    policy_id = app.config["TEST_POLICY_ID"]
    clerk = page_login(app, "clerk")
    assert "登记农户申报" in clerk.get("/applications/new").get_data(as_text=True)
    other = clerk.post("/applications", data={"csrf_token": clerk.csrf, **_form(policy_id, household_no="H2",
                                                                                 id_no=pid(3))})
    assert other.status_code == 400 and "不在您负责的范围内" in other.get_data(as_text=True)
    big = clerk.post("/applications", content_type="multipart/form-data", data={
        "csrf_token": clerk.csrf, **_form(policy_id), "receipts": (io.BytesIO(PDF + b"0" * (5 << 20)), "big.pdf")})
    assert big.status_code == 400 and "超过上限" in big.get_data(as_text=True)  # the Chinese half (pages default to Chinese)
    done = clerk.post("/applications", content_type="multipart/form-data", data={
        "csrf_token": clerk.csrf, **_form(policy_id), "receipts": (io.BytesIO(PDF), "发票.pdf")})
    assert done.status_code == 302
    show = done.headers["Location"]
    page = clerk.get(show).get_data(as_text=True)
    assert "待核实" in page and 'id="verify"' not in page
    assert clerk.post(f"{show}/verify", data={"csrf_token": clerk.csrf}).status_code == 403

    insurer = page_login(app, "ins")
    assert "H1" in insurer.get("/applications?state=submitted").get_data(as_text=True)
    receipt_url = [h.split('"')[0] for h in insurer.get(show).get_data(as_text=True).split('href="')
                   if "/receipts/" in h.split('"')[0]][0]
    got = insurer.get(receipt_url)
    assert got.data == PDF and got.headers["X-Content-Type-Options"] == "nosniff"
    assert got.headers["Content-Disposition"].startswith("attachment")
    verified = insurer.post(f"{show}/verify", data={"csrf_token": insurer.csrf}, follow_redirects=True)
    assert "已核实" in verified.get_data(as_text=True)
    with app.app_context():
        amounts = web_db.session().scalars(select(Claim.amount).where(Claim.unit_id == pid(1))).all()
    assert amounts == [Decimal("3700.00")]
    seen = clerk.get(show).get_data(as_text=True)  # the clerk sees the outcome, not the insurer's import page
    assert "已核实" in seen and "该户理赔" in seen and "/imports/" not in seen


def test_disaster_and_schooling_applications_become_their_departments_rows(county):
    """Seed 000 "接受农户个人或他人代为申报": the hotline records a flood loss for household H1 (its 灾情 has no
    number) and V1's clerk a university term for person 4 (H3).
    Disaster (household line, above 10,000 at 100 %): net loss 25,000 − 5,000 = 20,000 → (20,000 − 10,000) × 100 %
    = 10,000.00.  Schooling (above 8,000 at 80 %): tuition 12,000 → (12,000 − 8,000) × 80 % = 3,200.00; 升学
    to 本科 the same year: the lump sum 2,000.00."""
    factory, policy_id = county
    flood = submit(factory, ApplicationInput(policy_id=policy_id, household_no="H1", peril="disaster",
                                             event_date=dt.date(2025, 7, 2), amount="25000", compensated="5000",
                                             channel="hotline", details={"disaster_type": "洪涝"}),
                   HOTLINE, Scope.of("county_reviewer", [], [COUNTY]))
    school = submit(factory, ApplicationInput(policy_id=policy_id, household_no="H3", id_no=pid(4), peril="schooling",
                                              event_date=dt.date(2025, 9, 1), amount="12000",
                                              details={"level": "本科", "school_year": "2025", "entry": "是"}))
    assert verify_application(factory, flood, INSURER, COUNTY_SCOPE).state == "verified"
    assert verify_application(factory, school, INSURER, COUNTY_SCOPE).state == "verified"
    with factory() as s:
        got = {(c.line_id, c.unit_id): c.amount for c in s.scalars(select(Claim))}
        flood_row = s.scalar(select(ImportRow).where(ImportRow.department == "disaster"))
    assert got == {("disaster", "H1"): Decimal("10000.00"), ("schooling", pid(4)): Decimal("3200.00"),
                   ("entry", pid(4)): Decimal("2000.00")}
    assert (flood_row.unit_key, flood_row.data["disaster_no"], flood_row.data["net_loss"]) == (
        "H1", f"申报{flood}", 2_000_000)


ODD = ["\x00", "99999999999999999999", "-1", "999999999999.999", "1e400", "NaN", "Infinity", "x" * 10_000,
       "2025-03\r\nX", "𝔘ñíçødé ‮ 测试", "<script>", "'; --", "", "2025-02-30", "0.001"]


def test_the_application_form_fuzzed_never_answers_500_and_a_refusal_stores_nothing(app):  # noqa: F811
    """NUL, 20-digit and huge numbers, NaN, 10,000 characters, CR/LF, unicode in every field: < 500, and a
    refused form (400) adds no application."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    odd = st.one_of(st.sampled_from(ODD), st.text(max_size=20))
    clerk = page_login(app, "clerk")
    policy_id = str(app.config["TEST_POLICY_ID"])

    def count() -> int:
        with app.app_context():
            return web_db.session().scalar(select(func.count()).select_from(Application))

    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(policy=st.one_of(st.just(policy_id), odd), household=st.one_of(st.just("H1"), odd),
           id_no=st.one_of(st.just(pid(1)), odd), peril=st.one_of(st.sampled_from(["illness", "disaster"]), odd),
           day=st.one_of(st.just("2025-03-10"), odd), amount=st.one_of(st.just("9000"), odd), other=odd,
           channel=st.one_of(st.just("village"), odd))
    def post(policy, household, id_no, peril, day, amount, other, channel):  # noqa: ANN001
        before = count()
        r = clerk.post("/applications", data={"csrf_token": clerk.csrf, "policy_id": policy, "household_no": household,
                                              "id_no": id_no, "peril": peril, "event_date": day, "amount": amount,
                                              "compensated": other, "bill_no": other, "disaster_type": other,
                                              "level": other, "excluded": other, "note": other, "channel": channel})
        assert r.status_code < 500, r.get_data(as_text=True)[:500]
        assert count() == before + (1 if r.status_code == 302 else 0)

    post()


def test_the_medical_file_after_an_application_without_a_number_replaces_its_row(county, tmp_path):
    """The other order without a number: an application for person 1's bill of 10,000.00 on 2025-04-02
    (1,000.00 reimbursed: self-paid 9,000 → (9,000 − 5,000) × 50 % = 2,000.00), then the 医保 file's S009 for
    the same person, date and total (10,000 = 9,000 self-paid + 1,000 from the fund) replaces the application's
    row: the claim stays 2,000.00, not 7,300.00 (the bill counted twice: self-paid 18,000 → 2,500 + (18,000 −
    10,000) × 60 % = 7,300), and the import names the application."""
    factory, policy_id = county
    app_id = submit(factory, illness(policy_id, amount="10000", day=dt.date(2025, 4, 2)))
    verify_application(factory, app_id, INSURER, COUNTY_SCOPE)
    assert claims_of(factory, 1)[0].amount == Decimal("2000.00")
    r = import_report(factory, policy_id, "medical", medical_file(tmp_path / "m04.csv", [("S009", 1, "2025-04-02", 9000)]),
                      actor=SYSTEM)
    [claim] = claims_of(factory, 1)
    assert claim.amount == Decimal("2000.00")
    with factory() as s:
        app = s.get(Application, app_id)
        assert [row["superseded_by_batch"] for row in application_rows(s, app)] == [r.batch_id]
        detail = s.scalar(select(ImportException.detail).where(ImportException.reason == "replaces_application"))
    assert f"申报 #{app_id}" in detail and f"application #{app_id}" in detail


def test_the_api_records_lists_verifies_and_rejects(db_url, tmp_path):
    """The same services through /api/v1/applications (bearer tokens of tests/test_api.py): the clerk records
    person 1's bill (13,000 − 1,000 reimbursed = 12,000 self-paid → 2,500 + 1,200 = 3,700.00) and person 2's;
    the clerk may not verify (403); the insurer verifies one (claim 3,700.00) and rejects the other."""
    from test_api import auth, make_app

    api = make_app(db_url, tmp_path)
    try:
        client = api.test_client()
        body = {"household_no": "H1", "id_no": pid(1), "peril": "illness", "event_date": "2025-03-10",
                "amount": "13000.00", "compensated": "1000.00"}
        r = client.post("/api/v1/applications", headers=auth("village_clerk"), json=body)
        assert r.status_code == 201, r.get_data(as_text=True)
        first = r.json
        assert (first["state"], first["amount"], first["id_no"]) == ("submitted", "13000.00", pid(1)[:6] + "********" + pid(1)[-4:])
        second = client.post("/api/v1/applications", headers=auth("village_clerk"),
                             json={**body, "id_no": pid(2), "amount": "6000.00"}).json
        refused = client.post("/api/v1/applications", headers=auth("village_clerk"), json={**body, "amount": "NaN"})
        assert refused.status_code == 422
        assert client.post(f"/api/v1/applications/{first['id']}/verify", headers=auth("village_clerk")).status_code == 403
        listed = client.get("/api/v1/applications?state=submitted", headers=auth("insurer_adjudicator")).json
        assert {a["id"] for a in listed} == {first["id"], second["id"]}
        done = client.post(f"/api/v1/applications/{first['id']}/verify", headers=auth("insurer_adjudicator"))
        assert (done.status_code, done.json["state"], done.json["id_no"]) == (200, "verified", pid(1))
        rejected = client.post(f"/api/v1/applications/{second['id']}/reject", headers=auth("insurer_adjudicator"),
                               json={"reason": "票据不全"})
        assert (rejected.json["state"], rejected.json["reason"]) == ("rejected", "票据不全")
        again = client.post(f"/api/v1/applications/{second['id']}/verify", headers=auth("insurer_adjudicator"))
        assert again.status_code == 409 and again.json["type"].endswith("/conflict")
        with api.app_context():
            assert web_db.session().scalars(select(Claim.amount).where(Claim.unit_id == pid(1))).all() == [
                Decimal("3700.00")]
    finally:
        api.extensions["relief_engine"].dispose()


def test_an_accident_disability_application_under_the_zhunongbao_product(db):
    """助农保 (凤县, seed 000/002 篇七's population): the hotline records a grade-3 disability of person 1
    (household F1, village 610330100200).  Disability line: sum insured 50,000 × grade 3's 80 % = 40,000.00;
    the accident row's kind is the peril's (disability), its grade the application's."""
    from factories import roster

    from claims.lifecycle.registry import create_policy, register_product
    from claims.lifecycle.roster_store import store_roster
    from products import load_product

    _, factory = db
    persons, households = roster([{"household_no": "F1", "village_code": "610330100200"}],
                                 [{"n": 1, "household_no": "F1"}])
    with transaction(factory) as s:
        policy_id = create_policy(s, register_product(s, load_product("zhunongbao-fengxian-2025")), 100).id
        store_roster(s, persons, households)
    hotline = Scope.of("county_reviewer", [], ["610330"])
    app_id = submit(factory, ApplicationInput(policy_id=policy_id, household_no="F1", id_no=pid(1),
                                              peril="accident_disability", event_date=dt.date(2025, 6, 1), amount="0",
                                              channel="hotline", details={"grade": "3"}), HOTLINE, hotline)
    result = verify_application(factory, app_id, INSURER, Scope.of("insurer_adjudicator", [], ["610330"]))
    assert result.state == "verified"
    with factory() as s:
        row = s.scalar(select(ImportRow).where(ImportRow.department == "accident"))
        claims = s.execute(select(Claim.line_id, Claim.amount)).all()
    assert (row.data["kind"], row.data["grade"]) == ("disability", 3)
    assert claims == [("disability", Decimal("40000.00"))]
