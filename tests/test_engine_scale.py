"""The engine's province-scale code paths (issue 6): int64 keys, bincount / sorted reductions, shared caps
on codes, traces built per bracket count — checked against plain group-by / loop references on random
inputs, a hand-computed household, and a small run of the benchmark's DuckDB and row-by-row references.

Benchmark product (benchmarks/engine-product.yaml): illness per person, trigger 5,000, 50% / 60% / 70% above
5,000 / 10,000 / 20,000, cap 50,000; family illness per household, 30% above 20,000, cap 30,000; per-person
cap 40,000, per-household cap 60,000; income line 6,000.
"""

from __future__ import annotations

import copy
import importlib.util
import sys
from pathlib import Path

import factories as f
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from claims import run_calculation
from claims.engine import trace as tr
from claims.engine.caps import allocate_codes, sort_order
from claims.engine.lines import bracket_trace, bracket_units, standing_crossing, sum_by, unit_keys
from products import load_product
from tabular.keys import BLOCK_ROWS, _column_range, fixed_width_bytes, key_positions, lookup, radix_codes, repeated
from tabular.money import fen_to_yuan_array
from tabular.resident_id import make_id

ROOT = Path(__file__).resolve().parents[1]
BENCH = load_product(ROOT / "benchmarks" / "engine-product.yaml")
FPB = load_product("fangpinbao-weixian-2025")


def bench_variant(**caps) -> object:
    doc = copy.deepcopy(BENCH.document)
    doc["caps"].update(caps)
    return load_product(doc)


# ---------------------------------------------------------------------------------------------------
# reductions on codes = the group-by they replace


def allocate_loop(group, order, demand, paid, cap):
    """Reference: per group, rows in (order…, row) order; room = max(0, C − Σ paid); grant while room lasts."""
    n = len(demand)
    out = list(demand)
    for g in set(group):
        rows = sorted((i for i in range(n) if group[i] == g), key=lambda i: (*[o[i] for o in order], i))
        room = max(0, cap[rows[0]] - sum(paid[i] for i in rows))
        for i in rows:
            if cap[i] < 0:
                continue
            out[i] = max(0, min(demand[i], room))
            room -= out[i]
    return out


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 4), st.integers(0, 3), st.integers(0, 3), st.integers(0, 50_000),
                          st.integers(0, 20_000)), min_size=1, max_size=40), st.integers(-1, 80_000))
def test_allocate_codes_equals_the_loop(rows, cap_value):
    group = [r[0] for r in rows]
    order = [[r[1] for r in rows], [r[2] for r in rows]]
    demand = [r[3] for r in rows]
    paid = [r[4] for r in rows]
    cap = [cap_value] * len(rows)
    got = allocate_codes(np.array(group), [np.array(o) for o in order], np.array(demand), np.array(paid), np.array(cap))
    assert got.tolist() == allocate_loop(group, order, demand, paid, cap)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.integers(-5, 5), st.integers(0, 2**40), st.sampled_from([0, 1, 2]), st.integers(0, 30)),
                min_size=1, max_size=40))
def test_sort_order_equals_lexsort(rows):
    a, big, small, day = (np.array(c) for c in zip(*rows))
    dates = (np.datetime64("2025-01-01") + day.astype("timedelta64[D]")).astype("datetime64[ns]")
    for keys in ([a, small], [small, dates, a], [a, big, big], [dates]):  # packed, or too wide: lexsort
        assert sort_order(keys).tolist() == np.lexsort(list(reversed(keys))).tolist()


def events_frame(rows):
    """rows: (unit n, day of 2025, file 0/1, line, amount fen) → the events a bracket line reads."""
    return pd.DataFrame({
        "unit_id": [f"U{r[0]}" for r in rows],
        "household_no": [f"H{r[0] // 2}" for r in rows],
        "event_date": pd.to_datetime("2025-01-01") + pd.to_timedelta([r[1] for r in rows], unit="D"),
        "amount": pd.Series([r[4] for r in rows], dtype="int64"),
        "source_file": [f"m{r[2]}.csv" for r in rows],
        "source_line": pd.Series([r[3] for r in rows], dtype="int64"),
    })


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, 6), st.integers(0, 30), st.integers(0, 1), st.integers(2, 9),
                          st.integers(0, 900_000)), min_size=1, max_size=30, unique_by=lambda r: (r[2], r[3])))
