"""Issue 15, acceptance 2: the county's monthly (and quarterly) report upward — payout list, statistics, fund
position — opens as Excel and PDF and its totals equal the payout batches and the fund ledger, to the fen.

Seeds (../shared/seeds/): 001 keeps "月台账" and sends "季报"; 002 asks for "每月统计上报"; 003 has the county office
"上报市扶贫办备案", and its departments report monthly: "人社、教育、民政、医保每月向区扶贫办报送" (the
department × month board).

The expected sums are read from the raw tables with SQL, not from the report code.  On SQLite the ``Money``
columns hold integer fen (claims.lifecycle.store.Money), so ``SUM(amount)`` there is already in fen.
"""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from openpyxl import load_workbook
from sqlalchemy import text

from claims.lifecycle.database import make_engine, session_factory
from claims.lifecycle.upward_report import (
    ReportPeriodError,
    claim_month,
    ledger_month,
    report_period,
    statistics,
    totals,
)
from flask_app.demo import DEMO_PASSWORD, build_demo
from flask_app.pdf import cjk_font


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    from flask_app import create_app

    work = tmp_path_factory.mktemp("upward")
    url = f"sqlite:///{work / 'relief.db'}"
    info = build_demo(url, work / "demo", people=400)
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "t", "TESTING": True, "WTF_CSRF_ENABLED": False,
                      "RELIEF_TODAY": "2025-03-05"})
    engine = make_engine(url)
    yield app, info, session_factory(engine)
    engine.dispose()
    app.extensions["relief_engine"].dispose()


def login(app, username: str):
    client = app.test_client()
    r = client.post("/login", data={"username": username, "password": DEMO_PASSWORD})
    assert r.status_code == 302, username
    return client


def sql_fen(factory, sql: str, **params) -> int:
    with factory() as s:
        return int(s.execute(text(sql), params).scalar() or 0)


PAID_IN = ("SELECT SUM(pl.amount) FROM payout_lines pl JOIN payout_batches pb ON pb.id = pl.batch_id "
           "WHERE pl.status = 'paid' AND pb.policy_id = :p AND pb.period BETWEEN :a AND :b")
FUND_KIND = "SELECT SUM(amount) FROM fund_entries WHERE policy_id = :p AND kind = :k"


def fen_of(cell) -> int:
    """An Excel amount cell (yuan, two places) → fen."""
    return round(cell * 100)


def sheet_rows(data: bytes, name: str) -> list[tuple]:
    return list(load_workbook(io.BytesIO(data))[name].iter_rows(values_only=True))


@pytest.mark.parametrize("period,months", [("2025-02", ("2025-02", "2025-02")), ("2025-Q1", ("2025-01", "2025-03"))])
def test_the_demo_report_totals_equal_the_payout_batches_and_the_fund_ledger(demo, period, months):
    app, info, factory = demo
    p = info.policy_id
    paid = sql_fen(factory, PAID_IN, p=p, a=months[0], b=months[1])
    premium = sql_fen(factory, FUND_KIND, p=p, k="premium_received")
    claim_paid = sql_fen(factory, FUND_KIND, p=p, k="claim_paid")  # negative: money out of the fund
    assert paid > 0 and premium > 0  # January's claims were paid in the batch of 2025-02 (flask_app.demo)
    assert claim_paid == -paid  # one bank return, all lines paid: the ledger holds the batch's total
    client = login(app, "county1")

    data = client.get(f"/reports/{p}/{period}.xlsx")
    assert data.status_code == 200 and data.mimetype.endswith("spreadsheetml.sheet")
    payout = sheet_rows(data.data, "支付名单")
    assert payout[0][0] == "乡镇" and payout[-1][0] == "合计"
    lines = payout[1:-1]
    n_paid = sql_fen(factory, PAID_IN.replace("SUM(pl.amount)", "COUNT(*)"), p=p, a=months[0], b=months[1])
    assert len(lines) == n_paid
    assert sum(fen_of(r[-1]) for r in lines) == paid and fen_of(payout[-1][-1]) == paid
    stats = sheet_rows(data.data, "统计")
    assert stats[-1][0] == "合计"
    # 理赔件数: every claim but the rejected and reversed ones; 本期支付 = the period's paid lines
    n_claims = sql_fen(factory, "SELECT COUNT(*) FROM claims WHERE policy_id = :p AND state NOT IN "
                                "('rejected', 'reversed')", p=p)
    amount = sql_fen(factory, "SELECT SUM(amount) FROM claims WHERE policy_id = :p AND state NOT IN "
                              "('rejected', 'reversed')", p=p)
    assert stats[-1][4] == n_claims and fen_of(stats[-1][5]) == amount and fen_of(stats[-1][6]) == paid
    assert sum(r[4] for r in stats[1:-1]) == n_claims
    fund = {r[0]: (fen_of(r[1]), fen_of(r[2])) for r in sheet_rows(data.data, "基金情况")[1:]}
    # premium received 2025-01-10 (in both periods' to-date); the claims paid: the 2025-02 batch's return
    assert fund["保费收入"][1] == premium and fund["赔款支付"] == (paid, paid)
    # balance = premium − claims paid (no reversal, recovery, settlement or carry-over in the demo's first months)
    assert fund["基金余额"][1] == premium - paid == premium + claim_paid

    page = client.get(f"/reports?policy={p}&period={period}").get_data(as_text=True)
    total = re.search(r'class="payout-total">([\d,.]+)<', page).group(1)
    assert round(float(total.replace(",", "")) * 100) == paid
    assert ('本季度季报 2025-Q1' in page) == (period == "2025-02")  # a month links to its quarter's report

    pdf = client.get(f"/reports/{p}/{period}.pdf")
    if cjk_font() is None:
        assert pdf.status_code == 503 and "中文字体" in pdf.get_data(as_text=True)
        pytest.skip("no CJK font on this machine: the PDF answers 503 with the reason (checked)")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")


