"""Tamper-evident audit (issue 13, item 6): the hash chains, ``relief audit verify``, the guards, the actors.

A demo-like database (the demo's months on a small synthetic county) verifies intact; an event edited,
deleted or inserted with raw SQL — around the triggers, as an attacker with the database would (SQLite:
dropping the trigger or ``INSERT OR REPLACE``; PostgreSQL: ``ALTER TABLE … DISABLE TRIGGER ALL``) — is
named by ``relief audit verify`` (exit 1, the table and the row).
"""

from __future__ import annotations

import datetime as dt
import getpass
import shutil
from decimal import Decimal

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from claims.lifecycle.audit import CHAINS, GENESIS, row_digest, verify
from claims.lifecycle.database import make_engine, session_factory, transaction
from claims.lifecycle.models import AuditEvent, Claim, ClaimEvent, FundEntry, ImportBatch, Objection, PayoutLine
from claims.lifecycle.notices import post_notice, record_objection
from claims.lifecycle.roster_store import roster_frames, store_roster
from claims.lifecycle.transitions import Actor, advance
from flask_app.cli import relief
from flask_app.demo import build_demo


@pytest.fixture(scope="module")
def sqlite_demo(tmp_path_factory):
    """The demo built once on SQLite; each test gets a copy of the file."""
    work = tmp_path_factory.mktemp("demo")
    return work, build_demo(f"sqlite:///{work / 'relief.db'}", work)


@pytest.fixture
def demo(db_url, tmp_path, request):
    """(url, factory, demo info) of a demo-like database: roster, premiums, three months of imports, reviews,
    notices and one paid batch."""
    if db_url.startswith("sqlite"):
        work, info = request.getfixturevalue("sqlite_demo")
        for suffix in ("", "-wal", "-shm"):
            if (work / f"relief.db{suffix}").exists():
                shutil.copy(work / f"relief.db{suffix}", tmp_path / f"demo.db{suffix}")
        url = f"sqlite:///{tmp_path / 'demo.db'}"
    else:
        url, info = db_url, build_demo(db_url, tmp_path)
    engine = make_engine(url)
    yield url, session_factory(engine), info
    engine.dispose()


def audit_verify(url: str) -> tuple[int, str]:
    result = CliRunner().invoke(relief, ["audit", "verify", "--database", url])
    return result.exit_code, result.output


def raw(url: str, *statements: str, params: dict | None = None) -> None:
    """Statements run as an attacker with database access: the append-only triggers out of the way first."""
    engine = make_engine(url)
    pg = engine.dialect.name == "postgresql"
    with engine.begin() as conn:
        if pg:
            conn.execute(text("ALTER TABLE claim_events DISABLE TRIGGER ALL"))
        else:
            conn.execute(text("DROP TRIGGER IF EXISTS claim_events_no_update"))
            conn.execute(text("DROP TRIGGER IF EXISTS claim_events_no_delete"))
        for statement in statements:
            conn.execute(text(statement), params or {})
        if pg:
            conn.execute(text("ALTER TABLE claim_events ENABLE TRIGGER ALL"))
    engine.dispose()


def middle_event(factory) -> tuple[int, int]:  # noqa: ANN001
    """(id, id of the next event in the chain) of an event in the middle of the claim-event chain."""
    with factory() as s:
        seqs = s.execute(select(ClaimEvent.id, ClaimEvent.chain_seq).order_by(ClaimEvent.chain_seq)).all()
    assert len(seqs) >= 5
    mid = len(seqs) // 2
    return seqs[mid][0], seqs[mid + 1][0]


