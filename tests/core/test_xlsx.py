"""User text that reads as a formula is written as text, in ordinary and in write-only workbooks."""

from __future__ import annotations

from io import BytesIO

import pytest
from openpyxl import Workbook, load_workbook

from backend.core.xlsx import row_cells, workbook_bytes
from tests.xlsx import HOSTILE, assert_no_formulas


def test_an_ordinary_workbook_keeps_the_text_and_runs_nothing():
    book = Workbook()
    sheet = book.active
    sheet["A1"] = HOSTILE[0]
    sheet.append(list(HOSTILE))
    sheet.append(["张三", 12, -3, "13800000000"])
    content = workbook_bytes(book)
    texts = assert_no_formulas(content)
    assert set(HOSTILE) <= set(texts)
    loaded = load_workbook(BytesIO(content)).active
    # Excel's quote prefix: editing the cell keeps it text.
    assert loaded["A1"].quotePrefix is True and loaded["A1"].value == HOSTILE[0]
    # Numbers, negative ones too, stay numbers; plain text is untouched.
    assert [cell.value for cell in loaded[3]] == ["张三", 12, -3, "13800000000"]
    assert loaded["A3"].quotePrefix is False


def test_a_write_only_workbook_appends_text_cells():
    book = Workbook(write_only=True)
    sheet = book.create_sheet("台账")
    sheet.append(row_cells(sheet, [*HOSTILE, 1.5, None, "正常"]))
    texts = assert_no_formulas(workbook_bytes(book))
    assert set(HOSTILE) <= set(texts) and "正常" in texts


def test_without_the_helper_openpyxl_writes_a_formula():
    """The hole the helper closes (so the checks above can fail)."""
    book = Workbook()
    book.active["A1"] = HOSTILE[0]
    out = BytesIO()
    book.save(out)
    with pytest.raises(AssertionError):
        assert_no_formulas(out.getvalue())
