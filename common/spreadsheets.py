"""Spreadsheets that leave a desk or HQ: CSV (UTF-8 with a BOM, so Excel reads the
Chinese) and ``.xlsx`` (openpyxl), the same cells in both. Plain Python, no Flask.

A sheet is a title, a header row and rows of cells. Against formula injection every text
cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a leading
single quote (``neutralise``), in both formats; numbers stay numbers (a number is never
read as a formula).
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from decimal import Decimal

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

#: What a spreadsheet could take as the start of a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
Cell = str | int | float | Decimal
#: The widest column of an .xlsx sheet, in characters.
MAX_WIDTH = 60


@dataclass(frozen=True)
class Sheet:
    """One table of an export: its sheet's title, the header row and the rows."""

    title: str
    header: list[str]
    rows: list[list[Cell]]


def neutralise(value: Cell | None) -> Cell:
    """Return a cell safe to open in a spreadsheet: a text that starts like a formula
    with a single quote before it; None as empty; numbers as they are."""
    if value is None:
        return ""
    if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        return value
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


# -- the files ----------------------------------------------------------------------------
def to_csv(sheet: Sheet) -> bytes:
    """The sheet as CSV: UTF-8 with a BOM, a header row, Windows line ends (as Excel)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([neutralise(c) for c in sheet.header])
    writer.writerows([neutralise(c) for c in row] for row in sheet.rows)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(sheets: list[Sheet]) -> bytes:
    """The sheets as one workbook: a bold header row, frozen, and columns as wide as
    their longest cell (within ``MAX_WIDTH``)."""
    book = Workbook()
    book.remove(book.active)
    for sheet in sheets:
        ws = book.create_sheet(_sheet_title(sheet.title))
        ws.append([neutralise(c) for c in sheet.header])
        for row in sheet.rows:
            ws.append([neutralise(c) for c in row])
            for cell in ws[ws.max_row]:
                if isinstance(cell.value, Decimal):
                    cell.number_format = "0.00"  # yuan and fen, as on the receipt
        for cell in ws[1]:
            cell.font = Font(bold=True)
        ws.freeze_panes = "A2"
        for i, column in enumerate(ws.iter_cols(values_only=True), start=1):
            width = max((_width(v) for v in column), default=8)
            ws.column_dimensions[get_column_letter(i)].width = min(max(width + 2, 8), MAX_WIDTH)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _sheet_title(title: str) -> str:
    """A title Excel accepts: at most 31 characters, none of ``[]:*?/\\``."""
    return "".join("_" if ch in "[]:*?/\\" else ch for ch in title)[:31] or "Sheet"


def _width(value: Cell | None) -> int:
    """About how many columns of Excel's default font ``value`` takes (Chinese: two)."""
    return sum(2 if ord(ch) > 0x2E7F else 1 for ch in str(value if value is not None else ""))