def test_a_demo_database_verifies_intact_and_every_row_is_chained(demo):
    url, factory, _ = demo
    code, out = audit_verify(url)
    assert code == 0, out
    with factory() as s:
        counts = {name: s.scalar(select(func.count()).select_from(text(name))) for name in CHAINS}
        assert all(counts[name] > 0 for name in CHAINS), counts  # the demo writes every chained table
        for name in CHAINS:
            assert f"intact  {name}: {counts[name]:,} " in out
        # the chain as documented: seq 1.. in order, each prev_hash the previous row_hash, genesis first
        events = s.execute(select(ClaimEvent).order_by(ClaimEvent.chain_seq)).scalars().all()
        prev = GENESIS
        for n, e in enumerate(events, start=1):
            assert (e.chain_seq, e.prev_hash) == (n, prev)
            assert e.row_hash == row_digest("claim_events", n, prev, [getattr(e, f) for f in CHAINS["claim_events"]])
            prev = e.row_hash
    assert "agree with their newest event" in out


def test_an_edited_event_is_found(demo):
    url, factory, _ = demo
    victim, _ = middle_event(factory)
    raw(url, "UPDATE claim_events SET note = 'looks harmless' WHERE id = :i", params={"i": victim})
    code, out = audit_verify(url)
    assert code == 1
    assert f"BROKEN  claim_events: 第一处 / first at id {victim} " in out and "row_hash" in out
    assert "intact  fund_entries" in out and "intact  import_rows" in out  # the other chains are fine


def test_an_event_replaced_on_sqlite_with_insert_or_replace_is_found(demo):
    db_url = demo[0]
    if not db_url.startswith("sqlite"):
        pytest.skip("INSERT OR REPLACE is SQLite's")
    engine = make_engine(db_url)
    with engine.begin() as conn:  # no trigger dropped: REPLACE deletes without firing DELETE triggers
        victim = conn.scalar(text("SELECT id FROM claim_events ORDER BY id LIMIT 1 OFFSET 3"))
        conn.execute(text("INSERT OR REPLACE INTO claim_events SELECT id, claim_id, at, actor_id, role, action, "
                          "from_state, to_state, 'forged', note, amount_before, amount_after, chain_seq, prev_hash, "
                          "row_hash FROM claim_events WHERE id = :i"), {"i": victim})
    engine.dispose()
    code, out = audit_verify(db_url)
    assert code == 1 and f"first at id {victim} " in out


def test_a_deleted_event_is_found(demo):
    url, factory, _ = demo
    victim, after = middle_event(factory)
    raw(url, "DELETE FROM claim_events WHERE id = :i", params={"i": victim})
    code, out = audit_verify(url)
    assert code == 1
    assert f"BROKEN  claim_events: 第一处 / first at id {after} " in out  # the row after the gap


def test_an_inserted_event_is_found_bare_or_with_forged_chain_columns(demo):
    url, factory, _ = demo
    with factory() as s:
        claim_id = s.scalar(select(Claim.id).where(Claim.state == "paid").limit(1))
        head_seq, head_hash = s.execute(select(ClaimEvent.chain_seq, ClaimEvent.row_hash)
                                        .order_by(ClaimEvent.chain_seq.desc()).limit(1)).one()
    columns = "claim_id, at, role, action, from_state, to_state"
    values = ":c, '2025-03-03 10:00:00.000000', 'system', 'reverse', 'paid', 'reversed'"
    raw(url, f"INSERT INTO claim_events ({columns}) VALUES ({values})", params={"c": claim_id})
    code, out = audit_verify(url)
    assert code == 1 and "not in the chain" in out
    with factory() as s:
        bare = s.scalar(select(ClaimEvent.id).where(ClaimEvent.chain_seq.is_(None)))
    assert f"first at id {bare} " in out

    # the attacker fills the chain columns too (without the hash of the content): the row_hash fails
    raw(url, f"DELETE FROM claim_events WHERE id = {bare}",
        f"INSERT INTO claim_events ({columns}, chain_seq, prev_hash, row_hash) VALUES ({values}, :seq, :prev, :h)",
        params={"c": claim_id, "seq": head_seq + 1, "prev": head_hash, "h": "ab" * 32})
    code, out = audit_verify(url)
    assert code == 1 and "row_hash" in out and "not in the chain" not in out


