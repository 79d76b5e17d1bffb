"""The volunteer service ledger (志愿服务记录台账) of a community for a period, as an Excel workbook.

Written in openpyxl's write-only mode, so a year of a large community's records streams through
without holding every cell in memory: a title row, the header row (frozen), one row per record.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.utils import timezone
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from backend.core.xlsx import as_text, row_cells, workbook_bytes

from .models import ServiceRecord

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
HEADERS = (
    ("序号", 6),
    ("志愿者编号", 16),
    ("姓名", 10),
    ("服务内容", 30),
    ("服务地点", 20),
    ("活动", 24),
    ("开始时间", 18),
    ("结束时间", 18),
    ("服务时长(小时)", 14),
    ("来源", 12),
    ("状态", 10),
    ("审核人", 10),
    ("审核时间", 18),
    ("复核标记", 16),
    ("更正次数", 10),
    ("驳回原因", 24),
)
HEADER_ROW = 2


def _time(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") if moment else ""


def _flags(record: ServiceRecord) -> str:
    flags = []
    if record.overlap_flag:
        flags.append("时段重叠")
    if record.over_cap_flag:
        flags.append("超时长")
    return "、".join(flags)


def ledger_filename(community_name: str, period_label: str) -> str:
    return f"志愿服务台账-{community_name}-{period_label}.xlsx"


def ledger_workbook(*, title: str, records: Iterable[ServiceRecord]) -> bytes:
    book = Workbook(write_only=True)
    sheet = book.create_sheet("志愿服务台账")
    for index, (_header, width) in enumerate(HEADERS, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    # The title and the header row stay in view while the records scroll.
    sheet.freeze_panes = f"A{HEADER_ROW + 1}"

    heading = as_text(WriteOnlyCell(sheet, value=title))
    heading.font = Font(size=14, bold=True)
    sheet.append([heading])

    header_cells = []
    for header, _width in HEADERS:
        cell = WriteOnlyCell(sheet, value=header)
        cell.font = Font(bold=True)
        cell.alignment = Alignment(horizontal="center")
        header_cells.append(cell)
    sheet.append(header_cells)

    for number, record in enumerate(records, start=1):
        hours = WriteOnlyCell(sheet, value=record.hours)
        hours.number_format = "0.00"
        sheet.append(
            row_cells(
                sheet,
                [
                    number,
                    record.volunteer.volunteer_number,
                    record.volunteer.real_name,
                    record.content,
                    record.place,
                    record.activity.title if record.activity is not None else "",
                    _time(record.started_at),
                    _time(record.ended_at),
                    hours,
                    record.get_source_display(),
                    record.get_status_display(),
                    record.approved_by.real_name if record.approved_by is not None else "",
                    _time(record.approved_at),
                    _flags(record),
                    getattr(record, "correction_count", 0),
                    record.reject_reason,
                ],
            )
        )

    return workbook_bytes(book)
