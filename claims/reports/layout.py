"""What a department file's layout tells a person, as exception rows: the header line taken, amounts read
in 万元, subtotal and footer lines left out, sheets not read, and the 合计/总计 rows checked as control
totals.

Severities: ``info`` (nothing wrong, for the record) and ``warning`` for a control total that differs from
the sum of the data rows — the usual sign of a truncated export; the data rows are still used.

Control total, per money column the file has and the total row fills:
``Σ data rows' parsed fen == the total row's parsed fen`` (both in the column's unit; a data cell that is
not a valid amount counts 0, so a total that includes it differs and the row's own error says why).
"""

from __future__ import annotations

import pandas as pd

from claims.reports.columns import Spec
from claims.reports.parse import MONEY_KINDS, PARSERS
from claims.reports.reasons import exceptions_frame
from tabular.cells import is_blank
from tabular.headers import header_fen_per_unit
from tabular.money import FEN_PER_WAN, fen_to_yuan_text
from tabular.sheets import Sheet


def _no_rows() -> pd.DataFrame:
    return exceptions_frame([], [], [], [], "info")


def layout_notes(spec: Spec, sheet: Sheet, mapping: dict[str, str]) -> pd.DataFrame:
    """``info`` rows: the layout notes of :func:`tabular.sheets.read_sheets` (header line, title unit,
    subtotal and footer lines) and each money column read in 万元 by its header."""
    notes = list(sheet.notes)
    for header, canonical in mapping.items():
        column = spec.columns.get(canonical)
        if column is not None and column.kind in MONEY_KINDS and header_fen_per_unit(header) == FEN_PER_WAN:
            notes.append((sheet.header_line, "unit_wan", f"列“{header}” / column \"{header}\""))
    if not notes:
        return _no_rows()
    lines, codes, details = zip(*notes, strict=True)
    return exceptions_frame(sheet.label, list(lines), list(codes), list(details), "info")


def skipped_sheets(refused: list[tuple[Sheet, str]]) -> pd.DataFrame:
    """``info`` rows ``sheet_skipped``: each sheet not read, at its header line, with why."""
    if not refused:
        return _no_rows()
    details = [f"工作表“{sheet.name}”未读取 / sheet \"{sheet.name}\" not read: {why}" for sheet, why in refused]
    return exceptions_frame([sheet.label for sheet, _ in refused], [sheet.header_line for sheet, _ in refused],
                            "sheet_skipped", details, "info")


def _yuan(fen: int) -> str:
    return str(fen_to_yuan_text(pd.Series([fen], dtype="int64")).iloc[0])


def control_totals(spec: Spec, sheet: Sheet, mapping: dict[str, str]) -> pd.DataFrame:
    """One row per 合计/总计 row: ``warning`` ``control_total_mismatch`` naming each column whose total
    differs from the sum of the data rows (both amounts), else ``info`` ``control_total_ok`` naming the
    columns compared.  A total row without any money cell filled gives nothing to compare: no row."""
    money = {header: canonical for header, canonical in mapping.items()
             if canonical in spec.columns and spec.columns[canonical].kind in MONEY_KINDS}
    rows = []
    for i in range(len(sheet.totals)):
        total = sheet.totals.iloc[[i]]
        differ, same = [], []
        for header, canonical in money.items():
            if is_blank(total[header]).iloc[0]:
                continue
            parse = PARSERS[spec.columns[canonical].kind]
            unit = header_fen_per_unit(header, sheet.fen_per_unit)
            stated = parse(total[header].reset_index(drop=True), fen_per_unit=unit)
            if stated.reason.notna().iloc[0]:
                continue
            data = parse(sheet.table[header], fen_per_unit=unit)
            computed = int(data.values[data.reason.isna()].fillna(0).sum())
            stated_fen = int(stated.values.fillna(0).iloc[0])
            if stated_fen == computed:
                same.append(header)
            else:
                differ.append(f"列“{header}”合计 {_yuan(stated_fen)} 元，数据行之和 {_yuan(computed)} 元 / column "
                              f"\"{header}\": total {_yuan(stated_fen)}, sum of the data rows {_yuan(computed)}")
        line = int(total["source_line"].iloc[0])
        if differ:
            rows.append((line, "control_total_mismatch", "；".join(differ), "warning"))
        elif same:
            rows.append((line, "control_total_ok", f"{'、'.join(same)} / {', '.join(same)}", "info"))
    if not rows:
        return _no_rows()
    frames = [exceptions_frame(sheet.label, [line], code, detail, severity) for line, code, detail, severity in rows]
    return pd.concat(frames, ignore_index=True)
