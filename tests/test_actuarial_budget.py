"""actuarial.budget on a history simulated from KNOWN parameters (the catalog 防贫保 illness line)."""

from __future__ import annotations

import copy
import json
import math
from functools import lru_cache

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy import stats

from actuarial.budget import budget
from actuarial.budget.inputs import Assumptions, BudgetError
from actuarial.coverage import PayoutFunction
from products import load_product
from products.loader import CATALOG

PRODUCT = "fangpinbao-weixian-2025"
# benchmark B of actuarial.md §2: lognormal with mean 8,000 and cv 1.5 → σ² = log(1 + 1.5²), μ = log 8000 − σ²/2
SIGMA = math.sqrt(math.log(1 + 1.5**2))
MU = math.log(8000.0) - SIGMA**2 / 2
TREND = 0.05  # medical trend per year
RATE = 0.02  # ground-up illness events per head per year (1,000 per 50,000, actuarial.md §2)
HEADS = 50_000  # per county and year
COUNTIES = ("130421", "130423", "130424", "130425", "130434")


def product():
    return load_product(PRODUCT)


def draft_product(trigger: float, cap: float):
    """The catalog document with the illness line's 起付线/预警线 and cap changed (a proposed version)."""
    doc = yaml.safe_load((CATALOG / f"{PRODUCT}.yaml").read_text(encoding="utf-8"))
    doc = copy.deepcopy(doc)
    doc["code"] = "FPB-130434-2026-draft"
    illness = next(line for line in doc["lines"] if line["id"] == "illness")
    illness["trigger"] = trigger
    illness["start_line"] = trigger
    illness["caps"] = {"per_year": cap}
    return load_product(doc)


@lru_cache(maxsize=None)
def simulate(years: tuple[int, ...], seed: int = 7, unpaid: bool = False) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Claims (paid claims only: ground-up X above the 5,000 trigger; every event with ``unpaid``) and exposure
    from the true model: N ~ Poisson(RATE × HEADS) per county-year, X ~ lognormal(MU + (t − 2021)·log 1.05, SIGMA)."""
    rng = np.random.default_rng(seed)
    g = PayoutFunction.from_line(product().line("illness"))
    rows = []
    for t in years:
        for c in COUNTIES:
            n = rng.poisson(RATE * HEADS)
            x = rng.lognormal(MU + (t - 2021) * math.log1p(TREND), SIGMA, n)
            x = np.round(x, 2)
            x = x if unpaid else x[x > 5000.0]
            paid = np.round(g(x), 2)
            rows.append(pd.DataFrame({"year": t, "county": c, "peril": "illness", "ground_up": x, "paid": paid}))
    claims = pd.concat(rows, ignore_index=True)
    exposure = pd.DataFrame([(t, c, HEADS) for t in years for c in COUNTIES], columns=["year", "county", "heads"])
    return claims, exposure


def true_mean_2025(line) -> float:
    """Exact expected payout of 2025 under the TRUE model: E[g(X_2025)] × true events (0.02 × 250,000 = 5,000)."""
    severity = stats.lognorm(SIGMA, scale=math.exp(MU + 4 * math.log1p(TREND)))  # 2025 = 2021 + 4
    return PayoutFunction.from_line(line).mean(severity) * RATE * len(COUNTIES) * HEADS


def true_paid_share() -> float:
    """S_2025(5,000) under the true lognormal: the share of 2025's events that pay."""
    return float(stats.lognorm(SIGMA, scale=math.exp(MU + 4 * math.log1p(TREND))).sf(5000.0))


def fitted_paid_share(peril) -> float:
    return float(peril.severity.best.frozen(2025).sf(5000.0))


@lru_cache(maxsize=None)
def four_year_result():
    claims, exposure = simulate((2021, 2022, 2023, 2024))
    return budget(claims, exposure, product(), 2025, heads=len(COUNTIES) * HEADS,
                  draft=draft_product(trigger=3000, cap=80000), assumptions=Assumptions(trend=TREND))


