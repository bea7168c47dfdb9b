"""Medical refunds and reversals (退费/冲销) net against the person's base, in each of the three ways
departments write them; a refund after payment leaves the claim overpaid.

Seed (魏县 work plan, ../shared/seeds/001_d248a509f1250166.txt): "因病自付医疗费用超过0.5万元为预警线" — the illness line
counts self-paid cost above 5,000.00 (魏县 catalog brackets: 50 % to 10,000, 60 % to 20,000, 70 % above).
"""

from __future__ import annotations

import json

import factories as f
import numpy as np
import pandas as pd
from click.testing import CliRunner

from claims.engine.lines import bracket_units
from flask_app.cli import relief
from products import load_product

FPB = load_product("fangpinbao-weixian-2025")
HEAD = "结算ID,身份证号,结算日期,医疗费总额,统筹基金支出,大病保险,医疗救助,其他支出,全自费金额,超限价自费"
# person 1, January: 20,000.00 − 统筹 8,000.00 − 大病 2,000.00 − 救助 1,000.00 = self-paid 9,000.00
S1 = f"S1,{f.pid(1)},2025-01-15,20000.00,8000.00,2000.00,1000.00,0,0,0"
# person 1, March: 12,345.67 − 统筹 5,000.00 = self-paid 7,345.67; with S1: 16,345.67
S2 = f"S2,{f.pid(1)},2025-03-02,12345.67,5000.00,0,0,0,0,0"
# both: 5,000 × 50 % + 6,345.67 × 60 % = 2,500.00 + 3,807.40 = 6,307.40;
# S1 alone: (9,000.00 − 5,000.00) × 50 % = 2,000.00


def write_county(tmp_path):
    (tmp_path / "persons.csv").write_text(
        f"身份证号,姓名,户编号,与户主关系\n{f.pid(1)},张三,H1,户主\n{f.pid(3)},李四,H2,户主\n", encoding="utf-8-sig")
    (tmp_path / "households.csv").write_text(
        "户编号,村代码,自然村,户类别,家庭人均纯收入,家庭人口数\n"
        "H1,130434100200,张庄,边缘易致贫户,5000.00,1\nH2,130434100200,张庄,边缘易致贫户,5000.00,1\n",
        encoding="utf-8-sig")


