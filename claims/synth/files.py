"""Writing the generated tables: CSV (UTF-8 with BOM, ``\\n`` line ends, quoting only where needed) or
Parquet, from pandas frames or pyarrow tables, and ``manifest.json``."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pandas as pd

#: ``progress(stage, done, total)``, called as the files are written
Progress = Callable[[str, int, int], None] | None
FORMATS = ("csv", "parquet")
BOM = b"\xef\xbb\xbf"


def check_format(fmt: str) -> None:
    if fmt not in FORMATS:
        raise ValueError("fmt must be 'csv' or 'parquet'")


def no_progress(stage: str, done: int, total: int) -> None:
    """The progress callback when none is given."""


def write_frame(frame: pd.DataFrame, path: Path, fmt: str) -> None:
    """Write a pandas frame as CSV or Parquet, creating the folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "csv":
        # the BOM by hand because pandas' utf-8-sig path encodes row by row in Python
        with open(path, "w", encoding="utf-8", newline="") as handle:
            handle.write("\ufeff")
            frame.to_csv(handle, index=False, lineterminator="\n")
    else:
        frame.to_parquet(path, index=False)


def write_table(table, path: Path, fmt: str) -> None:
    """Write a pyarrow table as CSV or Parquet, creating the folder."""
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "parquet":
        pq.write_table(table, path)
        return
    with open(path, "wb") as handle:
        handle.write(BOM)
        pacsv.write_csv(table, handle, pacsv.WriteOptions(quoting_style="none"))


class TableAppender:
    """Files written in pieces: ``append(name, table)`` adds a pyarrow table to ``<out>/<name>.<fmt>``
    (a Parquet row group, or CSV rows with the header only in the first piece); ``close()`` at the end."""

    def __init__(self, out: Path, fmt: str) -> None:
        self.out, self.fmt = out, fmt
        self.writers: dict[str, object] = {}

    def append(self, name: str, table) -> None:
        path = self.out / f"{name}.{self.fmt}"
        if self.fmt == "parquet":
            import pyarrow.parquet as pq

            if name not in self.writers:
                self.writers[name] = pq.ParquetWriter(path, table.schema)
            self.writers[name].write_table(table)
            return
        import pyarrow.csv as pacsv

        first = name not in self.writers
        self.writers[name] = True
        with open(path, "wb" if first else "ab") as handle:
            if first:
                handle.write(BOM)
            pacsv.write_csv(table, handle, pacsv.WriteOptions(quoting_style="none", include_header=first))

    def close(self) -> None:
        if self.fmt == "parquet":
            for writer in self.writers.values():
                writer.close()


def write_manifest(out: Path, manifest: dict) -> dict:
    """``manifest.json`` (UTF-8, indented, Chinese kept as is); returns the manifest."""
    (out / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return manifest

