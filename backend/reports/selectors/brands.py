"""A brand's figures and the street's brand board: plans against the deadline, figures and honours."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import ExtractYear
from django.utils import timezone

from backend.activities.models import Activity, CheckIn
from backend.brands.models import Brand, BrandDeadlineCommunity, BrandPlan, Honor
from backend.communities.models import Community, Street
from backend.core.moderation import visible_q, with_review
from backend.volunteers.models import ServiceRecord

from .common import HELD_STATUSES, RECORD_APPROVED, ZERO_HOURS, hours_text, iso

# Brands -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BrandFigures:
    activities: int = 0
    participants: int = 0  # distinct people who checked in
    check_ins: int = 0
    volunteer_hours: Decimal = ZERO_HOURS

    def as_data(self) -> dict[str, Any]:
        return {
            "activities": self.activities,
            "participants": self.participants,
            "check_ins": self.check_ins,
            "volunteer_hours": hours_text(self.volunteer_hours),
        }


def held_activities(*, now: datetime | None = None) -> QuerySet[Activity]:
    """Activities held: published or finished, and already started."""
    return Activity.objects.filter(status__in=HELD_STATUSES, starts_at__lte=now or timezone.now())


def _brand_figures(brand_ids: list[int], *, by_year: bool, now: datetime | None) -> dict[tuple, BrandFigures]:
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

    found: dict[tuple, dict[str, Any]] = defaultdict(dict)
    for row in activity_rows:
        found[tuple(row[k] for k in activity_keys)]["activities"] = row["n"]
    for row in checkin_rows:
        key = tuple(row[k] for k in checkin_keys)
        found[key]["check_ins"] = row["n"]
        found[key]["participants"] = row["people"]
    for row in hour_rows:
        found[tuple(row[k] for k in checkin_keys)]["volunteer_hours"] = Decimal(row["hours"] or 0).quantize(ZERO_HOURS)
    return {key: BrandFigures(**values) for key, values in found.items()}


@dataclass(frozen=True)
class BrandFiguresReport:
    brand: Brand
    all_time: BrandFigures
    years: list[tuple[int, BrandFigures]]  # newest first

    def as_data(self) -> dict[str, Any]:
        return {
            "brand": {"id": self.brand.pk, "name": self.brand.name, "community": self.brand.community_id},
            "all_time": self.all_time.as_data(),
            "years": [{"year": year, **figures.as_data()} for year, figures in self.years],
        }


def public_brands() -> QuerySet[Brand]:
    # A brand page WeChat has not passed yet is not public (backend/core/moderation.py).
    return with_review(Brand.objects.filter(status=Brand.Status.ACTIVE)).filter(visible_q())


def brand_figures(brand: Brand, *, now: datetime | None = None) -> BrandFiguresReport:
    """活动场次, 参与人数, 签到人次, 志愿服务时长 of a brand's activities, per year and of all time."""
    all_time = _brand_figures([brand.pk], by_year=False, now=now).get((brand.pk,), BrandFigures())
    per_year = _brand_figures([brand.pk], by_year=True, now=now)
    years = sorted(((key[1], figures) for key, figures in per_year.items()), key=lambda item: -item[0])
    return BrandFiguresReport(brand=brand, all_time=all_time, years=years)


class DeadlineStatus:
    """How a community stands against its plan deadline for the year."""

    NO_DEADLINE = "no_deadline"
    PENDING = "pending"  # not handed in, not yet due
    OVERDUE = "overdue"  # not handed in, past due
    ON_TIME = "on_time"  # handed in by the due date
    LATE = "late"  # handed in after it

    CHOICES = (
        (NO_DEADLINE, "未设截止日期"),
        (PENDING, "未提交"),
        (OVERDUE, "已逾期"),
        (ON_TIME, "按时提交"),
        (LATE, "逾期提交"),
    )
    LABELS = dict(CHOICES)


