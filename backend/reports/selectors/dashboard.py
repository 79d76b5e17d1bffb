"""The console's charts for one community or one street over a period, month by month."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone

from backend.activities.models import CheckIn
from backend.appeals.models import Appeal
from backend.appeals.selectors import Ratio, appeal_rates, overdue_for
from backend.communities.models import Community, Street
from backend.core.periods import Period
from backend.members.models import MemberRegistration, UnitRegistration
from backend.volunteers.models import ServiceRecord

from .board import BoardRow, board_summary, brand_board
from .brands import held_activities
from .common import RECORD_APPROVED, bounds, hours, month_key, month_starts, pk
from .coverage import Coverage, community_coverage, street_coverage

TOP_VOLUNTEERS = 10
OVERDUE_APPEALS_SHOWN = 20

Month = TypeVar("Month")


@dataclass(frozen=True)
class RegistrationMonth:
    month: str  # YYYY-MM
    members: int  # member registrations approved
    units: int  # unit registrations approved


@dataclass(frozen=True)
class ActivityMonth:
    month: str
    activities: int
    check_ins: int
    participants: int  # distinct people in the month


@dataclass(frozen=True)
class HoursMonth:
    month: str
    hours: Decimal
    volunteers: int


@dataclass(frozen=True)
class AppealMonth:
    month: str
    submitted: int


@dataclass(frozen=True)
class TopVolunteer:
    rank: int
    volunteer_id: int
    name: str
    volunteer_number: str
    hours: Decimal


@dataclass(frozen=True)
class OverdueAppeal:
    id: int
    community: int
    category: str
    urgency: str
    status: str
    submitted_at: datetime
    overdue_since: datetime


@dataclass(frozen=True)
class DashboardAppeals:
    submitted: list[AppealMonth]
    response_rate: Ratio
    resolution_rate: Ratio
    satisfaction_rate: Ratio
    overdue_count: int
    overdue: list[OverdueAppeal]  # the most overdue first, at most OVERDUE_APPEALS_SHOWN


@dataclass(frozen=True)
class DashboardPlans:
    year: int
    summary: dict[str, int]
    communities: list[BoardRow]


@dataclass(frozen=True)
class Dashboard:
    period: str  # the period's label, as asked for
    community: int | None
    street: int | None
    start: datetime
    end: datetime
    registrations: list[RegistrationMonth]
    activities: list[ActivityMonth]
    volunteer_hours: list[HoursMonth]
    top_volunteers: list[TopVolunteer]
    appeals: DashboardAppeals
    coverage: Coverage
    brand_plans: DashboardPlans

    def as_data(self) -> dict[str, Any]:
        from ..serializers import DashboardSerializer  # here: the serializers import the selectors

        return dict(DashboardSerializer(self).data)


def _series(
    period: Period, rows: Iterable[dict[str, Any]], make: Callable[[str, dict[str, Any]], Month]
) -> list[Month]:
    """One entry per month of the period, made from the month's row ({} where nothing happened)."""
    found = {month_key(row["month"]): row for row in rows}
    return [make(month_key(month), found.get(month_key(month), {})) for month in month_starts(period)]


def _int(value: Any) -> int:
    return int(value or 0)


def _monthly(queryset: QuerySet[Any], moment: str, **aggregates: Any) -> QuerySet[Any, dict[str, Any]]:
    rows: QuerySet[Any, dict[str, Any]] = (
        queryset.annotate(month=TruncMonth(moment)).order_by().values("month").annotate(**aggregates)
    )
    return rows


def top_volunteers(records: QuerySet[ServiceRecord], *, limit: int = TOP_VOLUNTEERS) -> list[TopVolunteer]:
    """The volunteers with the most hours among `records`, ranked "1224" (equal hours share a rank). One query.

    Every volunteer with more hours than a shown one is shown too, so each rank counts all who did better.
    """
    rows = list(
        records.order_by()
        .values("volunteer_id", "volunteer__real_name", "volunteer__volunteer_number")
        .annotate(total=Sum("hours"))
        .order_by("-total", "volunteer_id")[:limit]
    )
    ranked: list[TopVolunteer] = []
    for index, row in enumerate(rows):
        rank = ranked[-1].rank if index and row["total"] == rows[index - 1]["total"] else index + 1
        ranked.append(
            TopVolunteer(
                rank=rank,
                volunteer_id=row["volunteer_id"],
                name=row["volunteer__real_name"],
                volunteer_number=row["volunteer__volunteer_number"],
                hours=hours(row["total"]),
            )
        )
    return ranked


