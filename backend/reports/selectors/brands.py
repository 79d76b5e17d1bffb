"""A brand's figures: 活动场次, 参与人数, 签到人次, 志愿服务时长 of its activities, per year and of all time."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db.models import Count, QuerySet, Sum
from django.db.models.functions import ExtractYear
from django.utils import timezone

from backend.activities.models import Activity, CheckIn
from backend.brands.models import Brand
from backend.core.moderation import visible_q, with_review
from backend.volunteers.models import ServiceRecord

from .common import HELD_STATUSES, RECORD_APPROVED, ZERO_HOURS, hours, pk

# A brand's figures keyed (brand id,) or (brand id, year).
FiguresKey = tuple[int, ...]


@dataclass(frozen=True)
class BrandFigures:
    activities: int = 0
    participants: int = 0  # distinct people who checked in
    check_ins: int = 0
    volunteer_hours: Decimal = ZERO_HOURS


@dataclass(frozen=True)
class BrandYearFigures(BrandFigures):
    year: int = field(default=0, kw_only=True)


def held_activities(*, now: datetime | None = None) -> QuerySet[Activity]:
    """Activities held: published or finished, and already started."""
    return Activity.objects.filter(status__in=HELD_STATUSES, starts_at__lte=now or timezone.now())


def brand_figures_by(brand_ids: list[int], *, by_year: bool, now: datetime | None) -> dict[FiguresKey, BrandFigures]:
    """Figures keyed (brand id,) or (brand id, year): four queries whatever the number of brands.

    An activity's check-ins and hours count in the year (Asia/Shanghai) the activity started.
    """
    held = held_activities(now=now).filter(brand_id__in=brand_ids)
    activity_keys = ["brand_id"] + (["year"] if by_year else [])
    checkin_keys = ["activity__brand_id"] + (["year"] if by_year else [])

    activities = held.annotate(year=ExtractYear("starts_at")) if by_year else held
    activity_rows = activities.order_by().values(*activity_keys).annotate(n=Count("id"))
    checkins = CheckIn.objects.filter(kind=CheckIn.Kind.IN, activity__in=held)
    if by_year:
        checkins = checkins.annotate(year=ExtractYear("activity__starts_at"))
    checkin_rows = (
        checkins.order_by().values(*checkin_keys).annotate(n=Count("id"), people=Count("user_id", distinct=True))
    )
    records = ServiceRecord.objects.filter(status=RECORD_APPROVED, activity__in=held)
    if by_year:
        records = records.annotate(year=ExtractYear("activity__starts_at"))
    hour_rows = records.order_by().values(*checkin_keys).annotate(hours=Sum("hours"))

    found: dict[FiguresKey, dict[str, Any]] = defaultdict(dict)
    for row in activity_rows:
        found[tuple(row[k] for k in activity_keys)]["activities"] = row["n"]
    for row in checkin_rows:
        key = tuple(row[k] for k in checkin_keys)
        found[key]["check_ins"] = row["n"]
        found[key]["participants"] = row["people"]
    for row in hour_rows:
        found[tuple(row[k] for k in checkin_keys)]["volunteer_hours"] = hours(row["hours"])
    return {key: BrandFigures(**values) for key, values in found.items()}


@dataclass(frozen=True)
class BrandFiguresReport:
    brand: Brand
    all_time: BrandFigures
    years: list[BrandYearFigures]  # newest first

    def as_data(self) -> dict[str, Any]:
        from ..serializers import BrandFiguresReportSerializer  # here: the serializers import the selectors

        return dict(BrandFiguresReportSerializer(self).data)


def public_brands() -> QuerySet[Brand]:
    # A brand page WeChat has not passed yet is not public (backend/core/moderation.py).
    return with_review(Brand.objects.filter(status=Brand.Status.ACTIVE)).filter(visible_q())


def brand_figures(brand: Brand, *, now: datetime | None = None) -> BrandFiguresReport:
    """活动场次, 参与人数, 签到人次, 志愿服务时长 of a brand's activities, per year and of all time."""
    all_time = brand_figures_by([pk(brand)], by_year=False, now=now).get((pk(brand),), BrandFigures())
    per_year = brand_figures_by([pk(brand)], by_year=True, now=now)
    years = sorted(
        (BrandYearFigures(**vars(figures), year=key[1]) for key, figures in per_year.items()),
        key=lambda figures: -figures.year,
    )
    return BrandFiguresReport(brand=brand, all_time=all_time, years=years)