def calc(tmp_path, files: dict[str, str], paid: str | None = None):
    folder = tmp_path / "medical"
    folder.mkdir(exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    args = ["calc", "--product", "fangpinbao-weixian-2025", "--persons", str(tmp_path / "persons.csv"),
            "--households", str(tmp_path / "households.csv"), "--report", f"medical={folder}", "--out", str(out),
            "--quiet", "--traces", "kept"]  # the overpaid claim's trace is read below (kept: due or overpaid)
    if paid is not None:
        (tmp_path / "paid.csv").write_text(f"unit_id,line_id,paid\n{f.pid(1)},illness,{paid}\n", encoding="utf-8")
        args += ["--paid", str(tmp_path / "paid.csv")]
    result = CliRunner().invoke(relief, args)
    assert result.exit_code == 0, result.output
    claims = pd.read_csv(out / "claims.csv", dtype=str, encoding="utf-8-sig", keep_default_na=False)
    exceptions = pd.read_csv(out / "exceptions.csv", dtype=str, encoding="utf-8-sig", keep_default_na=False)
    return claims.set_index("unit_id"), exceptions, json.loads((out / "summary.json").read_text(encoding="utf-8"))


#: the reversal of S2 as each department may write it
REFUNDS = {
    "negative amounts": {"2025-04.csv": f"{HEAD}\nS2,{f.pid(1)},2025-04-10,-12345.67,-5000.00,0,0,0,0,0\n"},
    "accounting negatives": {"2025-04.csv": f'{HEAD}\nS2,{f.pid(1)},2025-04-10,"(12,345.67)","(5,000.00)",0,0,0,0,0\n'},
    "refund flag": {"2025-04.csv": f"{HEAD},退费标志\nS2,{f.pid(1)},2025-04-10,12345.67,5000.00,0,0,0,0,0,是\n"},
    "reference to the original": {
        "2025-04.csv": f"{HEAD},原结算ID\nR9,{f.pid(1)},2025-04-10,12345.67,5000.00,0,0,0,0,0,S2\n"},
}


def test_a_refund_nets_in_each_spelling(tmp_path):
    write_county(tmp_path)
    before, _, _ = calc(tmp_path, {"2025-01.csv": f"{HEAD}\n{S1}\n", "2025-03.csv": f"{HEAD}\n{S2}\n"})
    assert (before.loc[f.pid(1), "base"], before.loc[f.pid(1), "entitlement"]) == ("16345.67", "6307.40")
    for spelling, files in REFUNDS.items():
        claims, ex, _ = calc(tmp_path, files)  # the folder keeps January and March: April is added
        # 16,345.67 − 7,345.67 = 9,000.00 → 2,000.00; the refund is neither a re-send nor a correction
        row = claims.loc[f.pid(1)]
        assert (row["base"], row["entitlement"], row["due"]) == ("9000.00", "2000.00", "2000.00"), spelling
        assert ex.empty, (spelling, ex.to_dict("records"))
        (tmp_path / "medical" / "2025-04.csv").unlink()


def test_a_refund_after_payment_is_listed_overpaid(tmp_path):
    write_county(tmp_path)
    files = {"2025-01.csv": f"{HEAD}\n{S1}\n", "2025-03.csv": f"{HEAD}\n{S2}\n", **REFUNDS["negative amounts"]}
    # 6,307.40 was paid on both settlements; the refund leaves an entitlement of 2,000.00:
    # overpaid 6,307.40 − 2,000.00 = 4,307.40, nothing due
    claims, _, summary = calc(tmp_path, files, paid="6307.40")
    row = claims.loc[f.pid(1)]
    assert (row["entitlement"], row["paid_before"], row["due"], row["overpaid"]) == (
        "2000.00", "6307.40", "0.00", "4307.40")
    assert "多付 4307.40，需冲正" in row["trace"]
    assert (summary["claims_overpaid"], summary["total_overpaid"]) == (1, 430_740)


def test_a_full_reversal_after_payment_keeps_the_unit_listed(tmp_path):
    write_county(tmp_path)
    reversal = f"S1,{f.pid(1)},2025-02-01,-20000.00,-8000.00,-2000.00,-1000.00,0,0,0"
    # S1 paid 2,000.00, then reversed whole: base 9,000.00 − 9,000.00 = 0, overpaid 2,000.00
    claims, _, summary = calc(tmp_path, {"2025-01.csv": f"{HEAD}\n{S1}\n", "2025-02.csv": f"{HEAD}\n{reversal}\n"},
                              paid="2000.00")
    row = claims.loc[f.pid(1)]
    assert (row["base"], row["entitlement"], row["due"], row["overpaid"]) == ("0.00", "0.00", "0.00", "2000.00")
    assert summary["total_overpaid"] == 200_000


def test_a_refund_naming_another_persons_settlement_is_refused(tmp_path):
    write_county(tmp_path)
    wrong = f"{HEAD},原结算ID\nR9,{f.pid(3)},2025-04-10,12345.67,5000.00,0,0,0,0,0,S2\n"
    claims, ex, _ = calc(tmp_path, {"2025-03.csv": f"{HEAD}\n{S2}\n", "2025-04.csv": wrong})
    # the refund is not used: person 1 keeps 7,345.67 → (7,345.67 − 5,000.00) × 50 % = 1,172.835 → 1,172.84
    assert claims.loc[f.pid(1), "entitlement"] == "1172.84" and f.pid(3) not in claims.index
    assert ex[["file", "line", "reason", "severity"]].values.tolist() == [
        ["medical/2025-04.csv", "2", "refund_person_mismatch", "error"]]


def test_a_row_mixing_negative_and_positive_amounts_is_refused(tmp_path):
    write_county(tmp_path)
    mixed = f"S5,{f.pid(1)},2025-04-10,-1000.00,500.00,0,0,0,0,0"
    claims, ex, _ = calc(tmp_path, {"2025-01.csv": f"{HEAD}\n{S1}\n{mixed}\n"})
    assert claims.loc[f.pid(1), "entitlement"] == "2000.00"
    assert ex[["line", "reason", "severity"]].values.tolist() == [["3", "refund_mixed_signs", "error"]]


def test_the_standing_crossing_orders_a_unit_after_a_refund():
    # one person: January 6,000 (over the 5,000 line), February −2,000 (back to 4,000), April +3,000
    # (7,000): the crossing that stands is April's; base 7,000.00 → (7,000 − 5,000) × 50 % = 1,000.00
    line = FPB.line("illness")
    events = pd.DataFrame({
        "unit_id": [f.pid(1)] * 3, "household_no": ["H1"] * 3,
        "event_date": pd.to_datetime(["2025-01-10", "2025-02-10", "2025-04-10"]),
        "amount": np.array([600_000, -200_000, 300_000], dtype=np.int64),
        "source_file": ["a.csv"] * 3, "source_line": np.array([2, 3, 4], dtype=np.int64)})
    unit = bracket_units(line, events).loc[f.pid(1)]
    assert (unit["base"], unit["entitlement"]) == (700_000, 100_000)
    assert unit["order_date"] == pd.Timestamp("2025-04-10")
    # refunded below the line for good: no crossing (order date = last event), nothing to pay
    events.loc[2, "amount"] = 50_000  # 6,000 − 2,000 + 500 = 4,500 ≤ 5,000
    unit = bracket_units(line, events).loc[f.pid(1)]
    assert (unit["base"], unit["entitlement"], unit["order_date"]) == (450_000, 0, pd.Timestamp("2025-04-10"))
    # a refund larger than the costs: the base is 0, never negative
    events["amount"] = np.array([100_000, -300_000, 50_000], dtype=np.int64)
    assert bracket_units(line, events).loc[f.pid(1), "base"] == 0