def test_bracket_units_equal_a_groupby(rows):
    line = BENCH.line("illness")
    ev = events_frame(rows)
    units = bracket_units(line, ev).sort_index()
    # reference: pandas group-by on text keys; order date = the date of the row whose running total,
    # by (date, file, line), first exceeds the trigger, else the last event
    s = ev.sort_values(["unit_id", "event_date", "source_file", "source_line"])
    g = s.groupby("unit_id")
    running = g["amount"].cumsum()
    crossed = s[running > line.trigger].groupby("unit_id")["event_date"].first()
    assert units["base"].to_dict() == g["amount"].sum().to_dict()
    assert units["rows"].to_dict() == g.size().to_dict()
    assert units["first_event"].to_dict() == g["event_date"].min().to_dict()
    assert units["last_event"].to_dict() == g["event_date"].max().to_dict()
    expected_order = crossed.reindex(g["event_date"].max().index).fillna(g["event_date"].max())
    assert units["order_date"].to_dict() == expected_order.to_dict()
    assert units["household_no"].to_dict() == g["household_no"].first().to_dict()


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 9), st.integers(-3_000, 3_000)), min_size=1, max_size=40))
def test_sum_by_and_standing_crossing(rows):
    codes = np.array([r[0] for r in rows])
    amount = np.array([r[1] for r in rows], dtype=np.int64)
    k = int(codes.max()) + 1
    expected = pd.Series(amount).groupby(codes).sum().reindex(range(k), fill_value=0)
    assert sum_by(codes, amount, k).tolist() == expected.tolist()
    # rows already in order; for each code whose total exceeds 1,000, walked row by row: the row after
    # the last one whose running total is ≤ 1,000 (negative amounts can bring it back under)
    units, at = standing_crossing(codes, [np.arange(len(rows))], amount, 1_000, k)
    ref = {}
    for code in sorted(set(codes.tolist())):
        running, standing = 0, None
        for i in np.flatnonzero(codes == code).tolist():
            running += int(amount[i])
            standing = (standing if standing is not None else i) if running > 1_000 else None
        if running > 1_000:
            ref[code] = standing
    assert dict(zip(units.tolist(), at.tolist())) == ref


def test_unit_keys_with_and_without_roster_codes():
    ev = events_frame([(3, 1, 0, 2, 100), (1, 2, 0, 3, 200), (3, 3, 0, 4, 300)])
    codes, firsts = unit_keys(ev)
    assert codes.tolist() == [0, 1, 0] and firsts.tolist() == [0, 1]
    ev["unit_code"] = [7, 2, 7]
    codes, firsts = unit_keys(ev)  # renumbered in roster order: position 2 → 0, position 7 → 1
    assert codes.tolist() == [1, 0, 1] and firsts.tolist() == [1, 0]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(["S1", "S2", "S3", "S10", "x", ""]), max_size=30))
def test_repeated_is_duplicated_keep_first(values):
    s = pd.Series(values, dtype="str")
    assert repeated(s).tolist() == s.duplicated(keep="first").tolist()


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(["S0000000001", "S0000000002", "S0000000010", "S1000000001"]), max_size=30),
       st.integers(0, 3))
def test_repeated_on_fixed_width_codes(values, cut):
    s = pd.Series(values, dtype="str").iloc[cut:]  # a slice: Arrow buffers with an offset
    assert repeated(s).tolist() == s.duplicated(keep="first").tolist()


def test_fixed_width_bytes_of_a_sliced_array():
    arr = pa.array(["AB1", "CD2", "EF3"]).slice(1)
    assert fixed_width_bytes(arr).tolist() == [list(b"CD2"), list(b"EF3")]
    assert fixed_width_bytes(pa.array(["A", "BB"])) is None and fixed_width_bytes(pa.array(["A", None])) is None


