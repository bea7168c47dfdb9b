"""The budget's checks (issue 17, acceptance 3): actual versus expected per line and year, the trend table and the
hold-out year, on a history simulated by :func:`actuarial.simulation.simulate_history` (3 counties × 4 years,
the catalog 防贫保 illness line).

Expected figures are recomputed here from the fitted model by hand: the payout per event
e₁ = ∫ g(x) f_t(x) dx / S_t(d) by numerical integration of the schedule written out below (the catalog line
``fangpinbao-weixian-2025`` illness: trigger = start line 5,000; 50% up to 10,000, 60% up to 20,000, 70% above;
at most 50,000 a year), and the events E[N_t] = Σ_c rate_c · heads_ct · S_t(d).
"""

from __future__ import annotations

import math
from functools import lru_cache
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from scipy import integrate

from actuarial.budget import budget
from actuarial.budget.check import AE_TOLERANCE_SD, actual_vs_expected
from actuarial.budget.inputs import Assumptions
from actuarial.report import write_report
from actuarial.simulation import simulate_history
from products import load_product

PRODUCT = load_product("fangpinbao-weixian-2025")
A = Assumptions(bootstrap=4, seed=11)


@lru_cache(maxsize=None)
def history():
    claims, exposure, _truth = simulate_history(3, 4, seed=5, heads=(20_000, 30_000), first_year=2021)
    return claims, exposure


@lru_cache(maxsize=None)
def result():
    claims, exposure = history()
    return budget(claims, exposure, PRODUCT, 2025, assumptions=A, holdout=True)


def g_illness(x: float) -> float:
    """The illness schedule by hand: nothing up to 5,000; 0.5·(x − 5,000) up to 10,000, then 2,500 + 0.6·(x − 10,000)
    up to 20,000, then 8,500 + 0.7·(x − 20,000); at most 50,000."""
    if x <= 5000:
        return 0.0
    if x <= 10000:
        return 0.5 * (x - 5000)
    if x <= 20000:
        return 2500 + 0.6 * (x - 10000)
    return min(8500 + 0.7 * (x - 20000), 50000.0)


def test_ae_expected_by_hand():
    r = result()
    ae = r.actual_vs_expected
    assert ae["year"].tolist() == ["2021", "2022", "2023", "2024", "all 合计"] and set(ae["line_id"]) == {"illness"}
    peril = next(p for p in r.perils if p.line_id == "illness")
    d = peril.truncation
    claims, exposure = history()
    for t in (2021, 2024):
        sev = peril.severity.best.frozen(float(t))
        s_d = float(sev.sf(d)) if d > 0 else 1.0
        x_cap = 20000 + (50000 - 8500) / 0.7  # where 8,500 + 0.7·(x − 20,000) reaches 50,000
        body = sum(integrate.quad(lambda x, f=sev: g_illness(x) * f.pdf(x), lo, hi, limit=200, epsrel=1e-11)[0]
                   for lo, hi in ((5000, 10000), (10000, 20000), (20000, x_cap)))
        e1 = (body + 50000 * float(sev.sf(x_cap))) / s_d
        rate = pd.Series(peril.frequency.rate, index=[str(u) for u in peril.frequency.units])
        ex_t = exposure[exposure["year"] == t].set_index("county")["heads"]
        e_n = float((rate.reindex(ex_t.index.astype(str)) * ex_t).sum()) * s_d
        row = ae[ae["year"] == str(t)].iloc[0]
        assert row["per_event_expected"] == pytest.approx(e1, rel=1e-6)
        assert row["events_expected"] == pytest.approx(e_n, rel=1e-9)
        assert row["total_expected"] == pytest.approx(e_n * e1, rel=1e-6)
        held = claims[(claims["year"] == t) & (claims["peril"] == "illness")]
        counted = held[held["ground_up"] > d] if d > 0 else held
        assert row["events_actual"] == len(counted)
        assert row["total_actual"] == pytest.approx(sum(g_illness(x) for x in counted["ground_up"]), rel=1e-9)