def test_plug_in_mean_recovers_the_true_expected_payout():
    result = four_year_result()
    truth = true_mean_2025(product().line("illness"))
    # Sampling error: about 20,000 ground-up events, ≈ 9,500 of them above 5,000 in the data.  With the trend
    # imposed, the plug-in mean is ≈ (claims counted) × E[g(X) | X > 5,000] fitted: relative SE ≈
    # sqrt(1/9,500 + cv²(g(X) | X > d)/9,500) with that cv ≈ 1.2 → sqrt(1.05e-4 + 1.5e-4) ≈ 1.6%
    # (12 simulated histories, seeds 0–11, gave a relative sd of 1.7%); 3 SE ≈ 5%.
    assert result.plug_in.exact_mean == pytest.approx(truth, rel=0.05)
    assert result.plug_in.valid
    (illness,) = result.perils
    assert illness.line_id == "illness" and illness.severity.best.family == "lognormal"
    # paid claims expected next year: ground-up events × S(5,000) = 0.02 × 250,000 × S_2025(5,000) under the truth.
    # (The ground-up count alone is poorly determined from data truncated at 5,000 — it extrapolates the fitted
    # family below the trigger — but its product with S(d) is not.)  Poisson SE 1/sqrt(9,500) ≈ 1% (10 simulated
    # histories, seeds 0–9: sd 1.2%); tolerance ≈ 3 × 1.2%
    assert illness.events * fitted_paid_share(illness) == pytest.approx(5000 * true_paid_share(), rel=0.04)
    assert illness.mean == pytest.approx(result.plug_in.exact_mean, rel=1e-9)
    # the other lines have no history: left out, and said so
    assert any("schooling" in n and "no usable history" in n for n in result.notes)
    assert any("entry" in n and "left out" in n for n in result.notes)


def test_parameter_uncertainty_widens_the_distribution_and_sets_the_budget():
    result = four_year_result()
    a = result.assumptions
    assert result.predictive.sd >= result.plug_in.sd
    assert result.predictive.valid  # mixture of exact moments vs the averaged pmf
    # VaR principle: budget = q_0.95(predictive) / (1 − 0.15)
    assert a.principle == "var" and a.level == 0.95
    assert result.budget_total == pytest.approx(result.predictive.quantile(0.95) / 0.85, rel=1e-12)
    assert result.budget_per_head == pytest.approx(result.budget_total / 250_000, rel=1e-12)
    assert result.heads == 250_000
    assert result.prob_exceed == pytest.approx(result.predictive.prob_exceed(result.budget_total))
    assert result.prob_exceed < 0.05  # the expense loading lifts the budget above the 95% quantile
    assert list(result.band.index) == [0.10, 0.25, 0.50, 0.75, 0.90]
    assert result.band["per_head"].is_monotonic_increasing
    # experience: one row per year for illness, heads 250,000 each year
    exp = result.experience
    assert exp["year"].tolist() == [2021, 2022, 2023, 2024] and (exp["heads"] == 250_000).all()
    assert np.allclose(exp["paid_per_head"], exp["paid"] / 250_000)


def test_whatif_lower_start_line_and_higher_cap_costs_more_by_the_exact_ratio():
    result = four_year_result()
    draft = result.whatif
    assert draft is not None and draft.product_code == "FPB-130434-2026-draft"
    fitted = result.perils[0].severity.best.frozen(2025)
    current_g = PayoutFunction.from_line(product().line("illness"))
    draft_g = PayoutFunction.from_line(draft_product(3000, 80000).line("illness"))
    # same events, same fitted severity: the cost ratio is E[g_draft(X)] / E[g_now(X)]
    ratio = draft_g.mean(fitted) / current_g.mean(fitted)
    assert ratio > 1.0
    assert draft.predictive.mean / result.predictive.mean == pytest.approx(ratio, rel=0.01)
    assert draft.plug_in.exact_mean / result.plug_in.exact_mean == pytest.approx(ratio, rel=0.01)
    assert draft.budget_total > result.budget_total
    table = result.comparison()
    assert table.loc["mean", "ratio"] == pytest.approx(draft.predictive.mean / result.predictive.mean)
    assert table.loc["budget_per_head", "draft"] == pytest.approx(draft.budget_per_head)
    assert "per_head:tvar" in table.index
    json.dumps(result.to_dict())  # JSON-able, what-if included


def test_deterministic_by_seed():
    claims, exposure = simulate((2023, 2024))
    a = Assumptions(bootstrap=8)
    first = budget(claims, exposure, product(), 2025, assumptions=a)
    second = budget(claims, exposure, product(), 2025, assumptions=a)
    assert np.array_equal(first.predictive.pmf, second.predictive.pmf)
    assert first.budget_total == second.budget_total
    other = budget(claims, exposure, product(), 2025, assumptions=Assumptions(bootstrap=8, seed=1))
    assert not np.array_equal(first.predictive.pmf, other.predictive.pmf)
    assert np.array_equal(first.plug_in.pmf, other.plug_in.pmf)  # the plug-in has no draws


def test_one_year_of_history_notes_the_assumed_trend():
    claims, exposure = simulate((2024,))
    result = budget(claims, exposure, product(), 2025, assumptions=Assumptions(bootstrap=4))
    assert any("trend assumed 5% a year (only 1 year(s) of data)" in n for n in result.notes)
    assert any("one year of exposure only" in n for n in result.notes)
    assert result.perils[0].severity.best.params["trend"] == pytest.approx(0.05)
    assert result.heads == 250_000  # flat exposure


