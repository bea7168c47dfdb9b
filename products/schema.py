"""Product definition documents, ``schema: 1`` (YAML or JSON), validated with marshmallow.

Errors name the field path and the problem, e.g. ``lines[0].brackets[1].rate: must be between 0 and 1``.
Once landed, this format stays backward compatible; a breaking change would be ``schema: 2``.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
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

from .model import HOUSEHOLD_SOURCES, PERILS

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
    income_line = Money(allow_none=True)


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
    "bracket": {"required": ("start_line", "brackets"), "allowed": ("measure", "trigger", "caps", "event_types")},
    "lump_sum": {"required": ("lump_sums",), "allowed": ("caps",)},
    "death": {"required": ("sum_insured",), "allowed": ("household_cap_by_victims", "caps")},
    "disability": {"required": ("sum_insured", "grade_rates"), "allowed": ("household_cap_by_victims", "caps")},
    "income_drop": {"required": ("protection_line",), "allowed": ("rate", "caps", "trigger")},
}
LINE_SPECIFIC = {f for spec in KIND_FIELDS.values() for group in spec.values() for f in group}


class LineSchema(_Strict):
    id = fields.String(required=True, validate=validate.Regexp(r"^[a-z][a-z0-9_]*$",
                       error="must be lower-case letters, digits and _ (e.g. illness)"))
    peril = fields.String(required=True, validate=validate.OneOf(list(PERILS)))
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
        if spec["source"] in HOUSEHOLD_SOURCES and data.get("basis") == "person":
            errors.setdefault("basis", []).append(
                f"{spec['source']} reports are per household; basis must be household")
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
    caps = fields.Nested(ProductCapsSchema, load_default=dict)
    notice_days = fields.Integer(load_default=10, validate=validate.Range(min=1, max=60))
    sources = fields.List(fields.String())
    notes = fields.String()

    @validates_schema
    def _unique_lines(self, data: dict[str, Any], **_: Any) -> None:
        seen: dict[str, int] = {}
        for i, line in enumerate(data.get("lines") or []):
            if line.get("id") in seen:
                raise ValidationError({"lines": {i: {"id": [f"duplicates lines[{seen[line['id']]}].id"]}}})
            seen[line.get("id")] = i

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
