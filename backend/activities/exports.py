"""The attendance ledger (签到台账) as an Excel workbook, in the layout secretaries keep on paper:
a title, the activity's facts, the totals, then one numbered row per person."""

from __future__ import annotations

from django.utils import timezone
from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils import get_column_letter

from backend.core.xlsx import workbook_bytes

from .models import Enrollment, LeaveRequest
from .selectors import Attendance, Ledger

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
HEADERS = (
    ("序号", 6),
    ("姓名", 12),
    ("手机号", 15),
    ("报名情况", 10),
    ("签到时间", 18),
    ("签到方式", 12),
    ("距活动地点(米)", 14),
    ("签退时间", 18),
    ("请假", 10),
    ("出勤情况", 10),
    ("备注", 30),
)
HEADER_ROW = 4

_ENROLLMENT = dict(Enrollment.Status.choices)
_LEAVE = dict(LeaveRequest.Status.choices)


def _time(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") if moment else ""


def ledger_filename(ledger: Ledger) -> str:
    day = timezone.localtime(ledger.activity.starts_at).strftime("%Y%m%d")
    return f"签到台账-{ledger.activity.title}-{day}.xlsx"


def ledger_workbook(ledger: Ledger) -> bytes:
    activity = ledger.activity
    counts = ledger.counts
    book = Workbook()
    sheet = book.active
    sheet.title = "签到台账"
    last_column = get_column_letter(len(HEADERS))

    sheet["A1"] = f"{activity.title} 签到台账"
    sheet["A1"].font = Font(size=14, bold=True)
    sheet["A1"].alignment = Alignment(horizontal="center")
    sheet.merge_cells(f"A1:{last_column}1")
    sheet["A2"] = (
        f"社区: {activity.community.name}    类别: {activity.get_category_display()}    "
        f"时间: {_time(activity.starts_at)} 至 {_time(activity.ends_at)}    地点: {activity.place}"
    )
    sheet.merge_cells(f"A2:{last_column}2")
    sheet["A3"] = (
        f"应到 {counts['expected']} 人    实到 {counts['checked_in']} 人    请假 {counts['on_leave']} 人    "
        f"缺席 {counts['absent']} 人    签退 {counts['checked_out']} 人    候补 {counts['waitlisted']} 人"
        + ("" if ledger.closed else "    (签到尚未结束)")
    )
    sheet.merge_cells(f"A3:{last_column}3")

    thin = Side(style="thin")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)
    for index, (title, width) in enumerate(HEADERS, start=1):
        cell = sheet.cell(row=HEADER_ROW, column=index, value=title)
        cell.font = Font(bold=True)
        cell.alignment = Alignment(horizontal="center")
        cell.border = border
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = sheet.cell(row=HEADER_ROW + 1, column=1)

    for number, row in enumerate(ledger.rows, start=1):
        if row.checked_in_at is None:
            how = ""
        elif row.check_in_manual:
            how = "人工登记"
        else:
            how = "扫码签到" if row.inside else "扫码签到(定位偏差)"
        notes = [text for text in (row.check_in_reason, row.leave_reason and f"请假事由: {row.leave_reason}") if text]
        values = (
            number,
            row.real_name,
            row.phone or "",
            _ENROLLMENT.get(row.enrollment, "未报名") if row.enrollment else ("应参加" if row.expected else "未报名"),
            _time(row.checked_in_at),
            how,
            row.distance_m if row.distance_m is not None else "",
            _time(row.checked_out_at),
            _LEAVE.get(row.leave, "") if row.leave else "",
            Attendance(row.attendance).label,
            "; ".join(notes),
        )
        for column, value in enumerate(values, start=1):
            sheet.cell(row=HEADER_ROW + number, column=column, value=value).border = border

    return workbook_bytes(book)
