"""Report readers and validation, the bulk claims engine, and (later) workflow, notices, payouts, fund.

Entry points: :func:`compute_claims` / :func:`run_calculation` (pure engine) and
:func:`claims.reports.read_report` (department files → canonical rows + exceptions).
"""

from .engine import CLAIM_COLUMNS, CalcResult, compute_claims, run_calculation
from .exceptions import EXCEPTION_COLUMNS, exceptions_frame
from .screening import screen_reports

__all__ = [
    "CLAIM_COLUMNS",
    "EXCEPTION_COLUMNS",
    "CalcResult",
    "compute_claims",
    "exceptions_frame",
    "run_calculation",
    "screen_reports",
]
