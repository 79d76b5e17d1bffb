"""Thin views for red property: scope the queryset (outside it: 404), parse, call a service, answer."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from backend.accounts.permissions import IsStaff
from backend.communities.models import Community, Estate, Street
from backend.communities.selectors import editable_estates
from backend.core.errors import field_error
from backend.core.scoping import limit_choices

from . import selectors, services
from .filters import (
    AssessmentFilter,
    FollowUpFilter,
    GovernanceFilter,
    GroupFilter,
    GroupMeetingFilter,
    JointMeetingFilter,
    OwnersCommitteeFilter,
    PropertyCompanyFilter,
    ResidentsCommitteeFilter,
)
from .models import (
    AssessmentItem,
    AssessmentStandard,
    EstateAssessment,
    FollowUpItem,
    JointMeeting,
    OwnersCommittee,
    PropertyCompany,
    ResidentsCommittee,
    SelfGovernanceGroup,
    SelfGovernanceMeeting,
)
from .serializers import (
    FULL_PHONES,
    AssessmentItemSerializer,
    AssessmentStandardSerializer,
    EstateAssessmentSerializer,
    FollowUpSerializer,
    FollowUpUpdateSerializer,
    GovernanceSerializer,
    GovernanceUpdateSerializer,
    JointMeetingOutputSerializer,
    JointMeetingSerializer,
    OwnersCommitteeSerializer,
    PropertyCompanySerializer,
    ResidentsCommitteeSerializer,
    SelfGovernanceGroupSerializer,
    SelfGovernanceMeetingSerializer,
)


def _narrow(serializer: Any, name: str, choices: QuerySet | None) -> None:
    """Choices outside the caller's scope are refused like ids that do not exist."""
    fields = getattr(serializer, "fields", None)
    if fields is None or choices is None or name not in fields or fields[name].read_only:
        return
    field = fields[name]
    getattr(field, "child_relation", field).queryset = choices


class StaffViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Staff only (others 403); rows outside the caller's scope answer 404."""

    permission_classes = [IsStaff]
    # wx.request has no PATCH: it arrives as POST with X-HTTP-Method-Override (core middleware).
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    lookup_value_regex = r"\d+"
    output_serializer_class: Any = None

    def get_serializer_context(self) -> dict[str, Any]:
        context = super().get_serializer_context()
        # A list masks phones; one record, read or just written by staff in scope, shows them whole.
        context[FULL_PHONES] = selectors.phones_shown_whole(self.request.user, one_record=self.action != "list")
        return context

    def _answer(self, obj: Any, status_code: int = status.HTTP_200_OK) -> Response:
        fresh = self.get_queryset().get(pk=obj.pk)
        serializer_class = self.output_serializer_class or self.get_serializer_class()
        return Response(serializer_class(fresh, context=self.get_serializer_context()).data, status=status_code)

    def _input(self, *, instance: Any = None) -> dict[str, Any]:
        serializer = self.get_serializer(instance, data=self.request.data, partial=instance is not None)
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)


# Estate governance ------------------------------------------------------------------------------


YEAR_PARAM = OpenApiParameter(
    "year", OpenApiTypes.INT, description="the assessment year shown (default: each estate's latest)"
)


@extend_schema_view(
    list=extend_schema(
        summary="小区治理列表",
        description="Every estate in the caller's scope with its governance; `id` is the estate's id.",
        parameters=[YEAR_PARAM],
    ),
    retrieve=extend_schema(summary="小区治理", parameters=[YEAR_PARAM]),
    partial_update=extend_schema(
        summary="修改小区治理",
        request=GovernanceUpdateSerializer,
        responses={200: GovernanceSerializer},
        description="Setting a property company marks the estate as served; removing it makes it a 无物业小区 "
        "unless `has_property_service: true` comes with it. Only street admins change `is_red_property`.",
    ),
)
class GovernanceViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.UpdateModelMixin, viewsets.GenericViewSet
):
    queryset = Estate.objects.none()
    serializer_class = GovernanceSerializer
    permission_classes = [IsStaff]
    filterset_class = GovernanceFilter
    search_fields = ["name", "address"]
    ordering_fields = ["id", "name", "households", "assessment_total"]
    http_method_names = ["get", "patch", "head", "options"]
    lookup_value_regex = r"\d+"

    def _year(self) -> int | None:
        raw = self.request.query_params.get("year")
        if raw in (None, ""):
            return None
        if not raw.isdigit() or not 2000 <= int(raw) <= 2100:
            raise field_error("year", "应为 2000 到 2100 之间的年份")
        return int(raw)

    def get_queryset(self):
        return selectors.governance_list(self.request.user, year=self._year())

    def partial_update(self, request, *args, **kwargs):
        estate = self.get_object()
        # Who may change what is answered before what is wrong with the input.
        named = request.data.keys() if isinstance(request.data, Mapping) else ()
        services.check_may_change_governance(by=request.user, estate=estate, fields=named)
        serializer = GovernanceUpdateSerializer(data=request.data, partial=True)
        _narrow(serializer, "property_company", selectors.property_companies_for(request.user))
        serializer.is_valid(raise_exception=True)
        services.update_estate_governance(by=request.user, estate=estate, **serializer.validated_data)
        return Response(self.get_serializer(self.get_queryset().get(pk=estate.pk)).data)


