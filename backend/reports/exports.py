"""The reports as Excel workbooks (台账), written from the same data the API sends.

Every sheet has a title row, a bold header row with Chinese headers and set widths, frozen so it
stays in view while the rows scroll, then one row per line. Rates are numbers formatted as
percentages (blank where there is nothing to count), hours numbers with two places.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from backend.brands.models import Brand, BrandPlan, Honor
from backend.core.xlsx import workbook_bytes

from .selectors import DeadlineStatus

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
TITLE_ROW = 1
HEADER_ROW = 2
FIRST_ROW = 3
PERCENT = "0.00%"
HOURS = "0.00"
SHEET_NAME_MAX = 31
_SHEET_NAME_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")

Column = tuple[str, int]


def _rate(ratio: dict[str, Any]) -> float | None:
    return ratio["rate"]


def _hours(text: str | None) -> Decimal:
    return Decimal(text or "0")


def _day(text: str | None) -> str:
    """An ISO time as its Asia/Shanghai date (the times in the data already carry that offset)."""
    return text[:10] if text else ""


def _last_day(end: str) -> str:
    """The last day inside a period whose (exclusive) end is `end`."""
    return (datetime.fromisoformat(end) - timedelta(days=1)).date().isoformat()


def _sheet_name(name: str, taken: set[str]) -> str:
    """Excel's rules: at most 31 characters, none of []:*?/\\, unique in the book (case-insensitive)."""
    base = _SHEET_NAME_FORBIDDEN.sub("_", name).strip("'") or "Sheet"
    candidate, n = base[:SHEET_NAME_MAX], 1
    while candidate.lower() in taken:
        n += 1
        suffix = f"({n})"
        candidate = base[: SHEET_NAME_MAX - len(suffix)] + suffix
    taken.add(candidate.lower())
    return candidate


def _table(
    sheet: Worksheet,
    *,
    title: str,
    columns: Sequence[Column],
    rows: Sequence[Sequence[Any]],
    formats: dict[int, str] | None = None,
) -> None:
    """Title, frozen header row, rows; `formats` maps a column index (from 1) to a number format."""
    formats = formats or {}
    last = get_column_letter(len(columns))
    heading = sheet.cell(row=TITLE_ROW, column=1, value=title)
    heading.font = Font(size=14, bold=True)
    heading.alignment = Alignment(horizontal="center")
    sheet.merge_cells(f"A{TITLE_ROW}:{last}{TITLE_ROW}")
    for index, (header, width) in enumerate(columns, start=1):
        cell = sheet.cell(row=HEADER_ROW, column=index, value=header)
        cell.font = Font(bold=True)
        cell.alignment = Alignment(horizontal="center", wrap_text=True)
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = f"A{FIRST_ROW}"
    for offset, values in enumerate(rows):
        for index, value in enumerate(values, start=1):
            cell = sheet.cell(row=FIRST_ROW + offset, column=index, value=value)
            if index in formats and value is not None:
                cell.number_format = formats[index]


# 双报告 -------------------------------------------------------------------------------------------

SUMMARY_COLUMNS: tuple[Column, ...] = (("项目", 26), ("数值", 60))
MEMBER_COLUMNS: tuple[Column, ...] = (
    ("序号", 6),
    ("姓名", 10),
    ("手机号", 14),
    ("报到社区", 16),
    ("网格", 12),
    ("报到日期", 12),
    ("服务岗位", 20),
    ("参加活动(次)", 12),
    ("三会一课出席(次)", 16),
    ("三会一课请假(次)", 16),
    ("三会一课缺席(次)", 16),
    ("志愿服务时长(小时)", 18),
    ("志愿服务(次)", 12),
    ("完成需求(件)", 12),
    ("积分", 8),
    ("达到服务目标", 12),
    ("备注", 16),
)
MEMBER_FORMATS = {12: HOURS}


def _yes_no(value: bool | None) -> str:
    return "" if value is None else ("是" if value else "否")


def _names(rows: list[dict[str, Any]]) -> str:
    return "、".join(row["name"] for row in rows)


