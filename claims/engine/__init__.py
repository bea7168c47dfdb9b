"""The pure claims engine (理赔计算): roster + report rows + product → claims, exceptions, traces.

Stateless and vectorised (frames in, frames out); no database, web or cluster code may be imported here
(import-linter contracts in ``pyproject.toml``).  :func:`run_calculation` is the whole run,
:func:`compute_claims` its claims alone, :mod:`claims.engine.files` the file shell of
``relief calc``.
"""

from claims.engine.compute import CLAIM_COLUMNS, CalcResult, compute_claims, run_calculation
from claims.engine.screening import screen_reports

__all__ = ["CLAIM_COLUMNS", "CalcResult", "compute_claims", "run_calculation", "screen_reports"]