def test_paid_only_history_is_inverted_and_capped_rows_are_censored():
    claims, exposure = simulate((2021, 2022, 2023, 2024))
    paid_only = claims.assign(ground_up=np.nan)
    result = budget(paid_only, exposure, product(), 2025, heads=250_000,
                    assumptions=Assumptions(trend=TREND, bootstrap=4))
    # x = g⁻¹(paid) is exact below the cap; the capped claims (X ≥ x_cap ≈ 79,286) are censored at x_cap,
    # so the fit sees the same information about the payout: the plug-in mean is within the sampling error
    # (5%, as above) of the truth
    truth = true_mean_2025(product().line("illness"))
    assert result.plug_in.exact_mean == pytest.approx(truth, rel=0.05)
    assert any("right-censored at x_cap" in n for n in result.notes)
    assert result.perils[0].severity.best.n_censored > 0


def test_experience_priced_line():
    claims, exposure = simulate((2023, 2024))
    # 升学补助 (lump sums): 2023 ten 本科 (2,000) claims, 2024 ten 专科 (1,000) claims
    entry = pd.DataFrame({"year": [2023] * 10 + [2024] * 10, "county": "130434", "peril": "entry",
                          "ground_up": np.nan, "paid": [2000.0] * 10 + [1000.0] * 10})
    result = budget(pd.concat([claims, entry]), exposure, product(), 2025, heads=250_000,
                    assumptions=Assumptions(trend=0.0, bootstrap=4))
    row = result.experience_lines.set_index("line_id").loc["entry"]
    # 20 claims over 2 × 250,000 heads = 4e-5 per head → 10 claims next year; mean paid (2,000 + 1,000)/2 = 1,500
    # (trend 0): expected payout 10 × 1,500 = 15,000
    assert row["events"] == pytest.approx(10.0)
    assert row["mean"] == pytest.approx(15_000.0)
    assert any("entry" in n and "priced at experience 0.06 yuan per head" in n for n in result.notes)
    assert result.plug_in.exact_mean == pytest.approx(result.perils[0].mean + 15_000.0)


def test_a_bracket_line_with_few_claims_is_priced_at_experience():
    """Three disaster claims in two years (paid 5,000, 10,000, 20,000 above the 10,000 start line) cannot set a
    tail: the line is priced at experience.  3 claims over 2 × 250,000 heads = 6e-6 per head → 1.5 claims next
    year; mean paid (5,000 + 10,000 + 20,000)/3 = 11,666.67 (trend 0) → expected 1.5 × 11,666.67 = 17,500."""
    claims, exposure = simulate((2023, 2024))
    disaster = pd.DataFrame({"year": [2023, 2024, 2024], "county": "130434", "peril": "disaster",
                             "ground_up": [15_000.0, 20_000.0, 30_000.0], "paid": [5_000.0, 10_000.0, 20_000.0]})
    result = budget(pd.concat([claims, disaster]), exposure, product(), 2025, heads=250_000,
                    assumptions=Assumptions(trend=0.0, bootstrap=4))
    assert [p.line_id for p in result.perils] == ["illness"]
    row = result.experience_lines.set_index("line_id").loc["disaster"]
    assert row["events"] == pytest.approx(1.5)
    assert row["mean"] == pytest.approx(17_500.0)
    assert any("disaster" in n and "fewer than 10 exact amounts" in n for n in result.notes)


def test_bad_inputs_are_refused():
    claims, exposure = simulate((2024,))
    with pytest.raises(BudgetError, match="保费原则.*premium principle"):
        Assumptions(principle="median")
    with pytest.raises(BudgetError, match="heads must be given"):
        budget(claims, None, product(), 2025)
    with pytest.raises(BudgetError, match="before 2024"):
        budget(claims, exposure, product(), 2024)


def test_history_with_unpaid_events_is_fitted_without_truncation():
    claims, exposure = simulate((2023, 2024), unpaid=True)
    assert (claims["paid"] == 0).any()
    # the simulated history is complete: no default lag pattern (it would add 1/11 to 2024's events)
    result = budget(claims, exposure, product(), 2025, heads=250_000,
                    assumptions=Assumptions(trend=TREND, bootstrap=0, default_development=False))
    (illness,) = result.perils
    assert illness.truncation == 0.0  # "auto": some rows paid nothing, so the data are not truncated
    # every event is in the data: 2 years × 5 × 1,000 = 10,000 events; rate 0.02 → 5,000 next year.  Poisson
    # SE 1/sqrt(10,000) = 1% (10 simulated histories, seeds 0–9: sd 1.4%); tolerance ≈ 3 × 1.4%
    assert illness.events == pytest.approx(5000, rel=0.04)
    # untruncated fit of ≈ 10,000 amounts, most of them below the trigger: the payout mean hangs on the fitted
    # tail (σ), so its error is larger than with the truncated fit — 10 histories: relative sd 2.7%; 3 SE ≈ 8%
    assert result.plug_in.exact_mean == pytest.approx(true_mean_2025(product().line("illness")), rel=0.08)
    assert result.predictive is result.plug_in  # bootstrap = 0


