"""Every figure reports show, each as a query: 五个全覆盖 per community and street, the 双报告 of a
unit's members, a brand's figures, the street's brand board, and the dashboards' monthly series.

Reports reads every app and writes nothing here. Each function runs a fixed number of queries,
whatever the number of communities, members or rows behind it (the tests hold them to it). The
definitions are documented, each as the query it is, in docs/reports.md.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Sum
from django.db.models.functions import ExtractYear, TruncMonth
from django.utils import timezone

from backend.accounts.models import Role, RoleGrant, mask_phone
from backend.accounts.scoping import get_scope, staff_organizations
from backend.activities.models import Activity, CheckIn
from backend.activities.selectors import member_attendance
from backend.appeals.models import Appeal
from backend.appeals.selectors import Ratio, appeal_rates, overdue_for
from backend.brands.models import Brand, BrandDeadlineCommunity, BrandPlan, Honor
from backend.communities.models import Community, PartyOrganization, Street
from backend.core.moderation import visible_q, with_review
from backend.core.periods import Period
from backend.members.models import (
    Demand,
    MemberRegistration,
    PartyMember,
    PointsEntry,
    PostAssignment,
    UnitRegistration,
)
from backend.members.selectors import unit_community_ids
from backend.red_property import selectors as red_property
from backend.volunteers.models import ServiceRecord

from .models import FeedbackReport

APPROVED = MemberRegistration.Status.APPROVED
UNIT_APPROVED = UnitRegistration.Status.APPROVED
RECORD_APPROVED = ServiceRecord.Status.APPROVED
DEMAND_COMPLETED = (Demand.Status.DONE, Demand.Status.CONFIRMED)
# Activities that took place (or are taking place): drafts and cancelled ones never happened.
HELD_STATUSES = (Activity.Status.PUBLISHED, Activity.Status.FINISHED)
ZERO_HOURS = Decimal("0.00")
UNREGISTERED = "未报到"


def hours_text(value: Decimal | None) -> str:
    """Hours on the wire: a decimal string with two places, as every other hours field."""
    return f"{(value or ZERO_HOURS).quantize(ZERO_HOURS)}"


def iso(moment: datetime | None) -> str | None:
    return timezone.localtime(moment).isoformat() if moment is not None else None


def ratio_data(ratio: Ratio) -> dict[str, Any]:
    return {"numerator": ratio.numerator, "denominator": ratio.denominator, "rate": ratio.rate}


# Why a 双报到 rate has no denominator: said instead of 0/0 (API `unknown`, the console beside the rate).
MEMBERS_UNKNOWN = (
    "no_known_members",
    "尚无已知居住于此的党员: 没有待审核或已通过的报到, 也没有以此为居住社区的已报到党员",
)
UNITS_UNKNOWN = ("no_units_filed", "尚无单位申请共建报到, 应报到单位数未知")


def membership_ratio_data(ratio: Ratio, unknown: tuple[str, str]) -> dict[str, Any]:
    """A 双报到 rate: the ratio, and `unknown` {code, detail} saying why when its denominator is 0."""
    code, detail = unknown
    return {**ratio_data(ratio), "unknown": {"code": code, "detail": detail} if not ratio.denominator else None}


def _add(a: Ratio, b: Ratio) -> Ratio:
    return Ratio(a.numerator + b.numerator, a.denominator + b.denominator)


def _counts(queryset: QuerySet, key: str, **aggregates: Any) -> dict[int, dict[str, Any]]:
    """One grouped query: key value → the aggregates."""
    rows = queryset.order_by().values(key).annotate(**aggregates)
    return {row[key]: row for row in rows}


def month_starts(period: Period) -> list[date]:
    """The first day of each month the period covers (periods start and end on month boundaries).

    Reports and dashboards measure bounded periods only: `all` has no months to count.
    """
    if period.start is None or period.end is None:
        raise ValueError("a bounded period is needed (2026, 2026H1, 2026Q3 or 2026-03), not all")
    start, end = timezone.localtime(period.start), timezone.localtime(period.end)
    months = (end.year - start.year) * 12 + end.month - start.month
    return [date(start.year + (start.month - 1 + n) // 12, (start.month - 1 + n) % 12 + 1, 1) for n in range(months)]


def _month_key(moment: datetime | date) -> str:
    if isinstance(moment, datetime):
        moment = timezone.localtime(moment) if timezone.is_aware(moment) else moment
    return f"{moment.year:04d}-{moment.month:02d}"


# 五个全覆盖 ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Coverage:
    """The five rates of one community (or the sums of several): each a numerator over a denominator."""

    party_organization: Ratio  # (1) estates with a party organisation / estates
    property_company_party_organization: Ratio  # (1) companies serving here with one / companies serving here
    owners_committee: Ratio  # (2) estates with a 业委会 in office / estates that require one
    property_service: Ratio  # (3) estates with property service / estates
    member_registration: Ratio  # (4) members registered here / members known to live here
    unit_registration: Ratio  # (4) units registered here / units co-building here
    red_property: Ratio  # (5) red property estates with property service / estates with property service
    registered_members: int  # members registered (approved) here, wherever they live

    @classmethod
    def empty(cls) -> Coverage:
        zero = Ratio(0, 0)
        return cls(zero, zero, zero, zero, zero, zero, zero, 0)

    def __add__(self, other: Coverage) -> Coverage:
        return Coverage(
            party_organization=_add(self.party_organization, other.party_organization),
            property_company_party_organization=_add(
                self.property_company_party_organization, other.property_company_party_organization
            ),
            owners_committee=_add(self.owners_committee, other.owners_committee),
            property_service=_add(self.property_service, other.property_service),
            member_registration=_add(self.member_registration, other.member_registration),
            unit_registration=_add(self.unit_registration, other.unit_registration),
            red_property=_add(self.red_property, other.red_property),
            registered_members=self.registered_members + other.registered_members,
        )

    def as_data(self) -> dict[str, Any]:
        return {
            "party_organization": ratio_data(self.party_organization),
            "property_company_party_organization": ratio_data(self.property_company_party_organization),
            "owners_committee": ratio_data(self.owners_committee),
            "property_service": ratio_data(self.property_service),
            "member_registration": membership_ratio_data(self.member_registration, MEMBERS_UNKNOWN),
            "unit_registration": membership_ratio_data(self.unit_registration, UNITS_UNKNOWN),
            "red_property": ratio_data(self.red_property),
            "registered_members": self.registered_members,
        }


@dataclass(frozen=True)
class MemberRegistrationSets:
    """One community's 党员双报到, as member ids: `registered` is the numerator, `known` the denominator."""

    registered: frozenset[int]
    known: frozenset[int]

    def ratio(self) -> Ratio:
        return Ratio(len(self.registered), len(self.known))

    def __or__(self, other: MemberRegistrationSets) -> MemberRegistrationSets:
        return MemberRegistrationSets(self.registered | other.registered, self.known | other.known)


