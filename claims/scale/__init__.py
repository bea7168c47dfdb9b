"""The claims engine on Dask distributed (分布式计算, ``relief calc --engine dask``): the same engine
functions, partition by partition, for a province-year that does not fit one machine's memory.

Every claim depends only on the rows of one household (户): person-basis lines sum a person's rows,
household-basis lines and the household caps (a line's, a cover's across its lines, the product's) sum a
household's rows, and a person belongs to exactly one household of the roster.  So the run is

1. **plan** (:mod:`~claims.scale.chunks`) — every report file is cut into chunks of about ``chunk_rows``
   rows (Parquet: small row groups together, a big one in slices; CSV: one chunk per file);
2. **read and route** (:mod:`~claims.scale.worker`, :mod:`~claims.scale.routing`) — each chunk goes
   through the single-machine reader on a worker and each usable row gets its partition
   ``p = siphash(household_no) mod P``; a person-keyed row (medical, education, accident) finds its
   household through the roster, broadcast to every worker as two sorted arrays (ID body → partition);
3. **shuffle** (:mod:`~claims.scale.run`) — each department's rows, as a Dask DataFrame, are shuffled on
   the partition number;
4. **compute** (:mod:`~claims.scale.worker`) — partition ``p`` gets its rows of every department (in the
   single-machine order: file, then line), the roster rows of its households (the roster is
   *partitioned* by the same hash, not broadcast: the engine needs every column of a household, and each
   row goes to one worker only) and the paid-before rows of its units, and runs
   :func:`claims.engine.compute.run_calculation` unchanged;
5. **merge** (:mod:`~claims.scale.merge`) — the partitions' claims are concatenated and sorted as the
   engine sorts them (line, household, unit).

What is global rather than per household, and how it is kept identical to the single-machine engine:

* **repeated settlement IDs (结算ID)** across chunks, files or households — a pre-pass over the ID column
  finds them, and they are reconciled globally before the partitions compute (:mod:`~claims.scale.repeats`);
* **paid amounts for a line the product does not have** — sent to partition 0 only, so the engine reports
  them once (``paid_unknown_line``);
* **units paid before but not on the roster** — the engine files them under the household
  “(不在名单 / not on roster)”; they are routed by that name, so they stay one group for the caps;
* **order** — claims: the engine's total order.  Exceptions: the same rows as the single-machine run, in
  another order (reader, settlement repeats, then each partition's screening).

Pure core (routing, chunks, repeats, worker, merge) and a thin shell (:mod:`~claims.scale.run`: the
cluster, the graph, progress).  Nothing here is imported by :mod:`claims.engine`; Dask itself is imported
only when a run starts.
"""

from claims.scale.run import compute_claims_dask, run_calculation_dask

__all__ = ["compute_claims_dask", "run_calculation_dask"]