def test_a_month_without_payments_lists_none_and_keeps_the_premium(demo):
    app, info, factory = demo
    data = login(app, "county1").get(f"/reports/{info.policy_id}/2025-01.xlsx").data
    payout = sheet_rows(data, "支付名单")
    assert len(payout) == 2 and payout[-1][-1] == 0  # header and 合计 only: the batch is 2025-02's
    fund = {r[0]: (fen_of(r[1]), fen_of(r[2])) for r in sheet_rows(data, "基金情况")[1:]}
    premium = sql_fen(factory, FUND_KIND, p=info.policy_id, k="premium_received")
    assert fund["保费收入"] == (premium, premium) and fund["基金余额"] == (premium, premium)


def test_who_opens_the_report_and_the_other_county(demo):
    app, info, _ = demo
    p = info.policy_id
    for username in ("county1", "sup1", "admin"):
        assert login(app, username).get(f"/reports/{p}/2025-02.xlsx").status_code == 200, username
    for username in ("ins1", "clerk1", "town1", "act1"):
        assert login(app, username).get(f"/reports/{p}/2025-02.xlsx").status_code == 403, username
    county = login(app, "county1")
    assert county.get(f"/reports/{p + 99}/2025-02.xlsx").status_code == 404  # no such policy: not shown
    assert county.get(f"/reports/{p}/2025-13.xlsx").status_code == 404  # not a month
    assert "上报" in county.get("/").get_data(as_text=True)  # in the county's navigation


def test_report_periods_months_and_quarters():
    assert report_period("2025-02").months == ("2025-02",)
    assert report_period("2025-Q4").months == ("2025-10", "2025-11", "2025-12") and report_period("2025-Q4").quarterly
    for bad in ("2025-2", "2025-Q5", "2025", "=1+1", ""):
        with pytest.raises(ReportPeriodError):
            report_period(bad)


def test_a_payment_counts_in_its_batch_month_not_the_day_the_return_was_typed():
    at = dt.datetime(2026, 12, 2, 9, 30)
    assert ledger_month(at, "batch:7", {7: "2025-02"}) == "2025-02"
    assert ledger_month(at, "county-treasury", {7: "2025-02"}) == "2026-12"
    assert ledger_month(at, "batch:8", {7: "2025-02"}) == "2026-12"  # unknown batch: its date


