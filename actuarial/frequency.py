"""Claim frequency (出险率) per unit by Bühlmann–Straub credibility, and its uncertainty for next year.

Method (actuarial.md §3 steps 4–5).  Data: claims N_ct and insured heads E_ct (参保人数) of unit c
(county, 区县) in year t.  The rate r_ct = N_ct / E_ct with weight E_ct goes into
:func:`actuarial.credibility.buhlmann_straub`, which gives

* ŝ² = Σ_c Σ_t E_ct (r_ct − r̄_c)² / Σ_c (n_c − 1)           (within variance),
* â  = (Σ_c E_c (r̄_c − r̄)² − (C − 1) ŝ²) / (E − Σ_c E_c² / E)  (between variance, 0 if ≤ 0),
* z_c = E_c / (E_c + ŝ²/â),   m̂ = Σ_c z_c r̄_c / Σ_c z_c,
* λ̂_c = z_c r̄_c + (1 − z_c) m̂   (claims per head per year, the ``rate``).

Uncertainty of next year's count (the negative binomial mixing cv, actuarial.md §3 step 5):

* parameter cv_c = sqrt((1 − z_c) â) / λ̂_c  (credibility error of λ̂_c);
* systemic year cv: with the collective rate by year R_t = Σ_c N_ct / Σ_c E_ct,
  var_year = max(0, Var_t(R_t) − mean(R_t) / mean_t(Σ_c E_ct))  (sample variance; the second term
  removes the Poisson noise of R_t), cv_year = sqrt(var_year) / mean(R_t), at least ``year_cv_floor``
  (and equal to the floor with fewer than 3 years);
* mixing cv_c = sqrt(cv_year² + cv_c²).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from actuarial.credibility import BuhlmannStraub, buhlmann_straub

__all__ = ["FrequencyFit", "fit_frequency"]

#: Column names accepted for a long frame (first name is canonical).
_UNIT_COLUMNS = ("unit", "county")
_COUNT_COLUMNS = ("count", "claims")
_HEADS_COLUMNS = ("heads", "exposure")


@dataclass(frozen=True, eq=False)
class FrequencyFit:
    """Credibility frequency per unit (see the module docstring for every formula)."""

    units: pd.Index
    years: pd.Index
    rate: np.ndarray
    z: np.ndarray
    collective: float
    between_variance: float
    within_variance: float
    year_cv: float
    parameter_cv: np.ndarray
    credibility: BuhlmannStraub | None
    claims: np.ndarray | None = None       # Σ_t N_ct per unit
    heads: np.ndarray | None = None        # Σ_t E_ct per unit
    n_years: np.ndarray | None = None      # years with data per unit
    year_rates: pd.Series | None = None    # collective rate R_t by year
    notes: tuple[str, ...] = ()

    def mixing_cv(self) -> np.ndarray:
        """Per unit sqrt(year_cv² + parameter_cv²): the NB mixing cv of next year's count."""
        return np.sqrt(self.year_cv**2 + self.parameter_cv**2)

    def expected_count(self, heads) -> np.ndarray:
        """λ̂_c × heads_c; ``heads`` per unit (array in unit order, or a Series indexed by unit)."""
        if isinstance(heads, pd.Series):
            missing = self.units.difference(heads.index)
            if len(missing):
                raise ValueError(f"缺少单位的参保人数 {list(missing)} / heads missing for units {list(missing)}")
            h = heads.reindex(self.units).to_numpy(dtype=float)
        else:
            h = np.asarray(heads, dtype=float)
            if h.ndim == 0:
                h = np.full(len(self.units), float(h)) if len(self.units) == 1 else h
            if h.shape != (len(self.units),):
                raise ValueError(
                    f"参保人数个数须等于单位数 {len(self.units)} / heads must have one value per unit "
                    f"({len(self.units)}), got shape {h.shape}"
                )
        return self.rate * h

    @property
    def table(self) -> pd.DataFrame:
        """Per unit: years with data, heads, claims, raw rate ΣN/ΣE, z, credibility rate, parameter_cv."""
        heads = self.heads if self.heads is not None else np.full(len(self.units), np.nan)
        claims = self.claims if self.claims is not None else np.full(len(self.units), np.nan)
        with np.errstate(invalid="ignore", divide="ignore"):
            raw = claims / heads
        return pd.DataFrame(
            {
                "years": self.n_years if self.n_years is not None else np.nan,
                "heads": heads,
                "claims": claims,
                "raw_rate": raw,
                "z": self.z,
                "rate": self.rate,
                "parameter_cv": self.parameter_cv,
            },
            index=pd.Index(self.units, name="unit"),
        )


