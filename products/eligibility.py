"""Who a product covers (承保条件), as the county plans write it: the pieces of the product document's
``eligibility`` beyond the category lists, and the roster checks that go with them.

* **The income line** (防贫保障线) is a fixed amount in yuan or a multiple of the national rural poverty
  standard of a year (``products/poverty_standard.yaml``, each year with its source)::

      income_line: 6000
      income_line: {multiple_of_poverty_standard: 1.5, standard_year: 2024}

  ../shared/seeds/003: "以国家现行农村扶贫标准的“1.5倍”为界,划定“防贫保障线”"; 004: "上年度国家贫困线的1.2至1.5倍".
  ``standard_year`` defaults to the product's policy year.  line = multiple × standard, ROUND_HALF_UP to
  the fen (:func:`tabular.money.yuan_to_fen`), resolved once when the product is loaded.
* **The income test** (``income_test``), how a household's per-capita income is held against the line:
  ``pre_shock`` (the default): the income known on the event date ≤ line; ``net_of_costs``: that income
  after the household's rigid costs of the year (刚性支出: self-paid medical, schooling, disaster loss) ≤
  line, see :mod:`claims.engine.eligibility` for the formula; ``none``: no income test.
* **供养方式** (``exclude_supported``): (category, 供养方式) pairs refused, e.g. ``{category: 特困供养,
  support: 集中供养}`` for 助农保 (000/002 篇七 "不包含集中供养五保户、稳定脱贫户").  A household of such a
  category whose roster row leaves 供养方式 blank is refused too (nobody can tell it is 分散供养).
* **The county**: a product is for one county (``county``, the 6-digit division code); a roster holding
  households of another county (the first 6 digits of their 12-digit village code) is refused
  (:func:`check_roster_county`).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd
import yaml
from marshmallow import Schema, ValidationError, fields, validate

from tabular.errors import InvalidInputError
from tabular.money import yuan_to_fen

POVERTY_STANDARD_FILE = Path(__file__).with_name("poverty_standard.yaml")

#: How a household's per-capita income is held against the income line (module docstring).
INCOME_TESTS = ("pre_shock", "net_of_costs", "none")

#: 供养方式 as written on rosters → its one spelling.
SUPPORT_MODES = {"集中供养": "集中供养", "集中": "集中供养", "分散供养": "分散供养", "分散": "分散供养"}


@cache
def poverty_standards() -> dict[int, int]:
    """``products/poverty_standard.yaml`` → {year: yuan per capita per year}; every row must name its source."""
    document = yaml.safe_load(POVERTY_STANDARD_FILE.read_text(encoding="utf-8"))
    table: dict[int, int] = {}
    for year, row in (document.get("standards") or {}).items():
        if not isinstance(row, Mapping) or not str(row.get("source") or "").strip():
            raise ValueError(f"{POVERTY_STANDARD_FILE.name}: year {year} has no source")
        table[int(year)] = int(row["yuan"])
    return table


def poverty_standard(year: int) -> int:
    """The poverty standard of ``year`` in yuan; :class:`KeyError` when the table has no sourced value."""
    return poverty_standards()[int(year)]


class IncomeLine(fields.Field):
    """``income_line``: yuan (a number, ≥ 0, at most 2 decimals) or ``{multiple_of_poverty_standard: m,
    standard_year: y}`` (0 < m ≤ 10, at most 4 decimals; y a year of the poverty-standard table)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if isinstance(value, Mapping):
            return _multiple(value)
        amount = _decimal(value, "收入线应为金额或 {multiple_of_poverty_standard: …} / must be an amount or "
                                 "{multiple_of_poverty_standard: …}")
        if amount < 0 or amount != amount.quantize(Decimal("0.01")):
            raise ValidationError("收入线须为非负、最多两位小数的金额 / must be a non-negative amount with at most 2 decimals")
        return amount


def _decimal(value: Any, message: str) -> Decimal:
    if isinstance(value, bool):
        raise ValidationError(message)
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise ValidationError(message) from None


