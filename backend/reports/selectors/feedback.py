"""The 双报告 of a unit: a line per member of its organisation for a period, and the unit's own figures."""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import Count, Exists, OuterRef, Q, Sum
from django.utils import timezone

from backend.accounts.models import mask_phone
from backend.activities.models import Activity
from backend.activities.selectors import member_attendance
from backend.appeals.selectors import Ratio
from backend.communities.models import Community, PartyOrganization
from backend.core.periods import Period
from backend.members.models import (
    Demand,
    MemberRegistration,
    PartyMember,
    PointsEntry,
    PostAssignment,
    UnitRegistration,
)
from backend.volunteers.models import ServiceRecord

from .common import (
    APPROVED,
    DEMAND_COMPLETED,
    RECORD_APPROVED,
    UNREGISTERED,
    ZERO_HOURS,
    _counts,
    hours_text,
    iso,
    month_starts,
    ratio_data,
)

# 双报告 -------------------------------------------------------------------------------------------


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
        hours = (yearly_hours * months / 12).quantize(ZERO_HOURS)
        # Whole services only: a quarter of 10 a year asks for 3, not 2.5.
        services = math.ceil(yearly_services * months / 12) if yearly_services > 0 else 0
        return cls(hours=hours, services=services)

    @property
    def measured(self) -> bool:
        return self.hours > 0 or self.services > 0

    def met_by(self, *, hours: Decimal, services: int) -> bool | None:
        if not self.measured:
            return None
        return (self.hours > 0 and hours >= self.hours) or (self.services > 0 and services >= self.services)

    def as_data(self) -> dict[str, Any]:
        return {"hours": hours_text(self.hours), "services": self.services}


@dataclass
class MemberLine:
    """One member's line of the 双报告."""

    member_id: int
    user_id: int
    name: str
    phone: str | None  # masked
    community_id: int | None = None  # registered with, at the period's end
    community_name: str | None = None
    grid_name: str | None = None
    registered_at: datetime | None = None
    posts: list[str] = field(default_factory=list)  # held at any time in the period
    activities_attended: int = 0
    meetings_attended: int = 0  # 三会一课 and party lessons
    meetings_on_leave: int = 0
    meetings_absent: int = 0
    volunteer_hours: Decimal = ZERO_HOURS
    volunteer_services: int = 0  # approved service records
    demands_completed: int = 0
    points: int = 0
    meets_target: bool | None = None

    @property
    def services(self) -> int:
        """Services counted against the target: approved service records and demands completed."""
        return self.volunteer_services + self.demands_completed

    @property
    def has_post(self) -> bool:
        return bool(self.posts)

    def as_data(self) -> dict[str, Any]:
        return {
            "member_id": self.member_id,
            "user_id": self.user_id,
            "name": self.name,
            "phone": self.phone,
            "community": {"id": self.community_id, "name": self.community_name}
            if self.community_id is not None
            else None,
            "grid": self.grid_name,
            "registered_at": iso(self.registered_at),
            "posts": list(self.posts),
            "has_post": self.has_post,
            "activities_attended": self.activities_attended,
            "meetings": {
                "attended": self.meetings_attended,
                "on_leave": self.meetings_on_leave,
                "absent": self.meetings_absent,
            },
            "volunteer_hours": hours_text(self.volunteer_hours),
            "volunteer_services": self.volunteer_services,
            "demands_completed": self.demands_completed,
            "services": self.services,
            "points": self.points,
            "meets_target": self.meets_target,
        }


def registered_at_end_q(end: datetime) -> Q:
    """Registrations standing at `end`: approved before it and not withdrawn by then."""
    return Q(approved_at__isnull=False, approved_at__lt=end) & (Q(withdrawn_at__isnull=True) | Q(withdrawn_at__gte=end))