def test_key_positions_ids_and_text():
    keys = pd.Series([f.pid(1), f.pid(2), f.pid(3)], dtype="str")
    wrong_check = f.pid(2)[:17] + ("0" if f.pid(2)[17] != "0" else "1")
    values = pd.Series([f.pid(3), f.pid(9), wrong_check, f.pid(1)], dtype="str")
    assert key_positions(keys, values).tolist() == [2, -1, -1, 0]
    # the reader's id_key (17-digit bodies) gives the same matches; the check digit is still compared
    bodies = np.array([int(x[:17]) for x in values], dtype=np.int64)
    assert key_positions(keys, values, value_bodies=bodies).tolist() == [2, -1, -1, 0]
    fixed = pd.Series(["H01", "H02", "H03"], dtype="str")
    assert key_positions(fixed, pd.Series(["H02", "H09", "H01", "h01"], dtype="str")).tolist() == [1, -1, 0, -1]
    households = pd.Series(["H1", "H2", "0012"], dtype="str")
    assert key_positions(households, pd.Series(["H2", "12", "0012", "H3"], dtype="str")).tolist() == [1, -1, 2, -1]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.text(alphabet="AB09Z", min_size=3, max_size=3), min_size=1, max_size=20, unique=True),
       st.lists(st.text(alphabet="AB09Zx", min_size=3, max_size=3), max_size=20))
def test_radix_codes_keep_the_text_order_and_miss_unknown_bytes(keys, values):
    km = np.frombuffer("".join(keys).encode(), dtype=np.uint8).reshape(len(keys), 3)
    vm = np.frombuffer("".join(values).encode(), dtype=np.uint8).reshape(len(values), 3)
    k, v = radix_codes(km, vm)
    # order-preserving: sorting the codes sorts the text; equal codes ⇔ equal text
    assert [keys[i] for i in np.argsort(k, kind="stable")] == sorted(keys)
    position = {key: i for i, key in enumerate(keys)}
    assert [int(np.flatnonzero(k == c)[0]) if c >= 0 and (k == c).any() else -1 for c in v] == [
        position.get(x, -1) for x in values]


def test_radix_codes_over_several_blocks_equal_the_arithmetic():
    # 2·BLOCK_ROWS + 5 codes "A" + 5 digits: the code is the number (radices: 'A' constant, digits 0–9)
    # once the leading digit columns span 0–9; a value "B…" is outside the keys' range → −1
    numbers = np.arange(2 * BLOCK_ROWS + 5) * 7 % 100_000
    text = [f"A{x:05d}" for x in numbers]
    m = np.frombuffer("".join(text).encode(), dtype=np.uint8).reshape(len(text), 6)
    lo, hi = _column_range(m)  # (n, w) reduced through a folded view, n not a multiple of the fold
    assert lo.tolist() == m.min(axis=0).tolist() and hi.tolist() == m.max(axis=0).tolist()
    k, v = radix_codes(m, np.frombuffer(b"A00012B00012", dtype=np.uint8).reshape(2, 6))
    assert k.tolist() == numbers.tolist() and v.tolist() == [12, -1]


def test_radix_codes_give_up_beyond_63_bits():
    # 20 columns each taking all of '0'…'9' need 10²⁰ > 2⁶³ codes
    km = np.array([[48 + (i + j) % 10 for j in range(20)] for i in range(10)], dtype=np.uint8)
    assert radix_codes(km) is None
    assert radix_codes(km[:, :18]) is not None  # 10¹⁸ < 2⁶³


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 30), min_size=1, max_size=12, unique=True), st.lists(st.integers(-2, 32), max_size=40),
       st.booleans(), st.booleans())
def test_lookup_equals_a_dict(keys, values, sort_keys, sort_values):
    keys = sorted(keys) if sort_keys else keys  # sorted keys and values: binary search; runs: looked up once
    values = sorted(values) if sort_values else values
    position = {key: i for i, key in enumerate(keys)}
    assert lookup(pd.Index(np.array(keys, dtype=np.int64)), np.array(values, dtype=np.int64)).tolist() == [
        position.get(v, -1) for v in values]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(["S0000000001", "S0000000002", "S0000000010", "S1000000001"]), max_size=30),
       st.data())
def test_repeated_among_some_rows(values, data):
    s = pd.Series(values, dtype="str")
    rows = np.array(sorted(data.draw(st.sets(st.integers(0, max(len(values) - 1, 0)), max_size=len(values)))),
                    dtype=np.int64) if values else np.zeros(0, dtype=np.int64)
    assert repeated(s, rows).tolist() == s.iloc[rows].duplicated(keep="first").tolist()


