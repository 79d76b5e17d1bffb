"""街道对比: for a street admin, every community of the street side by side: the five coverage rates
and the brand board, from the reports selectors the API uses, each with its Excel export."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from backend.accounts.scoping import get_scope
from backend.communities.models import Street
from backend.core.console import XLSX_CONTENT_TYPE
from backend.reports import answers as report_selectors
from backend.reports import exports as report_exports
from backend.reports.selectors import DeadlineStatus

from .dashboard import COVERAGE_LABELS, PLAN_STATUS, _percent
from .pages import _page, account


def _streets(request: HttpRequest) -> list[Street]:
    scope = get_scope(account(request))
    if scope.is_superuser:
        return list(Street.objects.order_by("id"))
    if not scope.street_ids:
        # Comparing communities is the street's work; a secretary has her own dashboard.
        raise PermissionDenied
    return list(Street.objects.filter(id__in=scope.street_ids).order_by("id"))


def _xlsx(body: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(body, content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(filename)}"
    return response


def _year(request: HttpRequest) -> int:
    this_year = timezone.localdate().year
    try:
        year = int(request.GET.get("year", this_year))
    except ValueError:
        return this_year
    return year if 2000 <= year <= this_year + 1 else this_year


def street_view(request: HttpRequest) -> HttpResponse:
    streets = _streets(request)
    if not streets:
        raise PermissionDenied
    street = next((s for s in streets if str(s.pk) == request.GET.get("street")), streets[0])
    year = _year(request)
    on = timezone.localdate()
    coverage = report_selectors.street_coverage_data(report_selectors.street_coverage(street, on=on), on=on)
    export = request.GET.get("export")
    if export == "coverage":
        return _xlsx(
            report_exports.street_coverage_workbook(coverage),
            report_exports.coverage_filename(street.name, coverage["on"]),
        )
    board = report_selectors.brand_board_data(street, year=year, today=on)
    if export == "board":
        return _xlsx(report_exports.board_workbook(board), report_exports.board_filename(street.name, year))
    return _page(
        request,
        "console/street.html",
        f"街道对比 · {street.name}",
        street=street,
        streets=streets,
        year=year,
        labels=[label for _key, label in COVERAGE_LABELS],
        coverage_rows=[_coverage_row(row["community"]["name"], row) for row in coverage["communities"]],
        coverage_total=_coverage_row("全街道", coverage["total"]),
        board_rows=[_board_row(row) for row in board["communities"]],
        board_summary=[(DeadlineStatus.LABELS[key], value) for key, value in board["summary"].items()],
    )


def _coverage_row(name: str, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": name,
        "cells": [{**data[key], "percent": _percent(data[key])} for key, _label in COVERAGE_LABELS],
        "registered_members": data["registered_members"],
    }


def _board_row(row: dict[str, Any]) -> dict[str, Any]:
    brand, plan = row["brand"], row["plan"]
    return {
        "name": row["community"]["name"],
        "brand": brand["name"] if brand else "未创建",
        "plan": f"第{plan['version']}版 · {PLAN_STATUS.get(plan['status'], '')}" if plan else "未编写",
        "due_date": row["due_date"] or "未设定",
        "deadline": DeadlineStatus.LABELS.get(row["deadline_status"], ""),
        "late": row["deadline_status"] in (DeadlineStatus.OVERDUE, DeadlineStatus.LATE),
        "days_left": row["days_left"],
        "figures": row["figures"],
        "honors": len(row["honors"]),
    }