def member_lines(members: list[PartyMember], *, period: Period, now: datetime | None = None) -> list[MemberLine]:
    """The lines of these members for the period, in a fixed number of queries whatever their number."""
    if not members:
        return []
    now = now or timezone.now()
    target = ServiceTarget.for_period(period)
    lines = {
        m.pk: MemberLine(member_id=m.pk, user_id=m.user_id, name=m.real_name, phone=mask_phone(m.phone))
        for m in members
    }
    by_user = {m.user_id: lines[m.pk] for m in members}
    member_ids, user_ids = list(lines), list(by_user)

    registrations = (
        MemberRegistration.objects.filter(member_id__in=member_ids)
        .filter(registered_at_end_q(period.end))
        .select_related("community", "grid")
        .order_by("approved_at", "id")
    )
    for registration in registrations:  # the latest standing one wins
        line = lines[registration.member_id]
        line.community_id = registration.community_id
        line.community_name = registration.community.name
        line.grid_name = registration.grid.name if registration.grid_id else None
        line.registered_at = registration.approved_at

    held = (
        PostAssignment.objects.filter(member_id__in=member_ids, claimed_at__lt=period.end)
        .filter(Q(left_at__isnull=True) | Q(left_at__gt=period.start))
        .order_by("claimed_at", "id")
        .values_list("member_id", "post__name")
    )
    for member_id, post_name in held:
        if post_name not in lines[member_id].posts:
            lines[member_id].posts.append(post_name)

    attendance = member_attendance(period=period, user_ids=user_ids, now=now)
    seen = set().union(*(a.attended | a.on_leave | a.absent for a in attendance.values()))
    meetings = set(
        Activity.objects.filter(pk__in=seen, category__in=Activity.MEETING_CATEGORIES).values_list("pk", flat=True)
    )
    for user_id, record in attendance.items():
        line = by_user.get(user_id)
        if line is None:
            continue
        line.activities_attended = len(record.attended)
        line.meetings_attended = len(record.attended & meetings)
        line.meetings_on_leave = len(record.on_leave & meetings)
        line.meetings_absent = len(record.absent & meetings)

    service = _counts(
        ServiceRecord.objects.filter(status=RECORD_APPROVED, volunteer__user_id__in=user_ids).filter(
            period.q("started_at")
        ),
        "volunteer__user_id",
        hours=Sum("hours"),
        n=Count("id"),
    )
    for user_id, row in service.items():
        by_user[user_id].volunteer_hours = Decimal(row["hours"] or 0).quantize(ZERO_HOURS)
        by_user[user_id].volunteer_services = row["n"]

    points = _counts(
        PointsEntry.objects.filter(user_id__in=user_ids).filter(period.q("created_at")), "user_id", total=Sum("points")
    )
    for user_id, row in points.items():
        by_user[user_id].points = int(row["total"] or 0)

    demands = _counts(
        Demand.objects.filter(claimed_by_id__in=user_ids, status__in=DEMAND_COMPLETED).filter(period.q("done_at")),
        "claimed_by_id",
        n=Count("id"),
    )
    for user_id, row in demands.items():
        by_user[user_id].demands_completed = row["n"]

    for line in lines.values():
        line.meets_target = target.met_by(hours=line.volunteer_hours, services=line.services)
    return [lines[m.pk] for m in members]


