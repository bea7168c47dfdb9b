"""Imports on SQLite and PostgreSQL: checksummed batches, duplicate settlements, claims created or
updated in ``computed``, increments after a claim moved on, all-or-nothing on a crash, cross-department
duplicate flags, and the ``relief import`` command.  All people are synthetic (valid IDs via make_id).

Product fangpinbao-weixian-2025, illness line: self-paid above 5,000 yuan, brackets
(5,000, 10,000] × 50 %, (10,000, 20,000] × 60 %, above × 70 %.
"""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from factories import pid
from sqlalchemy import func, select

import claims.lifecycle.imports as imports
from claims.lifecycle.database import transaction
from claims.lifecycle.imports import AlreadyImportedError, import_report
from claims.lifecycle.models import Claim, ClaimEvent, ImportBatch, ImportException, ImportRow, User
from claims.lifecycle.registry import create_policy, product_of, register_product
from claims.lifecycle.roster_store import roster_frames, store_roster
from claims.lifecycle.store import Division, Household, NaturalVillage, Person, Policy
from claims.lifecycle.transitions import SYSTEM, Actor, advance
from claims.lifecycle.users import UserError, actor_of, create_user, get_user
from products import load_product
from products.roster import check_roster, load_households, load_persons

PRODUCT = "fangpinbao-weixian-2025"
V1, V2 = "130434100200", "130434101201"
MEDICAL_HEADER = ["结算ID", "身份证号", "结算日期", "医疗费总额", "统筹基金支出", "大病保险", "医疗救助", "其他支出",
                  "全自费金额", "超限价自费"]


