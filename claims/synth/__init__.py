"""Synthetic counties and provinces (模拟数据): rosters and department files shaped like real exports,
with valid resident-ID check digits, for demos, tests and benchmarks.
"""