def test_no_exposure_file_assumes_the_given_heads():
    claims, _ = simulate((2023, 2024))
    result = budget(claims, None, product(), 2025, heads=250_000, assumptions=Assumptions(bootstrap=0))
    assert any("no exposure given" in n for n in result.notes)
    assert result.heads == 250_000
    # the history is taken as 250,000 heads a year (the truth): paid claims next year as in the truth, within
    # the sampling error of ≈ 4,900 claims (Poisson SE 1.4%; 10 simulated histories: sd 1.8%), 3 × 1.8% ≈ 5.5%
    (illness,) = result.perils
    assert illness.events * fitted_paid_share(illness) == pytest.approx(5000 * true_paid_share(), rel=0.055)


def test_count_development_by_hand():
    """Claims of 2022–2024 with quarterly report lags, valued at the latest report: 2024 + lag 1 = 2024 Q2.
    Cumulative counts by age (quarters):
    2022: lag 0 ×10, 1 ×5, 4 ×5   → 10, 15, 15, 15, 20 … (ages 0–9 observed)
    2023: lag 0 ×20, 1 ×10, 4 ×12 → 20, 30, 30, 30, 42, 42 (ages 0–5)
    2024: lag 0 ×30, 1 ×15        → 30, 45               (ages 0–1)
    f_0 = (15+30+45)/(10+20+30) = 1.5; f_1 = f_2 = 1; f_3 = (20+42)/(15+30) = 62/45; later factors 1.
    2024 (age 1): ultimate = 45 × f_1 × f_2 × f_3 × 1 … = 62, factor 62/45; 2023 and 2022 are complete."""
    from actuarial.reserving import count_development

    origin = [2022] * 20 + [2023] * 42 + [2024] * 45
    lag = [0] * 10 + [1] * 5 + [4] * 5 + [0] * 20 + [1] * 10 + [4] * 12 + [0] * 30 + [1] * 15
    dev = count_development(origin, lag)
    assert dev.valuation == (2024, 2)
    tri = dev.triangle
    assert list(tri.loc[2024].dropna()) == [30, 45]
    assert list(tri.loc[2023].dropna()) == [20, 30, 30, 30, 42, 42]
    # f_0 = 1.5, f_1 = f_2 = 1, f_3 = 62/45 (2022: 20/15, 2023: 42/30 → (20+42)/(15+30)), f_4.. = 1
    assert dev.fit.ldf[:4] == pytest.approx([1.5, 1.0, 1.0, 62 / 45])
    assert dev.table.loc[2024, "ultimate"] == pytest.approx(62.0)  # 45 × 1 × 1 × 62/45
    assert dev.table.loc[2024, "factor"] == pytest.approx(62 / 45)
    assert dev.table.loc[2023, "factor"] == pytest.approx(1.0)
    assert dev.table.loc[2022, "factor"] == pytest.approx(1.0)


def test_latest_year_reported_late_is_completed_by_development():
    """Each claim is reported a random 0–5 quarters after the start of its year (P = 0.3, 0.3, 0.2, 0.1, 0.05,
    0.05); valued at the end of 2024, 2024's claims with lag ≥ 4 are not in yet (15% of them missing).  With
    the lags the budget completes 2024 by chain ladder and recovers the paid-claim count; without them the
    latest year looks 15% light."""
    claims, exposure = simulate((2021, 2022, 2023, 2024))
    rng = np.random.default_rng(11)
    claims = claims.assign(report_lag=rng.choice(6, size=len(claims), p=[0.3, 0.3, 0.2, 0.1, 0.05, 0.05]))
    reported = claims[4 * claims["year"] + claims["report_lag"] <= 4 * 2024 + 3]
    a = Assumptions(trend=TREND, bootstrap=4)
    with_dev = budget(reported, exposure, product(), 2025, heads=len(COUNTIES) * HEADS, assumptions=a)
    without = budget(reported.drop(columns="report_lag"), exposure, product(), 2025, heads=len(COUNTIES) * HEADS,
                     assumptions=a)
    (ill_dev,), (ill_raw,) = with_dev.perils, without.perils
    truth = 5000 * true_paid_share()  # 0.02 × 250,000 events × S_2025(5,000)
    # with development: the same 4% tolerance as the complete history above (the factor adds < 1% noise:
    # ≈ 2,400 claims in 2024, 15% of them projected)
    assert ill_dev.events * fitted_paid_share(ill_dev) == pytest.approx(truth, rel=0.04)
    # without: one year of four is 15% short → the credibility rate is ≈ 15%/4 ≈ 3.75% low on average
    assert ill_raw.events < ill_dev.events
    assert any("chain-ladder development" in n for n in with_dev.notes)
