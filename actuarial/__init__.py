"""Actuarial models for next year's premium budget: credibility, reserving (and, as they land, coverage,
aggregate loss, fitting, budget).  numpy/scipy only; no dependency on the reference libraries at run time."""

from .credibility import BuhlmannStraub, buhlmann_straub
from .reserving import BornhuetterFerguson, ChainLadder, bornhuetter_ferguson, chain_ladder

__all__ = [
    "BornhuetterFerguson",
    "BuhlmannStraub",
    "ChainLadder",
    "bornhuetter_ferguson",
    "buhlmann_straub",
    "chain_ladder",
]
