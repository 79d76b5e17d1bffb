"""Reads for red property: scoped querysets, the governance list, and the coverage figures.

Scope: an estate's governance, committees, meetings, assessments and self-governance are seen by
the staff of its community and the admins of its street; anyone else's lookups answer 404. The
property company register is read by all staff (to pick an estate's company) and kept by the
staff of the company's street.

Coverage (五个全覆盖, computed by the reports app from these): each function below returns a
queryset of estates, optionally narrowed to some communities, so the caller can count it, group
it, or list it; `coverage_by_community` counts all of them per community in one query.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.db.models import (
    BooleanField,
    Case,
    Count,
    DecimalField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from backend.communities.models import Community, Estate
from backend.core.scoping import get_scope, scope_q

from .models import (
    AssessmentItem,
    AssessmentScore,
    AssessmentStandard,
    EstateAssessment,
    FollowUpItem,
    JointMeeting,
    JointMeetingParticipant,
    OwnersCommittee,
    PropertyCompany,
    ResidentsCommittee,
    SelfGovernanceGroup,
    SelfGovernanceMeeting,
    owners_committee_threshold,
)

POINTS_FIELD = DecimalField(max_digits=8, decimal_places=1)
ZERO_POINTS = Value(Decimal("0"), output_field=POINTS_FIELD)


def today() -> date:
    """Dates here are Shanghai dates: a follow-up due "today" is overdue from midnight in Shanghai."""
    return timezone.localdate()


def phones_shown_whole(user: Any, *, one_record: bool) -> bool:
    """Phones on red-property records (company contacts, committee and group members) are masked
    in lists; staff reading or writing one record of their scope see them whole, to call."""
    return one_record and get_scope(user).is_staff


def _community_q(user: Any, prefix: str = "") -> Q:
    return scope_q(user, community=f"{prefix}community", street=f"{prefix}community__street")


def _estate_q(user: Any, prefix: str = "") -> Q:
    return _community_q(user, f"{prefix}estate__")


def reachable_street_ids(user: Any) -> frozenset[int] | None:
    """Streets whose register the user keeps (their own, or their communities'); None: every street."""
    scope = get_scope(user)
    if scope.is_superuser:
        return None
    from_communities = Community.objects.filter(id__in=scope.community_ids).values_list("street_id", flat=True)
    return frozenset(scope.street_ids) | frozenset(from_communities)


# Estate annotations shared by the governance list and the coverage figures ----------------------


def committee_required_expression() -> Case:
    """Whether an estate must form an owners' committee: its own override, else households ≥ threshold."""
    return Case(
        When(
            governance__owners_committee_required_override__isnull=False,
            then=F("governance__owners_committee_required_override"),
        ),
        When(households__gte=owners_committee_threshold(), then=Value(True)),
        default=Value(False),
        output_field=BooleanField(),
    )


def current_owners_committees(on: date) -> QuerySet[OwnersCommittee]:
    return OwnersCommittee.objects.filter(term_start__lte=on, term_end__gte=on)


def _with_governance_flags(estates: QuerySet[Estate], *, on: date) -> QuerySet[Estate]:
    return estates.annotate(
        committee_required=committee_required_expression(),
        has_current_committee=Exists(current_owners_committees(on).filter(estate=OuterRef("pk"))),
        has_party_org=ExpressionWrapper(Q(governance__party_organization__isnull=False), output_field=BooleanField()),
        red_property=Coalesce(F("governance__is_red_property"), Value(False), output_field=BooleanField()),
    )


def _assessment_total(assessment_ref: str) -> Subquery:
    return Subquery(
        AssessmentScore.objects.filter(assessment_id=OuterRef(assessment_ref))
        .order_by()
        .values("assessment_id")
        .annotate(points=Sum("points"))
        .values("points"),
        output_field=POINTS_FIELD,
    )


def _threshold(street_ref: str, year_ref: str) -> Subquery:
    return Subquery(
        AssessmentStandard.objects.filter(street_id=OuterRef(street_ref), year=OuterRef(year_ref)).values(
            "demonstration_threshold"
        )[:1],
        output_field=POINTS_FIELD,
    )


def _demonstration(total: str, threshold: str) -> Case:
    return Case(
        When(Q(**{f"{threshold}__isnull": False, f"{total}__gte": F(threshold)}), then=Value(True)),
        default=Value(False),
        output_field=BooleanField(),
    )


def governance_list(user: Any, *, on: date | None = None, year: int | None = None) -> QuerySet[Estate]:
    """Every estate in the user's scope with its governance, in one query per page.

    Each row is an Estate carrying `governance` (or none yet) and the annotations the list shows:
    `committee_required`, `current_committee_id` and its `current_committee_term_end`,
    `has_party_org`, `red_property`, and the assessment of `year` (default: the estate's latest)
    as `assessment_id`, `assessment_year`, `assessment_total`, `demonstration_threshold`,
    `is_demonstration`.
    """
    on = on or today()
    estates = Estate.objects.filter(_community_q(user))
    assessments = EstateAssessment.objects.filter(estate=OuterRef("pk"))
    if year is not None:
        assessments = assessments.filter(year=year)
    committee = current_owners_committees(on).filter(estate=OuterRef("pk")).order_by("-term_start", "-id")
    return (
        _with_governance_flags(estates, on=on)
        .annotate(
            current_committee_id=Subquery(committee.values("id")[:1]),
            current_committee_term_end=Subquery(committee.values("term_end")[:1]),
            assessment_id=Subquery(assessments.order_by("-year").values("id")[:1]),
            assessment_year=Subquery(assessments.order_by("-year").values("year")[:1]),
        )
        .annotate(
            assessment_total=Case(
                When(assessment_id__isnull=True, then=Value(None, output_field=POINTS_FIELD)),
                default=Coalesce(_assessment_total("assessment_id"), ZERO_POINTS),
                output_field=POINTS_FIELD,
            ),
            demonstration_threshold=_threshold("community__street_id", "assessment_year"),
        )
        .annotate(is_demonstration=_demonstration("assessment_total", "demonstration_threshold"))
        .select_related(
            "community",
            "grid",
            "governance__property_company",
            "governance__party_organization",
        )
        .order_by("community_id", "id")
    )


# Property companies -----------------------------------------------------------------------------


def _companies() -> QuerySet[PropertyCompany]:
    return (
        PropertyCompany.objects.select_related("street", "party_organization")
        .annotate(estate_count=Count("governed_estates", distinct=True))
        .order_by("id")
    )


def property_companies_for(user: Any) -> QuerySet[PropertyCompany]:
    """The register as staff read it: every company, so an estate anywhere can name its company."""
    if not get_scope(user).is_staff:
        return PropertyCompany.objects.none()
    return _companies()


def editable_property_companies(user: Any) -> QuerySet[PropertyCompany]:
    """Companies on the register of a street the user reaches (as its admin or one of its communities' staff)."""
    streets = reachable_street_ids(user)
    companies = _companies()
    return companies if streets is None else companies.filter(street_id__in=streets)


# Committees -------------------------------------------------------------------------------------


def owners_committees_for(user: Any) -> QuerySet[OwnersCommittee]:
    return (
        OwnersCommittee.objects.filter(_estate_q(user))
        .select_related("estate__community")
        .prefetch_related("members")
        .order_by("-term_start", "-id")
    )


def residents_committees_for(user: Any) -> QuerySet[ResidentsCommittee]:
    return (
        ResidentsCommittee.objects.filter(_community_q(user))
        .select_related("community")
        .prefetch_related("members")
        .order_by("-term_start", "-id")
    )


def current_residents_committee(community: Community, *, on: date | None = None) -> ResidentsCommittee | None:
    on = on or today()
    return (
        ResidentsCommittee.objects.filter(community=community, term_start__lte=on, term_end__gte=on)
        .order_by("-term_start")
        .first()
    )


# 三方联动 ----------------------------------------------------------------------------------------


def _side_present(side: str) -> Exists:
    return Exists(JointMeetingParticipant.objects.filter(meeting=OuterRef("pk"), side=side))


def counts_expression() -> ExpressionWrapper:
    """A meeting counts when every one of the three sides had someone there."""
    present = Q()
    for side in JointMeetingParticipant.Side.values:
        present &= Q(_side_present(side))
    return ExpressionWrapper(present, output_field=BooleanField())


def with_counts(meetings: QuerySet[JointMeeting]) -> QuerySet[JointMeeting]:
    return meetings.annotate(counts=counts_expression())


def joint_meetings_for(user: Any) -> QuerySet[JointMeeting]:
    return (
        with_counts(JointMeeting.objects.filter(_estate_q(user)))
        .select_related("estate__community")
        .prefetch_related("participants", "follow_ups")
        .order_by("-held_on", "-id")
    )


def counted_joint_meetings(*, community_ids: Iterable[int] | None = None) -> QuerySet[JointMeeting]:
    """Meetings that count (all three sides present), optionally in some communities only."""
    meetings = with_counts(JointMeeting.objects.all()).filter(counts=True)
    if community_ids is not None:
        meetings = meetings.filter(estate__community_id__in=list(community_ids))
    return meetings


def follow_ups_for(user: Any) -> QuerySet[FollowUpItem]:
    return (
        FollowUpItem.objects.filter(_estate_q(user, "meeting__"))
        .select_related("meeting__estate__community")
        .order_by("due_date", "id")
    )


def overdue_q(on: date) -> Q:
    return Q(done_on__isnull=True, due_date__lt=on)


def overdue_follow_ups(user: Any, *, on: date | None = None) -> QuerySet[FollowUpItem]:
    """Items not done whose due date has passed (due before today, Shanghai time)."""
    return follow_ups_for(user).filter(overdue_q(on or today()))


# Assessments ------------------------------------------------------------------------------------


def assessment_standards_for(user: Any) -> QuerySet[AssessmentStandard]:
    streets = reachable_street_ids(user)
    standards = AssessmentStandard.objects.select_related("street").order_by("-year", "street_id")
    return standards if streets is None else standards.filter(street_id__in=streets)


def assessment_items_for(user: Any) -> QuerySet[AssessmentItem]:
    """The sheets of the streets the user reaches: community staff read them to fill in scores."""
    streets = reachable_street_ids(user)
    items = AssessmentItem.objects.select_related("street").order_by("street_id", "-year", "position", "id")
    return items if streets is None else items.filter(street_id__in=streets)


def _max_total() -> Subquery:
    return Subquery(
        AssessmentItem.objects.filter(street_id=OuterRef("estate__community__street_id"), year=OuterRef("year"))
        .order_by()
        .values("street_id")
        .annotate(points=Sum("max_points"))
        .values("points"),
        output_field=POINTS_FIELD,
    )


def assessments_for(user: Any) -> QuerySet[EstateAssessment]:
    """Each with `total` (the sum of its scores), `max_total` (the sheet's), the threshold and `is_demonstration`."""
    return (
        EstateAssessment.objects.filter(_estate_q(user))
        .annotate(
            total=Coalesce(_assessment_total("pk"), ZERO_POINTS),
            max_total=Coalesce(_max_total(), ZERO_POINTS),
            demonstration_threshold=_threshold("estate__community__street_id", "year"),
        )
        .annotate(is_demonstration=_demonstration("total", "demonstration_threshold"))
        .select_related("estate__community")
        .prefetch_related(Prefetch("scores", queryset=AssessmentScore.objects.select_related("item")))
        .order_by("-year", "estate_id")
    )


# Self-governance --------------------------------------------------------------------------------


def self_governance_groups_for(user: Any) -> QuerySet[SelfGovernanceGroup]:
    return (
        SelfGovernanceGroup.objects.filter(_estate_q(user))
        .select_related("estate__community")
        .annotate(meeting_count=Count("meetings", distinct=True))
        .prefetch_related("members")
        .order_by("-term_start", "-id")
    )


def self_governance_meetings_for(user: Any) -> QuerySet[SelfGovernanceMeeting]:
    return (
        SelfGovernanceMeeting.objects.filter(_estate_q(user, "group__"))
        .select_related("group__estate__community")
        .order_by("-held_on", "-id")
    )


# Coverage: what the reports app counts for 五个全覆盖 ----------------------------------------------


def estates_in(community_ids: Iterable[int] | None = None) -> QuerySet[Estate]:
    estates = Estate.objects.all()
    if community_ids is not None:
        estates = estates.filter(community_id__in=list(community_ids))
    return estates


def estates_with_party_organization(*, community_ids: Iterable[int] | None = None) -> QuerySet[Estate]:
    """Estates whose governance names a party organisation set up in the estate."""
    return estates_in(community_ids).filter(governance__party_organization__isnull=False)


def estates_requiring_owners_committee(*, community_ids: Iterable[int] | None = None) -> QuerySet[Estate]:
    """Estates expected to form an 业委会: households ≥ OWNERS_COMMITTEE_HOUSEHOLDS unless overridden."""
    return (
        estates_in(community_ids)
        .annotate(committee_required=committee_required_expression())
        .filter(committee_required=True)
    )


def estates_with_current_owners_committee(
    *, community_ids: Iterable[int] | None = None, on: date | None = None
) -> QuerySet[Estate]:
    """Of the estates requiring one, those whose 业委会 is in office on `on` (default today)."""
    on = on or today()
    return estates_requiring_owners_committee(community_ids=community_ids).filter(
        Exists(current_owners_committees(on).filter(estate=OuterRef("pk")))
    )


def estates_with_property_service(*, community_ids: Iterable[int] | None = None) -> QuerySet[Estate]:
    """Estates served by a property company (the map's flag, which the services here keep in agreement)."""
    return estates_in(community_ids).filter(has_property_service=True)


def red_property_estates(*, community_ids: Iterable[int] | None = None) -> QuerySet[Estate]:
    """红色物业示范小区: estates the street has named as such."""
    return estates_in(community_ids).filter(governance__is_red_property=True)


def property_companies_serving(*, community_ids: Iterable[int] | None = None) -> QuerySet[PropertyCompany]:
    """Companies managing at least one estate (of those communities); `.filter(party_organization__isnull=False)`
    gives the ones with a party organisation."""
    companies = PropertyCompany.objects.filter(governed_estates__isnull=False)
    if community_ids is not None:
        companies = companies.filter(governed_estates__estate__community_id__in=list(community_ids))
    return companies.distinct()


@dataclass(frozen=True)
class CommunityCoverage:
    """Counts behind the rates: each `x` over its denominator (`estates`, or `committee_required`)."""

    community_id: int
    estates: int
    with_party_organization: int
    committee_required: int
    committee_formed: int  # of those required, with a committee in office
    with_property_service: int
    red_property: int
    property_companies: int
    property_companies_with_party_organization: int


def coverage_by_community(community_ids: Iterable[int], *, on: date | None = None) -> dict[int, CommunityCoverage]:
    """The counts for each community asked for (zeros where it has no estates), in one query."""
    on = on or today()
    ids = list(community_ids)
    rows = (
        _with_governance_flags(Estate.objects.filter(community_id__in=ids), on=on)
        .values("community_id")
        .annotate(
            n_estates=Count("id"),
            n_party=Count("id", filter=Q(has_party_org=True)),
            n_required=Count("id", filter=Q(committee_required=True)),
            n_formed=Count("id", filter=Q(committee_required=True, has_current_committee=True)),
            n_service=Count("id", filter=Q(has_property_service=True)),
            n_red=Count("id", filter=Q(red_property=True)),
            n_companies=Count("governance__property_company", distinct=True),
            n_companies_party=Count(
                "governance__property_company",
                distinct=True,
                filter=Q(governance__property_company__party_organization__isnull=False),
            ),
        )
        .order_by("community_id")
    )
    found = {
        row["community_id"]: CommunityCoverage(
            community_id=row["community_id"],
            estates=row["n_estates"],
            with_party_organization=row["n_party"],
            committee_required=row["n_required"],
            committee_formed=row["n_formed"],
            with_property_service=row["n_service"],
            red_property=row["n_red"],
            property_companies=row["n_companies"],
            property_companies_with_party_organization=row["n_companies_party"],
        )
        for row in rows
    }
    return {cid: found.get(cid) or CommunityCoverage(cid, 0, 0, 0, 0, 0, 0, 0, 0) for cid in ids}
