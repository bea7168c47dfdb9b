"""Actuarial models for next year's premium budget: coverage g(x) and its exact moments, compound aggregate
loss by FFT with a validation table, credibility, reserving (fitting, budget and backtest to come).  numpy/scipy only; no dependency on the reference libraries at run time."""

from .aggregate import Compound, Frequency, Peril, combine, compound_distribution
from .coverage import PayoutFunction
from .credibility import BuhlmannStraub, buhlmann_straub
from .reserving import BornhuetterFerguson, ChainLadder, bornhuetter_ferguson, chain_ladder

__all__ = [
    "BornhuetterFerguson",
    "Compound",
    "Frequency",
    "PayoutFunction",
    "Peril",
    "combine",
    "compound_distribution",
    "BuhlmannStraub",
    "ChainLadder",
    "bornhuetter_ferguson",
    "buhlmann_straub",
    "chain_ladder",
]
