"""The console's charts for one community or one street over a period, month by month."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone

from backend.activities.models import CheckIn
from backend.appeals.models import Appeal
from backend.appeals.selectors import appeal_rates, overdue_for
from backend.communities.models import Community, Street
from backend.core.periods import Period
from backend.members.models import (
    MemberRegistration,
    UnitRegistration,
)
from backend.volunteers.models import ServiceRecord

from .brands import board_summary, brand_board, held_activities
from .common import RECORD_APPROVED, _month_key, hours_text, iso, month_starts, ratio_data
from .coverage import community_coverage, street_coverage

# Dashboards ---------------------------------------------------------------------------------------


TOP_VOLUNTEERS = 10
OVERDUE_APPEALS_SHOWN = 20


def _series(period: Period, rows: Iterable[dict[str, Any]], **fields: Any) -> list[dict[str, Any]]:
    """One entry per month of the period, zeros where nothing happened."""
    found = {_month_key(row["month"]): row for row in rows}
    series = []
    for month in month_starts(period):
        key = _month_key(month)
        row = found.get(key, {})
        series.append({"month": key, **{name: convert(row.get(name)) for name, convert in fields.items()}})
    return series


def _int(value: Any) -> int:
    return int(value or 0)


def _monthly(queryset: QuerySet, moment: str, **aggregates: Any) -> QuerySet:
    return queryset.annotate(month=TruncMonth(moment)).order_by().values("month").annotate(**aggregates)


def top_volunteers(records: QuerySet[ServiceRecord], *, limit: int = TOP_VOLUNTEERS) -> list[dict[str, Any]]:
    """The volunteers with the most hours among `records`, ranked "1224" (equal hours share a rank). One query.

    Every volunteer with more hours than a shown one is shown too, so each rank counts all who did better.
    """
    rows = list(
        records.order_by()
        .values("volunteer_id", "volunteer__real_name", "volunteer__volunteer_number")
        .annotate(total=Sum("hours"))
        .order_by("-total", "volunteer_id")[:limit]
    )
    ranked = []
    for index, row in enumerate(rows):
        rank = ranked[-1]["rank"] if index and row["total"] == rows[index - 1]["total"] else index + 1
        ranked.append(
            {
                "rank": rank,
                "volunteer_id": row["volunteer_id"],
                "name": row["volunteer__real_name"],
                "volunteer_number": row["volunteer__volunteer_number"],
                "hours": hours_text(Decimal(row["total"] or 0)),
            }
        )
    return ranked


def dashboard(
    *,
    user: Any,
    period: Period,
    community: Community | None = None,
    street: Street | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The console's charts for one community or one street over a period, month by month.

    A fixed number of queries, whatever the number of communities in the street or rows behind them.
    """
    now = now or timezone.now()
    today = timezone.localdate(now)
    if (community is None) == (street is None):
        raise ValueError("give exactly one of community or street")
    if community is not None:
        community_ids = [community.pk]
    else:
        community_ids = list(Community.objects.filter(street=street).values_list("pk", flat=True))
    in_places = Q(community_id__in=community_ids)

    members = _monthly(
        MemberRegistration.objects.filter(in_places, approved_at__isnull=False).filter(period.q("approved_at")),
        "approved_at",
        n=Count("id"),
    )
    units = _monthly(
        UnitRegistration.objects.filter(in_places, approved_at__isnull=False).filter(period.q("approved_at")),
        "approved_at",
        n=Count("id"),
    )
    unit_by_month = {_month_key(row["month"]): row["n"] for row in units}
    registrations = [
        {**row, "units": unit_by_month.get(row["month"], 0)}
        for row in _series(period, [{"month": r["month"], "members": r["n"]} for r in members], members=_int)
    ]

    held = held_activities(now=now).filter(in_places).filter(period.q("starts_at"))
    activity_rows = _monthly(held, "starts_at", activities=Count("id"))
    checkin_rows = _monthly(
        CheckIn.objects.filter(kind=CheckIn.Kind.IN, activity__in=held),
        "activity__starts_at",
        check_ins=Count("id"),
        participants=Count("user_id", distinct=True),
    )
    checkins_by_month = {_month_key(row["month"]): row for row in checkin_rows}
    activities = [
        {
            **row,
            "check_ins": _int(checkins_by_month.get(row["month"], {}).get("check_ins")),
            "participants": _int(checkins_by_month.get(row["month"], {}).get("participants")),
        }
        for row in _series(period, activity_rows, activities=_int)
    ]

    records = ServiceRecord.objects.filter(in_places, status=RECORD_APPROVED).filter(period.q("started_at"))
    hours_rows = _monthly(records, "started_at", hours=Sum("hours"), volunteers=Count("volunteer_id", distinct=True))
    hours = _series(
        period,
        hours_rows,
        hours=lambda value: hours_text(Decimal(value or 0)),
        volunteers=_int,
    )
    top = top_volunteers(records)

    appeals = Appeal.objects.filter(in_places)
    appeal_rows = _monthly(appeals.filter(period.q("submitted_at")), "submitted_at", submitted=Count("id"))
    rates = appeal_rates(appeals, period=period)
    overdue = overdue_for(user, now=now).filter(in_places)
    overdue_rows = list(overdue[:OVERDUE_APPEALS_SHOWN])

    coverage = community_coverage(community).coverage if community is not None else street_coverage(street).total
    # Plans answer to the deadline of a calendar year: the year the period starts in.
    plan_year = timezone.localtime(period.start).year
    board_rows = brand_board(community_ids=community_ids, year=plan_year, today=today, now=now)

    return {
        "community": community.pk if community is not None else None,
        "street": street.pk if street is not None else None,
        "start": iso(period.start),
        "end": iso(period.end),
        "registrations": registrations,
        "activities": activities,
        "volunteer_hours": hours,
        "top_volunteers": top,
        "appeals": {
            "submitted": _series(period, appeal_rows, submitted=_int),
            "response_rate": ratio_data(rates.response),
            "resolution_rate": ratio_data(rates.resolution),
            "satisfaction_rate": ratio_data(rates.satisfaction),
            "overdue_count": overdue.count(),
            "overdue": [
                {
                    "id": appeal.pk,
                    "community": appeal.community_id,
                    "category": appeal.category,
                    "urgency": appeal.urgency,
                    "status": appeal.status,
                    "submitted_at": iso(appeal.submitted_at),
                    "overdue_since": iso(appeal.overdue_since),
                }
                for appeal in overdue_rows
            ],
        },
        "coverage": coverage.as_data(),
        "brand_plans": {
            "year": plan_year,
            "summary": board_summary(board_rows),
            "communities": [
                {
                    "community": {"id": row.community.pk, "name": row.community.name},
                    "brand": row.brand.name if row.brand is not None else None,
                    "plan_status": row.plan.status if row.plan is not None else None,
                    "due_date": row.due_date.isoformat() if row.due_date else None,
                    "deadline_status": row.deadline_status,
                    "days_left": row.days_left,
                }
                for row in board_rows
            ],
        },
    }
