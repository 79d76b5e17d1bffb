"""The lines of the 双报告: what each member did in a period, against the target for it."""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.db.models import Count, Q, Sum
from django.utils import timezone

from backend.accounts.models import mask_phone
from backend.activities.models import Activity
from backend.activities.selectors import member_attendance
from backend.communities.models import Community
from backend.core.periods import Period
from backend.members.models import Demand, MemberRegistration, PartyMember, PointsEntry, PostAssignment
from backend.volunteers.models import ServiceRecord

from .common import DEMAND_COMPLETED, RECORD_APPROVED, ZERO_HOURS, bounds, counts, hours, month_starts, pk


@dataclass(frozen=True)
class ServiceTarget:
    """The service an in-service member is expected to give in the period: the yearly target
    (settings.FEEDBACK_REPORT_YEARLY_HOURS / _SERVICES) in proportion to the period's months.
    Either measure met is enough; a measure set to 0 is not used."""

    hours: Decimal
    services: int

    @classmethod
    def for_period(cls, period: Period) -> ServiceTarget:
        months = len(month_starts(period))
        yearly_hours = Decimal(str(settings.FEEDBACK_REPORT_YEARLY_HOURS))
        yearly_services = int(settings.FEEDBACK_REPORT_YEARLY_SERVICES)
        target_hours = (yearly_hours * months / 12).quantize(ZERO_HOURS)
        # Whole services only: a quarter of 10 a year asks for 3, not 2.5.
        services = math.ceil(yearly_services * months / 12) if yearly_services > 0 else 0
        return cls(hours=target_hours, services=services)

    @property
    def measured(self) -> bool:
        return self.hours > 0 or self.services > 0

    def met_by(self, *, hours: Decimal, services: int) -> bool | None:
        if not self.measured:
            return None
        return (self.hours > 0 and hours >= self.hours) or (self.services > 0 and services >= self.services)


@dataclass(frozen=True)
class Meetings:
    """三会一课 and party lessons: attended, on approved leave, absent."""

    attended: int = 0
    on_leave: int = 0
    absent: int = 0


@dataclass(frozen=True)
class Standing:
    """The member's registration standing at the period's end: with whom, in which grid, since when."""

    community: Community
    grid: str | None
    registered_at: datetime | None


@dataclass(frozen=True)
class MemberLine:
    """One member's line of the 双报告."""

    member_id: int
    user_id: int
    name: str
    phone: str | None  # masked
    community: Community | None  # registered with, at the period's end
    grid: str | None
    registered_at: datetime | None
    posts: tuple[str, ...]  # held at any time in the period
    activities_attended: int
    meetings: Meetings
    volunteer_hours: Decimal
    volunteer_services: int  # approved service records
    demands_completed: int
    points: int
    meets_target: bool | None

    @property
    def community_id(self) -> int | None:
        return pk(self.community) if self.community is not None else None

    @property
    def services(self) -> int:
        """Services counted against the target: approved service records and demands completed."""
        return self.volunteer_services + self.demands_completed

    @property
    def has_post(self) -> bool:
        return bool(self.posts)


def registered_at_end_q(end: datetime) -> Q:
    """Registrations standing at `end`: approved before it and not withdrawn by then."""
    return Q(approved_at__isnull=False, approved_at__lt=end) & (Q(withdrawn_at__isnull=True) | Q(withdrawn_at__gte=end))


def _standings(member_ids: list[int], end: datetime) -> dict[int, Standing]:
    registrations = (
        MemberRegistration.objects.filter(member_id__in=member_ids)
        .filter(registered_at_end_q(end))
        .select_related("community", "grid")
        .order_by("approved_at", "id")
    )
    # The latest standing one wins.
    return {
        r.member_id: Standing(r.community, r.grid.name if r.grid is not None else None, r.approved_at)
        for r in registrations
    }


