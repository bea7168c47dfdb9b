"""A loaded product version: frozen, validated, amounts in integer fen, rates in ten-thousandths.

The document (YAML/JSON, ``schema: 1``) is validated by :mod:`products.schema`; this module holds the
in-memory form the engine computes with.  Everything a county configures lives here, never in code.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

RATE_SCALE = 10_000  # rates carry at most 4 decimals: rate_e4 = rate × 10 000, an exact integer

#: Which line kinds a peril uses, which department reports feed it and which measure counts by default.
#:   kind:    bracket (起付线 + 阶梯), lump_sum (升学一次性补助), death, disability, income_drop
#:   source:  the department report the line reads
#:   measure: the default measure column of that report (a line may choose another allowed one)
PERILS: dict[str, dict[str, Any]] = {
    "illness": {"kind": "bracket", "source": "medical", "measure": "self_paid",
                "measures": ("self_paid", "policy_self_paid", "medfee_sumamt"), "zh": "因病"},
    "schooling": {"kind": "bracket", "source": "education", "measure": "net_cost",
                  "measures": ("net_cost",), "zh": "因学"},
    "disaster": {"kind": "bracket", "source": "disaster", "measure": "net_loss",
                 "measures": ("net_loss", "assessed_loss"), "zh": "因灾"},
    "property": {"kind": "bracket", "source": "disaster", "measure": "net_loss",
                 "measures": ("net_loss", "assessed_loss"), "zh": "家庭财产"},
    "farm": {"kind": "bracket", "source": "disaster", "measure": "net_loss",
             "measures": ("net_loss", "assessed_loss"), "zh": "农业生产"},
    "accident_medical": {"kind": "bracket", "source": "accident", "measure": "medical_cost",
                         "measures": ("medical_cost",), "zh": "意外医疗", "accident_kind": "hospital"},
    "school_entry": {"kind": "lump_sum", "source": "education", "measure": None, "measures": (), "zh": "升学"},
    "accident_death": {"kind": "death", "source": "accident", "measure": None, "measures": (), "zh": "意外身故",
                       "accident_kind": "death"},
    "accident_disability": {"kind": "disability", "source": "accident", "measure": None, "measures": (),
                            "zh": "意外伤残", "accident_kind": "disability"},
    "income_drop": {"kind": "income_drop", "source": "income", "measure": None, "measures": (), "zh": "收入骤减"},
    "industry_loss": {"kind": "bracket", "source": "agriculture", "measure": "net_loss",
                      "measures": ("net_loss", "assessed_loss"), "zh": "产业受损"},
}

#: The department reports (a peril's ``source``) and whose rows each one's are: a ``person``'s (by
#: resident ID) or a ``household``'s (by household number).  A person-basis line cannot read a household
#: report (:mod:`products.schema`).  The reports' columns, event date and label are the departments' specs
#: in :mod:`claims.reports.departments`, which take their unit from here.
SOURCES: dict[str, str] = {"medical": "person", "education": "person", "disaster": "household",
                           "accident": "person", "income": "household", "agriculture": "household"}


@dataclass(frozen=True)
class Bracket:
    """One tier (阶梯): pays ``rate_e4 / 10 000`` on the part of the base in (lower, upto]."""

    lower: int  # fen
    upto: int | None  # fen; None = no upper end
    rate_e4: int


@dataclass(frozen=True)
class Line:
    """One cover line (责任) of a product version."""

    id: str
    peril: str
    basis: str  # person | household
    name: str
    kind: str
    source: str
    measure: str | None = None
    start_line: int = 0  # fen, 起付线
    trigger: int = 0  # fen, 预警线: nothing is paid unless base > trigger
    brackets: tuple[Bracket, ...] = ()
    cap_per_year: int | None = None  # fen, per basis unit per policy year
    cap_household_per_year: int | None = None  # fen, a person-basis line summed over the household
    event_types: tuple[str, ...] | None = None  # disaster_type filter for disaster-fed lines
    lump_sums: dict[str, int] = field(default_factory=dict)  # level -> fen
    sum_insured: int | None = None  # fen
    household_cap_by_victims: dict[int, int] = field(default_factory=dict)  # victims -> fen (max key = "or more")
    grade_rates_e4: dict[int, int] = field(default_factory=dict)
    protection_line: int | None = None  # fen per capita
    rate_e4: int = RATE_SCALE  # income_drop rate
    inpatient_only: bool = False  # an illness line counting only 住院 settlements (med_type inpatient)
    drop_basis: str = "protection_line"  # income_drop: protection_line (any income below it) | prior_year
    min_drop_rate_e4: int = 0  # income_drop, prior_year: the least fall against the prior year that pays

    @property
    def peril_zh(self) -> str:
        return str(PERILS[self.peril]["zh"])


@dataclass(frozen=True)
class Cover:
    """Lines sharing one set of caps (one 保障项目, e.g. 团体人身意外 = death + disability).

    The caps bind the cover's lines together, after each line's own caps and before the product's:
    ``per_person_year`` over one person's claims on the cover's lines, ``per_household_year`` over one
    household's, ``household_cap_by_victims`` over one household's by its number of victims (distinct
    persons with a claim on any of the cover's lines this policy year; the largest key means "or more").
    A line belongs to one cover at most.
    """

    id: str
    name: str
    lines: tuple[str, ...]  # line ids, in the order the product lists them
    per_person_year: int | None = None  # fen
    per_household_year: int | None = None  # fen
    household_cap_by_victims: dict[int, int] = field(default_factory=dict)  # victims -> fen (max key = "or more")


@dataclass(frozen=True)
class Eligibility:
    categories: tuple[str, ...] | None = None  # None = all categories
    exclude_categories: tuple[str, ...] = ()
    income_line: int | None = None  # fen per capita, household income must be <= this
    income_test: str = "pre_shock"  # pre_shock | net_of_costs | none (products.eligibility)
    exclude_supported: tuple[tuple[str, str], ...] = ()  # (category, 供养方式) pairs refused, e.g. (特困供养, 集中供养)


@dataclass(frozen=True)
class MonitoringGrade:
    """One colour of 防贫监测's grading (红/黄/绿, or another county's 红/黄/蓝): the grade holds for a
    per-capita income below ``below`` (fen) and at or above the previous grade's bound; ``None``: the rest."""

    name: str
    below: int | None  # fen per capita


