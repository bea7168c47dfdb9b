"""Record identity in ``relief import`` (issue 11, item 1): across everything imported for the policy, an
identical re-send in any byte form is not stored again, a changed re-send is a correction (the earlier
row superseded, an event with old and new values, a warning, the claim recomputed), a refund row nets;
rows stored before migration 0004 get their keys in the migration.  SQLite and PostgreSQL.

Product fangpinbao-weixian-2025 (products/catalog): schooling line "start_line: 8000, brackets: upto null
rate 0.8, per_year 30000" — 80 % of the year's net cost (tuition + accommodation + textbooks − other aid)
above 8,000; illness line "trigger: 5000 … upto 10000 rate 0.5; upto 20000 rate 0.6" — 50 % of the
self-paid amount in (5,000, 10,000], 60 % in (10,000, 20,000].
"""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pytest
import sqlalchemy as sa
from factories import pid
from sqlalchemy import func, select
from test_imports import MEDICAL_HEADER, PRODUCT, medical_file, write_csv, write_roster

from claims.lifecycle.database import (
    downgrade,
    make_engine,
    session_factory,
    transaction,
    upgrade,
)
from claims.lifecycle.imports import import_report
from claims.lifecycle.models import (
    Claim,
    ClaimEvent,
    ImportException,
    ImportRow,
    ImportRowEvent,
)
from claims.lifecycle.recompute import load_reports, rows_to_records
from claims.lifecycle.registry import create_policy, register_product
from claims.lifecycle.roster_store import store_roster
from claims.lifecycle.transitions import SYSTEM
from claims.reports import read_report
from claims.reports.identity import content_digests, record_keys
from products import load_product
from products.roster import check_roster, load_households, load_persons

EDUCATION_HEADER = ["身份证号", "学年", "学段", "学费", "住宿费", "教材费"]
#: person 1: 12,000 + 1,500 + 500 = 14,000 net cost; person 3: 9,000 + 0 + 1,000 = 10,000
EDUCATION = [[pid(1), "2025", "本科", "12000", "1500", "500"], [pid(3), "2025", "本科", "9000", "0", "1000"]]
# person 1: (14,000 − 8,000) × 80 % = 4,800.00; person 3: (10,000 − 8,000) × 80 % = 1,600.00
EXPECTED = {1: Decimal("4800.00"), 3: Decimal("1600.00")}


def csv_bytes(header: list[str], rows: list[list[str]], *, newline: str = "\n", encoding: str = "utf-8") -> bytes:
    return newline.join(",".join(r) for r in [header, *rows]).__add__(newline).encode(encoding)


@pytest.fixture
def county(db, tmp_path):
    """The product, a policy of 1,000 heads and test_imports' roster (persons 1–4): (factory, policy id)."""
    _, factory = db
    persons, households = write_roster(tmp_path)
    p, h = load_persons(persons), load_households(households)
    check_roster(p, h)
    with transaction(factory) as s:
        policy = create_policy(s, register_product(s, load_product(PRODUCT)), 1000)
        store_roster(s, p, h)
        return factory, policy.id


def amounts(factory, line: str) -> dict[int, list[Decimal]]:
    """person n → the amounts of their claims on ``line`` (persons 1–4)."""
    with factory() as s:
        return {n: list(s.scalars(select(Claim.amount).where(Claim.unit_id == pid(n), Claim.line_id == line)
                                  .order_by(Claim.id))) for n in range(1, 5)}


def count(factory, model) -> int:
    with factory() as s:
        return s.scalar(select(func.count()).select_from(model))


def exceptions_of(factory, batch_id: int) -> list[tuple[str, str, int, str]]:
    with factory() as s:
        return [tuple(r) for r in s.execute(
            select(ImportException.reason, ImportException.severity, ImportException.line, ImportException.detail)
            .where(ImportException.batch_id == batch_id).order_by(ImportException.id)).all()]