def write_csv(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def write_roster(tmp_path: Path) -> tuple[Path, Path]:
    """H1 (village V1): persons 1, 2; H2 (village V2): person 3; H3 (V1): person 4.  Income 5,000 yuan."""
    persons = write_csv(tmp_path / "persons.csv", ["身份证号", "姓名", "户编号", "与户主关系"], [
        [pid(1), "张三", "H1", "户主"], [pid(2), "李四", "H1", "配偶"], [pid(3), "王五", "H2", "户主"],
        [pid(4), "赵六", "H3", "户主"]])
    households = write_csv(tmp_path / "households.csv", ["户编号", "村代码", "自然村", "户类型", "家庭人均纯收入", "家庭人口数"], [
        ["H1", V1, "张庄", "边缘易致贫户", "5000", "2"], ["H2", V2, "李庄", "脱贫不稳定户", "5000", "1"],
        ["H3", V1, "", "边缘易致贫户", "5000", "1"]])
    return persons, households


def medical_file(path: Path, rows: list[tuple[str, int, str, int]]) -> Path:
    """rows: (setl_id, person n, date, self-paid yuan); total = self-paid + 1,000 paid by the fund."""
    return write_csv(path, MEDICAL_HEADER, [[s, pid(n), d, sp + 1000, 1000, 0, 0, 0, 0, 0] for s, n, d, sp in rows])


@pytest.fixture
def county(db, tmp_path):
    """A migrated database with the product, a policy of 1,000 heads and the roster: (factory, policy id)."""
    _, factory = db
    persons, households = write_roster(tmp_path)
    p, h = load_persons(persons), load_households(households)
    check_roster(p, h)
    with transaction(factory) as s:
        version = register_product(s, load_product(PRODUCT))
        policy = create_policy(s, version, 1000)
        store_roster(s, p, h)
        return factory, policy.id


def counts(factory) -> dict[str, int]:
    with factory() as s:
        return {m.__name__: s.scalar(select(func.count()).select_from(m))
                for m in (ImportBatch, ImportRow, ImportException, Claim, ClaimEvent)}


def claims_of(factory, n: int) -> list[Claim]:
    with factory() as s:
        return list(s.scalars(select(Claim).where(Claim.unit_id == pid(n)).order_by(Claim.id)))


def events_of(factory, claim_id: int) -> list[tuple]:
    with factory() as s:
        return [(e.action, e.from_state, e.to_state, e.amount_before, e.amount_after) for e in s.scalars(
            select(ClaimEvent).where(ClaimEvent.claim_id == claim_id).order_by(ClaimEvent.id))]


MARCH = [("S1", 1, "2025-03-01", 9000), ("S2", 2, "2025-03-02", 4000), ("S3", 3, "2025-03-05", 12000)]


# ---- registry, roster, users ----------------------------------------------------------------------

def test_registry_roster_and_users(county):
    factory, policy_id = county
    with transaction(factory) as s:
        product = load_product(PRODUCT)
        version = register_product(s, product)
        assert register_product(s, product).id == version.id  # idempotent by digest
        assert product_of(version).digest == product.digest
        policy = s.get(Policy, policy_id)
        assert create_policy(s, version, 5).id == policy_id  # one per version/county/year
        assert policy.premium_total == Decimal("50000.00")  # 1,000 heads × 50.00
        assert (policy.period_start.isoformat(), policy.period_end.isoformat()) == ("2025-01-01", "2025-12-31")
        levels = dict(s.execute(select(Division.code, Division.level)).all())
        assert levels == {"130434": "county", "130434100": "township", "130434101": "township",
                          V1: "village", V2: "village"}
        assert set(s.scalars(select(NaturalVillage.name))) == {"张庄", "李庄"}
        persons, households = roster_frames(s, ["H1"])
        assert sorted(persons["id_no"]) == [pid(1), pid(2)]
        assert households["per_capita_income"].tolist() == [500000] and str(households["members"].dtype) == "int64"
        # a changed income is one update; unchanged rows are left alone
        p, h = roster_frames(s)
        h.loc[h["household_no"] == "H2", "per_capita_income"] = 612345
        stats = store_roster(s, p, h)
        assert (stats["households_inserted"], stats["households_updated"], stats["persons_updated"]) == (0, 1, 0)
        assert s.scalar(select(Household.per_capita_income).where(Household.household_no == "H2")) == Decimal("6123.45")
        assert s.scalar(select(func.count()).select_from(Person)) == 4
        user = create_user(s, "ins", "理赔员", "insurer_adjudicator", approval_limit="5000")
        assert actor_of(get_user(s, "ins")) == Actor(id=user.id, role="insurer_adjudicator",
                                                     approval_limit=Decimal("5000.00"))
        with pytest.raises(UserError, match="no user 'nobody'"):
            get_user(s, "nobody")
        with pytest.raises(UserError, match="unknown role"):
            create_user(s, "x", "x", "boss")


# ---- imports ---------------------------------------------------------------------------------------

def test_medical_import_creates_computed_claims(county, tmp_path):
    factory, policy_id = county
    r = import_report(factory, policy_id, "medical", medical_file(tmp_path / "m03.csv", MARCH), actor=SYSTEM,
                      period="2025-03")
    assert (r.rows_read, r.rows_stored, r.rows_exception, r.rows_duplicate) == (3, 3, 0, 0)
    assert (r.claims_created, r.claims_updated, r.claims_withdrawn) == (2, 0, 0)
    # person 1: self-paid 9,000 → (9,000 − 5,000) × 50% = 2,000.00
    [c1] = claims_of(factory, 1)
    assert (c1.state, c1.base, c1.entitlement, c1.paid_before, c1.computed_amount, c1.amount) == (
        "computed", Decimal("9000.00"), Decimal("2000.00"), Decimal("0.00"), Decimal("2000.00"), Decimal("2000.00"))
    assert (c1.household_no, c1.village_code, c1.natural_village, c1.line_id) == ("H1", V1, "张庄", "illness")
    assert "2000.00" in c1.trace
    # person 3: 12,000 → (10,000 − 5,000) × 50% + (12,000 − 10,000) × 60% = 2,500 + 1,200 = 3,700.00
    [c3] = claims_of(factory, 3)
    assert c3.amount == Decimal("3700.00")
    # person 2: 4,000 is below the 5,000 warning line → no claim
    assert claims_of(factory, 2) == []
    assert events_of(factory, c1.id) == [("compute", None, "computed", None, Decimal("2000.00"))]
    with factory() as s:
        batch = s.get(ImportBatch, r.batch_id)
        assert (batch.department, batch.file_name, batch.period, batch.rows_stored) == ("medical", "m03.csv", "2025-03", 3)
        row = s.scalar(select(ImportRow).where(ImportRow.setl_id == "S1"))
        assert (row.line, row.unit_key, row.event_date.isoformat()) == (2, pid(1), "2025-03-01")
        assert row.data["self_paid"] == 900000 and row.data["setl_date"] == "2025-03-01"


def test_same_file_twice_is_refused_and_changes_nothing(county, tmp_path):
    factory, policy_id = county
    path = medical_file(tmp_path / "m03.csv", MARCH)
    first = import_report(factory, policy_id, "medical", path, actor=SYSTEM)
    before = counts(factory)
    with pytest.raises(AlreadyImportedError, match=f"already imported \\(batch {first.batch_id} at 20") as info:
        import_report(factory, policy_id, "medical", path, actor=SYSTEM, file_name="renamed.csv")
    assert info.value.batch_id == first.batch_id and "已导入" in str(info.value)
    assert counts(factory) == before


def test_overlapping_file_reports_duplicates_and_counts_them_once(county, tmp_path):
    factory, policy_id = county
    first = import_report(factory, policy_id, "medical", medical_file(tmp_path / "m03.csv", MARCH), actor=SYSTEM)
    # S1 again (same settlement re-sent) and a new April settlement of 2,000 for person 1
    r = import_report(factory, policy_id, "medical", medical_file(
        tmp_path / "m04.csv", [("S1", 1, "2025-03-01", 9000), ("S4", 1, "2025-04-01", 2000)]), actor=SYSTEM)
    assert (r.rows_read, r.rows_stored, r.rows_duplicate, r.rows_exception) == (2, 1, 1, 0)
    assert (r.claims_created, r.claims_updated) == (0, 1)
    with factory() as s:
        [(reason, detail)] = s.execute(select(ImportException.reason, ImportException.detail)
                                       .where(ImportException.batch_id == r.batch_id)).all()
        assert reason == "resent" and f"batch {first.batch_id}" in detail  # an identical re-send (info)
        assert s.scalar(select(func.count()).select_from(ImportRow).where(ImportRow.setl_id == "S1")) == 1
    # base 9,000 + 2,000 = 11,000 (not 20,000): 2,500 + (11,000 − 10,000) × 60% = 3,100.00
    [c1] = claims_of(factory, 1)
    assert (c1.base, c1.amount, c1.computed_amount) == (Decimal("11000.00"), Decimal("3100.00"), Decimal("3100.00"))


def test_later_month_updates_the_computed_claim(county, tmp_path):
    factory, policy_id = county
    import_report(factory, policy_id, "medical", medical_file(tmp_path / "m03.csv", MARCH), actor=SYSTEM)
    [c3] = claims_of(factory, 3)
    r = import_report(factory, policy_id, "medical", medical_file(tmp_path / "m04.csv", [("S5", 3, "2025-04-10", 3000)]),
                      actor=SYSTEM)
    assert (r.claims_created, r.claims_updated, r.claims_withdrawn) == (0, 1, 0)
    # base 12,000 + 3,000 = 15,000: 2,500 + (15,000 − 10,000) × 60% = 5,500.00
    [after] = claims_of(factory, 3)
    assert (after.id, after.state, after.base, after.amount, after.version) == (
        c3.id, "computed", Decimal("15000.00"), Decimal("5500.00"), c3.version + 1)
    assert events_of(factory, c3.id)[-1] == ("recompute", "computed", "computed", Decimal("3700.00"), Decimal("5500.00"))
    assert len(claims_of(factory, 1)) == 1 and len(events_of(factory, claims_of(factory, 1)[0].id)) == 1  # untouched


def test_a_claim_past_computed_gets_only_the_increment(county, tmp_path):
    factory, policy_id = county
    import_report(factory, policy_id, "medical", medical_file(tmp_path / "m03.csv", MARCH), actor=SYSTEM)
    [c1] = claims_of(factory, 1)
    with transaction(factory) as s:
        advance(s, [c1.id], "computed", "start_investigation", Actor(id=None, role="insurer_adjudicator"))
    r = import_report(factory, policy_id, "medical", medical_file(tmp_path / "m04.csv", [("S4", 1, "2025-04-01", 2000)]),
                      actor=SYSTEM)
    assert (r.claims_created, r.claims_updated) == (1, 0)
    old, new = claims_of(factory, 1)
    assert (old.id, old.state, old.amount) == (c1.id, "investigating", Decimal("2000.00"))
    # entitlement on 11,000 = 3,100.00; 2,000.00 already decided → new claim 3,100 − 2,000 = 1,100.00
    assert (new.state, new.entitlement, new.paid_before, new.amount) == (
        "computed", Decimal("3100.00"), Decimal("2000.00"), Decimal("1100.00"))
    assert events_of(factory, new.id) == [("compute", None, "computed", None, Decimal("1100.00"))]


def test_income_above_the_line_withdraws_the_computed_claim(county, tmp_path):
    factory, policy_id = county
    import_report(factory, policy_id, "medical", medical_file(tmp_path / "m03.csv", MARCH), actor=SYSTEM)
    [c1] = claims_of(factory, 1)
    # 11,000 per head × 2 = 22,000 − person 1's 9,000 self-paid = 13,000 > 6,000 × 2: above the line even net
    # of the rigid costs (the catalog's income_test net_of_costs, tests/test_eligibility.py)
    path = write_csv(tmp_path / "income.csv", ["户编号", "统计日期", "家庭人均纯收入"], [["H1", "2025-01-01", "11000"]])
    r = import_report(factory, policy_id, "income", path, actor=SYSTEM)
    assert (r.rows_stored, r.claims_withdrawn) == (1, 1)
    [after] = claims_of(factory, 1)
    assert (after.state, after.amount) == ("rejected", Decimal("0.00"))
    assert [e[:3] for e in events_of(factory, c1.id)] == [
        ("compute", None, "computed"), ("recompute", "computed", "computed"), ("withdraw", "computed", "rejected")]
    assert events_of(factory, c1.id)[1][3:] == (Decimal("2000.00"), Decimal("0.00"))
    assert claims_of(factory, 3)[0].state == "computed"  # another household: untouched


def test_crash_after_half_the_rows_leaves_nothing(county, tmp_path, monkeypatch):
    factory, policy_id = county
    rows = [*MARCH, ("S6", 4, "2025-03-09", 7000)]
    path = medical_file(tmp_path / "m03.csv", rows)
    with path.open("a", encoding="utf-8") as fh:  # one bad row too, so exceptions are stored before the crash
        fh.write(f"S7,{pid(1)},not-a-date,100,0,0,0,0,0,0\n")
    seen: list[int] = []

    def crash(n: int) -> None:
        seen.append(n)
        raise RuntimeError("injected crash")

    monkeypatch.setattr(imports, "_after_rows_inserted", crash)
    with pytest.raises(RuntimeError, match="injected crash"):
        import_report(factory, policy_id, "medical", path, actor=SYSTEM)
    assert seen == [2]  # crashed after 2 of the 4 good rows
    assert counts(factory) == {"ImportBatch": 0, "ImportRow": 0, "ImportException": 0, "Claim": 0, "ClaimEvent": 0}
    monkeypatch.undo()
    r = import_report(factory, policy_id, "medical", path, actor=SYSTEM)  # not "already imported": nothing landed
    assert (r.rows_read, r.rows_stored, r.rows_exception, r.claims_created) == (5, 4, 1, 3)


def test_cross_department_duplicate_is_flagged(county, tmp_path):
    factory, policy_id = county
    import_report(factory, policy_id, "medical", medical_file(tmp_path / "m03.csv", MARCH), actor=SYSTEM)
    path = write_csv(tmp_path / "accident.csv", ["身份证号", "事故日期", "类型", "医疗费用"],
                     [[pid(1), "2025-02-25", "hospital", "10000"], [pid(3), "2025-01-02", "hospital", "500"]])
    import_report(factory, policy_id, "accident", path, actor=SYSTEM)
    [c1] = claims_of(factory, 1)
    assert c1.flags and "S1" in c1.flags and "accident.csv line 2" in c1.flags and "疑似跨部门重复" in c1.flags
    assert c1.amount == Decimal("2000.00")  # flagged, not paid twice, not changed
    assert claims_of(factory, 3)[0].flags is None  # settlement 62 days after the accident: a different event


# ---- CLI -------------------------------------------------------------------------------------------

def test_cli_setup_users_and_import(tmp_path):
    from flask_app.cli.db import db as db_group
    from flask_app.cli.imports import import_
    from flask_app.cli.setup import setup
    from flask_app.cli.users import users

    url = f"sqlite:///{tmp_path / 'cli.db'}"
    runner = CliRunner()
    r = runner.invoke(db_group, ["upgrade", "--database", url])
    assert r.exit_code == 0, r.output
    persons, households = write_roster(tmp_path)
    r = runner.invoke(setup, ["--product", PRODUCT, "--framed-heads", "1000", "--persons", str(persons),
                              "--households", str(households), "--database", url])
    assert r.exit_code == 0, r.output
    assert "policy: 1" in r.output
    r = runner.invoke(users, ["add", "ins", "--name", "理赔员", "--role", "insurer_adjudicator",
                              "--approval-limit", "5000", "--database", url])
    assert r.exit_code == 0, r.output
    path = medical_file(tmp_path / "m03.csv", MARCH)
    args = ["--department", "medical", str(path), "--user", "ins", "--period", "2025-03", "--database", url]
    r = runner.invoke(import_, args)
    assert r.exit_code == 0, r.output
    assert "rows read: 3" in r.output and "stored: 3" in r.output and "created 2" in r.output
    r = runner.invoke(import_, args)
    assert r.exit_code == 3
    assert "already imported" in r.output
    r = runner.invoke(import_, ["--department", "medical", str(path), "--user", "nobody", "--database", url])
    assert r.exit_code == 2 and "no user 'nobody'" in r.output
    from claims.lifecycle.database import make_engine, session_factory
    engine = make_engine(url)
    with session_factory(engine)() as s:
        batch = s.scalar(select(ImportBatch))
        assert batch.imported_by == s.scalar(select(User.id).where(User.username == "ins"))
    engine.dispose()


def test_full_recompute_is_idempotent(county, tmp_path):
    from claims.lifecycle.recompute import recompute

    factory, policy_id = county
    with transaction(factory) as s:
        assert recompute(s, policy_id) == recompute(s, policy_id, []) == (0, 0, 0, 0)  # nothing imported yet
    import_report(factory, policy_id, "medical", medical_file(tmp_path / "m03.csv", MARCH), actor=SYSTEM)
    before = counts(factory)
    with transaction(factory) as s:
        r = recompute(s, policy_id)
    assert (r.created, r.updated, r.withdrawn) == (0, 0, 0)
    assert counts(factory) == before