def test_statistics_by_hand():
    claims = [
        {"claim_id": 1, "township": "T1", "village": "V1", "line": "illness", "category": "A", "month": "2025-01",
         "amount_fen": 100_00},
        {"claim_id": 2, "township": "T1", "village": "V1", "line": "illness", "category": "A", "month": "2025-02",
         "amount_fen": 250_50},
        {"claim_id": 3, "township": "T2", "village": "V9", "line": "schooling", "category": "B", "month": "2025-02",
         "amount_fen": 30_01},
    ]
    paid = [{**claims[0], "month": "2025-02"}, {**claims[2], "month": "2025-03"}]
    rows = statistics(claims, paid, ("township",), ("2025-02",))
    # T1: 2 claims, 100.00 + 250.50 = 350.50; claim 1 paid 100.00 in 2025-02 (the period)
    # T2: 1 claim, 30.01; paid 30.01 in 2025-03 (to date, not in the period)
    assert rows == [{"township": "T1", "claims": 2, "amount_fen": 350_50, "paid_in_period_fen": 100_00,
                     "paid_to_date_fen": 100_00},
                    {"township": "T2", "claims": 1, "amount_fen": 30_01, "paid_in_period_fen": 0,
                     "paid_to_date_fen": 30_01}]
    by_month = {r["month"]: r for r in statistics(claims, paid, ("month",))}
    # 2025-02: claims 2 and 3 computed (250.50 + 30.01 = 280.51), claim 1 paid (100.00)
    assert by_month["2025-02"]["claims"] == 2 and by_month["2025-02"]["amount_fen"] == 280_51
    assert by_month["2025-02"]["paid_to_date_fen"] == 100_00 and by_month["2025-03"]["claims"] == 0
    assert totals(rows) == {"claims": 3, "amount_fen": 380_51, "paid_in_period_fen": 100_00,
                            "paid_to_date_fen": 130_01}


def test_the_county_reads_payout_batches_with_accounts_masked_but_not_the_bank_file(demo):
    app, info, factory = demo
    county = login(app, "county1")
    assert "支付" in county.get("/").get_data(as_text=True)  # 支付 now in the county's navigation
    batch = re.search(r'href="/payouts/(\d+)"', county.get("/payouts").get_data(as_text=True)).group(1)
    with factory() as s:
        accounts = [a for (a,) in s.execute(text("SELECT account FROM payout_lines WHERE batch_id = :b ORDER BY id"), {"b": batch})]
        total = int(s.execute(text("SELECT total FROM payout_batches WHERE id = :b"), {"b": batch}).scalar())
    page = county.get(f"/payouts/{batch}").get_data(as_text=True)
    assert accounts and all(a not in page for a in accounts)  # no full account on the county's page
    assert all(("*" * (len(a) - 4) + a[-4:]) in page for a in accounts)  # the last 4 digits, masked
    assert "bank.csv" not in page and "导入回盘" not in page
    assert county.get(f"/payouts/{batch}/bank.csv").status_code == 403
    rows = sheet_rows(county.get(f"/payouts/{batch}/list.xlsx").data, f"支付批次{batch}")
    assert rows[0][5] == "账号(脱敏)" and all(r[5].endswith(a[-4:]) and "*" in r[5] for r, a in zip(rows[1:-1], accounts))
    assert fen_of(rows[-1][6]) == total == sum(fen_of(r[6]) for r in rows[1:-1])  # SQLite Money: fen
    # the payer still sees the full account
    assert all(a in login(app, "ins1").get(f"/payouts/{batch}").get_data(as_text=True) for a in accounts)


def board_cells(page: str, department: str) -> dict[str, str]:
    row = re.search(rf'<tr data-department="{department}">(.*?)</tr>', page, re.S).group(1)
    return dict((m, state) for state, m in re.findall(r'<td class="(\w+)" data-month="([\d-]+)"', row))


def test_the_department_board_and_a_county_import(demo):
    """Seed 003: "人社、教育、民政、医保每月向区扶贫办报送".  The demo product's lines read 医保 (illness),
    教育 (schooling, school entry) and 应急管理 (disaster); the demo imported only 医保 for 2025-01..03.  On
    2025-03-05, January and February are over: 教育 and 应急管理 are late for both; March is still open."""
    app, info, _ = demo
    county = login(app, "county1")
    page = county.get(f"/reports?policy={info.policy_id}").get_data(as_text=True)
    medical, education = board_cells(page, "medical"), board_cells(page, "education")
    assert [medical[f"2025-{m:02d}"] for m in (1, 2, 3, 4)] == ["received", "received", "received", "open"]
    assert [education[f"2025-{m:02d}"] for m in (1, 2, 3)] == ["late", "late", "open"]
    assert board_cells(page, "disaster")["2025-02"] == "late"
    assert "逾期 4 个月次" in page  # 教育 ×2 + 应急管理 ×2
    # the county office imports a department file itself (seed 003: the departments report to it)
    path = info.county_dir / "medical" / "2025-04.csv"
    with path.open("rb") as fh:
        r = county.post("/imports", data={"department": "medical", "policy_id": str(info.policy_id),
                                          "period": "2025-04", "file": (fh, "medical-2025-04.csv")},
                        content_type="multipart/form-data")
    assert r.status_code == 302 and re.search(r"/imports/\d+$", r.headers["Location"]), r.headers.get("Location")
    page = county.get(f"/reports?policy={info.policy_id}").get_data(as_text=True)
    assert board_cells(page, "medical")["2025-04"] == "received"


