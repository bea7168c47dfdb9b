"""Money rules that surviving mutants showed no test checked (docs/mutation.md lists each mutant and the
test that now kills it).  Expected amounts by hand, in fen unless said otherwise."""

from __future__ import annotations

from decimal import Decimal

import factories as f
import numpy as np
import pandas as pd
from openpyxl import load_workbook
from sqlalchemy import select
from test_notices import seed

from claims import compute_claims
from claims.engine.caps import allocate_codes, sort_order
from claims.lifecycle.database import transaction
from claims.lifecycle.models import ClaimEvent
from claims.lifecycle.payouts import build_batch, export_bank_file, reverse_claim
from products import load_product

ZNB = load_product("zhunongbao-fengxian-2025")


def test_disability_is_paid_at_the_highest_grade_reported():
    # 凤县助农保 disability: sum insured 50,000 × grade rate (grade 1 = 100%, grade 3 = 80%).  Person 21 is
    # reported at grade 3 in June and grade 1 in August: one payment at the highest grade, 50,000 × 100%
    # = 50,000 (at the lowest it would be 50,000 × 80% = 40,000).
    persons, households = f.roster([{"household_no": "A2"}], [{"n": 21, "household_no": "A2"}])
    acc = f.accident([(21, "2025-06-01", "disability", 3, 0), (21, "2025-08-01", "disability", 1, 0)])
    claims = compute_claims(ZNB, persons, households, {"accident": acc})
    row = claims[claims["line_id"] == "disability"].set_index("unit_id").loc[f.pid(21)]
    assert (row["entitlement"], row["due"]) == (5_000_000, 5_000_000)


def test_a_reversal_records_its_reason_code(db):
    _, factory = db
    sd = seed(factory, ("100.00",), state="paid")
    with transaction(factory) as s:
        reverse_claim(s, sd.claim_ids[0], sd.supervisor, "wrong_person", "错误发放")
    with factory() as s:
        event = s.scalars(select(ClaimEvent).where(ClaimEvent.action == "reverse")).one()
        assert (event.reason_code, event.note, event.to_state) == ("wrong_person", "错误发放", "reversed")


def test_the_xlsx_bank_file_names_the_batch_and_the_claim(db, tmp_path):
    _, factory = db
    sd = seed(factory, ("1200.50", "800.00"), state="payable")
    with transaction(factory) as s:
        batch_id = build_batch(s, sd.policy_id, "2025-03", sd.insurer).id
    with factory() as s:
        export_bank_file(s, batch_id, tmp_path / "bank.xlsx")
    rows = [[c.value for c in r] for r in load_workbook(tmp_path / "bank.xlsx").active.iter_rows()]
    # columns 序号 户主姓名 身份证号(脱敏) 账号 金额 批次 理赔编号: the batch column is the batch, the last the claim
    assert [(r[4], r[5], r[6]) for r in rows[1:]] == [(Decimal("1200.50"), batch_id, sd.claim_ids[0]),
                                                      (Decimal("800.00"), batch_id, sd.claim_ids[1])]


def test_disabilities_share_the_household_victims_cap_first_come_by_date():
    # three grade-1 disabilities in one household: 3 × 50,000 = 150,000 > the three-victim cap 120,000.
    # First come by accident date: person 15 (March) 50,000, person 13 (April) 50,000, person 11 (May)
    # the remaining 120,000 − 100,000 = 20,000 (by ID order it would be person 15 cut instead).
    persons, households = f.roster([{"household_no": "A1"}],
                                   [{"n": n, "household_no": "A1"} for n in (11, 13, 15)])
    acc = f.accident([(11, "2025-05-01", "disability", 1, 0), (13, "2025-04-01", "disability", 1, 0),
                      (15, "2025-03-01", "disability", 1, 0)])
    claims = compute_claims(ZNB, persons, households, {"accident": acc})
    due = claims[claims["line_id"] == "disability"].set_index("unit_id")["due"].to_dict()
    assert due == {f.pid(11): 2_000_000, f.pid(13): 5_000_000, f.pid(15): 5_000_000}


def test_a_cover_without_a_victims_table_caps_per_person_only():
    # the 团体人身意外 cover with its per-person cap only (50,000): one death of 50,000 and one grade-3
    # disability of 50,000 × 80% = 40,000 in one household are paid whole (no household table to apply);
    # a second grade-1 disability of the dead person himself would exceed his 50,000 and is cut to 0
    import copy

    doc = copy.deepcopy(ZNB.document)
    doc["covers"][0]["caps"] = {"per_person_year": 50000}
    product = load_product(doc)
    persons, households = f.roster([{"household_no": "A1"}],
                                   [{"n": n, "household_no": "A1"} for n in (11, 13)])
    acc = f.accident([(11, "2025-03-01", "death", None, 0), (13, "2025-04-01", "disability", 3, 0),
                      (11, "2025-05-01", "disability", 1, 0)])
    claims = compute_claims(product, persons, households, {"accident": acc})
    due = claims.set_index(["line_id", "unit_id"])["due"].to_dict()
    assert due == {("death", f.pid(11)): 5_000_000, ("disability", f.pid(13)): 4_000_000,
                   ("disability", f.pid(11)): 0}


