"""Department report readers: one file (CSV/TXT, Excel, Parquet) → canonical usable rows + exception rows.

``read_report(source, department)`` with department one of :data:`DEPARTMENTS`.  Modules:
:mod:`.columns` (what each department's file holds), :mod:`.parse` (cell parsers), :mod:`.departments`
(derived amounts and cross-column checks), :mod:`.reader` (the pipeline), :mod:`.reasons` (reason codes),
:mod:`.fast` (the pyarrow fast path for machine exports) with its array kernels in :mod:`.plain`.
"""

from claims.reports.columns import DEPARTMENTS, SPECS
from claims.reports.reader import ID_KEY, ReportFileError, ReportRead, read_report
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