def member_registration_sets(community_ids: Iterable[int]) -> dict[int, MemberRegistrationSets]:
    """(4a) per community, in two queries:

    registered: members whose registration with the community is approved and has not ended;
    known: party members known to live there, i.e. those registered there, those whose registration
    with it awaits a decision, and members registered (approved) anywhere whose account names it
    as their home community (User.community). Refused and ended registrations count nowhere, and
    an applicant never in a numerator.
    """
    ids = list(community_ids)
    registered: dict[int, set[int]] = {cid: set() for cid in ids}
    known: dict[int, set[int]] = {cid: set() for cid in ids}
    standing = MemberRegistration.objects.filter(
        community_id__in=ids, status__in=MemberRegistration.ACTIVE_STATUSES
    ).values_list("community_id", "member_id", "status")
    for cid, member_id, status in standing:
        known[cid].add(member_id)
        if status == APPROVED:
            registered[cid].add(member_id)
    in_force = MemberRegistration.objects.filter(member=OuterRef("pk"), status=APPROVED)
    living = PartyMember.objects.filter(Exists(in_force), user__community_id__in=ids).values_list(
        "user__community_id", "id"
    )
    for cid, member_id in living:
        known[cid].add(member_id)
    return {cid: MemberRegistrationSets(frozenset(registered[cid]), frozenset(known[cid])) for cid in ids}