@pytest.mark.parametrize("by", ["township", "village", "line", "category", "month"])
def test_statistics_page_and_excel_add_up_to_the_tables(demo, by):
    """Seed 002: "每月统计上报" — the county's statistics by township / village / line / category / month."""
    app, info, factory = demo
    p = info.policy_id
    county = login(app, "county1")
    page = county.get(f"/statistics?policy={p}&by={by}").get_data(as_text=True)
    assert "<svg" in page and "<rect" in page
    where = "policy_id = :p AND state NOT IN ('rejected', 'reversed')"
    n_claims = sql_fen(factory, f"SELECT COUNT(*) FROM claims WHERE {where}", p=p)
    amount = sql_fen(factory, f"SELECT SUM(amount) FROM claims WHERE {where}", p=p)
    paid = sql_fen(factory, PAID_IN, p=p, a="1900-01", b="2099-12")
    rows = sheet_rows(county.get(f"/statistics.xlsx?policy={p}&by={by}").data, "统计")
    assert rows[-1][0] == "合计" and rows[-1][1] == n_claims == sum(r[1] for r in rows[1:-1])
    assert fen_of(rows[-1][2]) == amount and fen_of(rows[-1][4]) == paid
    if by == "month":  # every payment of the demo is in the batch of 2025-02
        assert {r[0]: fen_of(r[4]) for r in rows[1:-1]}.get("2025-02") == paid
    assert login(app, "clerk1").get(f"/statistics?policy={p}").status_code == 403


def test_the_county_co_signs_a_payout_batch_once(demo):
    """The county office's co-sign (会签) of a batch before the bank pays: exported → cosigned, recorded once."""
    from claims.lifecycle.database import transaction
    from claims.lifecycle.notices import close_due
    from claims.lifecycle.payouts import build_batch
    from claims.lifecycle.transitions import Actor

    app, info, factory = demo
    with transaction(factory) as s:  # February's notices end (posted 2025-03-01): a batch for 2025-03
        close_due(s, today=dt.date(2025, 3, 20))
        batch = build_batch(s, info.policy_id, "2025-03", Actor(None, "insurer_supervisor")).id
        # this county co-signs before payment (policies.county_cosign, migration 0018)
        s.execute(text("UPDATE policies SET county_cosign = :t WHERE id = :p"), {"t": True, "p": info.policy_id})
    insurer = login(app, "ins1")
    assert insurer.post(f"/payouts/{batch}/cosign").status_code == 403  # the insurer does not co-sign
    refused = insurer.get(f"/payouts/{batch}/bank.csv")  # no bank file before the co-sign (NotAllowedError: 422)
    assert refused.status_code == 422 and "会签" in refused.get_data(as_text=True)
    back = io.BytesIO("理赔编号,状态,原因\n".encode())
    page = insurer.post(f"/payouts/{batch}/return", data={"file": (back, "return.csv")},
                        content_type="multipart/form-data", follow_redirects=True).get_data(as_text=True)
    assert "须经县扶贫办会签后方可支付" in page  # the Chinese half: pages default to Chinese
    county = login(app, "county1")
    page = county.get(f"/payouts/{batch}").get_data(as_text=True)
    assert "未会签" in page and "会签本批次" in page
    r = county.post(f"/payouts/{batch}/cosign", data={"note": "=核对无误"})
    assert r.status_code == 302
    page = county.get(f"/payouts/{batch}").get_data(as_text=True)
    assert "县已会签" in page and "会签本批次" not in page and "=核对无误" in page
    with factory() as s:
        rows = s.execute(text("SELECT b.state, o.role, o.action FROM payout_batches b JOIN payout_batch_signoffs o "
                              "ON o.batch_id = b.id WHERE b.id = :b"), {"b": batch}).all()
    assert rows == [("cosigned", "county_reviewer", "county_cosign")]
    page = county.post(f"/payouts/{batch}/cosign", follow_redirects=True).get_data(as_text=True)
    assert "当前状态（县已会签）不能" in page  # once only
    assert insurer.get(f"/payouts/{batch}/bank.csv").status_code == 200  # co-signed: the bank file goes out
    with transaction(factory) as s:
        s.execute(text("UPDATE policies SET county_cosign = :t WHERE id = :p"), {"t": False, "p": info.policy_id})