def test_identical_resends_in_any_byte_form_change_nothing(county):
    factory, policy_id = county
    first = import_report(factory, policy_id, "education", csv_bytes(EDUCATION_HEADER, EDUCATION), actor=SYSTEM,
                          file_name="edu-09.csv")
    assert (first.rows_stored, first.claims_created) == (2, 2)
    assert amounts(factory, "schooling") == {1: [EXPECTED[1]], 2: [], 3: [EXPECTED[3]], 4: []}
    rows, events = count(factory, ImportRow), count(factory, ClaimEvent)
    reordered = [EDUCATION_HEADER[::-1], *(r[::-1] for r in EDUCATION)]
    variants = {
        "edu-09.csv": csv_bytes(EDUCATION_HEADER, EDUCATION) + b"\n",  # one extra newline
        "edu-09-crlf.csv": csv_bytes(EDUCATION_HEADER, EDUCATION, newline="\r\n"),
        "edu-09-gbk.csv": csv_bytes(EDUCATION_HEADER, EDUCATION, encoding="gb18030"),
        "edu-10.csv": csv_bytes(reordered[0], reordered[1:]),  # columns reversed, a new name
    }
    for name, data in variants.items():
        r = import_report(factory, policy_id, "education", data, actor=SYSTEM, file_name=name)
        assert (r.rows_read, r.rows_stored, r.rows_duplicate, r.rows_corrected, r.rows_exception) == (2, 0, 2, 0, 0)
        assert (r.claims_created, r.claims_updated, r.claims_withdrawn) == (0, 0, 0)
        found = exceptions_of(factory, r.batch_id)
        assert [f[:3] for f in found] == [("resent", "info", 2), ("resent", "info", 3)]
        assert all(f"batch {first.batch_id} (edu-09.csv) line" in f[3] for f in found)
    # claims unchanged to the fen (not 2 × 4,800 = 9,600 after one re-send), no row stored, no event
    assert amounts(factory, "schooling") == {1: [EXPECTED[1]], 2: [], 3: [EXPECTED[3]], 4: []}
    assert (count(factory, ImportRow), count(factory, ClaimEvent)) == (rows, events)


def test_a_changed_resend_is_a_correction(county):
    factory, policy_id = county
    first = import_report(factory, policy_id, "education", csv_bytes(EDUCATION_HEADER, EDUCATION), actor=SYSTEM,
                          file_name="edu-09.csv")
    changed = [[pid(1), "2025", "本科", "13000", "1500", "500"], EDUCATION[1]]
    r = import_report(factory, policy_id, "education", csv_bytes(EDUCATION_HEADER, changed), actor=SYSTEM,
                      file_name="edu-09-fixed.csv")
    assert (r.rows_read, r.rows_stored, r.rows_duplicate, r.rows_corrected) == (2, 1, 1, 1)
    assert (r.claims_created, r.claims_updated) == (0, 1)
    # person 1: 13,000 + 1,500 + 500 = 15,000 → (15,000 − 8,000) × 80 % = 5,600.00 (not 4,800 + 5,600)
    assert amounts(factory, "schooling") == {1: [Decimal("5600.00")], 2: [], 3: [EXPECTED[3]], 4: []}
    with factory() as s:
        claim = s.scalar(select(Claim).where(Claim.unit_id == pid(1)))
        last = s.scalars(select(ClaimEvent).where(ClaimEvent.claim_id == claim.id)
                         .order_by(ClaimEvent.id.desc())).first()
        assert (last.action, last.amount_before, last.amount_after) == ("recompute", Decimal("4800.00"),
                                                                      Decimal("5600.00"))
        [event] = s.scalars(select(ImportRowEvent)).all()
        old, new = s.get(ImportRow, event.row_id), s.get(ImportRow, event.superseded_by)
        assert (old.batch_id, new.batch_id, event.batch_id) == (first.batch_id, r.batch_id, r.batch_id)
        assert old.record_key == new.record_key and old.content_digest != new.content_digest
        assert (event.old_values, event.new_values) == ({"tuition": 1200000}, {"tuition": 1300000})
        # the rows that count: the correction, and person 3's row of the first file
        frame = load_reports(s, policy_id)["education"]
        assert sorted(zip(frame["source_file"], frame["tuition"])) == [("edu-09-fixed.csv", 1300000),
                                                                      ("edu-09.csv", 900000)]
    [corrected, resent] = sorted(exceptions_of(factory, r.batch_id), key=lambda e: e[2])
    assert corrected[:3] == ("corrected", "warning", 2) and resent[:3] == ("resent", "info", 3)
    assert f"batch {first.batch_id} (edu-09.csv) line 2" in corrected[3]
    assert "学费(tuition) 12,000.00 → 13,000.00" in corrected[3]