@dataclass
class FeedbackReportData:
    organization: PartyOrganization
    period_label: str
    period: Period
    generated_at: datetime
    target: ServiceTarget
    lines: list[MemberLine]
    unit_communities: list[Community]
    unit_demands_completed: int

    def as_data(self) -> dict[str, Any]:
        """The report as the API sends it and the database keeps it (JSON types only)."""
        lines = self.lines
        registered = [line for line in lines if line.community_id is not None]
        measured = [line for line in lines if line.meets_target is not None]
        groups: dict[int | None, list[MemberLine]] = defaultdict(list)
        names: dict[int | None, str] = {None: UNREGISTERED}
        for line in lines:
            groups[line.community_id].append(line)
            if line.community_id is not None:
                names[line.community_id] = line.community_name or ""
        ordered = sorted((cid for cid in groups if cid is not None), key=lambda cid: (names[cid], cid))
        if None in groups:
            ordered.append(None)

        def who(line: MemberLine) -> dict[str, Any]:
            return {"member_id": line.member_id, "name": line.name}

        return {
            "organization": {
                "id": self.organization.pk,
                "name": self.organization.name,
                "employer": self.organization.employer,
            },
            "period": self.period_label,
            "start": iso(self.period.start),
            "end": iso(self.period.end),
            "generated_at": iso(self.generated_at),
            "target": self.target.as_data(),
            "summary": {
                "members": len(lines),
                "registration_rate": ratio_data(Ratio(len(registered), len(lines))),
                "service_completion_rate": ratio_data(
                    Ratio(sum(1 for line in measured if line.meets_target), len(measured))
                ),
                "volunteer_hours": hours_text(sum((line.volunteer_hours for line in lines), ZERO_HOURS)),
                "volunteer_services": sum(line.volunteer_services for line in lines),
                "activities_attended": sum(line.activities_attended for line in lines),
                "meetings_attended": sum(line.meetings_attended for line in lines),
                "demands_completed": sum(line.demands_completed for line in lines),
                "unit_demands_completed": self.unit_demands_completed,
                "points": sum(line.points for line in lines),
                "below_target": [who(line) for line in lines if line.meets_target is False],
                "without_post": [who(line) for line in lines if not line.has_post],
            },
            "unit_communities": [{"id": c.pk, "name": c.name} for c in self.unit_communities],
            "communities": [
                {
                    "id": cid,
                    "name": names[cid],
                    "members": [line.as_data() for line in groups[cid]],
                }
                for cid in ordered
            ],
        }


def organization_members(organization: PartyOrganization, *, period: Period | None = None) -> list[PartyMember]:
    """Members of the organisation for a report: those whose registration naming it was approved and
    had not ended by the period's end (a member who moved away after it still counts in it, one who
    left during it does not; one approved since shows as not yet registered then). An applicant's
    or a refused person's claim to the organisation never makes them one."""
    approved = MemberRegistration.objects.filter(
        member=OuterRef("pk"), organization=organization, approved_at__isnull=False
    )
    if period is not None and period.end is not None:
        approved = approved.filter(Q(withdrawn_at__isnull=True) | Q(withdrawn_at__gte=period.end))
    else:
        approved = approved.filter(status=APPROVED)
    return list(PartyMember.objects.filter(Exists(approved)).order_by("id"))


def feedback_report(
    *, organization: PartyOrganization, period: Period, label: str, now: datetime | None = None
) -> FeedbackReportData:
    """双报告 of a unit for a period: a line per member of the organisation and the unit's own figures."""
    now = now or timezone.now()
    members = organization_members(organization, period=period)
    unit_communities = list(
        Community.objects.filter(
            Exists(
                UnitRegistration.objects.filter(community=OuterRef("pk"), organization=organization).filter(
                    registered_at_end_q(period.end)
                )
            )
        ).order_by("id")
    )
    unit_demands = (
        Demand.objects.filter(claimed_organization=organization, status__in=DEMAND_COMPLETED)
        .filter(period.q("done_at"))
        .count()
    )
    return FeedbackReportData(
        organization=organization,
        period_label=label,
        period=period,
        generated_at=now,
        target=ServiceTarget.for_period(period),
        lines=member_lines(members, period=period, now=now),
        unit_communities=unit_communities,
        unit_demands_completed=unit_demands,
    )


def member_report_line(user: Any, period: Period, *, label: str = "") -> dict[str, Any] | None:
    """The member's own line of the 双报告 for the period (what `members/me/` shows), or None for
    someone who is not a party member."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    member = PartyMember.objects.filter(user=user).first()
    if member is None:
        return None
    line = member_lines([member], period=period)[0]
    return {
        "period": label or None,
        "start": iso(period.start),
        "end": iso(period.end),
        "target": ServiceTarget.for_period(period).as_data(),
        **line.as_data(),
    }
