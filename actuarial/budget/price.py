"""Pricing: the budget figures from the fitted line models (actuarial.md §3 steps 6–7; the method in
:mod:`actuarial.budget`).

The plug-in compound of all priced lines at the point estimates (bucket refined until its mean and sd agree
with the exact ones), the predictive mixture of the ``bootstrap`` parameter draws on the same grid, and from
the predictive the premium table, THE budget B (the chosen principle's total: risk premium / (1 − expense
ratio)), P(S > B) and the per-head band.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from actuarial.aggregate import compound_batch, compound_distribution
from actuarial.budget.fit import EmpiricalAmounts, ExperienceModel, LineModel
from actuarial.budget.inputs import Assumptions, BudgetError
from actuarial.compound import (
    Compound,
    CompoundAccuracyWarning,
    Frequency,
    Peril,
    accuracy_message,
    default_bucket,
    grid_span,
    mixture,
    nice_step,
    peril_moments,
)
from actuarial.coverage import PayoutFunction
from actuarial.premium import PRINCIPLES, band, premium_table
from products.model import Product

__all__ = ["BudgetResult", "PerilBudget"]

_MAX_POINTS = 2**18  # largest plug-in grid the bucket refinement goes to


@dataclass(frozen=True, eq=False)
class PerilBudget:
    """One bracket line priced by the model: fits, expected events and the plug-in moments of its payout."""

    line_id: str
    peril: str
    name: str
    severity: Any  # actuarial.severity.SeverityComparison
    frequency: Any  # actuarial.frequency.FrequencyFit
    events: float  # expected ground-up events next year (all counties)
    mean: float  # exact mean of this line's aggregate payout next year (plug-in)
    sd: float  # exact sd (plug-in)
    truncation: float = 0.0  # d used in the severity fit (yuan)
    mixing_cv: float = 0.0  # NB mixing cv of the plug-in count: sqrt(year_cv² + cv_par²)
    county_events: pd.Series | None = field(default=None, repr=False)  # λ_c by county


@dataclass(frozen=True, eq=False)
class BudgetResult:
    """The budget for ``year`` (see the module docstring); ``predictive`` is THE distribution."""

    product_code: str
    product_name: str
    year: int
    heads: int
    assumptions: Assumptions
    perils: tuple[PerilBudget, ...]
    predictive: Compound
    plug_in: Compound
    premiums: pd.DataFrame
    budget_total: float
    budget_per_head: float
    prob_exceed: float
    band: pd.DataFrame
    experience: pd.DataFrame
    validation: pd.DataFrame
    notes: tuple[str, ...]
    whatif: BudgetResult | None = None
    #: lines priced at their experience (step 2): line_id, name, kind, events, mean (yuan), per_head
    experience_lines: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    #: per bracket line × history year, actual vs expected (:mod:`actuarial.budget.check`)
    actual_vs_expected: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    #: per line, the severity trend fitted (with its SE) and judgmental, and the one used
    trends: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    #: the hold-out check (``budget(..., holdout=True)``), or None
    holdout: dict | None = None
    #: :func:`actuarial.budget.sensitivity.sensitivity_table` when asked for
    sensitivity: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    #: the default lag pattern (:func:`actuarial.budget.lags.default_pattern`) when it developed the history
    default_lags: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    #: per county: the budget split by credibility (``budget(..., by_county=True)``)
    county_budgets: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)

    def comparison(self) -> pd.DataFrame:
        """Current vs draft side by side: index = quantity; columns current, draft, change, ratio.

        Rows: mean and sd of S (predictive), budget total and per head, P(S > budget), and the per-head
        premium of every principle (``per_head:<principle>``).  Empty frame without a what-if.
        """
        if self.whatif is None:
            return pd.DataFrame(columns=["current", "draft", "change", "ratio"])

        def column(r: BudgetResult) -> pd.Series:
            values = {"mean": r.predictive.mean, "sd": r.predictive.sd, "budget_total": r.budget_total,
                      "budget_per_head": r.budget_per_head, "prob_exceed": r.prob_exceed}
            for key in PRINCIPLES:
                values[f"per_head:{key}"] = float(r.premiums.loc[key, "per_head"])
            return pd.Series(values, dtype="float64")

        out = pd.DataFrame({"current": column(self), "draft": column(self.whatif)})
        out["change"] = out["draft"] - out["current"]
        with np.errstate(divide="ignore", invalid="ignore"):
            out["ratio"] = out["draft"] / out["current"]
        out.index.name = "quantity"
        return out

    def to_dict(self) -> dict:
        """JSON-able summary (plain float/int/str, no numpy types; NaN → None)."""

        def dist(c: Compound) -> dict:
            return {"mean": c.mean, "sd": c.sd, "exact_mean": c.exact_mean, "exact_sd": c.exact_sd,
                    "bucket": c.bucket, "points": int(c.pmf.size), "valid": c.valid}

        lines = []  # one entry per modelled line (key "perils"; its "peril" is the products cover category)
        for p in self.perils:
            best = p.severity.best
            lines.append({
                "line_id": p.line_id, "peril": p.peril, "name": p.name, "events": p.events, "mean": p.mean,
                "sd": p.sd, "truncation": p.truncation, "mixing_cv": p.mixing_cv,
                "severity": {"family": best.family, "params": dict(best.params), "aic": best.aic, "n": best.n,
                             "trend_fitted": bool(best.has_trend)},
                "frequency": {"collective": p.frequency.collective, "year_cv": p.frequency.year_cv},
            })
        out = {
            "product_code": self.product_code, "product_name": self.product_name, "year": self.year,
            "heads": self.heads, "assumptions": asdict(self.assumptions), "perils": lines,
            "predictive": dist(self.predictive), "plug_in": dist(self.plug_in),
            "premiums": _records(self.premiums, "principle"), "budget_total": self.budget_total,
            "budget_per_head": self.budget_per_head, "prob_exceed": self.prob_exceed,
            "band": _records(self.band, "p"), "experience": _records(self.experience),
            "experience_lines": _records(self.experience_lines),
            "actual_vs_expected": _records(self.actual_vs_expected), "trends": _records(self.trends),
            "holdout": self.holdout, "sensitivity": _records(self.sensitivity),
            "default_lags": _records(self.default_lags), "county_budgets": _records(self.county_budgets),
            "validation": _records(self.validation.reset_index()), "notes": list(self.notes),
            "whatif": None if self.whatif is None else self.whatif.to_dict(),
            "comparison": None if self.whatif is None else _records(self.comparison(), "quantity"),
        }
        return _plain(out)


def _plain(v: Any) -> Any:
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        f = float(v)
        return f if math.isfinite(f) else None
    if v is None or isinstance(v, str):
        return v
    if v is pd.NA:
        return None
    return str(v)


def _records(frame: pd.DataFrame, index: str | None = None) -> list[dict]:
    if frame is None or frame.empty:
        return []
    f = frame.reset_index() if index is not None else frame
    if index is not None and index not in f.columns:
        f = f.rename(columns={f.columns[0]: index})
    return [_plain(r) for r in f.to_dict(orient="records")]


# ------------------------------------------------------------------------------------- pricing
def _on_grid(blocks: list[Peril], bucket: float) -> list[Peril]:
    """Experience lines' amounts split onto the grid of step ``bucket``; other blocks unchanged."""
    return [Peril(p.frequency, p.severity.on_grid(bucket), None, p.name) if isinstance(p.severity, EmpiricalAmounts)
            else p for p in blocks]


