"""The exception list (异常清单): every report row the engine could not use, with file, line and reason.

Severity (:data:`SEVERITIES`): ``error`` = row not used; ``warning`` = row used, but a person should look
(a correction of an earlier row, a total that does not add up); ``info`` = nothing wrong, for the record
(a re-sent row counted once, the same file given twice, a row no line of this product uses, the header
line taken).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

EXCEPTION_COLUMNS = ["file", "line", "reason", "detail", "severity"]
SEVERITIES = ("error", "warning", "info")


def exceptions_frame(files: str | Iterable[str] | pd.Series, lines: Iterable[int] | pd.Series,
                     reasons: Iterable[str] | pd.Series | str, details: Iterable[str] | pd.Series | str,
                     severity: str = "error") -> pd.DataFrame:
    """Build exception rows; a scalar ``files``, ``reasons`` or ``details`` is repeated for every line."""
    line_values = lines.to_numpy() if isinstance(lines, pd.Series) else list(lines)
    n = len(line_values)

    def col(v: Iterable[str] | pd.Series | np.ndarray | str) -> pd.Series:
        if isinstance(v, str):
            return pd.Series(np.array([v], dtype=object)[np.zeros(n, dtype=np.intp)], dtype="object")  # (np.full
            # of an object is ~20× slower)
        if isinstance(v, (pd.Series, np.ndarray)):
            return pd.Series(np.asarray(v, dtype=object), dtype="object")
        return pd.Series(list(v), dtype="object")

    return pd.DataFrame({
        "file": col(files),
        "line": pd.Series(line_values, dtype="int64"),
        "reason": col(reasons),
        "detail": col(details),
        "severity": col(severity),
    }, columns=EXCEPTION_COLUMNS, copy=False)
