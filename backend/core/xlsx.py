"""Every workbook the project writes goes through here, so user text never becomes a live formula.

A name, a record's content or an appeal's contact starting with `=`, `+`, `-` or `@` would be
stored by openpyxl as a formula (`=`) or turned into one when the cell is edited in Excel (the
others): a secretary opening the ledger, or an employer opening the 双报告 mailed to them, would
run it. Such cells are written as text with Excel's quote prefix, the text itself unchanged. The
project writes no formulas of its own.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import Cell, MergedCell, WriteOnlyCell
from openpyxl.worksheet.worksheet import Worksheet

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# The characters a spreadsheet reads as the start of a formula (OWASP's CSV-injection list).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def looks_like_formula(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(FORMULA_STARTS)


def as_text(cell: Cell) -> Cell:
    """The cell, holding its value as text when the value would read as a formula."""
    if looks_like_formula(cell.value):
        cell.data_type = "s"
        cell.quotePrefix = True
    return cell


def row_cells(sheet: Any, values: Iterable[Any]) -> list[Any]:
    """`values` for `sheet.append`, formula-like text wrapped in text cells (write-only sheets too)."""
    return [as_text(WriteOnlyCell(sheet, value=value)) if looks_like_formula(value) else value for value in values]


def workbook_bytes(book: Workbook) -> bytes:
    """The saved workbook, every formula-like cell of its ordinary sheets written as text first.

    Write-only sheets serialise cells as they are appended: those append `row_cells(...)`.
    """
    if not book.write_only:
        for sheet in book.worksheets:
            if not isinstance(sheet, Worksheet):
                continue
            for row in sheet.iter_rows():
                for cell in row:
                    if not isinstance(cell, MergedCell):
                        as_text(cell)
    # A temporary file rather than memory: a year of a large community's ledger is big.
    with tempfile.TemporaryFile() as out:
        book.save(out)
        out.seek(0)
        return out.read()
