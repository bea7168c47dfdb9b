"""The actuary's page behind the scenes (issue 15, item 3): the rule on a history too short to price, the in-year
monitoring (expected to date against actual, the year-end projection, the loss ratio) with hand-computed figures,
and the budget run as an in-process background job on the demo county (refused, then a trial run with its report).
"""

from __future__ import annotations

import datetime as dt
import json
import math
from decimal import Decimal

import pandas as pd
import pytest
from db_factories import add_policy, claim
from test_jobs import _wait

from claims.engine.history_rule import HistoryTooShort, history_verdict
from claims.engine.in_year import elapsed_days, in_year_table, totals
from claims.lifecycle.budget_runs import BudgetRun, report_path
from claims.lifecycle.database import make_engine, session_factory, transaction
from claims.lifecycle.in_year import DEFAULT_EXPENSE_RATIO, in_year
from claims.lifecycle.jobs import Job
from tabular.errors import NotFoundError


def coverage(*rows: tuple[int, int, int]) -> pd.DataFrame:
    """(year, heads, months) policy-years of 12-month periods."""
    return pd.DataFrame([{"year": y, "heads": h, "months": m, "period_months": 12} for y, h, m in rows])


# ------------------------------------------------------------------------------------ the history rule
def test_a_few_months_of_a_small_county_are_refused():
    """The demo county: 400 heads, claims reported January to March 2025."""
    v = history_verdict(coverage((2025, 400, 3)))
    # 3 months < 12; person-years = 400 × 3/12 = 100 < 1,000: both reasons, in both languages
    assert (v.months, v.person_years) == (3, 100.0)
    assert "3 个月" in v.refusal and "100 人年" in v.refusal and "covers 3 months" in v.refusal
    with pytest.raises(HistoryTooShort, match="too short to price"):
        v.notes()
    trial = v.notes(allow_short=True)  # a trial run: the refusal leads its warnings
    assert trial[0].startswith("试算：") and any("2025 年只有 3/12 个月" in w for w in trial)


def test_a_whole_year_and_a_quarter_is_priced_with_warnings():
    # 2024 whole (3,000 heads) + 2025 January–March: months 12 + 3 = 15 ≥ 12;
    # person-years 3,000 × 12/12 + 3,000 × 3/12 = 3,750 ≥ 1,000 → priced; 1 complete year < 3 → warned
    v = history_verdict(coverage((2024, 3000, 12), (2025, 3000, 3)))
    assert v.refusal is None and (v.months, v.person_years, v.complete_years) == (15, 3750.0, (2024,))
    assert v.years_text == "2024–2025"
    assert any("完整保单年度只有 1 年" in w for w in v.warnings)
    assert any(w.startswith("2025 年只有 3/12 个月") for w in v.warnings)
    assert v.notes() == list(v.warnings)


def test_exposure_alone_can_refuse_and_three_whole_years_need_no_warning():
    # one whole year of 500 heads: 12 months, but 500 person-years < 1,000
    small = history_verdict(coverage((2024, 500, 12)))
    assert small.refusal is not None and "500 人年" in small.refusal and "个月（" not in small.refusal
    # three whole years of 400 heads: 36 months, 1,200 person-years, 3 complete years: nothing to say
    enough = history_verdict(coverage((2022, 400, 12), (2023, 400, 12), (2024, 400, 12)))
    assert (enough.refusal, enough.warnings, enough.person_years) == (None, (), 1200.0)


# ------------------------------------------------------------------------------------ the in-year arithmetic
def test_elapsed_days():
    # 2025-03-05: January 31 + February 28 + March 1–4 = 63 days before it, of 365
    assert elapsed_days(dt.date(2025, 1, 1), dt.date(2025, 12, 31), dt.date(2025, 3, 5)) == (63, 365)
    assert elapsed_days(dt.date(2025, 1, 1), dt.date(2025, 12, 31), dt.date(2024, 12, 1)) == (0, 365)
    assert elapsed_days(dt.date(2025, 1, 1), dt.date(2025, 12, 31), dt.date(2026, 2, 1)) == (365, 365)


