"""Product definition documents, ``schema: 1`` (YAML or JSON), validated with marshmallow.

Errors name the field path and the problem, e.g. ``lines[0].brackets[1].rate: must be between 0 and 1``.
Once landed, this format stays backward compatible; a breaking change would be ``schema: 2``.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from itertools import pairwise
from typing import Any

from marshmallow import (
    EXCLUDE,
    RAISE,
    Schema,
    ValidationError,
    fields,
    post_load,
    validate,
    validates_schema,
)

from products.eligibility import INCOME_TESTS, IncomeLine, SupportExclusionSchema, check_standard_year
from products.model import PERILS, SOURCES

BETWEEN_0_1 = validate.Range(min=0, max=1, error="must be between 0 and 1")
NON_NEGATIVE = validate.Range(min=0, error="must not be negative")
POSITIVE = validate.Range(min=0, min_inclusive=False, error="must be greater than 0")


def _four_decimals(value: Decimal) -> None:
    if value != value.quantize(Decimal("0.0001")):
        raise ValidationError("must have at most 4 decimals")


def _two_decimals(value: Decimal) -> None:
    if value != value.quantize(Decimal("0.01")):
        raise ValidationError("must have at most 2 decimals (fen)")


def Money(*, validate: list[Any] | None = None, **kw: Any) -> fields.Decimal:  # noqa: N802 - reads like a field
    return fields.Decimal(validate=[NON_NEGATIVE, _two_decimals, *(validate or [])], **kw)


def Rate(**kw: Any) -> fields.Decimal:  # noqa: N802
    return fields.Decimal(validate=[BETWEEN_0_1, _four_decimals], **kw)


class _Strict(Schema):
    class Meta:
        unknown = RAISE


class PeriodSchema(_Strict):
    start = fields.Date(required=True)
    end = fields.Date(required=True)

    @validates_schema
    def _order(self, data: dict[str, Any], **_: Any) -> None:
        if data["end"] < data["start"]:
            raise ValidationError("must not be before start", "end")


class PremiumSchema(_Strict):
    per_head = Money(required=True)
    basis = fields.String(required=True, validate=validate.OneOf(["person", "household"]))


class EligibilitySchema(_Strict):
    categories = fields.List(fields.String(), allow_none=True)
    exclude_categories = fields.List(fields.String())
    income_line = IncomeLine(allow_none=True)  # yuan, or {multiple_of_poverty_standard, standard_year}
    income_test = fields.String(validate=validate.OneOf(INCOME_TESTS))
    exclude_supported = fields.List(fields.Nested(SupportExclusionSchema))  # (category, 供养方式) refused


class BracketSchema(_Strict):
    upto = Money(required=True, allow_none=True)
    rate = Rate(required=True)


class LineCapsSchema(_Strict):
    per_year = Money(allow_none=True)
    household_per_year = Money(allow_none=True)


class ProductCapsSchema(_Strict):
    per_person_year = Money(allow_none=True)
    per_household_year = Money(allow_none=True)


#: Fields each line kind needs (beyond id/peril/basis) and fields it must not carry.
KIND_FIELDS: dict[str, dict[str, tuple[str, ...]]] = {
    "bracket": {"required": ("start_line", "brackets"),
                "allowed": ("measure", "trigger", "caps", "event_types", "inpatient_only")},
    "lump_sum": {"required": ("lump_sums",), "allowed": ("caps",)},
    "death": {"required": ("sum_insured",), "allowed": ("household_cap_by_victims", "caps")},
    "disability": {"required": ("sum_insured", "grade_rates"), "allowed": ("household_cap_by_victims", "caps")},
    "income_drop": {"required": ("protection_line",),
                    "allowed": ("rate", "caps", "trigger", "drop_basis", "min_drop_rate")},
}
LINE_SPECIFIC = {f for spec in KIND_FIELDS.values() for group in spec.values() for f in group}


class LineSchema(_Strict):
    id = fields.String(required=True, validate=validate.Regexp(r"^[a-z][a-z0-9_]*$",
                       error="must be lower-case letters, digits and _ (e.g. illness)"))
    peril = fields.String(required=True, validate=validate.OneOf(PERILS))  # the table itself: a peril added is known
    basis = fields.String(required=True, validate=validate.OneOf(["person", "household"]))
    name = fields.String()
    measure = fields.String()
    trigger = Money()
    start_line = Money()
    brackets = fields.List(fields.Nested(BracketSchema), validate=validate.Length(min=1, error="needs at least one bracket"))
    caps = fields.Nested(LineCapsSchema)
    event_types = fields.List(fields.String(), validate=validate.Length(min=1))
    lump_sums = fields.Dict(keys=fields.String(), values=Money(), validate=validate.Length(min=1))
    sum_insured = Money(validate=[POSITIVE])
    household_cap_by_victims = fields.Dict(keys=fields.Integer(validate=validate.Range(min=1)), values=Money())
    grade_rates = fields.Dict(keys=fields.Integer(validate=validate.Range(min=1, max=10,
                              error="grade must be 1 to 10")), values=Rate())
    protection_line = Money()
    rate = Rate()
    inpatient_only = fields.Boolean()  # illness: only 住院 settlements count (the medical report's med_type)
    drop_basis = fields.String(validate=validate.OneOf(["protection_line", "prior_year"]))
    min_drop_rate = Rate()  # drop_basis prior_year: (prior − current) / prior must reach it

    @validates_schema
    def _by_kind(self, data: dict[str, Any], **_: Any) -> None:
        peril = data.get("peril")
        if peril not in PERILS:
            return
        spec = PERILS[peril]
        kind = KIND_FIELDS[spec["kind"]]
        errors: dict[str, list[str]] = {}
        for name in kind["required"]:
            if data.get(name) is None:
                errors.setdefault(name, []).append(f"is required for peril {peril}")
        for name in LINE_SPECIFIC - set(kind["required"]) - set(kind["allowed"]):
            if name in data:
                errors.setdefault(name, []).append(f"does not apply to peril {peril}")
        if "measure" in data and data["measure"] not in spec["measures"]:
            errors.setdefault("measure", []).append(
                f"must be one of {', '.join(spec['measures'])} for peril {peril}")
        if SOURCES.get(spec["source"]) == "household" and data.get("basis") == "person":
            errors.setdefault("basis", []).append(
                f"{spec['source']} reports are per household; basis must be household")
        errors.update(_line_options(peril, spec, data))
        caps = data.get("caps") or {}
        if data.get("basis") == "household" and caps.get("household_per_year") is not None:
            errors.setdefault("caps", []).append("household_per_year applies to person-basis lines only")
        brackets = data.get("brackets") or []
        lower = data.get("start_line", Decimal(0))
        for i, b in enumerate(brackets):
            if b["upto"] is None and i != len(brackets) - 1:
                errors.setdefault("brackets", []).append(f"[{i}].upto: only the last bracket may be open (null)")
            elif b["upto"] is not None and b["upto"] <= lower:
                errors.setdefault("brackets", []).append(
                    f"[{i}].upto: must be greater than {'start_line' if i == 0 else f'brackets[{i - 1}].upto'} ({lower})")
            if b["upto"] is not None:
                lower = b["upto"]
        if errors:
            raise ValidationError(errors)


def _line_options(peril: str, spec: dict[str, Any], data: dict[str, Any]) -> dict[str, list[str]]:
    """``inpatient_only`` only on a line reading the medical report; ``min_drop_rate`` exactly when
    ``drop_basis`` is ``prior_year`` (a fall measured against the prior year needs its threshold)."""
    errors: dict[str, list[str]] = {}
    if data.get("inpatient_only") and spec["source"] != "medical":
        errors["inpatient_only"] = [f"仅适用于读取医保结算的责任 / applies only to lines reading the medical report, "
                                    f"not peril {peril}"]
    prior = data.get("drop_basis") == "prior_year"
    if prior and data.get("min_drop_rate") is None:
        errors["min_drop_rate"] = ["drop_basis 为 prior_year 时必填（与上年同期相比的下滑幅度） / is required with "
                                   "drop_basis prior_year (the least fall against the prior year)"]
    if not prior and data.get("min_drop_rate") is not None:
        errors["min_drop_rate"] = ["仅用于 drop_basis: prior_year / applies only with drop_basis prior_year"]
    return errors


#: The cover caps in fen per year; a cover also may cap a household by its number of victims.
COVER_CAPS = ("per_person_year", "per_household_year")
#: The cover caps that count persons: every line of a cover carrying one must be person-basis.
COVER_PERSON_CAPS = ("per_person_year", "household_cap_by_victims")


class CoverCapsSchema(_Strict):
    per_person_year = Money(allow_none=True)
    per_household_year = Money(allow_none=True)
    household_cap_by_victims = fields.Dict(keys=fields.Integer(validate=validate.Range(min=1)), values=Money())

    @validates_schema
    def _some_cap(self, data: dict[str, Any], **_: Any) -> None:
        if all(data.get(name) is None for name in COVER_CAPS) and not data.get("household_cap_by_victims"):
            raise ValidationError(f"至少需要一项共用限额：{', '.join(COVER_CAPS)} 或 household_cap_by_victims / needs "
                                  f"at least one shared cap: {', '.join(COVER_CAPS)} or household_cap_by_victims")

    @validates_schema
    def _victims_cap_grows(self, data: dict[str, Any], **_: Any) -> None:
        """A household's cap must not fall as its victims become more (a monthly run would have paid past it)."""
        table = sorted((data.get("household_cap_by_victims") or {}).items())
        for (fewer, low), (more, high) in pairwise(table):
            if high < low:
                raise ValidationError(
                    f"{more} 人的户封顶 {high} 低于 {fewer} 人的 {low}：受害人越多，封顶不能越低 / the cap for {more} "
                    f"victims ({high}) is below the cap for {fewer} ({low}): a cap must not fall as victims increase",
                    "household_cap_by_victims")



