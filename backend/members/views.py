"""Thin views: scope, parse, call a service or selector, respond."""

from __future__ import annotations

from typing import Any

import django_filters
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import SAFE_METHODS
from rest_framework.response import Response

from backend.accounts.audit import record_access, record_accesses
from backend.accounts.scoping import can_act_on_community, get_scope, limit_choices
from backend.core.errors import DomainError
from backend.core.fields import MAX_ID

from . import selectors, services
from .models import (
    Demand,
    MemberRegistration,
    PartyMember,
    PointsEntry,
    Resource,
    ServicePost,
    ServiceProject,
    UnitRegistration,
)
from .serializers import (
    AssignmentSerializer,
    ClaimSerializer,
    ConsentSerializer,
    ConsentWithdrawalSerializer,
    ConsentWithdrawSerializer,
    CorrectionSerializer,
    DemandAssignSerializer,
    DemandDetailSerializer,
    DemandSerializer,
    DoneSerializer,
    HolderSerializer,
    MemberMeQuerySerializer,
    MemberMeSerializer,
    MemberSerializer,
    NoteSerializer,
    PointsEntrySerializer,
    PointsRuleSerializer,
    PrivacyNoticeSerializer,
    RankingQuerySerializer,
    RankingRowSerializer,
    ReasonSerializer,
    RegistrationCreateSerializer,
    RegistrationSerializer,
    ResourceSerializer,
    ResourceUpdateSerializer,
    ServicePostSerializer,
    ServicePostUpdateSerializer,
    ServiceProjectSerializer,
    ServiceProjectUpdateSerializer,
    UnitRegistrationSerializer,
    UnitRegistrationUpdateSerializer,
    YearQuerySerializer,
)


def _audit_page(request, rows, *, what: str, subject=lambda row: row.member.user_id) -> None:
    """Staff reading a page of other people's details: one audit row each, in one INSERT."""
    if get_scope(request.user).has_any_role:
        record_accesses(
            actor=request.user, reads=[(subject(row), row.pk) for row in rows], what=what, path=request.get_full_path()
        )


def _audit_one(request, row, *, what: str, subject_id: int) -> None:
    if get_scope(request.user).has_any_role:
        record_access(actor=request.user, subject=subject_id, what=what, object_id=row.pk, path=request.get_full_path())


# 双报到 --------------------------------------------------------------------------------------


class RegistrationFilter(django_filters.FilterSet):
    class Meta:
        model = MemberRegistration
        fields = ["community", "grid", "organization", "status"]


class MemberRegistrationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """双报到 of members: a member files and withdraws their own; that community's staff decide."""

    queryset = MemberRegistration.objects.none()
    serializer_class = RegistrationSerializer
    filterset_class = RegistrationFilter
    search_fields = ["real_name", "organization__name"]
    ordering_fields = ["id", "submitted_at", "approved_at"]
    error_statuses = ("409",)

    def get_queryset(self):
        return selectors.registrations_for(self.request.user).select_related("consent")

    def list(self, request, *args, **kwargs):
        response = super().list(request, *args, **kwargs)
        _audit_page(request, self._page_rows, what="member_registration")
        return response

    def paginate_queryset(self, queryset):
        page = super().paginate_queryset(queryset)
        self._page_rows = page if page is not None else list(queryset)
        return page

    def retrieve(self, request, *args, **kwargs):
        registration = self.get_object()
        _audit_one(request, registration, what="member_registration", subject_id=registration.member.user_id)
        return Response(self.get_serializer(registration).data)

    @extend_schema(request=RegistrationCreateSerializer, responses={201: RegistrationSerializer})
    def create(self, request):
        serializer = RegistrationCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        registration = services.register_member(
            user=request.user,
            community=data["community"],
            grid=data.get("grid"),
            organization=data["organization"],
            real_name=data["real_name"],
            phone=data["phone"],
            status=data["status"],
            joined_on=data.get("joined_on"),
            employer=data.get("employer"),
            id_number=data.get("id_number") or None,
            address=data["address"],
            note=data["note"],
            consent=data["consent"],
            consent_version=data.get("privacy_notice_version") or None,
        )
        return Response(self.get_serializer(self._reload(registration)).data, status=status.HTTP_201_CREATED)

    def _reload(self, registration: MemberRegistration) -> MemberRegistration:
        return self.get_queryset().get(pk=registration.pk)

    @extend_schema(request=None, responses={200: RegistrationSerializer})
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        registration = services.approve_registration(registration=self.get_object(), by=request.user)
        return Response(self.get_serializer(self._reload(registration)).data)

    def _decide_with_reason(self, request, service) -> Response:
        registration = self.get_object()
        body = ReasonSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        registration = service(registration=registration, by=request.user, reason=body.validated_data["reason"])
        return Response(self.get_serializer(self._reload(registration)).data)

    @extend_schema(request=ReasonSerializer, responses={200: RegistrationSerializer})
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        return self._decide_with_reason(request, services.reject_registration)

    @extend_schema(request=None, responses={200: RegistrationSerializer})
    @action(detail=True, methods=["post"])
    def withdraw(self, request, pk=None):
        registration = services.withdraw_registration(registration=self.get_object(), by=request.user)
        return Response(self.get_serializer(self._reload(registration)).data)

    @extend_schema(
        request=ReasonSerializer,
        responses={200: RegistrationSerializer},
        description="That community's staff end an approved registration (moved away, left): 409 for any other.",
    )
    @action(detail=True, methods=["post"])
    def revoke(self, request, pk=None):
        return self._decide_with_reason(request, services.revoke_registration)