def test_in_year_table_by_hand():
    expected = pd.DataFrame({"line_id": ["illness", "schooling", "odd"], "name": ["大病", "教育", "零头"],
                             "expected_annual_fen": [1_000_000, 365_000, 5]})
    actual = pd.DataFrame({"line_id": ["illness", "illness", "disaster"], "actual_fen": [200_000, 50_000, 10_000]})
    table = in_year_table(expected, actual, 73, 365).set_index("line_id")  # f = 73/365 = 0.2
    # illness: E = 1,000,000 × 0.2 = 200,000; actual 250,000; A/E 1.25; rest 800,000; projected 1,050,000
    assert table.loc["illness", ["expected_to_date_fen", "actual_fen", "remaining_fen", "projected_fen"]].tolist() \
        == [200_000, 250_000, 800_000, 1_050_000]
    assert table.loc["illness", "ae"] == pytest.approx(1.25)
    # schooling: E = 365,000 × 0.2 = 73,000; nothing yet: A/E 0, projected = the rest 292,000
    assert table.loc["schooling", ["expected_to_date_fen", "actual_fen", "projected_fen"]].tolist() == [73_000, 0,
                                                                                                      292_000]
    # odd: 5 × 0.2 = 1 fen exactly; half fen rounds up: 5 fen × 1/2 = 2.5 → 3 (ROUND_HALF_UP)
    assert table.loc["odd", "expected_to_date_fen"] == 1
    assert in_year_table(expected.iloc[2:], actual.iloc[:0], 1, 2)["expected_to_date_fen"].tolist() == [3]
    # disaster: claims nobody expected: A = 0, E = 0, A/E undefined, projected = the actual 10,000
    assert table.loc["disaster", ["expected_annual_fen", "projected_fen"]].tolist() == [0, 10_000]
    assert math.isnan(table.loc["disaster", "ae"])
    t = totals(table.reset_index(), premium_fen=1_500_000)
    # projected 1,050,000 + 292,000 + 4 (odd: 5 − 1) + 10,000 = 1,352,004; ÷ 1,500,000 = 0.901336
    assert t["projected_fen"] == 1_352_004 and t["projected_loss_ratio"] == pytest.approx(1_352_004 / 1_500_000)
    # to date 250,000 + 10,000 = 260,000 against 200,000 + 73,000 + 1 = 273,001 expected; ÷ premium = 0.173333
    assert (t["actual_fen"], t["expected_to_date_fen"]) == (260_000, 273_001)
    assert t["loss_ratio_to_date"] == pytest.approx(260_000 / 1_500_000)
    assert totals(table.reset_index(), premium_fen=0)["projected_loss_ratio"] is None


# ------------------------------------------------------------------------------------ the in-year service
def test_the_premium_budgets_the_year_without_a_run(db):
    from actuarial.budget.inputs import Assumptions

    assert DEFAULT_EXPENSE_RATIO == Assumptions().expense_ratio  # the page's fallback uses the budget's default
    _, factory = db
    with transaction(factory) as s:
        pv, pol = add_policy(s)  # 100 heads × 50.00 = premium 5,000.00
        s.add_all([claim(pv, pol, 1, "1000.00"), claim(pv, pol, 2, "250.00", state="filed"),
                   claim(pv, pol, 3, "500.00", state="rejected")])  # the refused claim is not incurred
        # a finished run of ANOTHER year (2026) does not budget 2025
        s.add(BudgetRun(policy_id=pol.id, county="130434", product_code="P", year=2026, status="done",
                        lines={"illness": {"name": "大病", "expected": 9.0, "per_head": 0.09}}))
        policy_id = pol.id
    with factory() as s:
        m = in_year(s, policy_id, dt.date(2025, 3, 15))
    # 2025-03-15: 31 + 28 + 14 = 73 days of 365 → f = 0.2
    assert (m["elapsed"], m["days"], m["source"]) == (73, 365, "premium")
    row = m["table"].iloc[0]
    # A = 5,000.00 × (1 − 0.15) = 4,250.00; E = 850.00; actual 1,000 + 250 = 1,250.00;
    # projected = 1,250.00 + (4,250.00 − 850.00) = 4,650.00; ÷ premium 5,000.00 = 93%
    assert (row["line_id"], row["expected_annual_fen"], row["expected_to_date_fen"], row["actual_fen"]) == \
        ("all", 425_000, 85_000, 125_000)
    assert m["totals"]["projected_fen"] == 465_000 and m["totals"]["projected_loss_ratio"] == pytest.approx(0.93)
    assert m["verdict"].refusal is not None  # nothing reported through the imports: 0 months