def _posts(member_ids: list[int], period: Period) -> dict[int, tuple[str, ...]]:
    start, end = bounds(period)
    held = (
        PostAssignment.objects.filter(member_id__in=member_ids, claimed_at__lt=end)
        .filter(Q(left_at__isnull=True) | Q(left_at__gt=start))
        .order_by("claimed_at", "id")
        .values_list("member_id", "post__name")
    )
    posts: dict[int, list[str]] = defaultdict(list)
    for member_id, post_name in held:
        if post_name not in posts[member_id]:
            posts[member_id].append(post_name)
    return {member_id: tuple(names) for member_id, names in posts.items()}


def _attendance(user_ids: list[int], period: Period, now: datetime) -> dict[int, tuple[int, Meetings]]:
    """user id → (activities attended, meetings)."""
    attendance = member_attendance(period=period, user_ids=user_ids, now=now)
    seen = set().union(*(a.attended | a.on_leave | a.absent for a in attendance.values()))
    meetings = set(
        Activity.objects.filter(pk__in=seen, category__in=Activity.MEETING_CATEGORIES).values_list("pk", flat=True)
    )
    return {
        user_id: (
            len(record.attended),
            Meetings(
                attended=len(record.attended & meetings),
                on_leave=len(record.on_leave & meetings),
                absent=len(record.absent & meetings),
            ),
        )
        for user_id, record in attendance.items()
    }


def _service(user_ids: list[int], period: Period) -> dict[int, tuple[Decimal, int]]:
    """user id → (approved hours, approved records)."""
    rows = counts(
        ServiceRecord.objects.filter(status=RECORD_APPROVED, volunteer__user_id__in=user_ids).filter(
            period.q("started_at")
        ),
        "volunteer__user_id",
        hours=Sum("hours"),
        n=Count("id"),
    )
    return {user_id: (hours(row["hours"]), row["n"]) for user_id, row in rows.items()}


def _points(user_ids: list[int], period: Period) -> dict[int, int]:
    rows = counts(
        PointsEntry.objects.filter(user_id__in=user_ids).filter(period.q("created_at")), "user_id", total=Sum("points")
    )
    return {user_id: int(row["total"] or 0) for user_id, row in rows.items()}


def _demands(user_ids: list[int], period: Period) -> dict[int, int]:
    rows = counts(
        Demand.objects.filter(claimed_by_id__in=user_ids, status__in=DEMAND_COMPLETED).filter(period.q("done_at")),
        "claimed_by_id",
        n=Count("id"),
    )
    return {user_id: int(row["n"]) for user_id, row in rows.items()}


def member_lines(members: list[PartyMember], *, period: Period, now: datetime | None = None) -> list[MemberLine]:
    """The lines of these members for the period, in a fixed number of queries whatever their number."""
    if not members:
        return []
    now = now or timezone.now()
    target = ServiceTarget.for_period(period)
    member_ids, user_ids = [pk(m) for m in members], [m.user_id for m in members]
    standings = _standings(member_ids, bounds(period)[1])
    posts = _posts(member_ids, period)
    attendance = _attendance(user_ids, period, now)
    service = _service(user_ids, period)
    points = _points(user_ids, period)
    demands = _demands(user_ids, period)
    lines = []
    for member in members:
        standing = standings.get(pk(member))
        attended, meetings = attendance.get(member.user_id, (0, Meetings()))
        member_hours, services = service.get(member.user_id, (ZERO_HOURS, 0))
        done = demands.get(member.user_id, 0)
        lines.append(
            MemberLine(
                member_id=pk(member),
                user_id=member.user_id,
                name=member.real_name,
                phone=mask_phone(member.phone),
                community=standing.community if standing else None,
                grid=standing.grid if standing else None,
                registered_at=standing.registered_at if standing else None,
                posts=posts.get(pk(member), ()),
                activities_attended=attended,
                meetings=meetings,
                volunteer_hours=member_hours,
                volunteer_services=services,
                demands_completed=done,
                points=points.get(member.user_id, 0),
                meets_target=target.met_by(hours=member_hours, services=services + done),
            )
        )
    return lines