def test_a_paid_claim_moved_back_or_repriced_in_sql_is_refused_or_found(demo):
    url, factory, _ = demo
    with factory() as s:
        paid = s.scalar(select(Claim.id).where(Claim.state == "paid").limit(1))
    assert paid is not None
    engine = make_engine(url)
    pg = engine.dialect.name == "postgresql"
    for statement in ("UPDATE claims SET state = 'payable' WHERE id = :i",
                      "UPDATE claims SET amount = amount + 100 WHERE id = :i"):
        with pytest.raises(DBAPIError, match="invalid claim state transition|without its event"):
            with engine.begin() as conn:
                conn.execute(text(statement), {"i": paid})
    with factory() as s:
        assert s.scalar(select(Claim.state).where(Claim.id == paid)) == "paid"
    # with every trigger out of the way (SQLite: dropped; PostgreSQL: disabled by a superuser), verify finds it
    with engine.begin() as conn:
        if pg:
            conn.execute(text("ALTER TABLE claims DISABLE TRIGGER ALL"))
        else:
            conn.execute(text("DROP TRIGGER claims_state_guard"))
            conn.execute(text("DROP TRIGGER claims_with_event_guard"))
        conn.execute(text("UPDATE claims SET state = 'payable' WHERE id = :i"), {"i": paid})
    engine.dispose()
    code, out = audit_verify(url)
    assert code == 1
    assert f"BROKEN  claims: 第一处 / first at id {paid} " in out and "paid" in out and "payable" in out


def test_payout_lines_and_fund_entries_refuse_edits_and_deletes(demo):
    url, factory, _ = demo
    engine = make_engine(url)
    refused = ["UPDATE payout_lines SET account = '6222000000000000' ",
               "UPDATE payout_lines SET amount = amount + 1",
               "DELETE FROM payout_lines",
               "UPDATE fund_entries SET amount = amount + 1",
               "UPDATE fund_entries SET note = 'x'",
               "DELETE FROM fund_entries",
               "DELETE FROM import_rows"]
    for statement in refused:
        with pytest.raises(DBAPIError, match="append-only"):
            with engine.begin() as conn:
                conn.execute(text(statement))
    with engine.begin() as conn:  # the bank return's status stays writable
        conn.execute(text("UPDATE payout_lines SET bank_reason = 'checked'"))
    engine.dispose()
    assert audit_verify(url)[0] == 0


def test_fund_entries_and_objection_resolutions_record_their_actor(demo):
    url, factory, info = demo
    with factory() as s:
        insurer = s.scalar(select(ClaimEvent.actor_id).where(ClaimEvent.action == "bank_paid").limit(1))
        paid_entry = s.scalar(select(FundEntry).where(FundEntry.kind == "claim_paid"))
        assert insurer is not None and paid_entry.actor_id == insurer
        on_notice = s.scalar(select(Claim).where(Claim.state == "on_notice").limit(1))
        village_user = s.scalar(select(ClaimEvent.actor_id).where(ClaimEvent.action == "post_notice").limit(1))
        county_user = s.scalar(text("SELECT id FROM users WHERE role = 'county_reviewer'"))
    assert on_notice is not None
    village = Actor(id=village_user, role="village_clerk")
    county = Actor(id=county_user, role="county_reviewer", name="county")
    insurer_actor = Actor(id=insurer, role="insurer_adjudicator")
    with transaction(factory) as s:
        record_objection(s, on_notice.id, village, "金额有误")
    with transaction(factory) as s:  # back through the work and re-posted: the objection is resolved
        advance(s, [on_notice.id], "disputed", "reinvestigate", insurer_actor)
        advance(s, [on_notice.id], "investigating", "verify", insurer_actor, reason_code="objection")
        advance(s, [on_notice.id], "verified", "village_review", village)
        township = s.scalar(text("SELECT id FROM users WHERE role = 'township_reviewer'"))
        advance(s, [on_notice.id], "village_reviewed", "township_review", Actor(id=township, role="township_reviewer"))
        advance(s, [on_notice.id], "township_reviewed", "file", county)
        post_notice(s, on_notice.policy_id, on_notice.village_code, county, posted_on=dt.date(2025, 3, 20),
                    claim_ids=[on_notice.id])
    with factory() as s:
        objection = s.scalar(select(Objection).where(Objection.claim_id == on_notice.id))
        assert (objection.state, objection.resolved_by) == ("resolved", county_user)
        event = s.scalar(select(AuditEvent).where(AuditEvent.kind == "objection_resolved"))
        assert (event.actor_id, event.actor_name, event.detail["objection_ids"]) == (county_user, "county",
                                                                                      [objection.id])
    assert audit_verify(url)[0] == 0  # every event of that round trip was chained


