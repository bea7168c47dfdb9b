"""The claims engine on a Dask cluster (``relief calc --engine dask``): the same results, partitioned by
household, for a province that does not fit one machine's memory.
"""

from claims.scale.dask_engine import compute_claims_dask, run_calculation_dask

__all__ = ["compute_claims_dask", "run_calculation_dask"]