@dataclass(frozen=True)
class Monitoring:
    """防贫监测 settings (../shared/seeds/001 篇2/篇9): the grades by per-capita income — by default
    红 < 5,000 ≤ 黄 < 10,000 ≤ 绿 — and the early-warning share: a household whose year-to-date rigid costs
    on a line reach ``warning_share_e4 / 10 000`` of that line's warning line is watched (default 60%)."""

    grades: tuple[MonitoringGrade, ...] = (MonitoringGrade("红", 500_000), MonitoringGrade("黄", 1_000_000),
                                           MonitoringGrade("绿", None))
    warning_share_e4: int = 6_000


@dataclass(frozen=True)
class Product:
    """A product version (产品版本).  ``digest`` is the sha256 of the canonical document."""

    code: str
    family: str
    name: str
    county: str
    year: int
    period_start: dt.date
    period_end: dt.date
    premium_per_head: int  # fen
    premium_basis: str
    eligibility: Eligibility
    lines: tuple[Line, ...]
    covers: tuple[Cover, ...]  # lines sharing caps (none in a document without ``covers``)
    cap_per_person_year: int | None
    cap_per_household_year: int | None
    notice_days: int
    document: dict[str, Any]
    digest: str
    notice_required: bool = True  # False: no 公示, filed claims go straight to payable
    monitoring: Monitoring = Monitoring()  # 防贫监测: grades and the early-warning share

    def line(self, line_id: str) -> Line:
        for line in self.lines:
            if line.id == line_id:
                return line
        raise KeyError(line_id)

    def cover_of(self, line_id: str) -> Cover | None:
        """The cover a line belongs to, or None (a line belongs to one cover at most)."""
        for cover in self.covers:
            if line_id in cover.lines:
                return cover
        return None
