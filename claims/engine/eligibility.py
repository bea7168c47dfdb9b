"""Eligibility in screening (承保条件): which rows' households the product covers on the event date.

A household is covered when

1. its category passes the product's lists (``categories``: those covered, ``exclude_categories``: those
   refused) and no (category, 供养方式) pair of ``exclude_supported`` refuses it — a household of such a
   category with a blank 供养方式 is refused too, nobody can tell it is 分散供养
   (../shared/seeds/000 篇七: "不包含集中供养五保户、稳定脱贫户");
2. its income passes the income test (``income_test``, :mod:`products.eligibility`), with ``income`` the
   per-capita income known on the event date (:func:`claims.engine.screening.income_as_of`), ``members``
   the roster's 家庭人口数 and ``line`` the product's income line (all fen):

   * ``pre_shock``:    income ≤ line;
   * ``net_of_costs``: (income × members − rigid_costs) / members ≤ line, computed without division as
     income × members − rigid_costs ≤ line × members.  ``rigid_costs`` (刚性支出) is the household's sum,
     over the department rows matched to the roster, counted once by record identity and inside the policy
     period, with an event date on or before this row's event date, of the medical ``self_paid`` (自付,
     after 三重保障), the education ``net_cost`` and the disaster ``net_loss`` (:data:`RIGID_COSTS`).
     Costs to the event date, not to the year's end: a claim once eligible stays so as later months
     arrive (monthly runs = the yearly run).  Seeds: 003 "因病、因学、因灾致使收入减少"; 001 "刚性支出明显超过
     上年度收入"; 000 突发严重困难户 "收入高于6000元，但因病因灾因意外事故等突发状况，刚性支出较大";
   * ``none``: no income test.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from claims.reports.departments import SPECS
from products.eligibility import support_mode
from products.model import Product
from tabular.money import fen_to_yuan_text

#: The rigid costs (刚性支出) a net_of_costs income test deducts: department → its amount column (fen).
RIGID_COSTS: dict[str, str] = {"medical": "self_paid", "education": "net_cost", "disaster": "net_loss"}
#: The income tests that read the rigid costs.
INCOME_TESTS_WITH_COSTS = ("net_of_costs",)

DAY_BITS = 24  # a cost's key: household position << DAY_BITS | (day + DAY_OFFSET)
DAY_OFFSET = 1 << (DAY_BITS - 1)


def household_facts(product: Product, households: pd.DataFrame) -> pd.DataFrame:
    """households indexed by household_no, with the reason their category (and 供养方式) makes them
    ineligible ('' if none)."""
    hh = households.set_index("household_no", drop=False)
    el = product.eligibility
    # one reason per distinct (category, 供养方式) (a handful), then taken per household
    codes, names = pd.factorize(hh["category"], use_na_sentinel=False)  # (no Python string per household)
    category = pd.Series(np.asarray(names, dtype=object), dtype="object")
    mode = pd.Series("", index=category.index, dtype="object")
    if el.exclude_supported and "support_mode" in hh:
        mode_codes, modes = pd.factorize(hh["support_mode"], use_na_sentinel=False)
        codes, pairs = pd.factorize(codes.astype(np.int64) * len(modes) + mode_codes, sort=False)
        category = pd.Series(category.to_numpy()[pairs // len(modes)], dtype="object")
        mode = support_mode(pd.Series(np.asarray(modes, dtype=object)[pairs % len(modes)], dtype="object"))
    by_category = pd.Series("", index=category.index, dtype="object")
    if el.categories is not None:
        off = ~category.isin(el.categories)
        by_category[off] = "户类别“" + category[off].astype(str) + "”不在承保范围 / category not covered"
    if el.exclude_categories:
        off = category.isin(el.exclude_categories) & (by_category == "")
        by_category[off] = "户类别“" + category[off].astype(str) + "”被排除 / category excluded"
    for excluded, refused_mode in el.exclude_supported:
        mine = (category == excluded) & (by_category == "")
        by_category[mine & (mode == refused_mode)] = (f"{excluded}（{refused_mode}）不在承保范围 / {excluded} under "
                                                      f"{refused_mode} is not covered")
        by_category[mine & (mode == "")] = (f"{excluded} 未填供养方式，无法确认非{refused_mode} / {excluded} without "
                                            f"供养方式: cannot tell it is not {refused_mode}")
    reason = pd.Series(by_category.to_numpy()[codes], index=hh.index, dtype="object")
    out = hh[["household_no", "village_code", "natural_village", "category", "members"]].copy()
    out["income"] = hh["per_capita_income"].astype("int64")
    out["category_reason"] = reason
    return out


class RigidCosts:
    """Each household's rigid costs (:data:`RIGID_COSTS`) by event date, for sums up to a date.

    The costs are sorted by (household position, day) as one int64 key; ``running[i]`` is the sum of the
    first i costs, so the household's costs to a day are running[end] − running[start], with ``start`` the
    first key of the household and ``end`` one past its last key on or before the day."""

    def __init__(self, frames: Mapping[str, pd.DataFrame], standing: Mapping[str, np.ndarray],
                 household_pos: Mapping[str, np.ndarray]):
        keys, amounts = [], []
        for dept, column in RIGID_COSTS.items():
            rows = frames.get(dept)
            if rows is None or column not in rows:
                continue
            dates = rows[SPECS[dept].event_date].to_numpy()
            take = standing[dept] & (household_pos[dept] >= 0) & ~np.isnat(dates)
            keys.append(_keys(household_pos[dept][take], dates[take]))
            amounts.append(rows[column].fillna(0).to_numpy(dtype=np.int64)[take])
        key = np.concatenate(keys) if keys else np.zeros(0, dtype=np.int64)
        order = np.argsort(key, kind="stable")
        self.keys = key[order]
        amount = np.concatenate(amounts)[order] if amounts else np.zeros(0, dtype=np.int64)
        self.running = np.r_[np.int64(0), np.cumsum(amount, dtype=np.int64)]

    def to_date(self, household_pos: np.ndarray, dates: Any) -> np.ndarray:
        """Per row: its household's rigid costs with an event date on or before the row's (fen; 0 off the roster)."""
        dates = np.asarray(dates)
        end = np.searchsorted(self.keys, _keys(household_pos, dates), side="right")
        start = np.searchsorted(self.keys, household_pos.astype(np.int64) << DAY_BITS, side="left")
        return np.where((household_pos >= 0) & ~np.isnat(dates), self.running[end] - self.running[start], 0)


def _keys(household_pos: np.ndarray, dates: np.ndarray) -> np.ndarray:
    days = np.where(np.isnat(dates), 0, dates.astype("datetime64[D]").astype(np.int64))
    return (household_pos.astype(np.int64) << DAY_BITS) | (days + DAY_OFFSET)


def _income_text(product: Product, income: np.ndarray, spent: np.ndarray | None = None,
                 members: np.ndarray | None = None) -> np.ndarray:
    """The reason text; with rigid costs, the net per-capita income (income × members − costs) / members shown
    rounded half up to the fen (positive here: it is above the line)."""
    line = fen_to_yuan_text(np.array([product.eligibility.income_line]))[0]
    if spent is None or members is None:
        return ("人均收入 " + fen_to_yuan_text(income).to_numpy() + " 高于收入线 " + line
                + " / per-capita income above the income line")
    net = ((income * members - spent) * 2 + members) // (2 * members)
    return ("人均收入 " + fen_to_yuan_text(income).to_numpy() + "，家庭刚性支出 " + fen_to_yuan_text(spent).to_numpy()
            + "，扣除后人均 " + fen_to_yuan_text(net).to_numpy() + " 仍高于收入线 " + line
            + " / per-capita income net of the household's rigid costs above the income line")


def eligibility_off(product: Product, facts: pd.DataFrame, household_pos: np.ndarray, income: np.ndarray,
                    from_roster: bool, spent: np.ndarray | None = None
                    ) -> tuple[np.ndarray, Callable[[np.ndarray], Any]]:
    """Rows whose household is not eligible on the event date (module docstring), and a builder of their
    reasons.  ``spent``: each row's household rigid costs to its event date (``net_of_costs`` only).

    With incomes from the roster and no costs, the reason is one per household, built once and taken per row."""
    reasons = facts["category_reason"].to_numpy(dtype=object)
    category_ok = np.append(reasons == "", False)[household_pos]  # position −1 (not in the household list): off
    el = product.eligibility
    line = el.income_line if el.income_test != "none" else None
    if line is None:
        income_off = np.zeros(len(income), dtype=bool)
    elif el.income_test == "net_of_costs" and spent is not None:
        members = np.append(facts["members"].to_numpy(dtype=np.int64), 1)[household_pos]
        income_off = income * members - spent > line * members
    else:
        spent, members, income_off = None, None, income > line
    off = ~category_ok | income_off
    if from_roster and line is not None and spent is None:
        per_household = np.where(reasons == "", "", reasons).astype(object)
        over = (facts["income"].to_numpy() > line) & (reasons == "")
        per_household[over] = _income_text(product, facts["income"].to_numpy()[over])
        per_household = np.append(per_household, None)
        return off, lambda where: per_household[household_pos[where]]

    def detail(where: np.ndarray) -> np.ndarray:
        out = np.append(reasons, None)[household_pos[where]]
        by_income = np.flatnonzero(category_ok[where] & income_off[where])
        if len(by_income):
            out[by_income] = (_income_text(product, income[where][by_income]) if spent is None or members is None
                              else _income_text(product, income[where][by_income], spent[where][by_income],
                                                members[where][by_income]))
        return out
    return off, detail


__all__ = ["INCOME_TESTS_WITH_COSTS", "RIGID_COSTS", "RigidCosts", "eligibility_off", "household_facts"]
