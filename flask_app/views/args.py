"""Bounded numbers from a page's query or form: an ID or a page number the database can hold, or None.

``int("99999999999999999999")`` is a fine Python integer and a 500 from the database (SQLite's
``OverflowError``, PostgreSQL's ``integer out of range``); every view reads such a number through
:func:`bounded_int`, which answers None (the view's own "choose a …" message, or a missing object)."""

from __future__ import annotations

from typing import Any

from claims.lifecycle.store import MAX_ROW_ID


def bounded_int(value: Any, *, low: int = 1, high: int = MAX_ROW_ID) -> int | None:
    """``value`` (text of ASCII digits, at most 12 of them, optionally signed) as an int in ``low … high``,
    else None."""
    text = str(value if value is not None else "").strip()
    digits = text.lstrip("+-")
    if not digits.isascii() or not digits.isdigit() or len(digits) > 12:
        return None
    number = int(text)
    return number if low <= number <= high else None


def bounded_ids(values: list[str]) -> list[int] | None:
    """Every value an ID (:func:`bounded_int`), or None when one is not."""
    ids = [bounded_int(v) for v in values]
    return None if any(i is None for i in ids) else [i for i in ids if i is not None]
