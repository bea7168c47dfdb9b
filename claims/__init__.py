"""Claims: the engine that computes what a product owes, and the database life of a claim.

Rooms (see ARCHITECTURE.md): :mod:`claims.reports` reads department files, :mod:`claims.engine` computes
claims from frames (pure, stateless: ``relief calc``), :mod:`claims.scale` runs the same engine on Dask,
:mod:`claims.lifecycle` keeps claims in the database (workflow, notices, payouts, fund),
:mod:`claims.synth` generates synthetic counties.

Entry points: :func:`compute_claims` / :func:`run_calculation` (the pure engine; importing them loads
neither SQLAlchemy, Flask nor Dask).
"""

from claims.engine import CalcResult, compute_claims, run_calculation

__all__ = ["CalcResult", "compute_claims", "run_calculation"]