def _finer(bucket: float) -> float:
    """The next smaller step in {1, 2, 2.5, 5} × 10^k (the ladder of :mod:`actuarial.compound`)."""
    return nice_step(bucket * (1 - 1e-9))


@dataclass(frozen=True, eq=False)
class PricedLines:
    """The compounds of one product's priced lines and what each line contributes."""

    plug_in: Compound
    predictive: Compound
    perils: tuple[PerilBudget, ...]
    experience_lines: pd.DataFrame


@dataclass(frozen=True, eq=False)
class _PricedLine:
    """One line's block at the point estimates (``plug``), its ``bootstrap`` draws, and the exact mean and
    variance of its aggregate payout under ``plug``."""

    plug: Peril
    draws: list[Peril]
    mean: float
    var: float

    @property
    def sd(self) -> float:
        return math.sqrt(max(self.var, 0.0))


def _bracket_line(line: Any, m: LineModel, year: int, bootstrap: int) -> _PricedLine:
    """N ~ NB(Σ_c λ_c, cv = sqrt(year_cv² + cv_par²)), X ~ the best severity of ``year``, payout g; draw b:
    N_b ~ NB(Σ_c λ_c·G_b, year_cv), X_b ~ the severity at θ_b."""
    g = PayoutFunction.from_line(line)
    best = m.severity.best
    freq = Frequency(m.events, math.sqrt(m.year_cv**2 + m.parameter_cv**2))
    plug = Peril(freq, best.frozen(float(year)), g, line.id)
    mean, var = peril_moments(plug)
    draws = [Peril(Frequency(m.events * float(m.count_factors[b]), m.year_cv),
                   best.frozen(float(year), theta=m.theta_draws[b]), g, line.id) for b in range(bootstrap)]
    return _PricedLine(plug, draws, mean, var)