def unit_registration_counts(community_ids: Iterable[int]) -> dict[int, Ratio]:
    """(4b) per community: units registered (approved) / units co-building with it, a unit co-building
    from the moment it files (a pending or approved registration). One query."""
    rows = _counts(
        UnitRegistration.objects.filter(
            community_id__in=list(community_ids),
            status__in=UnitRegistration.ACTIVE_STATUSES,
            organization__is_unit=True,
        ),
        "community_id",
        co_building=Count("organization", distinct=True),
        registered=Count("organization", distinct=True, filter=Q(status=UNIT_APPROVED)),
    )
    return {cid: Ratio(row["registered"], row["co_building"]) for cid, row in rows.items()}


def red_property_served_counts(community_ids: Iterable[int]) -> dict[int, int]:
    """(5) numerator: red property estates that have property service. One query."""
    rows = _counts(
        red_property.red_property_estates(community_ids=community_ids).filter(has_property_service=True),
        "community_id",
        n=Count("id"),
    )
    return {cid: row["n"] for cid, row in rows.items()}


def coverage_by_community(community_ids: Iterable[int], *, on: date | None = None) -> dict[int, Coverage]:
    """五个全覆盖 for each community asked for (zeros where there is nothing), in five queries."""
    ids = list(community_ids)
    if not ids:
        return {}
    estates = red_property.coverage_by_community(ids, on=on)
    red_served = red_property_served_counts(ids)
    members = member_registration_sets(ids)
    units = unit_registration_counts(ids)
    result: dict[int, Coverage] = {}
    for cid in ids:
        e = estates[cid]
        result[cid] = Coverage(
            party_organization=Ratio(e.with_party_organization, e.estates),
            property_company_party_organization=Ratio(
                e.property_companies_with_party_organization, e.property_companies
            ),
            owners_committee=Ratio(e.committee_formed, e.committee_required),
            property_service=Ratio(e.with_property_service, e.estates),
            member_registration=members[cid].ratio(),
            unit_registration=units.get(cid, Ratio(0, 0)),
            red_property=Ratio(red_served.get(cid, 0), e.with_property_service),
            registered_members=len(members[cid].registered),
        )
    return result


@dataclass(frozen=True)
class CommunityCoverage:
    community: Community
    coverage: Coverage


@dataclass(frozen=True)
class StreetCoverage:
    street: Street
    total: Coverage
    communities: list[CommunityCoverage]


def community_coverage(community: Community, *, on: date | None = None) -> CommunityCoverage:
    return CommunityCoverage(community, coverage_by_community([community.pk], on=on)[community.pk])


def street_coverage(street: Street, *, on: date | None = None) -> StreetCoverage:
    """Each community of the street, and the street's total.

    The total sums the communities' numerators and denominators (a unit co-building with two
    communities counts in each), except the property companies, which are counted once each
    across the street however many of its communities they serve, and the members, each counted
    once (registered in one community, living in another of the street).
    """
    communities = list(Community.objects.filter(street=street).order_by("id"))
    ids = [c.pk for c in communities]
    by_id = coverage_by_community(ids, on=on)
    rows = [CommunityCoverage(c, by_id[c.pk]) for c in communities]
    total = Coverage.empty()
    for row in rows:
        total = total + row.coverage
    companies = red_property.property_companies_serving(community_ids=ids)
    company_counts = companies.aggregate(
        serving=Count("id", distinct=True),
        with_party=Count("id", distinct=True, filter=Q(party_organization__isnull=False)),
    )
    members = MemberRegistrationSets(frozenset(), frozenset())
    for sets in member_registration_sets(ids).values():
        members = members | sets
    total = replace(
        total,
        property_company_party_organization=Ratio(company_counts["with_party"], company_counts["serving"]),
        member_registration=members.ratio(),
        registered_members=len(members.registered),
    )
    return StreetCoverage(street, total, rows)


def community_coverage_data(row: CommunityCoverage, *, on: date) -> dict[str, Any]:
    community = row.community
    return {
        "community": {"id": community.pk, "name": community.name, "street": community.street_id},
        "on": on.isoformat(),
        **row.coverage.as_data(),
    }