def feedback_filename(data: dict[str, Any]) -> str:
    return f"双报告-{data['organization']['name']}-{data['period']}.xlsx"


def feedback_workbook(data: dict[str, Any]) -> bytes:
    """The 双报告: a summary sheet with the unit's figures, then one sheet per community."""
    organization, period = data["organization"]["name"], data["period"]
    summary, target = data["summary"], data["target"]
    book = Workbook()
    taken: set[str] = set()
    sheet = book.active
    sheet.title = _sheet_name("汇总", taken)
    registration, completion = summary["registration_rate"], summary["service_completion_rate"]
    _table(
        sheet,
        title=f"{organization} {period} 双报告 ({_day(data['start'])} 至 {_last_day(data['end'])})",
        columns=SUMMARY_COLUMNS,
        rows=[
            ("党员人数", summary["members"]),
            ("已报到人数", registration["numerator"]),
            ("报到率", _rate(registration)),
            ("服务目标(小时)", _hours(target["hours"])),
            ("服务目标(次)", target["services"]),
            ("达到服务目标人数", completion["numerator"]),
            ("服务完成率", _rate(completion)),
            ("志愿服务时长(小时)", _hours(summary["volunteer_hours"])),
            ("志愿服务(次)", summary["volunteer_services"]),
            ("参加活动(人次)", summary["activities_attended"]),
            ("三会一课出席(人次)", summary["meetings_attended"]),
            ("党员完成需求(件)", summary["demands_completed"]),
            ("单位认领完成需求(件)", summary["unit_demands_completed"]),
            ("积分合计", summary["points"]),
            ("共建社区", "、".join(c["name"] for c in data["unit_communities"])),
            ("未达服务目标的党员", _names(summary["below_target"])),
            ("未认领服务岗位的党员", _names(summary["without_post"])),
            ("生成时间", (data["generated_at"] or "")[:16].replace("T", " ")),
        ],
    )
    for row, number_format in ((5, PERCENT), (6, HOURS), (9, PERCENT), (10, HOURS)):
        sheet.cell(row=row, column=2).number_format = number_format
    for group in data["communities"]:
        _table(
            book.create_sheet(_sheet_name(group["name"], taken)),
            title=f"{group['name']} · {organization} {period} 双报告",
            columns=MEMBER_COLUMNS,
            rows=[_member_row(number, line) for number, line in enumerate(group["members"], start=1)],
            formats=MEMBER_FORMATS,
        )
    return workbook_bytes(book)


def _member_row(number: int, line: dict[str, Any]) -> tuple[Any, ...]:
    community, meetings = line["community"], line["meetings"]
    return (
        number,
        line["name"],
        line["phone"] or "",
        community["name"] if community else "",
        line["grid"] or "",
        _day(line["registered_at"]),
        "、".join(line["posts"]),
        line["activities_attended"],
        meetings["attended"],
        meetings["on_leave"],
        meetings["absent"],
        _hours(line["volunteer_hours"]),
        line["volunteer_services"],
        line["demands_completed"],
        line["points"],
        _yes_no(line["meets_target"]),
        "" if line["has_post"] else "未认领岗位",
    )


# 五个全覆盖 ------------------------------------------------------------------------------------------

COVERAGE_COLUMNS: tuple[Column, ...] = (
    ("社区", 16),
    ("小区数", 8),
    ("已建党组织小区", 14),
    ("小区党组织覆盖率", 16),
    ("在管物业企业", 12),
    ("已建党组织物业企业", 18),
    ("物业企业党组织覆盖率", 20),
    ("须成立业委会小区", 16),
    ("已成立业委会小区", 16),
    ("业委会覆盖率", 12),
    ("有物业服务小区", 14),
    ("物业服务覆盖率", 14),
    ("已知居住本社区的党员", 20),
    ("其中已在本社区报到", 18),
    ("党员双报到率", 14),
    ("共建单位", 10),
    ("已报到单位", 12),
    ("单位报到率", 12),
    ("红色物业小区", 12),
    ("红色物业覆盖率", 14),
    ("在本社区报到的党员", 22),
)
COVERAGE_FORMATS = {4: PERCENT, 7: PERCENT, 10: PERCENT, 12: PERCENT, 15: PERCENT, 18: PERCENT, 20: PERCENT}