def test_the_payout_audit_trail_names_batch_maker_and_bank_reason(db, tmp_path):
    """Each claim event of a payout says which batch moved it and why; the batch records who built it;
    another policy's batch for the same period does not block this one."""
    import pandas as pd
    from db_factories import add_policy

    from claims.lifecycle.models import PayoutBatch
    from claims.lifecycle.payouts import import_bank_return

    _, factory = db
    sd = seed(factory, ("1200.50", "800.00"), state="payable")
    with transaction(factory) as s:
        _, other = add_policy(s)
        s.add(PayoutBatch(policy_id=other.id, period="2025-03", state="exported", total=Decimal("0.00")))
    with transaction(factory) as s:
        batch_id = build_batch(s, sd.policy_id, "2025-03", sd.insurer).id
    returned = pd.DataFrame({"理赔编号": [str(i) for i in sd.claim_ids], "状态": ["成功", "失败"],
                             "原因": ["", "户名不符"]})
    with transaction(factory) as s:
        assert import_bank_return(s, batch_id, returned, sd.insurer) == {"paid": 1, "failed": 1}
    with factory() as s:
        assert s.get(PayoutBatch, batch_id).created_by == sd.insurer.id
        events = {(e.claim_id, e.action): e for e in s.scalars(select(ClaimEvent))}
        added = events[sd.claim_ids[0], "add_to_batch"]
        paid = events[sd.claim_ids[0], "bank_paid"]
        failed = events[sd.claim_ids[1], "bank_failed"]
        assert (added.note, paid.note) == (f"batch:{batch_id}", f"batch:{batch_id}")
        assert (failed.reason_code, failed.note) == ("bank_failed", "户名不符")
        # the bank's return is recorded at one instant for all its lines
        assert paid.at == failed.at


def test_a_shared_cap_goes_first_come_when_the_order_key_spans_63_bits():
    # Four claims of one household share a cap of 2.50 yuan (250 fen), each asking 1.00 (100 fen), taken in
    # order of a key whose range is 2**62 - 0: 63 bits, and with the 2 bits of the row positions (0..3)
    # 65 > 63, so the key and the positions cannot be packed into one int64.  First come: the two rows at
    # key 0 in row order (rows 1 and 3) get 100 each, row 2 (key 2**61) the last 250 - 200 = 50, row 0
    # (key 2**62) nothing.
    key = np.array([2**62, 0, 2**61, 0], dtype=np.int64)
    household = np.zeros(4, dtype=np.int64)
    assert sort_order([household, key]).tolist() == [1, 3, 2, 0]
    granted = allocate_codes(household, [key], np.full(4, 100), np.zeros(4, dtype=np.int64), np.full(4, 250))
    assert granted.tolist() == [0, 100, 50, 100]


def test_the_bank_return_keeps_the_banks_reason_as_written(db, tmp_path):
    """Excel types a reason code such as 3001 as a number (a blank cell beside it makes pandas read the
    column as 3001.0), and a CSV reason such as "N/A" is text, not a missing value: both are recorded as
    the bank wrote them."""
    from openpyxl import Workbook

    from claims.lifecycle.payouts import import_bank_return

    _, factory = db
    sd = seed(factory, ("100.00", "200.00", "300.00"), state="payable")
    with transaction(factory) as s:
        batch_id = build_batch(s, sd.policy_id, "2025-03", sd.insurer).id
    first, second, third = sd.claim_ids
    wb = Workbook()
    wb.active.append(["理赔编号", "状态", "原因"])
    wb.active.append([first, "成功", None])
    wb.active.append([second, "失败", 3001])
    wb.save(tmp_path / "r.xlsx")
    (tmp_path / "r.csv").write_text(f"理赔编号,状态,原因\n{third},失败,N/A\n", encoding="utf-8-sig")
    with transaction(factory) as s:
        assert import_bank_return(s, batch_id, tmp_path / "r.xlsx", sd.insurer) == {"paid": 1, "failed": 1}
        assert import_bank_return(s, batch_id, tmp_path / "r.csv", sd.insurer) == {"paid": 0, "failed": 1}
    with factory() as s:
        notes = dict(s.execute(select(ClaimEvent.claim_id, ClaimEvent.note)
                               .where(ClaimEvent.action == "bank_failed")).all())
    assert notes == {second: "3001", third: "N/A"}