def street_coverage_data(street_cov: StreetCoverage, *, on: date) -> dict[str, Any]:
    return {
        "street": {"id": street_cov.street.pk, "name": street_cov.street.name},
        "on": on.isoformat(),
        "total": street_cov.total.as_data(),
        "communities": [
            {"community": {"id": r.community.pk, "name": r.community.name}, **r.coverage.as_data()}
            for r in street_cov.communities
        ],
    }


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


@dataclass(frozen=True)
class ReportAccess:
    """What of a unit's report a caller may read: all of it, or only the lines of members
    registered with the communities in `community_ids` (community staff)."""

    full: bool
    community_ids: frozenset[int] = frozenset()


def may_read_reports(user: Any) -> bool:
    scope = get_scope(user)
    return scope.is_staff or bool(scope.organization_ids)


def report_access(user: Any, organization: PartyOrganization) -> ReportAccess | None:
    """None when the organisation lies outside the caller's reach (the view answers 404).

    The unit's liaison reads it whole while the unit is registered somewhere, as does staff whose
    streets or communities the organisation belongs to; staff of a community the unit or some of
    its members registered with read the lines of the members registered there.
    """
    scope = get_scope(user)
    if scope.is_superuser:
        return ReportAccess(full=True)
    # The 双报告 is the unit's, per member of its organisation wherever they registered, and goes to
    # its liaison, but only while the unit is registered (approved) with some community.
    if organization.pk in scope.organization_ids and unit_community_ids([organization.pk]):
        return ReportAccess(full=True)
    if not scope.is_staff:
        return None
    if staff_organizations(user).filter(pk=organization.pk).exists():
        return ReportAccess(full=True)
    communities = scope.community_ids
    related = (
        UnitRegistration.objects.filter(
            organization=organization, community_id__in=communities, approved_at__isnull=False
        ).exists()
        or MemberRegistration.objects.filter(
            organization=organization, community_id__in=communities, approved_at__isnull=False
        ).exists()
    )
    return ReportAccess(full=False, community_ids=frozenset(communities)) if related else None


def restrict_report(data: dict[str, Any], access: ReportAccess) -> dict[str, Any]:
    """The report as this caller may read it: the whole, or the sheets of their communities."""
    if access.full:
        return data
    visible = [group for group in data["communities"] if group["id"] in access.community_ids]
    member_ids = {line["member_id"] for group in visible for line in group["members"]}
    summary = dict(data["summary"])
    summary["below_target"] = [row for row in summary["below_target"] if row["member_id"] in member_ids]
    summary["without_post"] = [row for row in summary["without_post"] if row["member_id"] in member_ids]
    return {**data, "summary": summary, "communities": visible}


def report_member_user_ids(data: dict[str, Any]) -> list[tuple[int, int]]:
    """(user id, member id) of every line in a report: whose details a reader saw."""
    return [(line["user_id"], line["member_id"]) for group in data["communities"] for line in group["members"]]


def liaison_user_ids(organization_id: int) -> list[int]:
    """The unit's liaisons: whom its 双报告 is sent to."""
    return sorted(
        set(
            RoleGrant.objects.filter(
                role=Role.UNIT_LIAISON,
                organization_id=organization_id,
                revoked_at__isnull=True,
                user__is_active=True,
            ).values_list("user_id", flat=True)
        )
    )


def reportable_organizations() -> QuerySet[PartyOrganization]:
    """Units a quarterly 双报告 is written for: those with members or a registration with a community."""
    return (
        PartyOrganization.objects.filter(is_unit=True)
        .filter(
            Exists(PartyMember.objects.filter(organization=OuterRef("pk")))
            | Exists(UnitRegistration.objects.filter(organization=OuterRef("pk"), approved_at__isnull=False))
        )
        .order_by("id")
    )


def organizations_needing_report(period_label: str) -> QuerySet[PartyOrganization]:
    """Units whose report for the period is not yet written, or written but not yet sent."""
    done = FeedbackReport.objects.filter(organization=OuterRef("pk"), period=period_label, sent_at__isnull=False)
    return reportable_organizations().exclude(Exists(done))


def stored_reports(organization: PartyOrganization) -> QuerySet[FeedbackReport]:
    return (
        FeedbackReport.objects.filter(organization=organization)
        .select_related("organization")
        .order_by("-period_start", "-id")
    )


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
