"""Department report readers: one file (CSV/TXT, Excel, Parquet) → canonical usable rows + exception rows.

``read_report(source, department)`` with department one of :data:`DEPARTMENTS`.  Modules:
:mod:`.departments` (each department's Spec: what its file holds, its derivations), :mod:`.columns`
(the Spec, column kinds, accepted headers), :mod:`.parse` (cell parsers), :mod:`.reader` (the pipeline),
:mod:`.check` (the general reader's checks on a table of cells), :mod:`.reasons` (reason codes),
:mod:`.fast` (the pyarrow fast path for machine exports) with its array kernels in :mod:`.plain`.
"""

from claims.reports.check import ID_KEY, ReportRead
from claims.reports.departments import DEPARTMENTS, SPECS
from claims.reports.reader import ReportFileError, read_report
from claims.reports.reasons import EXCEPTION_COLUMNS, REASONS, exceptions_frame

__all__ = [
    "DEPARTMENTS",
    "EXCEPTION_COLUMNS",
    "ID_KEY",
    "REASONS",
    "SPECS",
    "ReportFileError",
    "ReportRead",
    "exceptions_frame",
    "read_report",
]