def test_sort_order_drops_keys_the_rows_already_follow():
    # (unit, file, line) with rows read in file and line order: the last two keys cost nothing
    unit = np.array([2, 1, 2, 1, 0])
    file = np.array([0, 0, 1, 1, 1])
    line = np.array([2, 3, 2, 5, 9])
    assert sort_order([unit, file, line]).tolist() == np.lexsort([line, file, unit]).tolist() == [4, 1, 3, 0, 2]
    assert sort_order([file, line]).tolist() == [0, 1, 2, 3, 4]


# ---------------------------------------------------------------------------------------------------
# hand-computed: one household through screening, both lines, the shared caps and the traces


@pytest.fixture
def household():
    """H1: persons 1 and 3 (eligible, income 5,000); H2: person 5, category 一般农户 (not covered)."""
    return f.roster([{"household_no": "H1"}, {"household_no": "H2", "category": "一般农户"}],
                    [{"n": 1, "household_no": "H1"}, {"n": 3, "household_no": "H1"}, {"n": 5, "household_no": "H2"}])


def test_hand_computed_household_with_a_binding_household_cap(household):
    persons, households = household
    product = bench_variant(per_household_year=20000)
    med = f.medical([(1, "2025-02-01", 1_000_000), (3, "2025-03-01", 800_000), (1, "2025-04-01", 2_000_000),
                     (5, "2025-02-01", 5_000_000), (1, "2024-12-31", 900_000)])
    result = run_calculation(product, persons, households, {"medical": med})
    c = result.claims.set_index(["line_id", "unit_id"])
    # person 1: 10,000 + 20,000 = 30,000 → 2,500 + 6,000 + 10,000 × 70% = 15,500 (crossed 5,000 on 02-01)
    # person 3: 8,000 → 3,000 × 50% = 1,500 (crossed on 03-01)
    # household H1: 38,000 → (38,000 − 20,000) × 30% = 5,400
    # household cap 20,000, lines in order, first come: 15,500, then 1,500, then min(5,400, 3,000) = 3,000
    assert c.loc[("illness", f.pid(1)), ["base", "entitlement", "due"]].tolist() == [3_000_000, 1_550_000, 1_550_000]
    assert c.loc[("illness", f.pid(3)), ["base", "entitlement", "due"]].tolist() == [800_000, 150_000, 150_000]
    assert c.loc[("family_illness", "H1"), ["base", "uncapped", "entitlement", "due"]].tolist() == [
        3_800_000, 540_000, 300_000, 300_000]
    assert set(result.claims["household_no"]) == {"H1"}  # H2 not covered, the 2024 row outside the period
    assert result.summary["exceptions"] == {"not_eligible": 1, "outside_period": 1}
    trace = c.loc[("family_illness", "H1"), "trace"]
    assert trace == ("[BENCH-ENGINE-2025/family_illness] 38000.00（3 条） > 预警线 20000.00：(20000.00, 38000.00]×30% "
                     "= 5400.00 = 5400.00；年封顶 30000.00；产品每户年度封顶 20000.00，削减 2400.00；已付 0.00；本次应付 3000.00")
    assert result.sources.groupby("line_id").size().to_dict() == {"family_illness": 3, "illness": 3}
    # amounts only: the same numbers, no text
    bare = run_calculation(product, persons, households, {"medical": med}, traces=False).claims
    assert bare["due"].tolist() == result.claims["due"].tolist() and set(bare["trace"]) == {""}


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(-10**12, 10**12), max_size=20), st.booleans())
def test_trace_yuan_fast_paths_equal_the_money_formatter(values, same):
    fen = np.array(values[:1] * 5 if same else values, dtype=np.int64)
    # 1234.56 yuan is 123456 fen; −5 fen is −0.05
    assert tr.yuan(fen).tolist() == fen_to_yuan_array(fen).tolist()
    assert tr.yuan(np.array([123456, -5, 0])).tolist() == ["1234.56", "-0.05", "0.00"]


def test_bracket_trace_example_of_the_trace_module():
    # claims/engine/trace.py docstring: 23,345.67 over 2 rows → 2,500 + 6,000 + 3,345.67 × 70% = 2,341.969 → 10,841.97
    line = FPB.line("illness")
    text = bracket_trace(line, np.array([2_334_567]), np.array([2]), np.array([1_084_197]), np.array([1_084_197]))
    assert text.tolist() == ["23345.67（2 条） > 预警线 5000.00：(5000.00, 10000.00]×50% = 2500.00 + (10000.00, "
                             "20000.00]×60% = 6000.00 + (20000.00, 23345.67]×70% = 2341.969 = 10841.97；年封顶 50000.00"]


