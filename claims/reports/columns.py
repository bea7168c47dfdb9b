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

import numpy as np
import pandas as pd
import pyarrow as pa
import yaml

from claims.reports.parse import Problems
from products.model import SOURCES

#: Accepted headers per department and canonical column (one data file; see its notes on NHSA names).
ALIASES_FILE = "aliases.yaml"


def _load_aliases() -> dict[str, dict[str, list[str]]]:
    with resources.files(__package__).joinpath(ALIASES_FILE).open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


ALIASES = _load_aliases()

#: A derivation on the typed frame (the general reader): (rows, raw cells, problems) → rows with the
#: derived columns, problems recorded.
Derivation = Callable[[pd.DataFrame, pd.DataFrame, Problems], pd.DataFrame]
#: The same derivation on the fast path's typed arrays of one slice of rows (:mod:`claims.reports.fast`):
#: (columns by name, raw cells) → derived columns added in place, and the rows it has nothing to say
#: about (*plain*; the others go to the general reader).
PlainDerivation = Callable[[dict[str, object], dict[str, pa.ChunkedArray]], np.ndarray]


def underived(rows: pd.DataFrame, raw: pd.DataFrame, problems: Problems) -> pd.DataFrame:
    """No derivation: the rows as read."""
    return rows


def all_plain(out: dict[str, object], cells: dict[str, pa.ChunkedArray]) -> np.ndarray:
    """No derivation on the fast path: every typed row is plain."""
    return np.ones(len(next(iter(out.values()))), dtype=bool)


@dataclass(frozen=True)
class Col:
    """A canonical column: its kind (parser) and the file headers accepted for it (those given here
    and those of :data:`ALIASES`, joined by :func:`completed`)."""

    kind: str
    aliases: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Spec:
    """One department's report, everything the code knows of it:

    * ``columns`` (in output order) and the ``required`` ones; ``stand_ins``: a required column another
      column may stand in for (required → the stand-in);
    * ``event_date``: the column whose date places a row in the policy year;
    * ``label``: the department's Chinese name (the import pages);
    * ``derive``: the derivation and the ``derived`` columns it appends (column → dtype); ``plain``: the
      same derivation on the fast path's arrays (:mod:`claims.reports.fast`), None to leave the
      department to the general reader;
    * ``identity``: the columns naming one record (rows with equal values there are the same record,
      re-sent or corrected; see :mod:`claims.reports.identity`);
    * ``unit``: whose rows they are, ``person`` (by resident ID) or ``household`` (by household number):
      not written here but taken from :data:`products.model.SOURCES` (products refuse a person-basis
      line on a household report with it) by :func:`completed`."""

    columns: dict[str, Col]
    required: tuple[str, ...]
    event_date: str
    label: str
    derive: Derivation = underived
    plain: PlainDerivation | None = all_plain
    derived: dict[str, str] = field(default_factory=dict)  # derived column -> dtype
    identity: tuple[str, ...] = ()
    stand_ins: dict[str, str] = field(default_factory=dict)  # required column -> the column standing in
    unit: str = ""

    @property
    def column_map(self) -> dict[str, list[str]]:
        return {name: col.aliases for name, col in self.columns.items()}

    @property
    def output(self) -> list[str]:
        return [*self.columns, *self.derived, "source_file", "source_line"]

    @property
    def person_keyed(self) -> bool:
        """Rows name a person (resident ID ``id_no``), else a household (``household_no``)."""
        return self.unit == "person"

    @property
    def key(self) -> str:
        """The column naming a row's unit: ``id_no`` (person) or ``household_no``."""
        return "id_no" if self.person_keyed else "household_no"


def completed(department: str, spec: Spec) -> Spec:
    """The spec with each column's accepted headers (its own, then :data:`ALIASES`') and its unit from
    :data:`products.model.SOURCES`.  A column with no header, a department products do not know or an
    event date that is no column is a mistake, refused at import."""
    listed = ALIASES.get(department, {})
    missing = [name for name, col in spec.columns.items() if name not in listed and not col.aliases]
    if missing:
        raise ValueError(f"{ALIASES_FILE}: no headers for {department} column(s) {', '.join(missing)}")
    if department not in SOURCES:
        raise ValueError(f"department {department} is not in products.model.SOURCES (person or household?)")
    if spec.event_date not in (*spec.columns, *spec.derived):
        raise ValueError(f"department {department}: event date {spec.event_date} is not one of its columns")
    columns = {name: Col(col.kind, [*col.aliases, *listed.get(name, [])]) for name, col in spec.columns.items()}
    return replace(spec, columns=columns, unit=SOURCES[department])


#: Columns a file may give under two headers (身份证号 and 证件号码), reconciled row by row.
PAIRED = ("id_no",)

#: Headers seen in department files that are deliberately not mapped (:data:`ALIASES`' notes say why);
#: they help find the header row.
NOT_MAPPED: dict[str, list[str]] = ALIASES.get("not_mapped", {})


def header_names(department: str, spec: Spec) -> list[str]:
    """Every header a department's file may have (mapped or deliberately not), to find its header row."""
    return [*(h for name in spec.columns for h in (name, *spec.columns[name].aliases)),
            *NOT_MAPPED.get(department, [])]


#: Kinds whose cell problems the derivation reports itself (a grade only matters for a disability).
SELF_CHECKED_KINDS = {"grade"}