def test_ae_flags_a_year_beyond_two_sd():
    """The model fitted on the history, checked against the history with every 2023 claim entered twice: that
    year's events are about double their expectation, beyond 2 sd = 2·√(E + (c_y·E)²), so it is flagged; the
    other years are the same rows as before.  (Refitted on the doubled history, the year cv itself grows to
    0.34 and the doubled year is no longer beyond 2 sd: the tolerance is the model's own.)"""
    claims, exposure = history()
    r = result()
    peril = next(p for p in r.perils if p.line_id == "illness")
    model = SimpleNamespace(line=PRODUCT.line("illness"), truncation=peril.truncation, severity=peril.severity,
                            frequency=peril.frequency, year_cv=peril.frequency.year_cv)
    heads = exposure.pivot_table(index="county", columns="year", values="heads", aggfunc="sum")
    doubled = pd.concat([claims, claims[claims["year"] == 2023]], ignore_index=True)
    ae = actual_vs_expected({"illness": model}, doubled, heads).set_index("year")
    assert "事件数 events" in ae.loc["2023", "flag"]
    e, cy = ae.loc["2023", "events_expected"], model.year_cv
    assert abs(ae.loc["2023", "events_actual"] - e) > AE_TOLERANCE_SD * math.sqrt(e + (cy * e) ** 2)
    same = r.actual_vs_expected.set_index("year")
    assert ae.loc["2021", "events_actual"] == same.loc["2021", "events_actual"]
    # the pooled row: Σ actual against Σ expected, sd² = Σ_t (E_t + c_y²E_t²)
    years = ae.drop(index="all 合计")
    pooled = ae.loc["all 合计"]
    assert pooled["events_actual"] == years["events_actual"].sum()
    var = sum(x + (cy * x) ** 2 for x in years["events_expected"])
    assert ("事件数 events" in pooled["flag"]) == (
        abs(pooled["events_actual"] - pooled["events_expected"]) > AE_TOLERANCE_SD * math.sqrt(var))
    assert actual_vs_expected({}, claims, heads).empty


def test_trend_table_fitted_with_se_and_judgmental():
    r = result()
    t = r.trends.set_index("line_id").loc["illness"]
    best = next(p for p in r.perils if p.line_id == "illness").severity.best
    assert best.has_trend  # 4 years: the trend is fitted
    beta, se_beta = best.theta[2], best.se[2]
    assert t["fitted"] == pytest.approx(math.expm1(beta), rel=1e-12)  # annual rate e^β − 1
    assert t["fitted_se"] == pytest.approx(math.exp(beta) * se_beta, rel=1e-12)  # delta method: d(e^β)/dβ·se
    assert t["judgmental"] == 0.05 and t["used"].startswith("fitted")


def test_holdout_places_the_realised_year():
    r = result()
    h = r.holdout
    claims, _ = history()
    assert h["year"] == 2024 and h["fitted_years"] == [2021, 2022, 2023]
    realised = float(claims[(claims["year"] == 2024) & (claims["peril"] == "illness")]["paid"].sum())
    assert h["realised"] == pytest.approx(realised)
    assert h["p10"] <= h["p50"] <= h["p90"]
    assert 0.0 <= h["percentile"] <= 1.0
    assert h["inside_p10_p90"] == (h["p10"] <= realised <= h["p90"])
    assert (h["why"] == "") == h["inside_p10_p90"]


def test_holdout_needs_three_years():
    claims, exposure = history()
    short = claims[claims["year"] >= 2023]
    r = budget(short, exposure[exposure["year"] >= 2023], PRODUCT, 2025, assumptions=Assumptions(bootstrap=0,
               trend=0.05), holdout=True)
    assert "fewer than 3" in r.holdout["skipped"]