def test_roster_and_bank_account_changes_are_audited(demo):
    url, factory, _ = demo
    with transaction(factory) as s:
        persons, households = roster_frames(s)
        first = households["household_no"].iloc[0]
        old = households.loc[households["household_no"] == first, "bank_account"].iloc[0]
        households.loc[households["household_no"] == first, "bank_account"] = "6217000000001234"
        store_roster(s, persons, households, actor_name="clerk-os-login")
    with factory() as s:
        changes = s.scalars(select(AuditEvent).where(AuditEvent.kind == "bank_account_changed")).all()
        assert [(e.subject, e.detail, e.actor_name) for e in changes] == [
            (f"household:{first}", {"before": "*" + str(old)[-4:], "after": "*1234"}, "clerk-os-login")]
        stored = s.scalars(select(AuditEvent).where(AuditEvent.kind == "roster_stored")
                           .order_by(AuditEvent.id)).all()
        assert stored[-1].detail["households_updated"] == 1 and stored[-1].actor_name == "clerk-os-login"


def test_relief_import_always_records_a_user(demo, monkeypatch):
    url, factory, info = demo
    april = info.county_dir / "medical" / "2025-04.csv"
    if not april.exists():
        april = sorted((info.county_dir / "medical").glob("*.csv"))[-1]
    monkeypatch.setenv("RELIEF_USER", "operator-on-duty")
    result = CliRunner().invoke(relief, ["import", "--department", "medical", str(april), "--database", url])
    assert result.exit_code in (0, 3), result.output  # 3: the demo had imported it already
    if result.exit_code == 0:
        with factory() as s:
            batch = s.scalar(select(ImportBatch).order_by(ImportBatch.id.desc()).limit(1))
            assert (batch.imported_by, batch.imported_by_name) == (None, "operator-on-duty")
    # no --user, no RELIEF_USER, no login name, no terminal: refused, bilingual
    monkeypatch.delenv("RELIEF_USER")

    def no_login() -> str:
        raise OSError("no login name")

    monkeypatch.setattr(getpass, "getuser", no_login)
    refused = CliRunner().invoke(relief, ["import", "--department", "medical", str(april), "--database", url])
    assert refused.exit_code == 2
    assert "导入须有操作用户" in refused.output and "an import needs a user" in refused.output
    # a user of the database named by RELIEF_USER is that user
    monkeypatch.setenv("RELIEF_USER", info.users["insurer_adjudicator"][0])
    with factory() as s:
        n_before = s.scalar(select(func.count()).select_from(ImportBatch))
    other = sorted((info.county_dir / "medical").glob("*.csv"))
    for path in other:
        done = CliRunner().invoke(relief, ["import", "--department", "medical", str(path), "--database", url])
        if done.exit_code == 0:
            break
    with factory() as s:
        if s.scalar(select(func.count()).select_from(ImportBatch)) > n_before:
            batch = s.scalar(select(ImportBatch).order_by(ImportBatch.id.desc()).limit(1))
            assert batch.imported_by is not None
            assert batch.imported_by_name == info.users["insurer_adjudicator"][0]
    assert audit_verify(url)[0] == 0