def _experience_block(line: Any, e: ExperienceModel, bootstrap: int) -> _PricedLine:
    """N ~ NB(events, cv), each claim paying a historical amount (payout None); draw b: N_b ~ NB(events·G_b,
    year_cv)."""
    plug = Peril(Frequency(e.events, e.cv), e.amounts, None, line.id)
    mean, var = peril_moments(plug)
    draws = [Peril(Frequency(e.events * float(e.count_factors[b]), e.year_cv), e.amounts, None, line.id)
             for b in range(bootstrap)]
    return _PricedLine(plug, draws, mean, var)


def _compounds(plug: list[Peril], draws: list[list[Peril]], means: list[float], variances: list[float],
               caps: list[float], bootstrap: int) -> tuple[Compound, Compound]:
    """The plug-in compound and the predictive mixture of the draws on its grid.

    The bucket: aggregate's default rule for the span mean + 12 sd, with the bracket lines' caps only (the
    experience lines' amounts are split onto the grid instead, :meth:`EmpiricalAmounts.on_grid`), refined
    until the plug-in's mean and sd agree with the exact ones (1e-4) or the grid would exceed ``_MAX_POINTS``."""
    span = grid_span(sum(means), sum(variances))
    bucket = default_bucket(span, caps)
    with warnings.catch_warnings():  # the steps of the refinement; the last one's validation is in the result
        warnings.simplefilter("ignore", CompoundAccuracyWarning)
        plug_in = compound_distribution(perils=_on_grid(plug, bucket), bucket=bucket)
        while not plug_in.valid and span / _finer(bucket) <= _MAX_POINTS:  # refine until mean/sd agree (1e-4)
            bucket = _finer(bucket)
            plug_in = compound_distribution(perils=_on_grid(plug, bucket), bucket=bucket)
    if not plug_in.valid:
        warnings.warn(accuracy_message(plug_in), CompoundAccuracyWarning, stacklevel=3)
    if bootstrap == 0:
        return plug_in, plug_in
    # one common bucket; each draw's grid is the smallest power of two covering its mean + 12 sd, and
    # shorter pmfs are padded with zeros (no mass there) before averaging
    parts = compound_batch([_on_grid(d, bucket) for d in draws], bucket=bucket)
    return plug_in, mixture(parts)