def test_the_last_run_of_the_year_budgets_it_by_line(db):
    _, factory = db
    with transaction(factory) as s:
        pv, pol = add_policy(s)
        s.add_all([claim(pv, pol, 1, "1000.00"), claim(pv, pol, 2, "250.00", state="filed"),
                   claim(pv, pol, 4, "80.00", state="reversed")])
        for per_head in (99.0, 36.5):  # the newer run counts
            s.add(BudgetRun(policy_id=pol.id, county="130434", product_code="P", year=2025, status="done",
                            lines={"illness": {"name": "大病救助", "expected": per_head * 400, "per_head": per_head}}))
        s.add(BudgetRun(policy_id=pol.id, county="130434", product_code="P", year=2025, status="refused"))
        policy_id = pol.id
    with factory() as s:
        m = in_year(s, policy_id, dt.date(2025, 3, 15))
    assert m["source"] == "run" and m["run"].lines["illness"]["per_head"] == 36.5
    row = m["table"].set_index("line_id").loc["illness"]
    # A = 36.50 per head × the policy's 100 heads = 3,650.00; E = 3,650.00 × 0.2 = 730.00; actual 1,250.00
    # (the reversed 80.00 is not incurred); A/E = 1,250/730 = 1.7123; projected = 1,250 + 2,920 = 4,170.00
    assert (row["expected_annual_fen"], row["expected_to_date_fen"], row["actual_fen"], row["projected_fen"]) == \
        (365_000, 73_000, 125_000, 417_000)
    assert row["ae"] == pytest.approx(1250 / 730) and row["name"] == "大病救助"
    # loss ratio to date 1,250/5,000 = 25%; projected 4,170/5,000 = 83.4%
    assert m["totals"]["loss_ratio_to_date"] == pytest.approx(0.25)
    assert m["totals"]["projected_loss_ratio"] == pytest.approx(0.834)


def test_a_report_file_never_leaves_its_run(tmp_path):
    (tmp_path / "run-1" / "charts").mkdir(parents=True)
    (tmp_path / "run-1" / "report.html").write_text("r", encoding="utf-8")
    (tmp_path / "run-1" / "charts" / "experience.png").write_bytes(b"png")
    (tmp_path / "secret.csv").write_text("s", encoding="utf-8")
    run = BudgetRun(id=1, report_dir="run-1")
    assert report_path(tmp_path, run, "report.html").read_text(encoding="utf-8") == "r"
    assert report_path(tmp_path, run, "charts/experience.png").read_bytes() == b"png"
    for name in ("../secret.csv", "charts/../../secret.csv", "/etc/passwd", "budget.json", "report.htm", "x.py"):
        with pytest.raises(NotFoundError):
            report_path(tmp_path, run, name)
    with pytest.raises(NotFoundError):
        report_path(tmp_path, BudgetRun(id=2, report_dir=None), "report.html")