def test_verify_reports_amounts_as_fixed_point_text():
    """The canonical text is documented: amounts with two decimals, times ISO, NULL as null."""
    values = [7, dt.datetime(2025, 3, 1, 9, 30), None, "system", "compute", None, "computed", None, None, None,
              Decimal("12.3")]
    same = [7, dt.datetime(2025, 3, 1, 9, 30), None, "system", "compute", None, "computed", None, None, None,
            Decimal("12.30")]
    assert row_digest("claim_events", 1, GENESIS, values) == row_digest("claim_events", 1, GENESIS, same)
    other = [*same[:-1], Decimal("12.31")]
    assert row_digest("claim_events", 1, GENESIS, values) != row_digest("claim_events", 1, GENESIS, other)
    assert row_digest("claim_events", 2, GENESIS, values) != row_digest("claim_events", 1, GENESIS, values)


def test_verify_returns_one_report_per_chain_and_the_claims(demo):
    _, factory, _ = demo
    with factory() as s:
        reports = verify(s)
    assert [r.table for r in reports] == [*CHAINS, "claims"] and all(r.ok for r in reports)
    with factory() as s:
        assert s.scalar(select(func.count()).select_from(PayoutLine).where(PayoutLine.row_hash.is_(None))) == 0


@pytest.mark.parametrize(("table", "trigger", "statement"), [
    ("payout_lines", "payout_lines_fixed", "UPDATE payout_lines SET account = '6222999999999999' WHERE id = "
                                           "(SELECT min(id) FROM payout_lines)"),
    ("fund_entries", "fund_entries_no_update", "UPDATE fund_entries SET amount = amount + 1 WHERE id = "
                                               "(SELECT max(id) FROM fund_entries)"),
])
def test_the_bank_files_source_and_the_ledger_edited_around_their_guards_are_found(demo, table, trigger, statement):
    url, factory, _ = demo
    engine = make_engine(url)
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER ALL"))
        else:
            conn.execute(text(f"DROP TRIGGER {trigger}"))
        conn.execute(text(statement))
    engine.dispose()
    code, out = audit_verify(url)
    assert code == 1 and f"BROKEN  {table}:" in out and "row_hash" in out


def test_concurrent_writers_keep_one_unbroken_chain(db):
    """Eight transactions appending claim events and fund entries at the same time (PostgreSQL: truly
    concurrent, ordered by the chain's advisory lock; SQLite: queued by BEGIN IMMEDIATE): one chain each,
    seq 1..n without a gap or a fork."""
    from concurrent.futures import ThreadPoolExecutor

    from db_factories import add_policy, claim

    from claims.lifecycle.fund import record_premium

    _, factory = db
    with transaction(factory) as s:
        pv, pol = add_policy(s)
        s.add_all(claim(pv, pol, i, "100.00") for i in range(40))
        policy_id = pol.id
    with factory() as s:
        ids = list(s.scalars(select(Claim.id).order_by(Claim.id)))
    actor = Actor(id=None, role="insurer_adjudicator")

    def work(part: int) -> None:
        with transaction(factory) as s:
            advance(s, ids[part * 5:(part + 1) * 5], "computed", "start_investigation", actor)
            record_premium(s, policy_id, "premium_received", Decimal("10.00"), reference=f"part {part}")

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(work, range(8)))
    with factory() as s:
        reports = verify(s, ["claim_events", "fund_entries"])
        assert [(r.table, r.rows, r.ok) for r in reports] == [("claim_events", 40, True), ("fund_entries", 8, True)]
        assert sorted(s.scalars(select(ClaimEvent.chain_seq))) == list(range(1, 41))