# -------------------------------------------------------------------------------------------- inputs
def _pick(frame: pd.DataFrame, names: tuple[str, ...]) -> str:
    for name in names:
        if name in frame.columns:
            return name
    raise ValueError(f"缺少列 {names[0]} / missing column {names[0]!r} (accepted: {', '.join(names)})")


def _from_long(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    unit, count, heads = _pick(frame, _UNIT_COLUMNS), _pick(frame, _COUNT_COLUMNS), _pick(frame, _HEADS_COLUMNS)
    if "year" not in frame.columns:
        raise ValueError("缺少列 year / missing column 'year'")
    counts = frame.pivot_table(index=unit, columns="year", values=count, aggfunc="sum", dropna=False)
    heads_w = frame.pivot_table(index=unit, columns="year", values=heads, aggfunc="sum", dropna=False)
    # pivot_table's sum turns all-missing cells into 0: put NaN back where there was no row
    present = frame.assign(_one=1).pivot_table(index=unit, columns="year", values="_one", aggfunc="sum")
    present = present.reindex(index=counts.index, columns=counts.columns)
    return counts.where(present.notna()), heads_w.reindex_like(counts).where(present.notna())


def _labels(values, n: int, given, what: str) -> pd.Index:
    if given is not None:
        idx = pd.Index(given)
        if len(idx) != n:
            raise ValueError(f"{what} 标签个数 {len(idx)} ≠ {n} / {len(idx)} {what} labels for {n} rows/columns")
        return idx
    if values is not None:
        return pd.Index(values)
    return pd.RangeIndex(n)


# ------------------------------------------------------------------------------------------ estimate
def fit_frequency(counts, heads=None, *, units=None, years=None, method: str = "unbiased",
                  year_cv_floor: float = 0.0) -> FrequencyFit:
    """Credibility claim rate per unit (Bühlmann–Straub, weights = heads) and its cvs.

    Parameters
    ----------
    counts, heads : array_like (units × years) or DataFrame
        Claims N_ct (may be non-integer, e.g. counts grossed up for truncation) and insured heads E_ct;
        NaN = no data, and a cell with E_ct = 0 counts as no data.  Wide DataFrames give their index
        and columns as unit and year labels.  Or ``fit_frequency(frame)``: one long frame with
        columns unit (or county), year, count (or claims) and heads (or exposure); rows of the same
        unit and year are summed.
    units, years : sequence, optional
        Labels (default: the DataFrame labels, else 0, 1, …).
    method : {"unbiased", "iterative"}
        Estimator of â (see :func:`actuarial.credibility.buhlmann_straub`).
    year_cv_floor : float
        Lower bound of the systemic year cv (actuarial.md §3 G7 uses 0.10).

    Degenerate cases (no error):

    * **one unit**: λ̂ = ΣN/ΣE, z = 1, â = nan, ŝ² from its years (nan with one year),
      parameter_cv = sqrt(1/ΣN) (Poisson standard error of the rate; 0 when ΣN = 0),
      ``credibility`` = None;
    * **â ≤ 0** (units no more different than Poisson noise): â = 0, z = 0, every λ̂_c = m̂ = the
      heads-weighted mean rate, parameter_cv = 0 (the formula sqrt((1 − z) â)/λ̂);
    * **a unit with one year** contributes nothing to ŝ² but is credibility-weighted as usual;
    * **every unit has one year** (ŝ² not estimable): the Poisson–gamma empirical-Bayes variant
      ŝ² = m̂ (actuarial.md §3 step 4) with m̂ the weighted mean rate, then â, z, λ̂ by the formulas;
      a note says so;
    * λ̂_c = 0 gives parameter_cv 0.

    Raises ValueError (Chinese / English) on negative or infinite values, shape mismatch, a unit
    without any data, or an unknown method.
    """
    if method not in ("unbiased", "iterative"):
        raise ValueError(f"未知的估计方法 {method!r} / method must be 'unbiased' or 'iterative', got {method!r}")
    floor = float(year_cv_floor)
    if not (math.isfinite(floor) and floor >= 0):
        raise ValueError(f"year_cv_floor 须为非负数 / year_cv_floor must be >= 0, got {year_cv_floor!r}")
    n_arr, e_arr, unit_index, year_index = _counts_and_heads(counts, heads, units, years)
    mask = ~np.isnan(n_arr) & ~np.isnan(e_arr) & (np.nan_to_num(e_arr) > 0)
    empty = ~mask.any(axis=1)
    if empty.any():
        bad = list(unit_index[empty])
        raise ValueError(f"以下单位没有任何数据 {bad} / units without any data: {bad}")
    n_w = np.where(mask, n_arr, 0.0)
    e_w = np.where(mask, e_arr, 0.0)
    claims_c, heads_c, n_years = n_w.sum(axis=1), e_w.sum(axis=1), mask.sum(axis=1)
    year_cv, year_rates = _year_cv(n_w, e_w, mask, year_index, floor)
    common = {"units": unit_index, "years": year_index, "year_cv": year_cv, "claims": claims_c, "heads": heads_c,
              "n_years": n_years, "year_rates": year_rates}
    if n_arr.shape[0] == 1:
        return _one_unit(n_w, e_w, mask, claims_c, heads_c, common)
    notes: list[str] = []
    ratios = np.where(mask, n_w / np.where(mask, e_w, 1.0), np.nan)
    weights = np.where(mask, e_w, np.nan)
    if np.all(n_years <= 1):
        bs = _poisson_gamma(ratios, weights, mask, unit_index)
        notes.append(
            "每个单位只有一年数据：组内方差取 ŝ² = m̂（泊松–伽马经验贝叶斯）/ every unit has one year: "
            "within variance set to ŝ² = m̂ (Poisson–gamma empirical Bayes)"
        )
    else:
        bs = buhlmann_straub(ratios, weights, method=method, units=list(unit_index))
    if bs.between_variance <= 0:
        notes.append("组间方差 â ≤ 0：各单位取总体出险率 / between variance â ≤ 0: every unit gets the collective rate")
    rate = np.asarray(bs.premiums, dtype=float)
    a = float(bs.between_variance)
    with np.errstate(invalid="ignore", divide="ignore"):
        pcv = np.where(rate > 0, np.sqrt(np.maximum(0.0, (1.0 - bs.z) * a)) / rate, 0.0)
    return FrequencyFit(rate=rate, z=np.asarray(bs.z, dtype=float), collective=float(bs.collective),
                        between_variance=a, within_variance=float(bs.within_variance), parameter_cv=pcv,
                        credibility=bs, notes=tuple(notes), **common)


def _counts_and_heads(counts, heads, units, years) -> tuple[np.ndarray, np.ndarray, pd.Index, pd.Index]:
    """(N, E) as units × years float arrays (a long frame pivoted, wide frames aligned, one unit's 1-D years
    as one row) with their unit and year labels; negative, infinite or mismatched input raises ValueError."""
    if heads is None:
        if not isinstance(counts, pd.DataFrame):
            raise ValueError("缺少参保人数 / heads is required unless counts is a long DataFrame")
        counts, heads = _from_long(counts)
    unit_labels = year_labels = None
    if isinstance(counts, pd.DataFrame):
        unit_labels, year_labels = counts.index, counts.columns
        if isinstance(heads, pd.DataFrame):
            heads = heads.reindex(index=counts.index, columns=counts.columns)
    n_arr = np.asarray(counts, dtype=float)
    e_arr = np.asarray(heads, dtype=float)
    if n_arr.ndim == 1 and e_arr.ndim == 1:  # one unit's years
        n_arr, e_arr = n_arr[None, :], e_arr[None, :]
    if n_arr.ndim != 2:
        raise ValueError(f"出险数须为二维（单位 × 年度）/ counts must be 2-D (units × years), got {n_arr.ndim}-D")
    if e_arr.shape != n_arr.shape:
        raise ValueError(f"参保人数与出险数形状不符 / heads shape {e_arr.shape} differs from counts {n_arr.shape}")
    if np.any(np.isinf(n_arr)) or np.any(np.isinf(e_arr)):
        raise ValueError("出险数或参保人数为无穷大 / counts or heads are infinite")
    if np.any(n_arr[~np.isnan(n_arr)] < 0) or np.any(e_arr[~np.isnan(e_arr)] < 0):
        raise ValueError("出险数和参保人数不能为负 / counts and heads must be non-negative")
    unit_index = _labels(unit_labels, n_arr.shape[0], units, "unit")
    year_index = _labels(year_labels, n_arr.shape[1], years, "year")
    return n_arr, e_arr, unit_index, year_index


def _one_unit(n_w: np.ndarray, e_w: np.ndarray, mask: np.ndarray, claims_c: np.ndarray, heads_c: np.ndarray,
              common: dict) -> FrequencyFit:
    """One unit, no credibility weighting: λ̂ = ΣN/ΣE, z = 1, â = nan, ŝ² = Σ_t E_t (r_t − λ̂)² / (n − 1) (nan
    with one year), parameter cv = sqrt(1/ΣN) (0 when ΣN = 0)."""
    rate = claims_c / heads_c
    r = n_w[0, mask[0]] / e_w[0, mask[0]]
    w = e_w[0, mask[0]]
    s2 = float(np.sum(w * (r - rate[0]) ** 2) / (r.size - 1)) if r.size > 1 else math.nan
    pcv = np.array([math.sqrt(1.0 / claims_c[0]) if claims_c[0] > 0 else 0.0])
    return FrequencyFit(rate=rate, z=np.ones(1), collective=float(rate[0]), between_variance=math.nan,
                        within_variance=s2, parameter_cv=pcv, credibility=None,
                        notes=("单一单位：不做信度加权 / one unit: no credibility weighting (z = 1)",), **common)


def _year_cv(n_w: np.ndarray, e_w: np.ndarray, mask: np.ndarray, year_index: pd.Index,
             floor: float) -> tuple[float, pd.Series]:
    """Systemic year cv from R_t = Σ_c N_ct / Σ_c E_ct (module docstring); floor with < 3 years."""
    e_t = e_w.sum(axis=0)
    has = mask.any(axis=0) & (e_t > 0)
    r_t = np.full(e_t.shape, np.nan)
    r_t[has] = n_w.sum(axis=0)[has] / e_t[has]
    rates = pd.Series(r_t, index=year_index, name="rate")
    if has.sum() < 3:
        return floor, rates
    r, e = r_t[has], e_t[has]
    mean_r = float(r.mean())
    if mean_r <= 0:
        return floor, rates
    var_year = max(0.0, float(np.var(r, ddof=1)) - mean_r / float(e.mean()))
    return max(math.sqrt(var_year) / mean_r, floor), rates


def _poisson_gamma(ratios: np.ndarray, weights: np.ndarray, mask: np.ndarray, unit_index) -> BuhlmannStraub:
    """Bühlmann–Straub with ŝ² = m̂ (Poisson within variance) when no unit has two years.

    :func:`buhlmann_straub` with ``within_variance`` = r̄_w = Σ_c w_c r̄_c / w, the weighted mean rate
    (w_c, r̄_c as there): â = (Σ w_c (r̄_c − r̄_w)² − (C − 1) ŝ²) / (w − Σ w_c²/w), then z, m̂ and the
    premiums as usual (â ≤ 0 → z = 0, m̂ = r̄_w).
    """
    w = np.where(mask, weights, 0.0)
    w_c = w.sum(axis=1)
    rbar_c = (w * np.where(mask, ratios, 0.0)).sum(axis=1) / w_c
    rbar_w = float((w_c * rbar_c).sum() / w_c.sum())
    bs = buhlmann_straub(ratios, weights, within_variance=rbar_w, units=list(unit_index))
    return replace(bs, method="poisson-gamma")