def test_units_without_a_base_give_no_claims_and_no_error(household):
    persons, households = household
    med = f.medical([(1, "2025-02-01", 0), (3, "2025-03-01", 0)])  # two rows, nothing self-paid
    result = run_calculation(BENCH, persons, households, {"medical": med}, traces=False)
    assert len(result.claims) == 0 and list(result.claims.columns)[:8] == [
        "product_code", "product_digest", "line_id", "line_name", "peril", "unit_type", "unit_id", "household_no"]
    assert len(result.sources) == 4  # both rows under both lines


def test_claims_in_text_order_whatever_the_roster_order():
    # households listed H10, H2, H1 (not sorted) and persons 9, 4, 7: claims come by (line, household_no, unit_id)
    # as text — H1 < H10 < H2 — whatever the roster's order (the household rank is then sorted, not assumed)
    persons, households = f.roster([{"household_no": h} for h in ("H10", "H2", "H1")],
                                   [{"n": 9, "household_no": "H10"}, {"n": 4, "household_no": "H2"},
                                    {"n": 7, "household_no": "H1"}, {"n": 2, "household_no": "H1"}])
    med = f.medical([(n, "2025-03-01", 1_000_000) for n in (9, 4, 7, 2)])
    claims = run_calculation(BENCH, persons, households, {"medical": med}, traces=False).claims
    illness = claims[claims["line_id"] == "illness"]
    assert illness["household_no"].tolist() == ["H1", "H1", "H10", "H2"]
    assert illness["unit_id"].tolist() == sorted([f.pid(7), f.pid(2)]) + [f.pid(9), f.pid(4)]
    # every household with a base has a family-illness row (under the 20,000 trigger: nothing due), after the
    # illness rows, in the same household order
    family = claims[claims["line_id"] == "family_illness"]
    assert claims["line_id"].tolist() == ["illness"] * 4 + ["family_illness"] * 3
    assert family["unit_id"].tolist() == ["H1", "H10", "H2"] and family["due"].tolist() == [0, 0, 0]


def test_paid_before_still_goes_through_the_join(household):
    persons, households = household
    med = f.medical([(1, "2025-02-01", 1_000_000)])
    # 10,000 → 2,500 due; 1,000.00 paid before → 1,500 due now; a paid unit without base stays as overpaid
    paid = pd.DataFrame({"unit_id": [f.pid(1), f.pid(3)], "line_id": ["illness", "illness"], "paid": [100_000, 20_000]})
    c = run_calculation(BENCH, persons, households, {"medical": med}, paid).claims.set_index("unit_id")
    assert c.loc[f.pid(1), ["entitlement", "paid_before", "due"]].tolist() == [250_000, 100_000, 150_000]
    assert c.loc[f.pid(3), ["base", "paid_before", "due", "overpaid"]].tolist() == [0, 20_000, 0, 20_000]
    assert c.loc[f.pid(3), "village_code"] == f.VILLAGE


# ---------------------------------------------------------------------------------------------------
# the benchmark's references, small


def _benchmark_module():
    spec = importlib.util.spec_from_file_location("bench_engine", ROOT / "benchmarks" / "engine.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_engine"] = module
    spec.loader.exec_module(module)
    return module


def test_generated_ids_are_valid():
    bench = _benchmark_module()
    ids = bench.resident_ids(np.array([0, 1, 999, 1000, 123_456]))
    assert ids.to_pylist()[:2] == [make_id("130434", "20100101", 0), make_id("130434", "20100101", 1)]
    assert ids.to_pylist()[3] == make_id("130434", "20091231", 0)


def test_benchmark_small_run_matches_duckdb_and_row_by_row(tmp_path, capsys):
    pytest.importorskip("duckdb", reason="duckdb is a bench-only extra (pip install duckdb) / 基准测试专用依赖")
    bench = _benchmark_module()
    figures = bench.main(["--people", "3000", "--rows", "9000", "--workdir", str(tmp_path), "--slice", "9000",
                          "--skip-traces", "--reader", "parquet"])
    out = capsys.readouterr().out
    assert "identical" in out and "row by row" in out  # main() asserts equality to the fen itself
    assert figures["compared"] > 1000 and figures["total_due"] > 0


