"""Actuarial models for next year's premium budget (numpy/scipy only; no reference library at run time).

* coverage — the payout function g(x) of a product's bracket line and exact moments of g(X);
* compound / aggregate / montecarlo — the compound model (inputs, grid rule, the result with its validation
  table), its aggregate payout by FFT, and the Monte Carlo check;
* severity — truncated/censored MLE with a log-linear trend, chosen by AIC (likelihood: severity_likelihood);
* frequency / credibility — claim rates per head by Bühlmann–Straub across counties;
* reserving — chain ladder with Mack SE, Bornhuetter–Ferguson;
* premium / budget — premium principles and next year's budget with parameter uncertainty and what-if;
* history — the claims history from files or the database; report — the Chinese HTML report;
* simulation / backtest — counties × years simulated from a known model; budget adequacy on them.
"""

from actuarial.aggregate import combine, compound_batch, compound_distribution
from actuarial.backtest import BacktestResult, run_backtest
from actuarial.budget import budget
from actuarial.budget.inputs import Assumptions
from actuarial.budget.price import BudgetResult
from actuarial.compound import Compound, Frequency, Peril
from actuarial.coverage import PayoutFunction
from actuarial.credibility import BuhlmannStraub, buhlmann_straub
from actuarial.frequency import FrequencyFit, fit_frequency
from actuarial.history import claims_from_database, read_claims, read_exposure
from actuarial.montecarlo import monte_carlo_summary, simulate_annual_payouts
from actuarial.premium import PRINCIPLES, band, premium_table
from actuarial.report import write_report
from actuarial.reserving import BornhuetterFerguson, ChainLadder, bornhuetter_ferguson, chain_ladder
from actuarial.severity import FAMILIES, SeverityComparison, SeverityFit, fit_severity
from actuarial.simulation import simulate_history

__all__ = [
    "BacktestResult",
    "run_backtest",
    "simulate_history",
    "write_report",
    "Assumptions",
    "BornhuetterFerguson",
    "BudgetResult",
    "BuhlmannStraub",
    "ChainLadder",
    "Compound",
    "FAMILIES",
    "Frequency",
    "FrequencyFit",
    "PRINCIPLES",
    "PayoutFunction",
    "Peril",
    "SeverityComparison",
    "SeverityFit",
    "band",
    "bornhuetter_ferguson",
    "budget",
    "buhlmann_straub",
    "chain_ladder",
    "claims_from_database",
    "combine",
    "compound_batch",
    "compound_distribution",
    "monte_carlo_summary",
    "simulate_annual_payouts",
    "fit_frequency",
    "fit_severity",
    "premium_table",
    "read_claims",
    "read_exposure",
]
