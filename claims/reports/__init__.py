"""Department report readers: one file (CSV/TXT, Excel, Parquet) → canonical usable rows + exception rows.

``read_report(source, department)`` with department one of :data:`DEPARTMENTS`.  Modules:
:mod:`.columns` (what each department's file holds), :mod:`.parse` (cell parsers), :mod:`.departments`
(derived amounts and cross-column checks), :mod:`.reader` (the pipeline), :mod:`.reasons` (reason codes).
"""

from .columns import DEPARTMENTS, SPECS
from .reader import ReportFileError, ReportRead, read_report
from .reasons import EXCEPTION_COLUMNS, REASONS, exceptions_frame

__all__ = [
    "DEPARTMENTS",
    "EXCEPTION_COLUMNS",
    "REASONS",
    "SPECS",
    "ReportFileError",
    "ReportRead",
    "exceptions_frame",
    "read_report",
]
