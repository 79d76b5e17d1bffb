"""Each report as the API sends it, JSON types only, rendered by its serializer from the selector's
typed value (the value's `as_data()`), for what lies outside the API's views: the console's pages
and exports, and the member's own line that `members/me/` shows through the members registry.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from typing import Any

from rest_framework import serializers

from backend.communities.models import Community, Street
from backend.core.periods import Period
from backend.members.selectors import OwnPerson

from . import selectors
from .selectors import DeadlineStatus, community_coverage, street_coverage

__all__ = [
    "DeadlineStatus",
    "brand_board_data",
    "community_coverage",
    "dashboard",
    "member_report_line",
    "own_line_data",
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


def member_report_line(person: OwnPerson, period: Period, *, label: str = "") -> dict[str, Any]:
    """A member's own line of the 双报告 as `members/me/` shows it, from what that page has read of
    them; registered with members.registry.report_lines."""
    return own_line_data(selectors.own_report_line(person, period, label=label))


# The fields OwnReportLineSerializer formats hours with: unbound, they format as bound ones do.
_LINE_HOURS = serializers.DecimalField(max_digits=10, decimal_places=2)
_TARGET_HOURS = serializers.DecimalField(max_digits=8, decimal_places=2)
_MOMENT = serializers.DateTimeField()


def own_line_data(line: selectors.OwnReportLine) -> dict[str, Any]:
    """`OwnReportLineSerializer(line).data`, written directly: `members/me/` shows the line on each
    opening of the mini-program, and the serializer's nested fields cost more than computing it.
    The serializer stays the schema and the rendering of every other line;
    tests/reports/test_own_line.py holds the two to the same output."""
    moment = _MOMENT.to_representation
    community = line.community
    return {
        "member_id": line.member_id,
        "user_id": line.user_id,
        "name": line.name,
        "phone": line.phone,
        "community": None if community is None else {"id": community.pk, "name": community.name},
        "grid": line.grid,
        "registered_at": None if line.registered_at is None else moment(line.registered_at),
        "posts": list(line.posts),
        "has_post": line.has_post,
        "activities_attended": line.activities_attended,
        "meetings": {
            "attended": line.meetings.attended,
            "on_leave": line.meetings.on_leave,
            "absent": line.meetings.absent,
        },
        "volunteer_hours": _LINE_HOURS.to_representation(line.volunteer_hours),
        "volunteer_services": line.volunteer_services,
        "demands_completed": line.demands_completed,
        "services": line.services,
        "points": line.points,
        "meets_target": line.meets_target,
        "period": line.period,
        "start": moment(line.start),
        "end": moment(line.end),
        "target": {"hours": _TARGET_HOURS.to_representation(line.target.hours), "services": line.target.services},
    }
