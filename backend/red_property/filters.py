"""Query filters of the red-property lists (what a list may be narrowed by, never who sees it)."""

from __future__ import annotations

import django_filters

from backend.communities.models import Estate
from backend.core.fields import MAX_ID

from . import selectors
from .models import (
    EstateAssessment,
    FollowUpItem,
    JointMeeting,
    OwnersCommittee,
    PropertyCompany,
    ResidentsCommittee,
    SelfGovernanceGroup,
    SelfGovernanceMeeting,
)


class GovernanceFilter(django_filters.FilterSet):
    is_red_property = django_filters.BooleanFilter(field_name="red_property")
    has_party_organization = django_filters.BooleanFilter(field_name="has_party_org")
    owners_committee_required = django_filters.BooleanFilter(field_name="committee_required")
    has_owners_committee = django_filters.BooleanFilter(
        field_name="current_committee_id", lookup_expr="isnull", exclude=True
    )
    is_demonstration = django_filters.BooleanFilter(field_name="is_demonstration")
    property_company = django_filters.NumberFilter(
        field_name="governance__property_company", min_value=1, max_value=MAX_ID
    )
    street = django_filters.NumberFilter(field_name="community__street", min_value=1, max_value=MAX_ID)

    class Meta:
        model = Estate
        fields = ["community", "grid", "has_property_service"]


class PropertyCompanyFilter(django_filters.FilterSet):
    has_party_organization = django_filters.BooleanFilter(
        field_name="party_organization", lookup_expr="isnull", exclude=True
    )
    community = django_filters.NumberFilter(
        field_name="governed_estates__estate__community",
        distinct=True,
        help_text="companies serving this community",
        min_value=1,
        max_value=MAX_ID,
    )

    class Meta:
        model = PropertyCompany
        fields = ["street"]


class TermFilter(django_filters.FilterSet):
    is_current = django_filters.BooleanFilter(method="filter_current", label="in office today")

    def filter_current(self, queryset, name, value):
        on = selectors.today()
        current = queryset.filter(term_start__lte=on, term_end__gte=on)
        return current if value else queryset.exclude(pk__in=current.values("pk"))


class OwnersCommitteeFilter(TermFilter):
    community = django_filters.NumberFilter(field_name="estate__community", min_value=1, max_value=MAX_ID)

    class Meta:
        model = OwnersCommittee
        fields = ["estate"]


class ResidentsCommitteeFilter(TermFilter):
    class Meta:
        model = ResidentsCommittee
        fields = ["community"]


class JointMeetingFilter(django_filters.FilterSet):
    community = django_filters.NumberFilter(field_name="estate__community", min_value=1, max_value=MAX_ID)
    counts = django_filters.BooleanFilter(field_name="counts", help_text="all three sides present")
    held_after = django_filters.DateFilter(field_name="held_on", lookup_expr="gte")
    held_before = django_filters.DateFilter(field_name="held_on", lookup_expr="lte")

    class Meta:
        model = JointMeeting
        fields = ["estate"]


class FollowUpFilter(django_filters.FilterSet):
    estate = django_filters.NumberFilter(field_name="meeting__estate", min_value=1, max_value=MAX_ID)
    community = django_filters.NumberFilter(field_name="meeting__estate__community", min_value=1, max_value=MAX_ID)
    done = django_filters.BooleanFilter(field_name="done_on", lookup_expr="isnull", exclude=True)

    class Meta:
        model = FollowUpItem
        fields = ["meeting"]


class AssessmentFilter(django_filters.FilterSet):
    community = django_filters.NumberFilter(field_name="estate__community", min_value=1, max_value=MAX_ID)
    is_demonstration = django_filters.BooleanFilter(field_name="is_demonstration")

    class Meta:
        model = EstateAssessment
        fields = ["estate", "year"]


class GroupFilter(TermFilter):
    community = django_filters.NumberFilter(field_name="estate__community", min_value=1, max_value=MAX_ID)

    class Meta:
        model = SelfGovernanceGroup
        fields = ["estate"]


class GroupMeetingFilter(django_filters.FilterSet):
    estate = django_filters.NumberFilter(field_name="group__estate", min_value=1, max_value=MAX_ID)

    class Meta:
        model = SelfGovernanceMeeting
        fields = ["group"]