class UnitRegistrationFilter(django_filters.FilterSet):
    class Meta:
        model = UnitRegistration
        fields = ["community", "organization", "status"]


class UnitRegistrationViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """双报到 of units: anyone signed in files for their unit; DELETE withdraws (the history stays)."""

    queryset = UnitRegistration.objects.none()
    serializer_class = UnitRegistrationSerializer
    filterset_class = UnitRegistrationFilter
    search_fields = ["organization__name", "organization__employer"]
    ordering_fields = ["id", "submitted_at"]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    error_statuses = ("409",)

    def get_queryset(self):
        return selectors.unit_registrations_for(self.request.user)

    def perform_create(self, serializer):
        data = serializer.validated_data
        serializer.instance = services.register_unit(
            user=self.request.user,
            organization=data["organization"],
            community=data["community"],
            contact_name=data["contact_name"],
            contact_phone=data["contact_phone"],
            agreement_date=data.get("agreement_date"),
            resources=data.get("resources", ""),
        )

    @extend_schema(request=UnitRegistrationUpdateSerializer, responses={200: UnitRegistrationSerializer})
    def partial_update(self, request, *args, **kwargs):
        registration = self.get_object()
        body = UnitRegistrationUpdateSerializer(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        registration = services.update_unit_registration(
            registration=registration, by=request.user, **body.validated_data
        )
        return Response(self.get_serializer(registration).data)

    def destroy(self, request, *args, **kwargs):
        services.withdraw_unit_registration(registration=self.get_object(), by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses={200: UnitRegistrationSerializer})
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        registration = services.approve_unit_registration(registration=self.get_object(), by=request.user)
        return Response(self.get_serializer(registration).data)

    @extend_schema(request=ReasonSerializer, responses={200: UnitRegistrationSerializer})
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        registration = self.get_object()
        body = ReasonSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        registration = services.reject_unit_registration(
            registration=registration, by=request.user, reason=body.validated_data["reason"]
        )
        return Response(self.get_serializer(registration).data)


# Members -------------------------------------------------------------------------------------


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


class MemberViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Registered members: staff see those their scope covers, unit liaisons their organisation's.

    Every read of someone else's details is written to the audit log.
    """

    queryset = PartyMember.objects.none()
    serializer_class = MemberSerializer
    filterset_class = MemberFilter
    search_fields = ["real_name", "employer", "organization__name"]
    ordering_fields = ["id", "real_name", "joined_on", "post_count", "points_year"]
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        return selectors.member_list(self.request.user)

    def list(self, request, *args, **kwargs):
        scope = get_scope(request.user)
        if not (scope.is_staff or scope.organization_ids):
            raise DomainError("permission_denied", "需要社区工作人员或单位联络员权限")
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
        user = request.user
        query = MemberMeQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        member = selectors.member_list(user).filter(user=user).first()
        registrations = (
            selectors.registrations_for(user).filter(member__user=user).select_related("consent")
            if member
            else MemberRegistration.objects.none()
        )
        year = selectors.current_year()
        data = {
            "member": member,
            "registrations": list(registrations),
            "unit_registrations": list(selectors.unit_registrations_for(user).filter(filed_by=user)),
            "posts": list(selectors.my_assignments(user)),
            "min_posts": selectors.min_posts_per_member(),
            "points": {
                "year": year,
                "year_total": selectors.points_total(user, year=year),
                "total": selectors.points_total(user),
            },
            "privacy_notice_version": services.privacy_notice_version(),
            "report": selectors.my_report_line(user, query.validated_data.get("period") or str(year)),
        }
        return Response(MemberMeSerializer(data, context=self.get_serializer_context()).data)


# Service posts -------------------------------------------------------------------------------


class ServicePostViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """服务岗位: staff define them; registered members claim and leave them."""

    queryset = ServicePost.objects.none()
    serializer_class = ServicePostSerializer
    filterset_fields = ["community", "is_active"]
    search_fields = ["name", "description"]
    ordering_fields = ["id", "name", "capacity"]
    http_method_names = ["get", "post", "patch", "head", "options"]
    error_statuses = ("409",)

    def get_queryset(self):
        if self.action == "partial_update":
            return selectors.editable_posts(self.request.user)
        return selectors.posts_for(self.request.user)

    def get_serializer(self, *args, **kwargs):
        serializer = super().get_serializer(*args, **kwargs)
        if self.request.method not in SAFE_METHODS and "community" in getattr(serializer, "fields", {}):
            choices = limit_choices(self.request.user, serializer.fields["community"].queryset.model)
            if choices is not None:
                serializer.fields["community"].queryset = choices
        return serializer

    def _reload(self, post: ServicePost) -> ServicePost:
        return self.get_queryset().get(pk=post.pk)

    def create(self, request, *args, **kwargs):
        if not get_scope(request.user).is_staff:
            raise DomainError("permission_denied", "需要社区工作人员权限")
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        post = services.create_post(
            by=request.user,
            community=data["community"],
            name=data["name"],
            capacity=data.get("capacity", 1),
            description=data.get("description", ""),
        )
        return Response(self.get_serializer(self._reload(post)).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=ServicePostUpdateSerializer, responses={200: ServicePostSerializer})
    def partial_update(self, request, *args, **kwargs):
        post = self.get_object()
        body = ServicePostUpdateSerializer(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        post = services.update_post(post=post, by=request.user, **body.validated_data)
        return Response(self.get_serializer(self._reload(post)).data)

    @extend_schema(request=None, responses={200: AssignmentSerializer, 201: AssignmentSerializer})
    @action(detail=True, methods=["post"])
    def claim(self, request, pk=None):
        assignment, created = services.claim_post(post=self.get_object(), user=request.user)
        return Response(
            AssignmentSerializer(assignment).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )

    @extend_schema(request=None, responses={204: None})
    @action(detail=True, methods=["post"])
    def leave(self, request, pk=None):
        services.leave_post(post=self.get_object(), user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(responses={200: HolderSerializer(many=True)})
    @action(detail=True, methods=["get"], pagination_class=None)
    def holders(self, request, pk=None):
        post = self.get_object()
        if not can_act_on_community(request.user, post.community_id):
            raise DomainError("permission_denied", "需要本社区工作人员权限")
        rows = list(selectors.post_holders(post))
        _audit_page(request, rows, what="post_holder")
        return Response(HolderSerializer(rows, many=True).data)


# 三单 ----------------------------------------------------------------------------------------


class DemandFilter(django_filters.FilterSet):
    mine = django_filters.BooleanFilter(method="filter_mine", label="我提出的")
    claimed_by_me = django_filters.BooleanFilter(method="filter_claimed_by_me", label="我认领的")

    class Meta:
        model = Demand
        fields = ["community", "grid", "estate", "kind", "status", "mine", "claimed_by_me"]

    def filter_mine(self, queryset, name, value):
        user = self.request.user
        return queryset.filter(requester=user) if value else queryset.exclude(requester=user)

    def filter_claimed_by_me(self, queryset, name, value):
        user = self.request.user
        return queryset.filter(claimed_by=user) if value else queryset.exclude(claimed_by=user)


class DemandViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """需求清单 and its steps: 群众点单 → 社区派单 / 党员接单 → 办结 → 确认 (or 取消)."""

    queryset = Demand.objects.none()
    serializer_class = DemandSerializer
    filterset_class = DemandFilter
    search_fields = ["title", "description"]
    ordering_fields = ["id", "created_at", "status"]
    error_statuses = ("409",)

    def get_queryset(self):
        return selectors.demands_for(self.request.user)

    def _detail(self, demand: Demand, *, status_code: int = status.HTTP_200_OK) -> Response:
        demand = self.get_queryset().get(pk=demand.pk)
        demand.ordered_steps = list(selectors.demand_steps(demand))
        user = self.request.user
        # Whoever took the demand on sees the contact phone whole (DemandSerializer): a read of
        # someone else's details, audited like the others.
        if demand.contact_phone and demand.claimed_by_id == user.pk and demand.requester_id != user.pk:
            record_access(
                actor=user,
                subject=demand.requester_id,
                what="demand_contact",
                object_id=demand.pk,
                path=self.request.get_full_path(),
            )
        context = {**self.get_serializer_context(), "detail": True}
        return Response(DemandDetailSerializer(demand, context=context).data, status=status_code)

    def retrieve(self, request, *args, **kwargs):
        return self._detail(self.get_object())

    @extend_schema(
        request=DemandSerializer,
        responses={201: DemandDetailSerializer, 200: DemandDetailSerializer},
        description="201 with the new demand; the same `client_id` again answers 200 with the first one.",
    )
    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        demand, created = services.submit_demand(
            user=request.user,
            client_id=data.get("client_id"),
            kind=data["kind"],
            community=data["community"],
            grid=data.get("grid"),
            estate=data.get("estate"),
            title=data["title"],
            description=data.get("description", ""),
            contact_name=data.get("contact_name", ""),
            contact_phone=data.get("contact_phone", ""),
            photos=data.get("photos", []),
        )
        return self._detail(demand, status_code=status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    @extend_schema(request=ClaimSerializer, responses={200: DemandDetailSerializer})
    @action(detail=True, methods=["post"])
    def claim(self, request, pk=None):
        demand = self.get_object()
        body = ClaimSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        demand = services.claim_demand(
            demand=demand, user=request.user, organization=body.validated_data.get("organization")
        )
        return self._detail(demand)

    @extend_schema(request=DemandAssignSerializer, responses={200: DemandDetailSerializer})
    @action(detail=True, methods=["post"])
    def assign(self, request, pk=None):
        demand = self.get_object()
        body = DemandAssignSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        demand = services.assign_demand(
            demand=demand, by=request.user, member=body.validated_data["member"], note=body.validated_data["note"]
        )
        return self._detail(demand)

    @extend_schema(request=DoneSerializer, responses={200: DemandDetailSerializer})
    @action(detail=True, methods=["post"])
    def done(self, request, pk=None):
        demand = self.get_object()
        body = DoneSerializer(data=request.data, context=self.get_serializer_context())
        body.is_valid(raise_exception=True)
        demand = services.complete_demand(
            demand=demand, by=request.user, note=body.validated_data["note"], evidence=body.validated_data["evidence"]
        )
        return self._detail(demand)

    @extend_schema(request=NoteSerializer, responses={200: DemandDetailSerializer})
    @action(detail=True, methods=["post"])
    def confirm(self, request, pk=None):
        demand = self.get_object()
        body = NoteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        demand = services.confirm_demand(demand=demand, by=request.user, note=body.validated_data["note"])
        return self._detail(demand)

    @extend_schema(request=NoteSerializer, responses={200: DemandDetailSerializer})
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        demand = self.get_object()
        services.require_canceller(request.user, demand)  # the denial before the body's errors
        body = NoteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        demand = services.cancel_demand(demand=demand, by=request.user, reason=body.validated_data["note"])
        return self._detail(demand)


class ResourceViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """资源清单: offers of registered units and members. DELETE withdraws an offer (kept, inactive)."""

    queryset = Resource.objects.none()
    serializer_class = ResourceSerializer
    filterset_fields = ["community", "category", "organization", "is_active"]
    search_fields = ["title", "description"]
    ordering_fields = ["id", "created_at"]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self):
        if self.action in ("partial_update", "destroy"):
            return selectors.editable_resources(self.request.user)
        return selectors.resources_for(self.request.user)

    def create(self, request, *args, **kwargs):
        services.require_may_offer_resources(request.user)  # the denial before the body's errors
        return super().create(request, *args, **kwargs)

    def perform_create(self, serializer):
        data = serializer.validated_data
        serializer.instance = services.offer_resource(
            user=self.request.user,
            community=data["community"],
            title=data["title"],
            category=data.get("category", Resource.Category.OTHER),
            description=data.get("description", ""),
            organization=data.get("organization"),
        )

    @extend_schema(request=ResourceUpdateSerializer, responses={200: ResourceSerializer})
    def partial_update(self, request, *args, **kwargs):
        resource = self.get_object()
        body = ResourceUpdateSerializer(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        resource = services.update_resource(resource=resource, by=request.user, **body.validated_data)
        return Response(self.get_serializer(resource).data)

    def destroy(self, request, *args, **kwargs):
        services.update_resource(resource=self.get_object(), by=request.user, is_active=False)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ServiceProjectViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """项目清单: staff create projects matching demands with resources; staff and the owner update them."""

    queryset = ServiceProject.objects.none()
    serializer_class = ServiceProjectSerializer
    filterset_fields = ["community", "status", "owner"]
    search_fields = ["name", "description"]
    ordering_fields = ["id", "starts_on", "created_at"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        if self.action == "partial_update":
            return selectors.editable_projects(self.request.user)
        return selectors.projects_for(self.request.user)

    def _linkable(self, serializer) -> None:
        # Only demands and resources the caller can see may be linked; others are "not found".
        fields = getattr(serializer, "fields", {})
        if "demands" in fields:
            fields["demands"].child_relation.queryset = selectors.demands_for(self.request.user)
        if "resources" in fields:
            fields["resources"].child_relation.queryset = selectors.resources_for(self.request.user)

    def create(self, request, *args, **kwargs):
        if not get_scope(request.user).is_staff:
            raise DomainError("permission_denied", "需要社区工作人员权限")
        serializer = self.get_serializer(data=request.data)
        self._linkable(serializer)
        choices = limit_choices(request.user, serializer.fields["community"].queryset.model)
        if choices is not None:
            serializer.fields["community"].queryset = choices
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        project = services.create_project(
            by=request.user,
            community=data["community"],
            name=data["name"],
            owner=data["owner"],
            description=data.get("description", ""),
            status=data.get("status", ServiceProject.Status.PLANNED),
            starts_on=data.get("starts_on"),
            ends_on=data.get("ends_on"),
            demands=data.get("demands", []),
            resources=data.get("resources", []),
        )
        return Response(self.get_serializer(self.get_queryset().get(pk=project.pk)).data, status=201)

    @extend_schema(request=ServiceProjectUpdateSerializer, responses={200: ServiceProjectSerializer})
    def partial_update(self, request, *args, **kwargs):
        project = self.get_object()
        body = ServiceProjectUpdateSerializer(data=request.data, partial=True)
        self._linkable(body)
        body.is_valid(raise_exception=True)
        project = services.update_project(project=project, by=request.user, **body.validated_data)
        return Response(self.get_serializer(self.get_queryset().get(pk=project.pk)).data)


# Points --------------------------------------------------------------------------------------


class PointsViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """积分: my ledger and totals; a community's ranking; staff corrections."""

    queryset = PointsEntry.objects.none()
    serializer_class = PointsEntrySerializer
    filter_backends: list[Any] = []

    def _year(self) -> int | None:
        query = YearQuerySerializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        return query.validated_data.get("year")

    def get_queryset(self):
        return selectors.points_ledger(self.request.user, year=self._year())

    @extend_schema(parameters=[OpenApiParameter("year", int, required=False)])
    def list(self, request, *args, **kwargs):
        response = super().list(request, *args, **kwargs)
        year = self._year() or selectors.current_year()
        response.data["year"] = year
        response.data["year_total"] = selectors.points_total(request.user, year=year)
        response.data["total"] = selectors.points_total(request.user)
        return response

    @extend_schema(
        parameters=[OpenApiParameter("community", int, required=False), OpenApiParameter("year", int, required=False)],
        responses={200: RankingRowSerializer(many=True)},
    )
    @action(detail=False, methods=["get"])
    def ranking(self, request):
        query = RankingQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        community = query.validated_data.get("community")
        user = request.user
        if community is None:
            registered = sorted(selectors.registered_community_ids(user))
            if not registered:
                raise DomainError("validation_error", "输入有误", fields={"community": ["请指定社区"]})
            community_id = registered[0]
        else:
            community_id = community.pk
        # Names in a members' ranking reveal party membership: only the community's own registered
        # members and the staff whose scope covers it may see it.
        if not (can_act_on_community(user, community_id) or selectors.approved_member_in(user, community_id)):
            raise DomainError("permission_denied", "只有本社区报到党员和工作人员可以查看积分排名")
        rows = selectors.points_ranking(
            community_id=community_id, year=query.validated_data.get("year") or selectors.current_year()
        )
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(RankingRowSerializer(page, many=True).data)

    @extend_schema(responses={200: PointsRuleSerializer(many=True)})
    @action(detail=False, methods=["get"], pagination_class=None)
    def rules(self, request):
        community_ids = sorted(selectors.registered_community_ids(request.user))
        street_id = None
        if community_ids:
            from backend.communities.models import Community

            street_id = Community.objects.filter(pk=community_ids[0]).values_list("street_id", flat=True).first()
        rules = selectors.rules_for_street(street_id)
        return Response(PointsRuleSerializer(rules, many=True).data)

    @extend_schema(request=CorrectionSerializer, responses={201: PointsEntrySerializer})
    @action(detail=False, methods=["post"])
    def corrections(self, request):
        if not get_scope(request.user).is_staff:
            raise DomainError("permission_denied", "需要社区工作人员权限")
        body = CorrectionSerializer(data=request.data, context={"request": request})
        body.is_valid(raise_exception=True)
        data = body.validated_data
        entry = services.correct_points(
            member=data["member"], points=data["points"], reason=data["reason"], by=request.user, year=data.get("year")
        )
        return Response(PointsEntrySerializer(entry).data, status=status.HTTP_201_CREATED)


class ConsentViewSet(viewsets.GenericViewSet):
    """My privacy consents, and withdrawing one (PIPL art. 15): only ever the caller's own."""

    pagination_class = None
    filter_backends: list = []

    @property
    def error_statuses(self) -> tuple[str, ...]:
        return ("409",) if getattr(self, "action", None) == "withdraw" else ()

    @extend_schema(responses={200: ConsentSerializer(many=True)})
    def list(self, request):
        return Response(ConsentSerializer(selectors.my_consents(request.user), many=True).data)

    @extend_schema(
        request=ConsentWithdrawSerializer,
        responses={201: ConsentWithdrawalSerializer, 200: ConsentWithdrawalSerializer},
        description=(
            "201: withdrawn now; 200: it already was (a retry). party_member: the 双报到 ends, posts are "
            "left, and the name, phone, address, employer, date joined and ID number given under the "
            "consent are erased; the history (registrations, points) stays. 409 when no consent was given."
        ),
    )
    @action(detail=False, methods=["post"])
    def withdraw(self, request):
        body = ConsentWithdrawSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        withdrawal, created = services.withdraw_consent(user=request.user, purpose=body.validated_data["purpose"])
        return Response(
            ConsentWithdrawalSerializer(withdrawal).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class PrivacyNoticeViewSet(viewsets.ViewSet):
    """The privacy notice version a registration must agree to."""

    @extend_schema(responses={200: PrivacyNoticeSerializer})
    def list(self, request):
        return Response({"version": services.privacy_notice_version()})