class CoverSchema(_Strict):
    """One cover (保障项目): lines of the product sharing caps, e.g. 团体人身意外 = death + disability."""

    id = fields.String(required=True, validate=validate.Regexp(r"^[a-z][a-z0-9_]*$",
                       error="须为小写字母、数字和 _ / must be lower-case letters, digits and _ (e.g. group_accident)"))
    name = fields.String(required=True, validate=validate.Length(min=1))
    lines = fields.List(fields.String(), required=True, validate=validate.Length(
        min=2, error="至少两项责任（单项责任的限额写在该责任的 caps 下） / needs at least two lines (a single line's caps "
                     "go under that line's caps)"))
    caps = fields.Nested(CoverCapsSchema, required=True)


class MonitoringGradeSchema(_Strict):
    grade = fields.String(required=True, validate=validate.Length(min=1, max=10))
    below = Money(allow_none=True)  # per-capita income (yuan) below which the grade holds; the last: null


class MonitoringSchema(_Strict):
    """防贫监测 (seed 001): ``grades`` by per-capita income, ascending bounds, only the last open
    (``[{grade: 红, below: 5000}, {grade: 黄, below: 10000}, {grade: 绿, below: null}]``), and
    ``warning_share`` of a line's warning line at which a household enters the early-warning list."""

    grades = fields.List(fields.Nested(MonitoringGradeSchema), validate=validate.Length(min=1))
    warning_share = Rate()

    @validates_schema
    def _bounds_ascend(self, data: dict[str, Any], **_: Any) -> None:
        bounds = [g.get("below") for g in data.get("grades") or []]
        if bounds and bounds[-1] is not None:
            raise ValidationError("最后一档须为开放（below: null）/ the last grade must be open (below: null)", "grades")
        if any(b is None for b in bounds[:-1]) or any(a >= b for a, b in pairwise(bounds[:-1])):
            raise ValidationError("各档上限须递增且只有最后一档开放 / bounds must ascend, only the last grade open",
                                  "grades")
        if data.get("warning_share") == 0:
            raise ValidationError("须大于 0 / must be greater than 0", "warning_share")