def test_report_shows_the_checks(tmp_path):
    page = write_report(result(), tmp_path).read_text(encoding="utf-8")
    assert 'id="checks"' in page and "留出检验" in page and "2 standard deviations" in page
    assert (tmp_path / "actual_vs_expected.csv").exists() and (tmp_path / "trends.csv").exists()
    data = result().to_dict()
    assert data["holdout"]["year"] == 2024 and len(data["actual_vs_expected"]) == 5
    assert np.isfinite(data["trends"][0]["fitted_se"])


def test_family_chosen_on_the_paid_layer():
    """Amounts from a mixture (80% gamma body around 3,000, 20% lognormal tail around 15,000), all years 2024:
    each family fitted over everything above d = 0 is scored on the layer above s = 5,000 by
    AIC_s = 2k − 2Σ_{x > s}[log f(x) − log S(s)], computed here with scipy, and the smallest wins."""
    from scipy import stats

    from actuarial.budget.fit import paid_layer_choice
    from actuarial.severity import fit_severity

    rng = np.random.default_rng(3)
    x = np.concatenate([rng.gamma(2.0, 1500.0, 1600), rng.lognormal(math.log(15000.0), 0.8, 400)])
    sample = pd.DataFrame({"x": x, "censored": np.zeros(x.size, dtype=bool), "year": 2024.0})
    sev = fit_severity(x, years=np.full(x.size, 2024.0), truncation=0.0, trend=False)
    notes: list[str] = []
    chosen = paid_layer_choice(sev, sample, 5000.0, "illness", notes)
    layer = x[x > 5000.0]
    aic = {}
    for family, fit in sev.fits.items():
        dist = fit.frozen(2024.0)
        aic[family] = 2 * fit.k - 2 * (np.sum(dist.logpdf(layer)) - layer.size * dist.logsf(5000.0))
    assert chosen.best.family == min(aic, key=aic.get)
    assert chosen.best.family != sev.best.family and notes  # this sample switches family (lognormal → lomax)
    assert isinstance(sev.best.frozen(2024.0), type(stats.lognorm(1.0)))  # a frozen scipy distribution
    assert paid_layer_choice(sev, sample, 0.0, "illness", []) is sev  # s ≤ d: unchanged


def test_stop_loss_by_hand():
    """S on the grid 0, 100, 200, 300 with p = 0.5, 0.2, 0.2, 0.1 (a toy pmf): retention 150 →
    E[(S − 150)+] = 0.2·50 + 0.1·150 = 10 + 15 = 25, P(S > 150) = 0.3; retention 0 → E[S] = 20 + 40 + 30 = 90."""
    from actuarial.premium import stop_loss_table

    toy = SimpleNamespace(pmf=np.array([0.5, 0.2, 0.2, 0.1]), grid=np.array([0.0, 100.0, 200.0, 300.0]))
    t = stop_loss_table(toy, [150.0, 0.0], heads=10)
    assert t["premium"].tolist() == pytest.approx([25.0, 90.0])
    assert t["per_head"].tolist() == pytest.approx([2.5, 9.0])
    assert t["prob_exceed"].tolist() == pytest.approx([0.3, 0.5])


def test_report_stop_loss_on_the_budget(tmp_path):
    """The table's premium at R = E[S] is Σ_j p_j·max(j·b − E[S], 0) of the predictive, the budget is one of the
    retentions, and the report lists the table and writes stop_loss.csv."""
    from actuarial.report_checks import stop_loss_frame

    r = result()
    frame = stop_loss_frame(r)
    c = r.predictive
    mean = float(c.mean)
    row = frame.iloc[(frame["retention"] - mean).abs().argmin()]
    assert row["premium"] == pytest.approx(float(c.pmf @ np.maximum(c.grid - mean, 0.0)), rel=1e-12)
    assert float(r.budget_total) in frame["retention"].tolist()
    page = write_report(r, tmp_path).read_text(encoding="utf-8")
    assert "Stop-loss" in page and (tmp_path / "stop_loss.csv").exists()