def test_school_entry_grants_go_first_come_by_date_under_a_household_cap():
    # 魏县防贫保's 升学补助 "lump_sums: {本科: 2000, 专科: 1000}", here under a product cap of 2,000 per household
    # (a copy of the document).  Person 13 enters 本科 on 1 September (2,000), person 11 专科 on 1 October
    # (1,000): first come by date, 13 takes the whole 2,000 and 11 gets 2,000 − 2,000 = 0 (in person-ID
    # order 11 would get 1,000 and 13 the other 1,000).
    import copy

    doc = copy.deepcopy(load_product("fangpinbao-weixian-2025").document)
    doc["caps"] = {"per_person_year": 100000, "per_household_year": 2000}
    product = load_product(doc)
    persons, households = f.roster([{"household_no": "A1"}], [{"n": n, "household_no": "A1"} for n in (11, 13)])
    edu = f.education([(11, 2025, "专科", 0, True), (13, 2025, "本科", 0, True)])
    edu["event_date"] = pd.to_datetime(["2025-10-01", "2025-09-01"])
    claims = compute_claims(product, persons, households, {"education": edu})
    due = claims[claims["line_id"] == "entry"].set_index("unit_id")["due"].to_dict()
    assert due == {f.pid(11): 0, f.pid(13): 200_000}


def test_advancing_no_claims_moves_none_and_records_nothing(db):
    from sqlalchemy import func

    from claims.lifecycle.transitions import advance

    _, factory = db
    sd = seed(factory, ("100.00",), state="computed")
    with transaction(factory) as s:
        assert advance(s, [], "computed", "start_investigation", sd.insurer) == 0
    with factory() as s:
        events = select(func.count()).select_from(ClaimEvent).where(ClaimEvent.action == "start_investigation")
        assert s.scalar(events) == 0


def test_a_run_without_reports_writes_claim_sources_with_its_header_only(tmp_path):
    # no report rows: no claims, and claim_sources.csv still names its columns (a file the county opens)
    from claims import run_calculation
    from claims.engine.files import write_outputs

    product = load_product("fangpinbao-weixian-2025")
    persons, households = f.roster([{"household_no": "A1"}], [{"n": 11, "household_no": "A1"}])
    result = run_calculation(product, persons, households, {})
    write_outputs(result, product, tmp_path)
    lines = (tmp_path / "claim_sources.csv").read_text(encoding="utf-8-sig").splitlines()
    assert lines == ["line_id,unit_id,source_file,source_line,amount"]


def test_a_payment_without_a_base_this_year_is_traced_as_an_overpayment():
    # person 11 was paid 1,000.00 on the illness line but no medical row remains: entitlement 0, due 0,
    # overpaid 1,000.00 − 0 = 1,000.00; the trace says there is no base, not a bracket sum over nothing
    product = load_product("fangpinbao-weixian-2025")
    persons, households = f.roster([{"household_no": "A1"}], [{"n": 11, "household_no": "A1"}])
    claims = compute_claims(product, persons, households, {}, paid=f.paid([(f.pid(11), "illness", 100_000)]))
    row = claims.set_index(["line_id", "unit_id"]).loc[("illness", f.pid(11))]
    assert (row["entitlement"], row["due"], row["overpaid"]) == (0, 0, 100_000)
    assert row["trace"] == ("[" + product.code + "/illness] 本年度已无可计基数 / no base this year；"
                            "已付 1000.00；本次应付 0.00；多付 1000.00，需冲正")


def test_a_disability_at_a_grade_the_plan_does_not_pay_is_no_victim():
    # the disability line with its own victims table (a copy of the document without covers), here
    # {1 victim: 30,000, 2: 60,000}.  Person 11 is disabled at grade 1 (50,000 × 100% = 50,000); person 13
    # is reported at grade 11, which the table of grades 1–10 does not pay (0): one victim, so the
    # household's cap is 30,000 and person 11 gets 30,000 (counted as two victims it would be 50,000)
    from test_covers import without_covers

    product = without_covers(ZNB, disability={"household_cap_by_victims": {1: 30000, 2: 60000}})
    persons, households = f.roster([{"household_no": "A1"}], [{"n": n, "household_no": "A1"} for n in (11, 13)])
    acc = f.accident([(11, "2025-03-01", "disability", 1, 0), (13, "2025-04-01", "disability", 11, 0)])
    claims = compute_claims(product, persons, households, {"accident": acc})
    due = claims[claims["line_id"] == "disability"].set_index("unit_id")["due"].to_dict()
    assert due == {f.pid(11): 3_000_000, f.pid(13): 0}