def _multiple(value: Mapping[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(value) - {"multiple_of_poverty_standard", "standard_year"})
    if unknown:
        raise ValidationError(f"未知字段 {', '.join(map(str, unknown))} / unknown field {', '.join(map(str, unknown))}")
    if "multiple_of_poverty_standard" not in value:
        raise ValidationError("缺少 multiple_of_poverty_standard / multiple_of_poverty_standard is required")
    multiple = _decimal(value["multiple_of_poverty_standard"], "倍数应为数字 / the multiple must be a number")
    if not 0 < multiple <= 10 or multiple != multiple.quantize(Decimal("0.0001")):
        raise ValidationError("倍数须大于 0、不超过 10、最多四位小数 / the multiple must be above 0, at most 10, with at "
                              "most 4 decimals")
    year = value.get("standard_year")
    if year is not None and (isinstance(year, bool) or not isinstance(year, int)):
        raise ValidationError("standard_year 应为年份 / standard_year must be a year")
    return {"multiple_of_poverty_standard": multiple, "standard_year": year}


class SupportExclusionSchema(Schema):
    """One (category, 供养方式) pair a product refuses."""

    category = fields.String(required=True, validate=validate.Length(min=1))
    support = fields.String(required=True, validate=validate.OneOf(sorted(set(SUPPORT_MODES.values()))))


def check_standard_year(data: Mapping[str, Any]) -> None:
    """The poverty-standard year an income line names (default: the policy year) must be in the table."""
    line = (data.get("eligibility") or {}).get("income_line")
    if not isinstance(line, Mapping) or data.get("year") is None:
        return
    year = line.get("standard_year") or data["year"]
    if year not in poverty_standards():
        known = ", ".join(str(y) for y in sorted(poverty_standards()))
        raise ValidationError(
            f"{POVERTY_STANDARD_FILE.name} 没有 {year} 年有出处的扶贫标准（现有 {known}）：请写 standard_year 或固定金额 / "
            f"no sourced poverty standard for {year} in {POVERTY_STANDARD_FILE.name} (it has {known}): name a "
            "standard_year or write the line as an amount", "eligibility")


def income_line_fen(line: Decimal | Mapping[str, Any] | None, policy_year: int) -> int | None:
    """The income line in fen per capita: an amount as written, or round_half_up(multiple × standard(year))."""
    if line is None:
        return None
    if isinstance(line, Mapping):
        year = line.get("standard_year") or policy_year
        return yuan_to_fen(Decimal(line["multiple_of_poverty_standard"]) * poverty_standard(year))
    return yuan_to_fen(line)


def support_mode(values: pd.Series) -> pd.Series:
    """供养方式 cells → ``集中供养`` / ``分散供养`` (``集中`` / ``分散`` accepted), other text as written, blank → ''."""
    text = values.astype(object).where(values.notna(), "").astype(str).str.strip()
    return text.map(lambda t: SUPPORT_MODES.get(t, t))


class CountyMismatchError(InvalidInputError):
    """A roster holding households of another county than the product's."""

    def __init__(self, product_code: str, county: str, others: Mapping[str, int]):
        self.county, self.others = county, dict(others)
        listed = "、".join(f"{c}（{n} 户）" for c, n in sorted(others.items()))
        listed_en = ", ".join(f"{c} ({n} households)" for c, n in sorted(others.items()))
        super().__init__(
            f"产品 {product_code} 承保县 {county}，参保名单却有其他县的户：{listed}；请使用本县的名单或本县的产品 / "
            f"product {product_code} covers county {county}, but the roster holds households of county {listed_en}; "
            "use this county's roster or that county's product")


def other_counties(county: str, households: pd.DataFrame) -> dict[str, int]:
    """{county code: households} of the roster's households outside ``county`` (village_code[:6])."""
    codes = households["village_code"].astype(str).str.slice(0, 6)
    counts = codes[codes != county].value_counts()
    return {str(k): int(v) for k, v in counts.items()}


def check_roster_county(product: Any, households: pd.DataFrame) -> None:
    """Refuse (:class:`CountyMismatchError`) a roster with a household outside the product's county."""
    others = other_counties(product.county, households)
    if others:
        raise CountyMismatchError(product.code, product.county, others)


__all__ = ["INCOME_TESTS", "CountyMismatchError", "IncomeLine", "SupportExclusionSchema", "check_roster_county",
           "check_standard_year", "income_line_fen", "other_counties", "poverty_standard", "poverty_standards",
           "support_mode"]
