"""What each department's report holds: canonical columns, their kind, accepted Chinese headers,
which are required, and the derivation that runs afterwards.

Column kinds (parsers in :mod:`claims.reports.parse`):

=============== ==================================================== =====================
kind            cell                                                 dtype in ``rows``
=============== ==================================================== =====================
id              resident ID, normalised to 18 characters             str
key             code kept as text (setl_id, household_no)            str
text            optional text (name); blank → <NA>                   str
required_text   text; blank → ``missing_value``                      str
level           school level; blank → ``missing_level``              str
date            date → midnight                                      datetime64[ns]
money           yuan → fen; blank → ``amount_missing``               int64
money_or_zero   yuan → fen; blank → 0                                int64
money_or_null   yuan → fen; blank → <NA>                             Int64
signed_money_required / signed_money / signed_money_or_null: the same three, a negative amount kept
                (a refund row's amounts)                              int64 / int64 / Int64
school_year     first year of the school year                        int64
term            school term: autumn / spring (秋季/第一学期, 春季/第二学期)  str
flag            yes/no                                               bool
kind            death / disability / hospital                        str
grade           disability grade 1–10                                Int64
village_code    12-digit village code, optional                      str
=============== ==================================================== =====================
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from importlib import resources

import pandas as pd
import yaml

from claims.reports import departments
from claims.reports.parse import Problems

#: Accepted headers per department and canonical column (one data file; see its notes on NHSA names).
ALIASES_FILE = "aliases.yaml"


def _load_aliases() -> dict[str, dict[str, list[str]]]:
    with resources.files(__package__).joinpath(ALIASES_FILE).open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


ALIASES = _load_aliases()


@dataclass(frozen=True)
class Col:
    """A canonical column: its kind (parser) and the file headers accepted for it (from
    :data:`ALIASES`, filled in by :func:`_with_aliases`)."""

    kind: str
    aliases: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Spec:
    """One department's report: its columns (in output order), the required ones, the derivation, the
    derived columns it appends and the columns naming one record (its identity: rows with equal values
    there are the same record, re-sent or corrected; see :mod:`claims.reports.identity`)."""

    columns: dict[str, Col]
    required: tuple[str, ...]
    derive: Callable[[pd.DataFrame, pd.DataFrame, Problems], pd.DataFrame]
    derived: dict[str, str] = field(default_factory=dict)  # derived column -> dtype
    identity: tuple[str, ...] = ()

    @property
    def column_map(self) -> dict[str, list[str]]:
        return {name: col.aliases for name, col in self.columns.items()}

    @property
    def output(self) -> list[str]:
        return [*self.columns, *self.derived, "source_file", "source_line"]


SPECS: dict[str, Spec] = {
    # 医保结算 (NHSA setlinfo field names)
    "medical": Spec(
        columns={
            "setl_id": Col("key"),
            "id_no": Col("id"),
            "name": Col("text"),
            "setl_date": Col("date"),
            "medfee_sumamt": Col("signed_money_required"),
            "hifp_pay": Col("signed_money"),
            "hifmi_pay": Col("signed_money"),
            "maf_pay": Col("signed_money"),
            "oth_pay": Col("signed_money"),
            "fulamt_ownpay_amt": Col("signed_money"),
            "overlmt_selfpay": Col("signed_money"),
            "psn_part_amt": Col("signed_money_or_null"),
            # a refund / reversal (退费、冲销): flagged, or naming the settlement it reverses, or negative
            "refund": Col("flag"),
            "orig_setl_id": Col("text"),
        },
        required=("setl_id", "id_no", "setl_date", "medfee_sumamt", "hifp_pay", "hifmi_pay", "maf_pay",
                  "oth_pay", "fulamt_ownpay_amt", "overlmt_selfpay"),
        derive=departments.medical,
        derived={"self_paid": "int64", "policy_self_paid": "int64"},
        identity=("setl_id", "refund"),  # a reversal is its own record
    ),
    # 教育
    "education": Spec(
        columns={
            "id_no": Col("id"),
            "name": Col("text"),
            "school_year": Col("school_year"),
            "term": Col("term"),
            "level": Col("level"),
            "tuition": Col("money_or_zero"),
            "accommodation": Col("money_or_zero"),
            "textbooks": Col("money_or_zero"),
            "other_aid": Col("money_or_zero"),
            "entry": Col("flag"),
            "record_no": Col("text"),
        },
        required=("id_no", "school_year", "level", "tuition", "accommodation", "textbooks"),
        derive=departments.education,
        derived={"event_date": "datetime64[ns]", "net_cost": "int64"},
        # fees are columns of one row: the row is the record (no fee item in the key); a term's row is
        # its own record (autumn and spring of one school year)
        identity=("id_no", "school_year", "term", "record_no"),
    ),
    # 应急管理 / 民政
    "disaster": Spec(
        columns={
            "household_no": Col("key"),
            "householder_id": Col("id"),
            "village_code": Col("village_code"),
            "event_date": Col("date"),
            "disaster_type": Col("required_text"),
            "assessed_loss": Col("money"),
            "other_compensation": Col("money_or_zero"),
            "disaster_no": Col("text"),
        },
        required=("household_no", "event_date", "disaster_type", "assessed_loss"),
        derive=departments.disaster,
        derived={"net_loss": "int64"},
        identity=("household_no", "event_date", "disaster_type", "disaster_no"),
    ),
    # 意外 (公安/卫健/医保 …)
    "accident": Spec(
        columns={
            "id_no": Col("id"),
            "name": Col("text"),
            "event_date": Col("date"),
            "kind": Col("kind"),
            "grade": Col("grade"),
            "medical_cost": Col("money_or_zero"),
        },
        required=("id_no", "event_date", "kind"),
        derive=departments.accident,
        identity=("id_no", "event_date", "kind"),
    ),
    # 人社 / 乡村振兴
    "income": Spec(
        columns={
            "household_no": Col("key"),
            "as_of": Col("date"),
            "per_capita_income": Col("money"),
        },
        required=("household_no", "as_of", "per_capita_income"),
        derive=departments.income,
        identity=("household_no", "as_of"),
    ),
}



def _with_aliases(department: str, spec: Spec) -> Spec:
    """The spec with each column's accepted headers from :data:`ALIASES`; a column without an entry
    there is a mistake in the data file, refused at import."""
    listed = ALIASES.get(department, {})
    missing = [name for name in spec.columns if name not in listed]
    if missing:
        raise ValueError(f"{ALIASES_FILE}: no headers for {department} column(s) {', '.join(missing)}")
    columns = {name: Col(col.kind, list(listed[name])) for name, col in spec.columns.items()}
    return replace(spec, columns=columns)


SPECS = {department: _with_aliases(department, spec) for department, spec in SPECS.items()}

#: Required columns another column may stand in for, per department: a disaster list keyed by the
#: householder's resident ID has no household number (the household is found on the roster:
#: :func:`claims.engine.screening.households_of_householders`); a school term written with its year
#: (2025-2026学年第一学期, 2025年秋季学期) gives the school year.
STAND_INS: dict[str, dict[str, str]] = {"education": {"school_year": "term"},
                                        "disaster": {"household_no": "householder_id"}}
#: The stand-in of each such column (the same in every department that has one).
STOOD_IN_BY: dict[str, str] = {column: other for table in STAND_INS.values() for column, other in table.items()}
#: Columns a file may give under two headers (身份证号 and 证件号码), reconciled row by row.
PAIRED = ("id_no",)

#: Headers seen in department files that are deliberately not mapped (:data:`ALIASES`' notes say why);
#: they help find the header row.
NOT_MAPPED: dict[str, list[str]] = ALIASES.get("not_mapped", {})


def header_names(department: str) -> list[str]:
    """Every header a department's file may have (mapped or deliberately not), to find its header row."""
    spec = SPECS[department]
    return [*(h for name in spec.columns for h in (name, *spec.columns[name].aliases)),
            *NOT_MAPPED.get(department, [])]


#: Kinds whose cell problems the derivation reports itself (a grade only matters for a disability).
SELF_CHECKED_KINDS = {"grade"}

DEPARTMENTS = tuple(SPECS)
