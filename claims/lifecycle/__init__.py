"""The database life of a claim (理赔流程): imports, recomputation, review, notices, payouts, the fund.

Services own their transactions; the workflow's transition table (:mod:`claims.lifecycle.workflow`) is
the only place a state changes; models and migrations (Alembic) are here too.
"""