# Property companies -----------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="物业公司名录", description="All staff read the register (contact phones masked)."),
    create=extend_schema(summary="登记物业公司", description="Staff of the company's street."),
    destroy=extend_schema(
        summary="删除物业公司", description="Street admins; 409 `conflict` while it serves an estate."
    ),
)
class PropertyCompanyViewSet(StaffViewSet):
    queryset = PropertyCompany.objects.none()
    serializer_class = PropertyCompanySerializer
    filterset_class = PropertyCompanyFilter
    search_fields = ["name", "credit_code", "contact_name"]
    ordering_fields = ["id", "name", "party_member_count"]
    error_statuses = ("409",)

    def get_queryset(self):
        if self.request.method in permissions.SAFE_METHODS:
            return selectors.property_companies_for(self.request.user)
        return selectors.editable_property_companies(self.request.user)

    def get_serializer(self, *args, **kwargs):
        serializer = super().get_serializer(*args, **kwargs)
        streets = selectors.reachable_street_ids(self.request.user)
        _narrow(serializer, "street", None if streets is None else Street.objects.filter(id__in=streets))
        return serializer

    def create(self, request, *args, **kwargs):
        company = services.create_property_company(by=request.user, **self._input())
        return self._answer(company, status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        company = self.get_object()
        company = services.update_property_company(by=request.user, company=company, **self._input(instance=company))
        return self._answer(company)

    def destroy(self, request, *args, **kwargs):
        services.delete_property_company(by=request.user, company=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


# Committees -------------------------------------------------------------------------------------


class EstateScopedViewSet(StaffViewSet):
    """Records placed by an estate: its choices are the estates the caller may act on."""

    def get_serializer(self, *args, **kwargs):
        serializer = super().get_serializer(*args, **kwargs)
        _narrow(serializer, "estate", editable_estates(self.request.user))
        return serializer


@extend_schema_view(
    list=extend_schema(summary="业委会", description="Members' phones are masked in the list."),
    create=extend_schema(summary="登记业委会", description="`members` with at most one 主任 (`director`)."),
    partial_update=extend_schema(summary="修改业委会", description="`members`, when given, replaces the list."),
)
class OwnersCommitteeViewSet(EstateScopedViewSet):
    queryset = OwnersCommittee.objects.none()
    serializer_class = OwnersCommitteeSerializer
    filterset_class = OwnersCommitteeFilter
    search_fields = ["estate__name"]
    ordering_fields = ["term_start", "term_end", "id"]

    def get_queryset(self):
        return selectors.owners_committees_for(self.request.user)

    def create(self, request, *args, **kwargs):
        committee = services.create_owners_committee(by=request.user, **self._input())
        return self._answer(committee, status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        committee = self.get_object()
        data = self._input(instance=committee)
        committee = services.update_owners_committee(by=request.user, committee=committee, **data)
        return self._answer(committee)

    def destroy(self, request, *args, **kwargs):
        services.delete_owners_committee(by=request.user, committee=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema_view(
    list=extend_schema(summary="居委会", description="Members' phones are masked in the list."),
    partial_update=extend_schema(summary="修改居委会", description="`members`, when given, replaces the list."),
)
class ResidentsCommitteeViewSet(StaffViewSet):
    queryset = ResidentsCommittee.objects.none()
    serializer_class = ResidentsCommitteeSerializer
    filterset_class = ResidentsCommitteeFilter
    ordering_fields = ["term_start", "term_end", "id"]

    def get_queryset(self):
        return selectors.residents_committees_for(self.request.user)

    def get_serializer(self, *args, **kwargs):
        serializer = super().get_serializer(*args, **kwargs)
        _narrow(serializer, "community", limit_choices(self.request.user, Community))
        return serializer

    def create(self, request, *args, **kwargs):
        committee = services.create_residents_committee(by=request.user, **self._input())
        return self._answer(committee, status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        committee = self.get_object()
        data = self._input(instance=committee)
        committee = services.update_residents_committee(by=request.user, committee=committee, **data)
        return self._answer(committee)

    def destroy(self, request, *args, **kwargs):
        services.delete_residents_committee(by=request.user, committee=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


# 三方联动 ----------------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="三方联动会议", responses=JointMeetingOutputSerializer(many=True)),
    retrieve=extend_schema(summary="三方联动会议", responses=JointMeetingOutputSerializer),
    create=extend_schema(
        summary="登记三方联动会议",
        request=JointMeetingSerializer,
        responses={201: JointMeetingOutputSerializer},
        description="`counts` is true only when owners, the property company and the party organisation all took part.",
    ),
    partial_update=extend_schema(
        summary="修改三方联动会议",
        request=JointMeetingSerializer,
        responses={200: JointMeetingOutputSerializer},
        description="`participants`, when given, replaces the list; follow-ups are changed at "
        "`/joint-meetings/follow-ups/{id}/`.",
    ),
)
class JointMeetingViewSet(EstateScopedViewSet):
    queryset = JointMeeting.objects.none()
    serializer_class = JointMeetingSerializer
    output_serializer_class = JointMeetingOutputSerializer
    filterset_class = JointMeetingFilter
    search_fields = ["topics", "decisions", "estate__name"]
    ordering_fields = ["held_on", "id"]

    def get_queryset(self):
        return selectors.joint_meetings_for(self.request.user)

    def get_serializer_class(self):
        if self.request.method in permissions.SAFE_METHODS:
            return JointMeetingOutputSerializer
        return JointMeetingSerializer

    def create(self, request, *args, **kwargs):
        meeting = services.create_joint_meeting(by=request.user, **self._input())
        return self._answer(meeting, status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        meeting = self.get_object()
        data = self._input(instance=meeting)
        data.pop("follow_ups", None)
        meeting = services.update_joint_meeting(by=request.user, meeting=meeting, **data)
        return self._answer(meeting)

    def destroy(self, request, *args, **kwargs):
        services.delete_joint_meeting(by=request.user, meeting=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema_view(
    list=extend_schema(summary="三方联动跟进事项"),
    create=extend_schema(summary="新增跟进事项"),
    partial_update=extend_schema(
        summary="修改跟进事项",
        request=FollowUpUpdateSerializer,
        responses={200: FollowUpSerializer},
        description="`done_on` marks it done (not in the future, not before the meeting); null opens it again.",
    ),
)
class FollowUpViewSet(StaffViewSet):
    queryset = FollowUpItem.objects.none()
    serializer_class = FollowUpSerializer
    filterset_class = FollowUpFilter
    search_fields = ["content", "owner"]
    ordering_fields = ["due_date", "id"]

    def get_queryset(self):
        return selectors.follow_ups_for(self.request.user)

    def get_serializer(self, *args, **kwargs):
        serializer = super().get_serializer(*args, **kwargs)
        _narrow(serializer, "meeting", selectors.joint_meetings_for(self.request.user))
        return serializer

    def create(self, request, *args, **kwargs):
        item = services.add_follow_up(by=request.user, **self._input())
        return self._answer(item, status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        item = self.get_object()
        serializer = FollowUpUpdateSerializer(item, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        item = services.update_follow_up(by=request.user, item=item, **serializer.validated_data)
        return self._answer(item)

    def destroy(self, request, *args, **kwargs):
        services.delete_follow_up(by=request.user, item=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="逾期跟进事项",
        description="Not done and due before today (Asia/Shanghai), across the caller's scope.",
        responses=FollowUpSerializer(many=True),
    )
    @action(detail=False, methods=["get"])
    def overdue(self, request):
        items = self.filter_queryset(selectors.overdue_follow_ups(request.user))
        page = self.paginate_queryset(items)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


# Assessment -------------------------------------------------------------------------------------


class StreetAdminWrites(permissions.BasePermission):
    """Staff read; only street admins write (the street's sheet is theirs)."""

    message = "需要街道管理员权限"

    def has_permission(self, request, view):
        if request.method in permissions.SAFE_METHODS:
            return True
        return services.may_keep_sheets(user=request.user)


class StreetSheetViewSet(StaffViewSet):
    permission_classes = [IsStaff, StreetAdminWrites]

    def get_serializer(self, *args, **kwargs):
        serializer = super().get_serializer(*args, **kwargs)
        _narrow(serializer, "street", limit_choices(self.request.user, Street))
        return serializer


@extend_schema_view(
    list=extend_schema(summary="示范小区分数线", description="Per street and year; street admins write."),
)
class AssessmentStandardViewSet(StreetSheetViewSet):
    queryset = AssessmentStandard.objects.none()
    serializer_class = AssessmentStandardSerializer
    filterset_fields = ["street", "year"]
    ordering_fields = ["year", "id"]

    def get_queryset(self):
        return selectors.assessment_standards_for(self.request.user)

    def create(self, request, *args, **kwargs):
        standard = services.create_assessment_standard(by=request.user, **self._input())
        return self._answer(standard, status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        standard = self.get_object()
        data = self._input(instance=standard)
        standard = services.update_assessment_standard(by=request.user, standard=standard, **data)
        return self._answer(standard)

    def destroy(self, request, *args, **kwargs):
        services.delete_assessment_standard(by=request.user, standard=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema_view(
    list=extend_schema(summary="考评项目", description="A street's scoring sheet by year; street admins write."),
    partial_update=extend_schema(
        summary="修改考评项目", description="`max_points` cannot drop below a score already given for the item."
    ),
    destroy=extend_schema(summary="删除考评项目", description="409 `conflict` once an estate has a score for it."),
)
class AssessmentItemViewSet(StreetSheetViewSet):
    queryset = AssessmentItem.objects.none()
    serializer_class = AssessmentItemSerializer
    filterset_fields = ["street", "year", "category"]
    search_fields = ["name", "category"]
    ordering_fields = ["position", "id", "year"]
    error_statuses = ("409",)

    def get_queryset(self):
        return selectors.assessment_items_for(self.request.user)

    def create(self, request, *args, **kwargs):
        item = services.create_assessment_item(by=request.user, **self._input())
        return self._answer(item, status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        item = self.get_object()
        item = services.update_assessment_item(by=request.user, item=item, **self._input(instance=item))
        return self._answer(item)

    def destroy(self, request, *args, **kwargs):
        services.delete_assessment_item(by=request.user, item=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema_view(
    list=extend_schema(summary="红色物业考评"),
    create=extend_schema(
        summary="填写考评",
        description="Staff of the estate's community or its street's admins; each score within its item's full marks.",
    ),
    partial_update=extend_schema(
        summary="修改考评", description="Scores are given item by item; `points: null` removes one."
    ),
)
class EstateAssessmentViewSet(EstateScopedViewSet):
    queryset = EstateAssessment.objects.none()
    serializer_class = EstateAssessmentSerializer
    filterset_class = AssessmentFilter
    search_fields = ["estate__name"]
    ordering_fields = ["year", "total", "id"]

    def get_queryset(self):
        return selectors.assessments_for(self.request.user)

    def get_serializer(self, *args, **kwargs):
        serializer = super().get_serializer(*args, **kwargs)
        scores = getattr(serializer, "fields", {}).get("scores")
        if scores is not None:
            _narrow(scores.child, "item", selectors.assessment_items_for(self.request.user))
        return serializer

    def create(self, request, *args, **kwargs):
        assessment = services.create_assessment(by=request.user, **self._input())
        return self._answer(assessment, status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        assessment = self.get_object()
        data = self._input(instance=assessment)
        assessment = services.update_assessment(by=request.user, assessment=assessment, **data)
        return self._answer(assessment)

    def destroy(self, request, *args, **kwargs):
        services.delete_assessment(by=request.user, assessment=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


# Self-governance --------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="无物业小区居民自治小组"),
    create=extend_schema(summary="登记自治小组", description="Only for an estate without property service."),
)
class SelfGovernanceGroupViewSet(EstateScopedViewSet):
    queryset = SelfGovernanceGroup.objects.none()
    serializer_class = SelfGovernanceGroupSerializer
    filterset_class = GroupFilter
    search_fields = ["name", "estate__name"]
    ordering_fields = ["term_start", "id"]

    def get_queryset(self):
        return selectors.self_governance_groups_for(self.request.user)

    def create(self, request, *args, **kwargs):
        group = services.create_self_governance_group(by=request.user, **self._input())
        return self._answer(group, status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        group = self.get_object()
        group = services.update_self_governance_group(by=request.user, group=group, **self._input(instance=group))
        return self._answer(group)

    def destroy(self, request, *args, **kwargs):
        services.delete_self_governance_group(by=request.user, group=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema_view(list=extend_schema(summary="自治小组会议"))
class SelfGovernanceMeetingViewSet(StaffViewSet):
    queryset = SelfGovernanceMeeting.objects.none()
    serializer_class = SelfGovernanceMeetingSerializer
    filterset_class = GroupMeetingFilter
    search_fields = ["topics", "minutes"]
    ordering_fields = ["held_on", "id"]

    def get_queryset(self):
        return selectors.self_governance_meetings_for(self.request.user)

    def get_serializer(self, *args, **kwargs):
        serializer = super().get_serializer(*args, **kwargs)
        _narrow(serializer, "group", selectors.self_governance_groups_for(self.request.user))
        return serializer

    def create(self, request, *args, **kwargs):
        meeting = services.record_self_governance_meeting(by=request.user, **self._input())
        return self._answer(meeting, status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        meeting = self.get_object()
        data = self._input(instance=meeting)
        meeting = services.update_self_governance_meeting(by=request.user, meeting=meeting, **data)
        return self._answer(meeting)

    def destroy(self, request, *args, **kwargs):
        services.delete_self_governance_meeting(by=request.user, meeting=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)
