"""Report readers and validation, the bulk claims engine, workflow, notices, payouts, fund.

Entry points: :func:`compute_claims` / :func:`run_calculation` (pure engine), the same engine on Dask
(:func:`compute_claims_dask`, partitions by household) and
:func:`claims.reports.read_report` (department files → canonical rows + exceptions).
"""

from .dask_engine import compute_claims_dask, run_calculation_dask
from .engine import CLAIM_COLUMNS, CalcResult, compute_claims, run_calculation
from .exceptions import EXCEPTION_COLUMNS, exceptions_frame
from .screening import screen_reports

__all__ = [
    "CLAIM_COLUMNS",
    "EXCEPTION_COLUMNS",
    "CalcResult",
    "compute_claims",
    "compute_claims_dask",
    "exceptions_frame",
    "run_calculation",
    "run_calculation_dask",
    "screen_reports",
]
