"""Members: the scoped list, one member, and the member's own page."""

from __future__ import annotations

import django_filters
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from backend.accounts.authentication import AccountInStatement, require_active
from backend.accounts.selectors import is_active_account
from backend.core.fields import MAX_ID

from .. import selectors, services
from ..models import MemberRegistration, PartyMember
from ..serializers import MemberMeQuerySerializer, MemberMeSerializer, MemberSerializer, member_me_payload
from ._common import _audit_one, _audit_page


class MemberFilter(django_filters.FilterSet):
    community = django_filters.NumberFilter(method="filter_community", label="社区", min_value=1, max_value=MAX_ID)
    grid = django_filters.NumberFilter(method="filter_grid", label="网格", min_value=1, max_value=MAX_ID)
    below_min_posts = django_filters.BooleanFilter(method="filter_below_min_posts", label="岗位数低于要求")
    registration_status = django_filters.ChoiceFilter(
        field_name="registration_status",
        label="报到状态",
        choices=[*MemberRegistration.Status.choices[:2], (selectors.NOT_REGISTERED, "未报到")],
    )

    class Meta:
        model = PartyMember
        fields = ["community", "grid", "organization", "status", "below_min_posts", "registration_status"]

    def _registered(self, queryset, **lookup):
        return queryset.filter(
            registrations__status=MemberRegistration.Status.APPROVED,
            **{f"registrations__{k}": v for k, v in lookup.items()},
        )

    def filter_community(self, queryset, name, value):
        return self._registered(queryset, community_id=value)

    def filter_grid(self, queryset, name, value):
        return self._registered(queryset, grid_id=value)

    def filter_below_min_posts(self, queryset, name, value):
        if value is None:
            return queryset
        minimum = selectors.min_posts_per_member()
        return queryset.filter(post_count__lt=minimum) if value else queryset.filter(post_count__gte=minimum)


class MemberViewSet(AccountInStatement, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Registered members: staff see those their scope covers, unit liaisons their organisation's.

    Every read of someone else's details is written to the audit log.
    """

    queryset = PartyMember.objects.none()
    # `me`, read on every opening of the mini-program: its first statement says whether the account
    # may act (selectors.own_page), so authentication does not read it first.
    account_in_statement = frozenset({"me"})
    serializer_class = MemberSerializer
    filterset_class = MemberFilter
    search_fields = ["real_name", "employer", "organization__name"]
    ordering_fields = ["id", "real_name", "joined_on", "post_count", "points_year"]
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        return selectors.member_list(self.request.user)

    def list(self, request, *args, **kwargs):
        selectors.require_staff_or_liaison(request.user)
        response = super().list(request, *args, **kwargs)
        _audit_page(request, self._page_rows, what="party_member", subject=lambda member: member.user_id)
        return response

    def paginate_queryset(self, queryset):
        page = super().paginate_queryset(queryset)
        self._page_rows = page if page is not None else list(queryset)
        return page

    def retrieve(self, request, *args, **kwargs):
        member = self.get_object()
        _audit_one(request, member, what="party_member", subject_id=member.user_id)
        return Response(self.get_serializer(member).data)

    @extend_schema(parameters=[MemberMeQuerySerializer], responses={200: MemberMeSerializer})
    @action(detail=False, methods=["get"])
    def me(self, request):
        period = None
        # Each opening of the mini-program asks without a period: nothing to validate then.
        if "period" in request.query_params:
            query = MemberMeQuerySerializer(data=request.query_params)
            if not query.is_valid():
                # As authentication would have answered first: a gone or inactive account is 401.
                require_active(is_active_account(request.user.pk))
                raise ValidationError(query.errors)
            period = query.validated_data.get("period")  # absent when given empty
        page = selectors.own_page(request.user)
        require_active(page.account_active)
        payload = member_me_payload(
            page,
            report=selectors.my_report_line(page.person, period or str(page.year)),
            min_posts=selectors.min_posts_per_member(),
            privacy_notice_version=services.privacy_notice_version(),
        )
        return Response(payload)