def _coverage_row(name: str, coverage: dict[str, Any]) -> tuple[Any, ...]:
    party, companies = coverage["party_organization"], coverage["property_company_party_organization"]
    committee, service = coverage["owners_committee"], coverage["property_service"]
    members, units, red = coverage["member_registration"], coverage["unit_registration"], coverage["red_property"]
    return (
        name,
        party["denominator"],
        party["numerator"],
        _rate(party),
        companies["denominator"],
        companies["numerator"],
        _rate(companies),
        committee["denominator"],
        committee["numerator"],
        _rate(committee),
        service["numerator"],
        _rate(service),
        members["denominator"],
        members["numerator"],
        _rate(members),
        units["denominator"],
        units["numerator"],
        _rate(units),
        red["numerator"],
        _rate(red),
        coverage["registered_members"],
    )


def coverage_filename(place: str, on: str) -> str:
    return f"五个全覆盖-{place}-{on}.xlsx"


def _coverage_workbook(place: str, on: str, rows: list[tuple[Any, ...]]) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = "五个全覆盖"
    _table(
        sheet, title=f"{place} 五个全覆盖 (截至 {on})", columns=COVERAGE_COLUMNS, rows=rows, formats=COVERAGE_FORMATS
    )
    return workbook_bytes(book)


def community_coverage_workbook(data: dict[str, Any]) -> bytes:
    name = data["community"]["name"]
    return _coverage_workbook(name, data["on"], [_coverage_row(name, data)])


def street_coverage_workbook(data: dict[str, Any]) -> bytes:
    """Each community on a row, the street's total last."""
    rows = [_coverage_row(row["community"]["name"], row) for row in data["communities"]]
    rows.append(_coverage_row("合计", data["total"]))
    return _coverage_workbook(data["street"]["name"], data["on"], rows)


# The brand board ----------------------------------------------------------------------------------

BOARD_COLUMNS: tuple[Column, ...] = (
    ("社区", 16),
    ("品牌", 20),
    ("品牌状态", 10),
    ("方案版本", 10),
    ("方案状态", 10),
    ("截止日期", 12),
    ("剩余天数", 10),
    ("提交情况", 12),
    ("提交时间", 12),
    ("活动场次", 10),
    ("参与人数", 10),
    ("签到人次", 10),
    ("志愿服务时长(小时)", 18),
    ("荣誉", 40),
)
BOARD_FORMATS = {13: HOURS}
_BRAND_STATUS = dict(Brand.Status.choices)
_PLAN_STATUS = dict(BrandPlan.Status.choices)
_HONOR_LEVEL = dict(Honor.Level.choices)


def board_filename(street: str, year: int) -> str:
    return f"品牌看板-{street}-{year}.xlsx"


def board_workbook(data: dict[str, Any]) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = "品牌看板"
    rows = []
    for row in data["communities"]:
        brand, plan, figures = row["brand"], row["plan"], row["figures"]
        rows.append(
            (
                row["community"]["name"],
                brand["name"] if brand else "",
                _BRAND_STATUS.get(brand["status"], "") if brand else "未创建",
                plan["version"] if plan else None,
                _PLAN_STATUS.get(plan["status"], "") if plan else "未编制",
                row["due_date"] or "",
                row["days_left"],
                DeadlineStatus.LABELS[row["deadline_status"]],
                _day(row["handed_in_at"]),
                figures["activities"],
                figures["participants"],
                figures["check_ins"],
                _hours(figures["volunteer_hours"]),
                "; ".join(f"{_HONOR_LEVEL.get(h['level'], '')}·{h['title']}" for h in row["honors"]),
            )
        )
    _table(
        sheet,
        title=f"{data['street']['name']} {data['year']}年 一社区一品牌看板",
        columns=BOARD_COLUMNS,
        rows=rows,
        formats=BOARD_FORMATS,
    )
    return workbook_bytes(book)