def price_lines(product: Product, models: dict[str, LineModel], experience: dict[str, ExperienceModel],
                year: int, bootstrap: int, notes: list[str], shock: np.ndarray | None = None) -> PricedLines:
    """``product``'s lines priced with the fitted ``models`` (bracket lines) and ``experience`` (the others),
    independent lines: the plug-in compound and the predictive mixture (:func:`_compounds`); ``shock`` (one
    factor H_b per draw, mean 1) multiplies every line's claim count in draw b: a common shock between the lines
    (a flood year raises disaster and illness together), in the predictive only.  A line with
    neither is left out, and a cover's shared caps are not applied (each noted)."""
    plug: list[Peril] = []
    draws: list[list[Peril]] = [[] for _ in range(bootstrap)]
    line_budgets: list[PerilBudget] = []
    exp_rows = []
    means: list[float] = []
    variances: list[float] = []
    caps: list[float] = []  # maximum payouts of the bracket lines
    for line in product.lines:
        if line.kind == "bracket" and line.id in models:
            m = models[line.id]
            priced = _bracket_line(line, m, year, bootstrap)
            caps.append(priced.plug.payout.max_payout)
            line_budgets.append(PerilBudget(line_id=line.id, peril=line.peril, name=line.name, severity=m.severity,
                                            frequency=m.frequency, events=m.events, mean=priced.mean, sd=priced.sd,
                                            truncation=m.truncation, mixing_cv=priced.plug.frequency.cv,
                                            county_events=m.county_events))
        elif line.id in experience:
            e = experience[line.id]
            priced = _experience_block(line, e, bootstrap)
            exp_rows.append({"line_id": line.id, "name": line.name, "kind": line.kind, "events": e.events,
                             "mean": priced.mean, "sd": priced.sd})
        else:
            notes.append(f"{line.id}（{line.name}）: 无可用历史，未计入预算 / no usable history, left out of the budget")
            continue
        plug.append(priced.plug)
        means.append(priced.mean)
        variances.append(priced.var)
        for b in range(bootstrap):
            d = priced.draws[b]
            if shock is not None:
                d = Peril(Frequency(d.frequency.mean * float(shock[b]), d.frequency.cv), d.severity, d.payout, d.name)
            draws[b].append(d)
    if not plug:
        raise BudgetError("没有可计价的责任（历史中没有本产品责任的赔案） / nothing to price: the history has no "
                          "claims on this product's lines")
    for cover in product.covers:  # lines are priced one by one: a cover's shared caps never cut a simulated year
        notes.append(f"{cover.id}（{cover.name}）: 共用限额未用于模拟，{'、'.join(cover.lines)} 各自计价（上限估计） / "
                     f"the shared caps of cover {cover.id} are not applied in the simulation: "
                     f"{', '.join(cover.lines)} are priced line by line (an upper bound)")
    plug_in, predictive = _compounds(plug, draws, means, variances, caps, bootstrap)
    table = pd.DataFrame(exp_rows, columns=["line_id", "name", "kind", "events", "mean", "sd"])
    return PricedLines(plug_in, predictive, tuple(line_budgets), table)


def budget_result(product: Product, year: int, heads_total: float, a: Assumptions, priced: PricedLines,
                  experience: pd.DataFrame, notes: list[str], whatif: BudgetResult | None) -> BudgetResult:
    """THE budget B = ``premium_table(predictive).loc[a.principle, "total"]`` (risk premium / (1 − expense
    ratio)) for max(round(heads), 1) heads, B per head, P(S > B) and the P10–P90 band per head."""
    heads_int = max(int(round(heads_total)), 1)
    prem = premium_table(priced.predictive, heads=heads_int, expense_ratio=a.expense_ratio, theta=a.theta,
                         kappa=a.kappa, level=a.level, coc_rate=a.coc_rate, coc_level=a.coc_level)
    total = float(prem.loc[a.principle, "total"])
    return BudgetResult(
        product_code=product.code, product_name=product.name, year=int(year), heads=heads_int, assumptions=a,
        perils=priced.perils, predictive=priced.predictive, plug_in=priced.plug_in, premiums=prem,
        budget_total=total, budget_per_head=total / heads_int,
        prob_exceed=float(priced.predictive.prob_exceed(total)), band=band(priced.predictive, heads_int),
        experience=experience, validation=priced.predictive.validation, notes=tuple(notes), whatif=whatif,
        experience_lines=priced.experience_lines,
    )