class ProductSchema(_Strict):
    schema = fields.Integer(required=True, validate=validate.Equal(1, error="must be 1 (the only known version)"))
    code = fields.String(required=True, validate=validate.Length(min=1))
    family = fields.String(required=True, validate=validate.OneOf(["fangpinbao", "zhunongbao"]))
    name = fields.String(required=True)
    county = fields.String(required=True, validate=validate.Regexp(r"^\d{6}$", error="must be a 6-digit division code"))
    year = fields.Integer(required=True, validate=validate.Range(min=2000, max=2100))
    period = fields.Nested(PeriodSchema, required=True)
    premium = fields.Nested(PremiumSchema, required=True)
    eligibility = fields.Nested(EligibilitySchema, load_default=dict)
    lines = fields.List(fields.Nested(LineSchema), required=True, validate=validate.Length(min=1, error="needs at least one line"))
    covers = fields.List(fields.Nested(CoverSchema), load_default=list)
    caps = fields.Nested(ProductCapsSchema, load_default=dict)
    notice_days = fields.Integer(load_default=10, validate=validate.Range(min=1, max=60))
    notice_required = fields.Boolean(load_default=True)  # False: filed claims are payable without a 公示
    monitoring = fields.Nested(MonitoringSchema, load_default=dict)
    sources = fields.List(fields.String())
    notes = fields.String()

    @validates_schema
    def _poverty_standard_year(self, data: dict[str, Any], **_: Any) -> None:
        check_standard_year(data)  # an income line as a multiple of a year's poverty standard: a sourced year

    @validates_schema
    def _unique_lines(self, data: dict[str, Any], **_: Any) -> None:
        seen: dict[str, int] = {}
        for i, line in enumerate(data.get("lines") or []):
            if line.get("id") in seen:
                raise ValidationError({"lines": {i: {"id": [f"duplicates lines[{seen[line['id']]}].id"]}}})
            seen[line.get("id")] = i

    @validates_schema
    def _cover_lines(self, data: dict[str, Any], **_: Any) -> None:
        """Each cover names lines of this product, each line in one cover at most; caps that count persons
        (per person, by victims) only over person-basis lines."""
        basis = {line.get("id"): line.get("basis") for line in data.get("lines") or []}
        known = ", ".join(str(k) for k in basis)
        errors: dict[int, dict[str, Any]] = {}
        owner: dict[str, int] = {}
        cover_ids: dict[str, int] = {}
        for i, cover in enumerate(data.get("covers") or []):
            problems: dict[Any, list[str]] = {}
            if cover["id"] in cover_ids:
                problems.setdefault("id", []).append(
                    f"与 covers[{cover_ids[cover['id']]}].id 重复 / duplicates covers[{cover_ids[cover['id']]}].id")
            cover_ids.setdefault(cover["id"], i)
            lines: dict[int, list[str]] = {}
            for j, line_id in enumerate(cover["lines"]):
                if line_id not in basis:
                    lines[j] = [(f"产品没有责任 {line_id}（现有：{known}） / unknown line {line_id}; the product's "
                                 f"lines are {known}")]
                elif line_id in owner:
                    k = owner[line_id]
                    where = "本保障项目已列出 / already listed in this cover" if k == i else (
                        f"已属于 covers[{k}]（{data['covers'][k]['id']}），一项责任只能属于一个保障项目 / already "
                        f"in covers[{k}] ({data['covers'][k]['id']}); a line belongs to one cover at most")
                    lines[j] = [f"{line_id}: {where}"]
                else:
                    owner[line_id] = i
            if lines:
                problems["lines"] = lines  # type: ignore[assignment]
            household_lines = [x for x in cover["lines"] if basis.get(x) == "household"]
            for cap in COVER_PERSON_CAPS:
                if cover["caps"].get(cap) not in (None, {}) and household_lines:
                    problems.setdefault("caps", []).append(
                        f"{cap} 按人计，责任 {', '.join(household_lines)} 按户计：请去掉该限额或把这些责任移出本保障项目 / "
                        f"{cap} counts persons but line {', '.join(household_lines)} is household-basis: drop the cap "
                        "or move those lines out of the cover")
            if problems:
                errors[i] = problems
        if errors:
            raise ValidationError({"covers": errors})

    @post_load
    def _keep(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        return data


def flatten_errors(messages: Any, prefix: str = "") -> list[str]:
    """marshmallow's nested error dict → ``["lines[0].brackets[1].rate: must be between 0 and 1", ...]``."""
    out: list[str] = []
    if isinstance(messages, dict):
        for key, value in messages.items():
            if isinstance(key, int):
                path = f"{prefix}[{key}]"
            elif key == "_schema":
                path = prefix
            else:
                path = f"{prefix}.{key}" if prefix else str(key)
            out.extend(flatten_errors(value, path))
    elif isinstance(messages, list):
        for m in messages:
            if isinstance(m, (dict, list)):
                out.extend(flatten_errors(m, prefix))
            else:
                text = str(m)
                # messages that already carry a sub-path ("[1].upto: ...") attach to it directly
                if text.startswith("[") and "]." in text.split(":", 1)[0]:
                    sub, _, rest = text.partition(": ")
                    out.append(f"{prefix}{sub}: {rest}")
                else:
                    out.append(f"{prefix or '(document)'}: {_lower_first(text)}")
    else:
        out.append(f"{prefix}: {messages}")
    return out


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:] if text[:2] != text[:2].upper() else text


def normalise_scalars(value: Any) -> Any:
    """YAML floats → exact decimal text (0.55 stays 0.55); datetimes → dates; recursively."""
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dict):
        return {k: normalise_scalars(v) for k, v in value.items()}
    if isinstance(value, list):
        return [normalise_scalars(v) for v in value]
    return value


__all__ = ["EXCLUDE", "ProductSchema", "flatten_errors", "normalise_scalars"]