def _registrations(in_places: Q, period: Period) -> list[RegistrationMonth]:
    def approved(model: type[MemberRegistration] | type[UnitRegistration]) -> dict[str, int]:
        rows = _monthly(
            model.objects.filter(in_places, approved_at__isnull=False).filter(period.q("approved_at")),
            "approved_at",
            n=Count("id"),
        )
        return {month_key(row["month"]): row["n"] for row in rows}

    members, units = approved(MemberRegistration), approved(UnitRegistration)
    return [
        RegistrationMonth(month, members.get(month, 0), units.get(month, 0))
        for month in map(month_key, month_starts(period))
    ]


def _activities(in_places: Q, period: Period, now: datetime) -> list[ActivityMonth]:
    held = held_activities(now=now).filter(in_places).filter(period.q("starts_at"))
    activity_rows = _monthly(held, "starts_at", activities=Count("id"))
    checkin_rows = _monthly(
        CheckIn.objects.filter(kind=CheckIn.Kind.IN, activity__in=held),
        "activity__starts_at",
        check_ins=Count("id"),
        participants=Count("user_id", distinct=True),
    )
    checkins = {month_key(row["month"]): row for row in checkin_rows}
    return _series(
        period,
        activity_rows,
        lambda month, row: ActivityMonth(
            month,
            _int(row.get("activities")),
            _int(checkins.get(month, {}).get("check_ins")),
            _int(checkins.get(month, {}).get("participants")),
        ),
    )


def _appeals(user: Any, in_places: Q, period: Period, now: datetime) -> DashboardAppeals:
    appeals = Appeal.objects.filter(in_places)
    appeal_rows = _monthly(appeals.filter(period.q("submitted_at")), "submitted_at", submitted=Count("id"))
    rates = appeal_rates(appeals, period=period)
    overdue = overdue_for(user, now=now).filter(in_places)
    shown = [
        OverdueAppeal(
            id=pk(appeal),
            community=appeal.community_id,
            category=appeal.category,
            urgency=appeal.urgency,
            status=appeal.status,
            submitted_at=appeal.submitted_at,
            overdue_since=appeal.overdue_since,  # type: ignore[attr-defined]  # annotated by overdue_for
        )
        for appeal in overdue[:OVERDUE_APPEALS_SHOWN]
    ]
    return DashboardAppeals(
        submitted=_series(period, appeal_rows, lambda month, row: AppealMonth(month, _int(row.get("submitted")))),
        response_rate=rates.response,
        resolution_rate=rates.resolution,
        satisfaction_rate=rates.satisfaction,
        overdue_count=overdue.count(),
        overdue=shown,
    )


def dashboard(
    *,
    user: Any,
    period: Period,
    community: Community | None = None,
    street: Street | None = None,
    now: datetime | None = None,
    label: str = "",
) -> Dashboard:
    """The console's charts for one community or one street over a period, month by month.

    A fixed number of queries, whatever the number of communities in the street or rows behind them.
    """
    now = now or timezone.now()
    today = timezone.localdate(now)
    start, end = bounds(period)
    if community is not None and street is None:
        community_ids = [pk(community)]
        coverage: Coverage = community_coverage(community).coverage
    elif street is not None and community is None:
        community_ids = list(Community.objects.filter(street=street).values_list("pk", flat=True))
        coverage = street_coverage(street).total
    else:
        raise ValueError("give exactly one of community or street")
    in_places = Q(community_id__in=community_ids)

    registrations = _registrations(in_places, period)
    activities = _activities(in_places, period, now)
    records = ServiceRecord.objects.filter(in_places, status=RECORD_APPROVED).filter(period.q("started_at"))
    hours_rows = _monthly(records, "started_at", hours=Sum("hours"), volunteers=Count("volunteer_id", distinct=True))
    volunteer_hours = _series(
        period, hours_rows, lambda month, row: HoursMonth(month, hours(row.get("hours")), _int(row.get("volunteers")))
    )
    top = top_volunteers(records)
    appeals = _appeals(user, in_places, period, now)
    # Plans answer to the deadline of a calendar year: the year the period starts in.
    plan_year = timezone.localtime(start).year
    board_rows = brand_board(community_ids=community_ids, year=plan_year, today=today, now=now)
    return Dashboard(
        period=label,
        community=pk(community) if community is not None else None,
        street=pk(street) if street is not None else None,
        start=start,
        end=end,
        registrations=registrations,
        activities=activities,
        volunteer_hours=volunteer_hours,
        top_volunteers=top,
        appeals=appeals,
        coverage=coverage,
        brand_plans=DashboardPlans(year=plan_year, summary=board_summary(board_rows), communities=board_rows),
    )