def test_a_corrected_settlement_and_a_refund_before_payment(county, tmp_path):
    factory, policy_id = county
    # S1 person 1 self-paid 9,000 → (9,000 − 5,000) × 50 % = 2,000.00
    import_report(factory, policy_id, "medical", medical_file(tmp_path / "m03.csv", [("S1", 1, "2025-03-01", 9000)]),
                  actor=SYSTEM)
    assert amounts(factory, "illness")[1] == [Decimal("2000.00")]
    # S1 corrected to self-paid 12,000 → 2,500 + (12,000 − 10,000) × 60 % = 3,700.00
    r = import_report(factory, policy_id, "medical", medical_file(tmp_path / "m03b.csv",
                                                                  [("S1", 1, "2025-03-01", 12000)]), actor=SYSTEM)
    assert (r.rows_stored, r.rows_corrected) == (1, 1)
    assert amounts(factory, "illness")[1] == [Decimal("3700.00")]
    # a reversal of 4,000 under S1 (negative amounts, as 冲销 rows are sent): base 12,000 − 4,000 = 8,000
    # → (8,000 − 5,000) × 50 % = 1,500.00, the same claim still computed
    refund = write_csv(tmp_path / "m04.csv", MEDICAL_HEADER, [["S1", pid(1), "2025-04-02", -4000, 0, 0, 0, 0, 0, 0]])
    r = import_report(factory, policy_id, "medical", refund, actor=SYSTEM)
    assert (r.rows_stored, r.rows_corrected, r.rows_duplicate, r.claims_updated) == (1, 0, 0, 1)
    assert amounts(factory, "illness")[1] == [Decimal("1500.00")]
    with factory() as s:
        assert s.scalar(select(func.count()).select_from(ImportRow).where(ImportRow.setl_id == "S1")) == 3
        frame = load_reports(s, policy_id)["medical"]
        assert sorted(frame["self_paid"].tolist()) == [-400000, 1200000]  # the reversal nets


def test_a_file_without_a_usable_row(county, tmp_path):
    factory, policy_id = county
    path = medical_file(tmp_path / "bad.csv", [("S9", 4, "2025-03-09", 8000)])
    path.write_bytes(path.read_bytes().replace(pid(4).encode(), b"123"))  # the only row's ID is not an ID
    r = import_report(factory, policy_id, "medical", path, actor=SYSTEM)
    assert (r.rows_read, r.rows_stored, r.rows_exception, r.rows_duplicate, r.claims_created) == (1, 0, 1, 0, 0)


def test_rows_stored_before_0004_get_their_keys(db_url):
    """Migration 0004 computes record_key and content_digest of rows already stored (from their stored
    canonical values): equal to those of the same file read today, so a later re-send is recognised."""
    downgrade(db_url, "0003")
    read = read_report(io.BytesIO(csv_bytes(EDUCATION_HEADER, EDUCATION)), "education", file_name="old.csv")
    rows = sa.table("import_rows", sa.column("batch_id", sa.Integer), sa.column("department", sa.String),
                    sa.column("line", sa.Integer), sa.column("unit_key", sa.String),
                    sa.column("event_date", sa.Date), sa.column("data", sa.JSON))
    engine = make_engine(db_url)
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO product_versions (id, code, family, name, county, year, digest, document, "
                             "created_at) VALUES (1, 'P', 'fangpinbao', 'p', '130434', 2025, :d, '{}', "
                             "CURRENT_TIMESTAMP)"), {"d": "d" * 64})
        conn.execute(sa.text("INSERT INTO policies (id, product_version_id, county, year, framed_heads, "
                             "premium_per_head, premium_total, settlement_rule, period_start, period_end) VALUES "
                             "(1, 1, '130434', 2025, 1, 50, 50, '{}', '2025-01-01', '2025-12-31')"))
        conn.execute(sa.text("INSERT INTO import_batches (id, policy_id, department, file_name, sha256, rows_read, "
                             "rows_stored, rows_exception, rows_duplicate, imported_at) VALUES "
                             "(1, 1, 'education', 'old.csv', :sha, 2, 2, 0, 0, CURRENT_TIMESTAMP)"), {"sha": "a" * 64})
        conn.execute(sa.insert(rows), [
            {"batch_id": 1, "department": "education", "line": int(line), "unit_key": rec["id_no"],
             "event_date": dt.date(2025, 9, 1), "data": rec}
            for rec, line in zip(rows_to_records("education", read.rows), read.rows["source_line"])])
    engine.dispose()
    upgrade(db_url)
    engine = make_engine(db_url)
    with session_factory(engine)() as s:
        stored = s.execute(select(ImportRow.record_key, ImportRow.content_digest).order_by(ImportRow.line)).all()
        with pytest.raises(Exception, match="immutable|append-only"), s.begin_nested():  # the guard is back
            s.execute(sa.update(ImportRow).values(line=99))
    engine.dispose()
    assert [tuple(r) for r in stored] == list(zip(record_keys("education", read.rows),
                                                  content_digests("education", read.rows)))
