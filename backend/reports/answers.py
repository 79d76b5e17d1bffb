"""Each report as the API sends it, JSON types only, rendered by its serializer from the selector's
typed value (the value's `as_data()`), for what lies outside the API's views: the console's pages
and exports, and the member's own line that `members/me/` shows through the members registry.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from typing import Any

from backend.communities.models import Community, Street
from backend.core.periods import Period

from . import selectors
from .selectors import DeadlineStatus, community_coverage, street_coverage

__all__ = [
    "DeadlineStatus",
    "brand_board_data",
    "community_coverage",
    "dashboard",
    "member_report_line",
    "street_coverage",
    "street_coverage_data",
]


def street_coverage_data(value: selectors.StreetCoverage, *, on: date) -> dict[str, Any]:
    """The street's 五个全覆盖 (StreetCoverageSerializer), dated `on`."""
    return replace(value, on=on).as_data()


def brand_board_data(street: Street, *, year: int, today: date | None = None) -> dict[str, Any]:
    """The street's brand board (BrandBoardSerializer)."""
    return selectors.street_brand_board(street, year=year, today=today).as_data()


def dashboard(
    *,
    user: Any,
    period: Period,
    community: Community | None = None,
    street: Street | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The console's charts (DashboardSerializer); `period` is "" here, the console shows its own."""
    return selectors.dashboard(user=user, period=period, community=community, street=street, now=now).as_data()


def member_report_line(user: Any, period: Period, *, label: str = "") -> dict[str, Any] | None:
    """The member's own line of the 双报告 (OwnReportLineSerializer), or None for someone who is not
    a party member; registered with members.registry.report_lines."""
    line = selectors.member_report_line(user, period, label=label)
    return line.as_data() if line is not None else None