@dataclass
class BoardRow:
    community: Community
    brand: Brand | None = None
    plan: BrandPlan | None = None  # the newest version for the year
    handed_in_at: datetime | None = None
    due_date: date | None = None
    deadline_title: str = ""
    deadline_status: str = DeadlineStatus.NO_DEADLINE
    days_left: int | None = None  # negative: days overdue
    figures: BrandFigures = field(default_factory=BrandFigures)
    honors: list[Honor] = field(default_factory=list)

    def as_data(self) -> dict[str, Any]:
        return {
            "community": {"id": self.community.pk, "name": self.community.name},
            "brand": {
                "id": self.brand.pk,
                "name": self.brand.name,
                "status": self.brand.status,
                "slogan": self.brand.slogan,
            }
            if self.brand is not None
            else None,
            "plan": {
                "id": self.plan.pk,
                "version": self.plan.version,
                "status": self.plan.status,
                "submitted_at": iso(self.plan.submitted_at),
                "reviewed_at": iso(self.plan.reviewed_at),
            }
            if self.plan is not None
            else None,
            "handed_in_at": iso(self.handed_in_at),
            "due_date": self.due_date.isoformat() if self.due_date else None,
            "deadline_title": self.deadline_title,
            "deadline_status": self.deadline_status,
            "days_left": self.days_left,
            "figures": self.figures.as_data(),
            "honors": [
                {
                    "id": honor.pk,
                    "title": honor.title,
                    "level": honor.level,
                    "issuer": honor.issuer,
                    "awarded_on": honor.awarded_on.isoformat(),
                    "recipient": honor.brand.name if honor.brand_id else honor.organization.name,
                }
                for honor in self.honors
            ],
        }


def deadline_status(*, due_date: date | None, handed_in_at: datetime | None, today: date) -> str:
    if due_date is None:
        return DeadlineStatus.NO_DEADLINE
    if handed_in_at is not None:
        return DeadlineStatus.ON_TIME if timezone.localdate(handed_in_at) <= due_date else DeadlineStatus.LATE
    return DeadlineStatus.PENDING if today <= due_date else DeadlineStatus.OVERDUE


def brand_board(
    *, community_ids: list[int], year: int, today: date | None = None, now: datetime | None = None
) -> list[BoardRow]:
    """Each community's brand, its plan for `year` against the deadline, figures and honours.

    The brand shown is the published one, else the newest draft. The plan shown is the newest
    version of the year; the deadline is met by the first version handed in (submitted, and not
    since returned), whenever that was.
    """
    today = today or timezone.localdate()
    communities = list(Community.objects.filter(pk__in=community_ids).order_by("id"))
    rows = {c.pk: BoardRow(community=c) for c in communities}
    ids = list(rows)
    brands = list(
        Brand.objects.filter(community_id__in=ids).exclude(status=Brand.Status.RETIRED).order_by("community_id", "-id")
    )
    for brand in brands:
        row = rows[brand.community_id]
        if row.brand is None or (brand.status == Brand.Status.ACTIVE and row.brand.status != Brand.Status.ACTIVE):
            row.brand = brand
    for plan in (
        BrandPlan.objects.filter(brand__community_id__in=ids, year=year)
        .select_related("brand")
        .order_by("created_at", "id")
    ):
        row = rows[plan.brand.community_id]
        row.plan = plan
        handed_in = plan.status in BrandPlan.HANDED_IN_STATUSES and plan.submitted_at is not None
        if handed_in and (row.handed_in_at is None or plan.submitted_at < row.handed_in_at):
            row.handed_in_at = plan.submitted_at
    for entry in BrandDeadlineCommunity.objects.filter(community_id__in=ids, year=year).select_related("deadline"):
        rows[entry.community_id].due_date = entry.deadline.due_date
        rows[entry.community_id].deadline_title = entry.deadline.title
    brand_ids = [row.brand.pk for row in rows.values() if row.brand is not None]
    figures = _brand_figures(brand_ids, by_year=False, now=now) if brand_ids else {}
    honors = Honor.objects.filter(
        Q(brand__community_id__in=ids) | Q(organization__community_id__in=ids)
    ).select_related("brand", "organization")
    for honor in honors.order_by("-awarded_on", "-id"):
        community_id = honor.brand.community_id if honor.brand_id else honor.organization.community_id
        rows[community_id].honors.append(honor)
    for row in rows.values():
        if row.brand is not None:
            row.figures = figures.get((row.brand.pk,), BrandFigures())
        row.deadline_status = deadline_status(due_date=row.due_date, handed_in_at=row.handed_in_at, today=today)
        row.days_left = (row.due_date - today).days if row.due_date is not None else None
    return [rows[c.pk] for c in communities]


def board_summary(rows: list[BoardRow]) -> dict[str, int]:
    counts = dict.fromkeys(DeadlineStatus.LABELS, 0)
    for row in rows:
        counts[row.deadline_status] += 1
    return counts


def brand_board_data(street: Street, *, year: int, today: date | None = None) -> dict[str, Any]:
    """The street's brand board as the API and the console's export give it."""
    today = today or timezone.localdate()
    community_ids = list(Community.objects.filter(street=street).values_list("pk", flat=True))
    rows = brand_board(community_ids=community_ids, year=year, today=today)
    return {
        "street": {"id": street.pk, "name": street.name},
        "year": year,
        "today": today.isoformat(),
        "summary": board_summary(rows),
        "communities": [row.as_data() for row in rows],
    }