def test_no_lags_is_said():
    """The simulated history has no report lags: the budget says so, and that the default lag pattern developed it."""
    assert any("no report lags" in n and "default lag pattern" in n for n in result().notes)


def test_sensitivity_rows():
    """Expense ratio ± 5 points without refit: B·(1 − 0.15)/(1 − 0.10) and B·(1 − 0.15)/(1 − 0.20); the trend rows
    equal budget() run with that trend imposed."""
    from actuarial.budget.sensitivity import sensitivity_table

    claims, exposure = history()
    a = Assumptions(bootstrap=0, seed=11)
    base = budget(claims, exposure, PRODUCT, 2025, assumptions=a)
    t = sensitivity_table(base, claims, exposure, PRODUCT, 2025).set_index(["assumption", "value"])
    b = base.budget_total
    assert t.loc[("expense ratio 费用率", "10%"), "budget_total"] == pytest.approx(b * 0.85 / 0.90, rel=1e-12)
    assert t.loc[("expense ratio 费用率", "20%"), "budget_total"] == pytest.approx(b * 0.85 / 0.80, rel=1e-12)
    direct = budget(claims, exposure, PRODUCT, 2025, assumptions=Assumptions(bootstrap=0, seed=11, trend=0.10))
    assert t.loc[("trend 趋势", "10%"), "budget_total"] == pytest.approx(direct.budget_total, rel=1e-12)
    chosen = base.perils[0].severity.best.family
    assert t.loc[("base 基准", f"illness {chosen}"), "change"] == 0.0
    # the family rows: every fitted line's family imposed; the chosen one is the base run itself
    assert t.loc[("family 分布族", chosen), "budget_total"] == pytest.approx(b, rel=1e-12)
    for family in {"lognormal", "gamma", "lomax"} - {chosen}:
        forced = budget(claims, exposure, PRODUCT, 2025,
                        assumptions=Assumptions(bootstrap=0, seed=11, severity_family=family))
        assert forced.perils[0].severity.best.family == family
        assert t.loc[("family 分布族", family), "budget_total"] == pytest.approx(forced.budget_total, rel=1e-12)
        assert forced.budget_total != b
    assert len(t) == 1 + 3 + 3 + 2 + 2
    from actuarial.budget.inputs import BudgetError

    with pytest.raises(BudgetError, match="未知的分布族.*unknown severity family 'weibull'"):
        Assumptions(severity_family="weibull")


def test_common_shock_between_lines():
    """Two lines (illness and schooling histories simulated apart, same counties): with a common shock of cv 0.3
    the draws' claim counts share one factor H_b (mean 1), so the predictive mean stays within the stratified
    sampling error while its sd grows; the plug-in is untouched; cv 0 is the independent model exactly."""
    c1, ex = history()
    c2, _, _ = simulate_history(3, 4, seed=5, heads=(20_000, 30_000), first_year=2021, line_id="schooling",
                                severity=(math.log(9000.0), 0.6), claim_rate=0.01)
    claims = pd.concat([c1, c2], ignore_index=True)
    base = budget(claims, ex, PRODUCT, 2025, assumptions=Assumptions(bootstrap=20, seed=11))
    same = budget(claims, ex, PRODUCT, 2025, assumptions=Assumptions(bootstrap=20, seed=11, common_shock_cv=0.0))
    shocked = budget(claims, ex, PRODUCT, 2025, assumptions=Assumptions(bootstrap=20, seed=11, common_shock_cv=0.3))
    assert same.budget_total == base.budget_total
    assert shocked.plug_in.exact_mean == base.plug_in.exact_mean
    assert shocked.predictive.exact_mean == pytest.approx(base.predictive.exact_mean, rel=0.05)
    assert shocked.predictive.exact_sd > 1.5 * base.predictive.exact_sd  # 0.3 of ~all the mean vs year cv ~0.1
    assert any("common shock" in n for n in shocked.notes)
