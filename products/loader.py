"""``load_product(path_or_mapping)``: a product document → a frozen :class:`~products.model.Product`."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml
from marshmallow import ValidationError

from products.eligibility import income_line_fen
from products.model import PERILS, RATE_SCALE, Bracket, Cover, Eligibility, Line, Monitoring, MonitoringGrade, Product
from products.schema import ProductSchema, flatten_errors, normalise_scalars
from tabular.errors import InvalidInputError
from tabular.money import yuan_to_fen

CATALOG = Path(__file__).with_name("catalog")


class ProductError(InvalidInputError):
    """An invalid product document; ``errors`` lists ``path: problem`` strings."""

    def __init__(self, source: str, errors: list[str]):
        self.source = source
        self.errors = errors
        super().__init__(
            f"产品定义无效 / invalid product definition ({source}):\n" + "\n".join(f"  {e}" for e in errors)
        )


def load_product(path_or_mapping: str | Path | Mapping[str, Any]) -> Product:
    """Load and validate a product version from a YAML/JSON file, a catalog name or a mapping.

    A bare name such as ``"fangpinbao-weixian-2025"`` is looked up in ``products/catalog/``.
    """
    if isinstance(path_or_mapping, Mapping):
        source, raw = "<mapping>", dict(path_or_mapping)
    else:
        path = Path(path_or_mapping)
        if not path.exists() and not path.suffix and (CATALOG / f"{path}.yaml").exists():
            path = CATALOG / f"{path}.yaml"
        source = str(path)
        try:
            text = path.read_text(encoding="utf-8-sig")
        except FileNotFoundError:
            raise ProductError(source, ["(file): not found / 文件不存在"]) from None
        try:
            raw = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
        except (yaml.YAMLError, json.JSONDecodeError) as exc:
            raise ProductError(source, [f"(document): not valid YAML/JSON / 格式错误: {exc}"]) from None
        if not isinstance(raw, dict):
            raise ProductError(source, ["(document): must be a mapping of fields / 应为键值结构"])
    clean = normalise_scalars(raw)
    try:
        data = ProductSchema().load(clean)
    except ValidationError as exc:
        raise ProductError(source, flatten_errors(exc.messages)) from None
    return _build(data, clean)


def catalog() -> list[Path]:
    """The product documents shipped with the package."""
    return sorted(CATALOG.glob("*.yaml"))


def _fen(value: Decimal | None) -> int | None:
    return None if value is None else yuan_to_fen(value)


def _rate(value: Decimal) -> int:
    return int(value * RATE_SCALE)


def _line(d: dict[str, Any]) -> Line:
    spec = PERILS[d["peril"]]
    caps = d.get("caps") or {}
    start = _fen(d.get("start_line")) or 0
    brackets: list[Bracket] = []
    lower = start
    for b in d.get("brackets") or []:
        upto = _fen(b["upto"])
        brackets.append(Bracket(lower=lower, upto=upto, rate_e4=_rate(b["rate"])))
        lower = upto if upto is not None else lower
    trigger = d.get("trigger")
    return Line(
        id=d["id"],
        peril=d["peril"],
        basis=d["basis"],
        name=d.get("name") or str(spec["zh"]),
        kind=str(spec["kind"]),
        source=str(spec["source"]),
        measure=d.get("measure") or spec["measure"],
        start_line=start,
        trigger=_fen(trigger) if trigger is not None else start,
        brackets=tuple(brackets),
        cap_per_year=_fen(caps.get("per_year")),
        cap_household_per_year=_fen(caps.get("household_per_year")),
        event_types=tuple(d["event_types"]) if d.get("event_types") else None,
        lump_sums={k: yuan_to_fen(v) for k, v in (d.get("lump_sums") or {}).items()},
        sum_insured=_fen(d.get("sum_insured")),
        household_cap_by_victims=_victims_table(d.get("household_cap_by_victims")),
        grade_rates_e4={int(k): _rate(v) for k, v in (d.get("grade_rates") or {}).items()},
        protection_line=_fen(d.get("protection_line")),
        rate_e4=_rate(d["rate"]) if d.get("rate") is not None else RATE_SCALE,
        inpatient_only=bool(d.get("inpatient_only", False)),
        drop_basis=d.get("drop_basis") or "protection_line",
        min_drop_rate_e4=_rate(d["min_drop_rate"]) if d.get("min_drop_rate") is not None else 0,
    )


def _victims_table(table: Mapping[Any, Decimal] | None) -> dict[int, int]:
    """``{victims: yuan}`` → ``{victims: fen}``, keys ascending."""
    return {int(k): yuan_to_fen(v) for k, v in sorted((table or {}).items(), key=lambda kv: int(kv[0]))}


def _cover(d: dict[str, Any], line_order: list[str]) -> Cover:
    caps = d["caps"]
    return Cover(
        id=d["id"],
        name=d["name"],
        lines=tuple(sorted(d["lines"], key=line_order.index)),
        per_person_year=_fen(caps.get("per_person_year")),
        per_household_year=_fen(caps.get("per_household_year")),
        household_cap_by_victims=_victims_table(caps.get("household_cap_by_victims")),
    )


def _monitoring(d: dict[str, Any]) -> Monitoring:
    """The document's ``monitoring`` (yuan, share) → :class:`Monitoring` (fen, ten-thousandths); what it
    leaves out keeps 001's defaults (红 < 5,000 ≤ 黄 < 10,000 ≤ 绿, 60%)."""
    default = Monitoring()
    grades = tuple(MonitoringGrade(g["grade"], _fen(g.get("below"))) for g in d.get("grades") or ())
    share = d.get("warning_share")
    return Monitoring(grades=grades or default.grades,
                      warning_share_e4=_rate(share) if share is not None else default.warning_share_e4)


def _build(data: dict[str, Any], raw: dict[str, Any]) -> Product:
    canonical = json.dumps(raw, sort_keys=True, ensure_ascii=False, default=str, separators=(",", ":"))
    elig = data.get("eligibility") or {}
    caps = data.get("caps") or {}
    return Product(
        code=data["code"],
        family=data["family"],
        name=data["name"],
        county=data["county"],
        year=data["year"],
        period_start=data["period"]["start"],
        period_end=data["period"]["end"],
        premium_per_head=yuan_to_fen(data["premium"]["per_head"]),
        premium_basis=data["premium"]["basis"],
        eligibility=Eligibility(
            categories=tuple(elig["categories"]) if elig.get("categories") is not None else None,
            exclude_categories=tuple(elig.get("exclude_categories") or ()),
            income_line=income_line_fen(elig.get("income_line"), data["year"]),
            income_test=elig.get("income_test") or "pre_shock",
            exclude_supported=tuple((x["category"], x["support"]) for x in elig.get("exclude_supported") or ()),
        ),
        lines=tuple(_line(d) for d in data["lines"]),
        covers=tuple(_cover(d, [line["id"] for line in data["lines"]]) for d in data["covers"]),
        cap_per_person_year=_fen(caps.get("per_person_year")),
        cap_per_household_year=_fen(caps.get("per_household_year")),
        notice_days=data["notice_days"],
        document=json.loads(canonical),
        digest=hashlib.sha256(canonical.encode()).hexdigest(),
        notice_required=data["notice_required"],
        monitoring=_monitoring(data.get("monitoring") or {}),
    )
