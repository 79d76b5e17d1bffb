"""The 双报告 of a unit: a line per member of its organisation for a period, and the unit's own figures."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, fields
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from backend.appeals.selectors import Ratio
from backend.communities.models import Community, PartyOrganization
from backend.core.periods import Period
from backend.members.models import Demand, MemberRegistration, PartyMember, UnitRegistration

from .common import APPROVED, DEMAND_COMPLETED, UNREGISTERED, ZERO_HOURS, bounds
from .lines import MemberLine, ServiceTarget, member_lines, registered_at_end_q


@dataclass(frozen=True)
class ReportSummary:
    """The unit's figures: its members' lines summed, and the demands the unit claimed itself."""

    members: int
    registration_rate: Ratio  # members registered with a community at the period's end / members
    service_completion_rate: Ratio  # members meeting the target / members measured against one
    volunteer_hours: Decimal
    volunteer_services: int
    activities_attended: int
    meetings_attended: int
    demands_completed: int
    unit_demands_completed: int
    points: int
    below_target: tuple[MemberLine, ...]
    without_post: tuple[MemberLine, ...]

    @classmethod
    def of(cls, lines: list[MemberLine], *, unit_demands_completed: int) -> ReportSummary:
        registered = [line for line in lines if line.community is not None]
        measured = [line for line in lines if line.meets_target is not None]
        return cls(
            members=len(lines),
            registration_rate=Ratio(len(registered), len(lines)),
            service_completion_rate=Ratio(sum(1 for line in measured if line.meets_target), len(measured)),
            volunteer_hours=sum((line.volunteer_hours for line in lines), ZERO_HOURS),
            volunteer_services=sum(line.volunteer_services for line in lines),
            activities_attended=sum(line.activities_attended for line in lines),
            meetings_attended=sum(line.meetings.attended for line in lines),
            demands_completed=sum(line.demands_completed for line in lines),
            unit_demands_completed=unit_demands_completed,
            points=sum(line.points for line in lines),
            below_target=tuple(line for line in lines if line.meets_target is False),
            without_post=tuple(line for line in lines if not line.has_post),
        )


@dataclass(frozen=True)
class ReportGroup:
    """The members registered with one community (a sheet of the workbook); id None: not registered."""

    id: int | None
    name: str
    members: tuple[MemberLine, ...]


def report_groups(lines: list[MemberLine]) -> list[ReportGroup]:
    """The lines by community, in the order of the communities' names, the unregistered last."""
    groups: dict[int | None, list[MemberLine]] = defaultdict(list)
    names: dict[int | None, str] = {None: UNREGISTERED}
    for line in lines:
        groups[line.community_id].append(line)
        if line.community is not None:
            names[line.community_id] = line.community.name or ""
    ordered: list[int | None] = sorted((cid for cid in groups if cid is not None), key=lambda cid: (names[cid], cid))
    if None in groups:
        ordered.append(None)
    return [ReportGroup(cid, names[cid], tuple(groups[cid])) for cid in ordered]


@dataclass(frozen=True)
class FeedbackReportData:
    """The 双报告 as the API sends it and the database keeps it (FeedbackReportDataSerializer)."""

    organization: PartyOrganization
    period: str  # the period's label: 2025Q1
    start: datetime
    end: datetime  # exclusive
    generated_at: datetime
    target: ServiceTarget
    summary: ReportSummary
    unit_communities: list[Community]  # those the unit is registered with at the period's end
    communities: list[ReportGroup]

    def as_data(self) -> dict[str, Any]:
        from ..serializers import FeedbackReportDataSerializer  # here: the serializers import the selectors

        return dict(FeedbackReportDataSerializer(self).data)


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
    start, end = bounds(period)
    members = organization_members(organization, period=period)
    unit_communities = list(
        Community.objects.filter(
            Exists(
                UnitRegistration.objects.filter(community=OuterRef("pk"), organization=organization).filter(
                    registered_at_end_q(end)
                )
            )
        ).order_by("id")
    )
    unit_demands = (
        Demand.objects.filter(claimed_organization=organization, status__in=DEMAND_COMPLETED)
        .filter(period.q("done_at"))
        .count()
    )
    target = ServiceTarget.for_period(period)
    lines = member_lines(members, period=period, now=now)
    return FeedbackReportData(
        organization=organization,
        period=label,
        start=start,
        end=end,
        generated_at=now,
        target=target,
        summary=ReportSummary.of(lines, unit_demands_completed=unit_demands),
        unit_communities=unit_communities,
        communities=report_groups(lines),
    )


@dataclass(frozen=True)
class OwnReportLine(MemberLine):
    """A member's own line with the period and target it is measured against (`members/me/`)."""

    period: str | None
    start: datetime
    end: datetime
    target: ServiceTarget

    def as_data(self) -> dict[str, Any]:
        from ..serializers import OwnReportLineSerializer  # here: the serializers import the selectors

        return dict(OwnReportLineSerializer(self).data)


def member_report_line(user: Any, period: Period, *, label: str = "") -> OwnReportLine | None:
    """The member's own line of the 双报告 for the period as the unit's report computes it, or None
    for someone who is not a party member. `members/me/` shows the same line computed for the one
    person (`own_report_line`), which tests/reports/test_own_line.py holds to this computation."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    member = PartyMember.objects.filter(user=user).first()
    if member is None:
        return None
    line = member_lines([member], period=period)[0]
    start, end = bounds(period)
    return OwnReportLine(
        **{f.name: getattr(line, f.name) for f in fields(line)},
        period=label or None,
        start=start,
        end=end,
        target=ServiceTarget.for_period(period),
    )