def test_benchmark_csv_through_the_engine_reader_equals_the_parquet_frames(tmp_path):
    """The benchmark's fallback frames are what the engine's own reader makes of the same CSV."""
    from claims.reports import read_report

    bench = _benchmark_module()
    bench.write_inputs(bench.generate(2000, 5000, 7), tmp_path)
    _, _, medical = bench.frames_from_parquet(tmp_path)
    rows = read_report(tmp_path / "medical.csv", "medical").rows
    columns = ["setl_id", "id_no", "setl_date", "self_paid", "policy_self_paid", "source_line"]
    pd.testing.assert_frame_equal(rows[columns].reset_index(drop=True), medical[columns].reset_index(drop=True),
                                  check_dtype=False)


# ---------------------------------------------------------------------------------------------------
# edge cases found in review of the code-keyed engine (each also holds on the engine before it)

ZNB = load_product("zhunongbao-fengxian-2025")


def test_a_run_without_claims_under_a_victims_household_cap(household):
    # 助农保's death and disability lines cap a household by its number of victims; no report at all → no claim
    persons, households = household
    result = run_calculation(ZNB, persons, households, {}, traces=False)
    assert len(result.claims) == 0 and result.summary["total_due"] == 0


def test_a_person_whose_household_is_not_listed_with_income_reports():
    # person 5's household H9 is not in the household list: with an income report in the run, the row is
    # not eligible (its household has no category), the others are paid as usual
    persons, households = f.roster([{"household_no": "H1"}], [{"n": 1, "household_no": "H1"},
                                                             {"n": 5, "household_no": "H9"}])
    med = f.medical([(1, "2025-03-01", 1_000_000), (5, "2025-03-01", 1_000_000)])
    inc = f.income([("H1", "2025-01-15", 500_000)])
    result = run_calculation(BENCH, persons, households, {"medical": med, "income": inc}, traces=False)
    # person 1: 10,000 → 5,000 × 50% = 2,500
    assert result.claims.set_index(["line_id", "unit_id"]).loc[("illness", f.pid(1)), "due"] == 250_000
    assert f.pid(5) not in set(result.claims["unit_id"])
    assert result.summary["exceptions"] == {"not_eligible": 1, "not_covered": 1}  # (no line reads income rows)


def test_frames_with_and_without_the_readers_id_key_together(household):
    # one medical file read with key=True, one without: the keys are not trusted when not every row has one
    persons, households = household
    first = f.medical([(1, "2025-02-01", 1_000_000)], file="a.csv")
    first["id_key"] = np.array([int(x[:17]) for x in first["id_no"]], dtype=np.int64)
    second = f.medical([(3, "2025-03-01", 800_000)], file="b.csv", start_id=100)
    claims = run_calculation(BENCH, persons, households, {"medical": [first, second]}, traces=False).claims
    # person 1: 10,000 → 2,500; person 3: 8,000 → 3,000 × 50% = 1,500
    illness = claims[claims["line_id"] == "illness"].set_index("unit_id")["due"]
    assert illness.to_dict() == {f.pid(1): 250_000, f.pid(3): 150_000}


def test_a_negative_payment_still_counts_under_a_shared_cap(household):
    # 防贫保 with a per-person cap of 10,000 across the person lines, in line order (illness, then schooling).
    # Person 1 is owed 15,500 on illness (30,000 self-paid: 2,500 + 6,000 + 10,000 × 70%) and has −2,000 "paid"
    # on schooling with no schooling base (a reversal, as a raw caller may pass it).  The person's room is
    # 10,000 − (−2,000) = 12,000 and illness comes first: 12,000 due.  The schooling row owes nothing shown
    # (no base, nothing paid): it is not a claim row, but it still counts under the cap.
    persons, households = household
    doc = copy.deepcopy(FPB.document)
    doc["caps"]["per_person_year"] = 10000
    product = load_product(doc)
    med = f.medical([(1, "2025-02-01", 3_000_000)])
    paid = f.paid([(f.pid(1), "schooling", -200_000)])
    claims = run_calculation(product, persons, households, {"medical": med}, paid).claims
    claims = claims.set_index(["line_id", "unit_id"])
    assert claims.loc[("illness", f.pid(1)), "due"] == 1_200_000
    assert "产品每人年度封顶 10000.00，削减 3500.00" in claims.loc[("illness", f.pid(1)), "trace"]
    assert ("schooling", f.pid(1)) not in claims.index
