"""Premium principles (保费原则) on a discrete aggregate payout distribution S (actuarial.md §3 step 6).

For a distribution ``dist`` (a :class:`actuarial.compound.Compound`, or anything with ``mean``, ``sd``,
``quantile(p)``, ``tvar(p)`` and ``prob_exceed(x)``) and the insured heads E:

* expected value (期望值原则):      R = (1 + θ)·E[S]
* standard deviation (标准差原则):  R = E[S] + κ·σ[S]
* value at risk (VaR 分位数原则):   R = q_p, the lower quantile min{x : F(x) ≥ p}
* tail value at risk (TVaR):        R = q_p + E[(S − q_p)+]/(1 − p)  (Acerbi–Tasche expected shortfall;
  not actuar's CTE = E[S | S > q_p], which differs when S has an atom at q_p)
* cost of capital (资本成本原则):   R = E[S] + r·(TVaR_{p_c}[S] − E[S]), capital = TVaR_{p_c} − E[S]

R is the risk premium (纯风险保费 plus risk loading, before expenses).  The gross budget is
total = R / (1 − expense ratio) (费用率 e), per head = total / E, and the table reports P(S > total).

E[S] and σ[S] are the moments of the discrete distribution itself (not the exact ones of the model), so
that every principle reads the same pmf as the quantiles (on the default grid they agree within 1e-4).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

__all__ = ["PRINCIPLES", "band", "premium_table", "stop_loss_table"]

PRINCIPLES: dict[str, str] = {
    "expected_value": "期望值原则 / expected value",
    "standard_deviation": "标准差原则 / standard deviation",
    "var": "VaR 分位数原则 / value at risk",
    "tvar": "TVaR 尾部期望原则 / tail value at risk",
    "cost_of_capital": "资本成本原则 / cost of capital",
}


def _check(heads: int, expense_ratio: float, level: float, coc_level: float) -> None:
    if not heads > 0:
        raise ValueError(f"参保人数必须大于 0 / heads must be > 0, got {heads!r}")
    if not 0.0 <= expense_ratio < 1.0:
        raise ValueError(f"费用率须在 [0, 1) 内 / expense ratio must lie in [0, 1), got {expense_ratio!r}")
    for name, p in (("level", level), ("coc_level", coc_level)):
        if not 0.0 < p < 1.0:
            raise ValueError(f"{name} 须在 (0, 1) 内 / {name} must lie in (0, 1), got {p!r}")


def premium_table(dist: Any, *, heads: int, expense_ratio: float = 0.15, theta: float = 0.10, kappa: float = 1.0,
                  level: float = 0.95, coc_rate: float = 0.06, coc_level: float = 0.995) -> pd.DataFrame:
    """Every principle's premium for ``dist`` and ``heads`` insured.

    Returns a DataFrame indexed by principle key (:data:`PRINCIPLES`) with columns ``label``,
    ``risk_premium`` (yuan, before expenses), ``total`` (= risk_premium / (1 − expense_ratio)),
    ``per_head`` (= total / heads) and ``prob_exceed`` (P(S > total)).
    """
    _check(heads, expense_ratio, level, coc_level)
    mean, sd = float(dist.mean), float(dist.sd)
    risk = {
        "expected_value": (1.0 + theta) * mean,
        "standard_deviation": mean + kappa * sd,
        "var": float(dist.quantile(level)),
        "tvar": float(dist.tvar(level)),
        "cost_of_capital": mean + coc_rate * (float(dist.tvar(coc_level)) - mean),
    }
    rows = []
    for key, label in PRINCIPLES.items():
        total = risk[key] / (1.0 - expense_ratio)
        rows.append({"label": label, "risk_premium": risk[key], "total": total, "per_head": total / heads,
                     "prob_exceed": float(dist.prob_exceed(total))})
    table = pd.DataFrame(rows, index=pd.Index(list(PRINCIPLES), name="principle"))
    return table


def band(dist: Any, heads: int, probs: Sequence[float] = (0.10, 0.25, 0.50, 0.75, 0.90)) -> pd.DataFrame:
    """Quantiles of S (lower quantile, as VaR) in total and per head: index p; columns total, per_head.

    These are payout quantiles, without expense loading: the P10–P90 band says where next year's payouts
    per head should fall.
    """
    if not heads > 0:
        raise ValueError(f"参保人数必须大于 0 / heads must be > 0, got {heads!r}")
    ps = [float(p) for p in probs]
    totals = [float(dist.quantile(p)) for p in ps]
    return pd.DataFrame({"total": totals, "per_head": [t / heads for t in totals]},
                        index=pd.Index(ps, name="p"))


def stop_loss_table(dist: Any, retentions: Sequence[float], heads: int) -> pd.DataFrame:
    """The county fund's stop-loss (aggregate excess-of-loss, 赔付超额再保/统筹兜底) on the same discrete S:
    for each retention R the pure premium E[(S − R)+] = Σ_j p_j·max(j·b − R, 0), that premium per head, and
    P(S > R).  ``dist`` needs ``pmf`` and ``grid`` (a :class:`actuarial.compound.Compound`)."""
    import numpy as np

    grid, pmf = np.asarray(dist.grid, dtype=float), np.asarray(dist.pmf, dtype=float)
    rows = []
    for r in retentions:
        excess = float(pmf @ np.maximum(grid - float(r), 0.0))
        rows.append({"retention": float(r), "premium": excess, "per_head": excess / heads,
                     "prob_exceed": float(pmf[grid > float(r)].sum())})
    return pd.DataFrame(rows, columns=["retention", "premium", "per_head", "prob_exceed"])