def test_the_excel_report_keeps_text_cells_formula_safe_and_amounts_numeric():
    """OWASP CSV injection (tabular.safe_cells): a name starting with '=' is written as text behind an apostrophe."""
    from claims.lifecycle.upward_export import report_xlsx
    from claims.lifecycle.upward_report import UpwardReport

    line = {"township_name": "+乡", "village_name": "@村", "claim_id": 7, "payee_name": '=HYPERLINK("http://x","y")',
            "payee_id_masked": "130434********5036", "line_name": "-因病", "month": "2025-02", "batch_id": 1,
            "amount_fen": 1_368_71}
    fund = dict.fromkeys(("premium_received", "claims_paid", "reversals", "recoveries", "settlements",
                          "carry_over", "balance"), 0)
    report = UpwardReport(1, "130434", "=产品", 2025, report_period("2025-02"), [line], [], fund, fund)
    ws = load_workbook(io.BytesIO(report_xlsx(report)))["支付名单"]
    assert ws["D2"].value == '\'=HYPERLINK("http://x","y")' and ws["D2"].data_type == "s"
    assert ws["A2"].value == "'+乡" and ws["B2"].value == "'@村" and ws["F2"].value == "'-因病"
    assert ws["I2"].value == 1368.71 and ws["I2"].data_type == "n"  # 136871 fen = 1,368.71 yuan, a number
    assert ws["I3"].value == 1368.71  # 合计


def test_a_claim_counts_in_the_month_of_the_report_that_brought_it(demo):
    app, info, factory = demo
    times = [dt.datetime(2026, 12, 2, 10), dt.datetime(2026, 12, 2, 11)]
    assert claim_month(dt.datetime(2026, 12, 2, 10, 30), times, ["2025-01", "2025-02"]) == "2025-01"
    assert claim_month(dt.datetime(2026, 12, 2, 11, 0), times, ["2025-01", "2025-02"]) == "2025-02"
    assert claim_month(dt.datetime(2026, 12, 2, 9), times, ["2025-01", "2025-02"]) == "2026-12"  # before any file
    # on the demo: the claims computed after January's medical file and before February's are January's
    sql = ("SELECT COUNT(*) FROM claims c WHERE c.policy_id = :p AND c.state NOT IN ('rejected', 'reversed') AND "
           "c.created_at >= (SELECT imported_at FROM import_batches WHERE policy_id = :p AND period = '2025-01') AND "
           "c.created_at < (SELECT imported_at FROM import_batches WHERE policy_id = :p AND period = '2025-02')")
    january = sql_fen(factory, sql, p=info.policy_id)
    rows = sheet_rows(login(app, "county1").get(f"/statistics.xlsx?policy={info.policy_id}&by=month").data, "统计")
    assert january > 0 and {r[0]: r[1] for r in rows[1:-1]}["2025-01"] == january


def test_relief_setup_county_cosign_sets_the_policy(tmp_path):
    from click.testing import CliRunner

    from claims.synth import synth_county
    from flask_app.cli import relief

    county = tmp_path / "county"
    synth_county(county, 50, seed=3)
    url = f"sqlite:///{tmp_path / 'relief.db'}"
    runner = CliRunner()
    assert runner.invoke(relief, ["db", "upgrade", "--database", url]).exit_code == 0
    r = runner.invoke(relief, ["setup", "--product", "fangpinbao-weixian-2025", "--framed-heads", "50", "--persons",
                               str(county / "persons.csv"), "--households", str(county / "households.csv"),
                               "--county-cosign", "--database", url])
    assert r.exit_code == 0, r.output
    engine = make_engine(url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT county_cosign FROM policies")).scalar() in (1, True)
    engine.dispose()