# ------------------------------------------------------------------------------------ the budget job
def _finished(url: str, job_id: int, seconds: float = 600) -> Job:
    return _wait(url, job_id, seconds=seconds)  # a budget run takes longer than an import


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The demo county (400 people; claims reported up to 2025-03-05: two whole months) in SQLite."""
    from flask_app.demo import build_demo

    work = tmp_path_factory.mktemp("actuary")
    url = f"sqlite:///{work / 'relief.db'}"
    info = build_demo(url, work / "demo", people=400)
    return url, info, work


def _run(url: str, policy_id: int, out, trial: bool) -> tuple[Job, BudgetRun]:
    from claims.lifecycle.budget_history import start_run

    factory = session_factory(make_engine(url))
    with transaction(factory) as s:
        run = start_run(s, policy_id, 2026, output_dir=str(out), database_url=url, broker_url=None, trial=trial)
        run_id, job_id = run.id, run.job_id
    job = _finished(url, job_id)
    with factory() as s:
        run = s.get(BudgetRun, run_id)
        s.expunge(run)
    factory.kw["bind"].dispose()
    return job, run


def test_the_demo_is_refused_then_priced_as_a_trial_run(demo):
    url, info, work = demo
    job, run = _run(url, info.policy_id, work / "reports", trial=False)
    # 400 heads, the latest reported event on 2025-03-05: January and February are the whole months with data,
    # 2 < 12; 400 × 2/12 = 66.7 person-years < 1,000 → refused
    assert (job.state, run.status, run.history_months, run.person_years) == ("failed", "refused", 2, 66.7)
    assert "too short to price" in job.error and "不足以测算保费" in run.error and run.report_dir is None

    job, run = _run(url, info.policy_id, work / "reports", trial=True)
    assert (job.state, job.progress, run.status, run.trial) == ("done", 100, "done", True), job.error
    assert run.history_years == "2025" and run.premium_per_head == Decimal("50.00")
    assert run.warnings[0].startswith("试算：") and run.report_dir == f"run-{run.id}"
    folder = work / "reports" / run.report_dir
    doc = json.loads((folder / "budget.json").read_text(encoding="utf-8"))
    # the run's row carries the report's headline: budget per head to the fen, E[S]/heads, P(S > B)
    assert run.budget_per_head == Decimal(f"{doc['budget_per_head']:.2f}")
    assert run.expected_per_head == Decimal(f"{doc['predictive']['mean'] / doc['heads']:.2f}")
    # expected loss ratio = expected payout per head / current premium per head (50.00)
    against = doc["against_premium"]
    assert against["current_premium_per_head"] == 50.0
    assert against["expected_loss_ratio"] == pytest.approx(doc["predictive"]["mean"] / doc["heads"] / 50.0)
    assert against["budget_to_current"] == pytest.approx(doc["budget_per_head"] / 50.0)
    assert against["history"]["months"] == 2 and against["history"]["trial"] is True
    # the per-line expected costs (each line's exact mean at the point estimates) add up to the plug-in
    # compound's exact mean (independent lines: means add)
    assert sum(v["expected"] for v in run.lines.values()) == pytest.approx(doc["plug_in"]["exact_mean"], rel=1e-9)
    html = (folder / "report.html").read_text(encoding="utf-8")
    assert "试算，不可用于定价" in html and "2025 年只有 2/12 个月的数据" in html


def test_runs_are_scoped_to_the_users_counties(db):
    from claims.lifecycle.budget_history import list_runs, run_in_scope
    from claims.lifecycle.scope import Scope

    _, factory = db
    with transaction(factory) as s:
        _, pol = add_policy(s)  # county 130434
        run = BudgetRun(policy_id=pol.id, county="130434", product_code="P", year=2026, status="done",
                        report_dir="run-1")
        s.add(run)
        s.flush()
        run_id = run.id
    with factory() as s:
        assert [r.id for r in list_runs(s, Scope(frozenset({"130434"})))] == [run_id]
        assert run_in_scope(s, Scope(None), run_id).id == run_id  # an admin sees every county
        other = Scope(frozenset({"130435"}))
        assert list_runs(s, other) == []
        with pytest.raises(NotFoundError):  # another county's run: not found, not even its existence
            run_in_scope(s, other, run_id)


def test_a_trial_run_on_rq_with_this_machines_redis(demo):
    """The same task on the RQ queue (Redis db 15), run by the worker `relief worker` runs."""
    from test_jobs import REDIS_URL, _redis

    from claims.lifecycle.budget_history import start_run
    from claims.lifecycle.jobs import QUEUE

    connection = _redis()
    from rq import Queue, SimpleWorker

    url, info, work = demo
    queue = Queue(QUEUE, connection=connection)
    factory = session_factory(make_engine(url))
    with transaction(factory) as s:
        run = start_run(s, info.policy_id, 2026, output_dir=str(work / "rq-reports"), database_url=url,
                        broker_url=REDIS_URL, trial=True)
        run_id, job_id = run.id, run.job_id
    SimpleWorker([queue], connection=connection).work(burst=True)
    job = _finished(url, job_id, seconds=60)
    with factory() as s:
        run = s.get(BudgetRun, run_id)
        assert (job.state, job.backend, run.status) == ("done", "rq", "done"), job.error
        assert (work / "rq-reports" / run.report_dir / "report.html").is_file()
    factory.kw["bind"].dispose()


def test_a_run_whose_job_failed_is_closed_failed(db):
    from claims.lifecycle.budget_history import close_failed

    _, factory = db
    with transaction(factory) as s:
        _, pol = add_policy(s)
        dead = Job(kind="budget_run", title="t", params={}, backend="inline", state="failed", progress=40,
                   error="进程已停止 / the process stopped")
        alive = Job(kind="budget_run", title="t", params={}, backend="inline", state="running", progress=40)
        s.add_all([dead, alive])
        s.flush()
        s.add_all([BudgetRun(policy_id=pol.id, county="130434", product_code="P", year=2026, job_id=dead.id),
                   BudgetRun(policy_id=pol.id, county="130434", product_code="P", year=2026, job_id=alive.id)])
    with transaction(factory) as s:
        assert close_failed(s) == 1
    with factory() as s:
        runs = {r.job_id: r for r in s.query(BudgetRun)}
        assert (runs[dead.id].status, runs[dead.id].error) == ("failed", "进程已停止 / the process stopped")
        assert runs[alive.id].status == "queued"


def test_a_file_history_counts_whole_years():
    from actuarial.budget_service import file_verdict

    claims = pd.DataFrame({"year": [2024, 2024, 2025], "county": "130434", "peril": "illness", "paid": 1.0,
                           "ground_up": 1.0})
    exposure = pd.DataFrame({"year": [2024, 2025], "county": "130434", "heads": [600, 600]})
    # for 2026: 2024 and 2025, 12 months each = 24; 600 + 600 = 1,200 person-years → priced, 2 whole years warned
    v = file_verdict(claims, exposure, 2026, None)
    assert (v.refusal, v.months, v.person_years, v.complete_years) == (None, 24, 1200.0, (2024, 2025))
    # for 2025: only 2024, 600 person-years < 1,000 → refused; with --heads 2,000 instead of the exposure: priced
    assert "600 人年" in file_verdict(claims, exposure, 2025, None).refusal
    assert file_verdict(claims, None, 2025, 2000).refusal is None
