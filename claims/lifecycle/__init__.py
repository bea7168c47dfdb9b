"""The database life of a claim (理赔流程): imports, recomputation, review, notices, payouts, the fund.

Services own their transactions; the workflow's transition table (:mod:`claims.lifecycle.workflow`) is
the only place a state changes; models and migrations (Alembic) are here too.
"""

# A table kept in a module of its own, registered on the shared metadata for whoever collects it (the migrations'
# environment, tests/test_migrations.py): the county's co-signs of payout batches (issue 15.1).
from claims.lifecycle import batch_signoffs as _batch_signoffs  # noqa: E402,F401
