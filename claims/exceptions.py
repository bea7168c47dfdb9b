"""The exception list (异常清单): every report row the engine could not use, with file, line and reason.

Severity: ``error`` = row not used; ``warning`` = row used, but a person should look; ``info`` = row
valid but no line of this product uses it.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

EXCEPTION_COLUMNS = ["file", "line", "reason", "detail", "severity"]


def exceptions_frame(files: str | Iterable[str] | pd.Series, lines: Iterable[int] | pd.Series,
                     reasons: Iterable[str] | pd.Series | str, details: Iterable[str] | pd.Series | str,
                     severity: str = "error") -> pd.DataFrame:
    """Build exception rows; a scalar ``files``, ``reasons`` or ``details`` is repeated for every line."""
    line_values = lines.to_numpy() if isinstance(lines, pd.Series) else list(lines)
    n = len(line_values)

    def col(v: Iterable[str] | pd.Series | str) -> pd.Series:
        if isinstance(v, str):
            return pd.Series([v] * n, dtype="object")
        return pd.Series(v.to_numpy() if isinstance(v, pd.Series) else list(v), dtype="object")

    return pd.DataFrame({
        "file": col(files),
        "line": pd.Series(line_values, dtype="int64"),
        "reason": col(reasons),
        "detail": col(details),
        "severity": pd.Series([severity] * n, dtype="object"),
    }, columns=EXCEPTION_COLUMNS)
