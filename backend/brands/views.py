"""Thin views for 一社区一品牌: scope the queryset, parse, call a service, answer."""

from __future__ import annotations

import django_filters
from django.http import Http404
from django.utils.functional import cached_property
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from backend.accounts.models import User
from backend.accounts.permissions import IsStreetAdmin
from backend.communities.models import PartyOrganization
from backend.core.fields import MAX_ID
from backend.core.permissions import PublicReadAuthenticatedWrite
from backend.core.scoping import limit_choices

from . import selectors, services
from .models import Brand, BrandDeadline, BrandPlan, Honor
from .serializers import (
    BrandSerializer,
    DeadlineSerializer,
    HonorSerializer,
    PlanSerializer,
    ReturnSerializer,
    ReviewSerializer,
)


def _acting(request: Request) -> User:
    """The signed-in caller (the permission classes have let no one else through to a write)."""
    user = request.user
    if not isinstance(user, User):
        raise NotAuthenticated()
    return user


def _limit(serializer, user, names: tuple[str, ...]) -> None:
    """Place choices outside the caller's scope answer like ids that do not exist."""
    if not hasattr(serializer, "fields"):
        return
    for name in names:
        field = serializer.fields.get(name)
        if field is None or field.read_only:
            continue
        related = getattr(field, "child_relation", field)
        choices = limit_choices(user, related.queryset.model)
        if choices is not None:
            related.queryset = choices


class WriteViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    # wx.request has no PATCH: it arrives as POST with X-HTTP-Method-Override (core middleware).
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    lookup_value_regex = r"\d+"


# Brands -----------------------------------------------------------------------------------------


class BrandFilter(django_filters.FilterSet):
    street = django_filters.NumberFilter(field_name="community__street", min_value=1, max_value=MAX_ID)

    class Meta:
        model = Brand
        fields = ["community", "status", "street"]


@extend_schema_view(
    list=extend_schema(
        summary="社区品牌列表",
        description="Anyone, signed in or not, sees published brands; staff also their own drafts.",
    ),
    retrieve=extend_schema(
        summary="社区品牌", description="A draft is 404 except to its community's staff and street admins."
    ),
)
class BrandViewSet(WriteViewSet):
    queryset = Brand.objects.none()
    serializer_class = BrandSerializer
    permission_classes = [PublicReadAuthenticatedWrite]
    filterset_class = BrandFilter
    search_fields = ["name", "slogan", "community__name"]
    ordering_fields = ["id", "name", "published_at"]
    error_statuses = ("409",)

    def get_queryset(self):
        return selectors.visible_brands(self.request.user)

    def get_serializer(self, *args, **kwargs):
        serializer = super().get_serializer(*args, **kwargs)
        if self.request.method not in permissions.SAFE_METHODS:
            _limit(serializer, self.request.user, ("community",))
        return serializer

    def _editable(self) -> Brand:
        brand = self.get_object()
        services.require_brand_editor(by=_acting(self.request), brand=brand)
        return brand

    def _answer(self, brand: Brand, status_code: int = status.HTTP_200_OK) -> Response:
        brand = selectors.visible_brands(self.request.user).get(pk=brand.pk)
        return Response(self.get_serializer(brand).data, status=status_code)

    def create(self, request, *args, **kwargs):
        services.require_staff(by=_acting(request))
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        brand = services.create_brand(by=request.user, **serializer.validated_data)
        return self._answer(brand, status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        brand = self._editable()
        serializer = self.get_serializer(brand, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        brand = services.update_brand(by=request.user, brand=brand, **serializer.validated_data)
        return self._answer(brand)

    def destroy(self, request, *args, **kwargs):
        services.delete_brand(by=request.user, brand=self._editable())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        request=None,
        responses={200: BrandSerializer},
        summary="发布品牌",
        description="draft → active; the community's previous brand is retired.",
    )
    @action(detail=True, methods=["post"])
    def publish(self, request, pk=None):
        brand = services.publish_brand(by=request.user, brand=self._editable())
        return self._answer(brand)

    @extend_schema(
        request=None,
        responses={200: BrandSerializer},
        summary="停用品牌",
        description="active → retired (kept as history).",
    )
    @action(detail=True, methods=["post"])
    def retire(self, request, pk=None):
        brand = services.retire_brand(by=request.user, brand=self._editable())
        return self._answer(brand)


# Plans ------------------------------------------------------------------------------------------


_BRAND_PARAM = OpenApiParameter("brand_pk", int, OpenApiParameter.PATH, description="品牌 id")


@extend_schema(parameters=[_BRAND_PARAM])
@extend_schema_view(
    list=extend_schema(summary="品牌方案各版本"),
    create=extend_schema(
        summary="编写新版本方案",
        description="Community staff; 409 `invalid_transition` while a version is a draft or in review.",
    ),
)
class PlanViewSet(WriteViewSet):
    """A brand's plan versions: visible to its community's staff and its street's admins only."""

    queryset = BrandPlan.objects.none()
    serializer_class = PlanSerializer
    permission_classes = [permissions.IsAuthenticated]
    filterset_fields = ["status"]
    ordering_fields = ["version", "created_at"]
    error_statuses = ("409",)

    @cached_property
    def brand(self) -> Brand:
        brand = selectors.staff_brands(self.request.user).filter(pk=self.kwargs.get("brand_pk")).first()
        if brand is None:
            raise Http404
        return brand

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return BrandPlan.objects.none()
        return selectors.plans_of(self.brand)

    def _writable(self) -> BrandPlan:
        plan = self.get_object()
        services.require_plan_writer(by=_acting(self.request), brand=self.brand)
        return plan

    def _reviewable(self) -> BrandPlan:
        plan = self.get_object()
        services.require_plan_reviewer(by=_acting(self.request), brand=self.brand)
        return plan

    def _answer(self, plan: BrandPlan, status_code: int = status.HTTP_200_OK) -> Response:
        return Response(self.get_serializer(selectors.plan_with_due_date(plan)).data, status=status_code)

    def create(self, request, *args, **kwargs):
        services.require_plan_writer(by=_acting(request), brand=self.brand)
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        plan = services.create_plan(by=request.user, brand=self.brand, **serializer.validated_data)
        return self._answer(plan, status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        plan = self._writable()
        serializer = self.get_serializer(plan, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        plan = services.update_plan(by=request.user, plan=plan, **serializer.validated_data)
        return self._answer(plan)

    def destroy(self, request, *args, **kwargs):
        services.delete_plan(by=request.user, plan=self._writable())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        request=None,
        responses={200: PlanSerializer},
        summary="提交方案",
        description="draft → submitted, by the community's staff.",
    )
    @action(detail=True, methods=["post"])
    def submit(self, request, brand_pk=None, pk=None):
        plan = services.submit_plan(by=request.user, plan=self._writable())
        return self._answer(plan)

    @extend_schema(
        request=ReviewSerializer,
        responses={200: PlanSerializer},
        summary="审核通过",
        description="submitted → approved, by the street's admins.",
    )
    @action(detail=True, methods=["post"])
    def approve(self, request, brand_pk=None, pk=None):
        plan = self._reviewable()
        serializer = ReviewSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        plan = services.approve_plan(by=request.user, plan=plan, comments=serializer.validated_data["comments"])
        return self._answer(plan)

    @extend_schema(
        request=ReturnSerializer,
        responses={200: PlanSerializer},
        summary="退回修改",
        description="submitted → returned with `comments`; the community answers with a new version.",
    )
    @action(detail=True, methods=["post"], url_path="return", url_name="return")
    def return_plan(self, request, brand_pk=None, pk=None):
        plan = self._reviewable()
        serializer = ReturnSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        plan = services.return_plan(by=request.user, plan=plan, comments=serializer.validated_data["comments"])
        return self._answer(plan)


# Deadlines --------------------------------------------------------------------------------------


class DeadlineFilter(django_filters.FilterSet):
    year = django_filters.NumberFilter(field_name="due_date", lookup_expr="year", min_value=1, max_value=9999)
    community = django_filters.NumberFilter(field_name="communities", min_value=1, max_value=MAX_ID)

    class Meta:
        model = BrandDeadline
        fields = ["street", "year", "community"]


@extend_schema_view(
    list=extend_schema(summary="品牌方案截止日期"),
    create=extend_schema(
        summary="设置截止日期",
        description="A community is under one deadline a year: naming it in a second answers 400 on `communities`.",
    ),
)
class DeadlineViewSet(WriteViewSet):
    queryset = BrandDeadline.objects.none()
    serializer_class = DeadlineSerializer
    permission_classes = [permissions.IsAuthenticated, IsStreetAdmin]
    filterset_class = DeadlineFilter
    ordering_fields = ["due_date", "id"]

    def get_queryset(self):
        return selectors.deadlines_for(self.request.user)

    def get_serializer(self, *args, **kwargs):
        serializer = super().get_serializer(*args, **kwargs)
        if self.request.method not in permissions.SAFE_METHODS:
            _limit(serializer, self.request.user, ("street", "communities"))
        return serializer

    def _answer(self, deadline: BrandDeadline, status_code: int = status.HTTP_200_OK) -> Response:
        return Response(self.get_serializer(self.get_queryset().get(pk=deadline.pk)).data, status=status_code)

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        deadline = services.create_deadline(by=request.user, **serializer.validated_data)
        return self._answer(deadline, status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        deadline = self.get_object()
        serializer = self.get_serializer(deadline, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        deadline = services.update_deadline(by=request.user, deadline=deadline, **serializer.validated_data)
        return self._answer(deadline)

    def destroy(self, request, *args, **kwargs):
        services.delete_deadline(by=request.user, deadline=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


# Honours ----------------------------------------------------------------------------------------


class HonorFilter(django_filters.FilterSet):
    year = django_filters.NumberFilter(field_name="awarded_on", lookup_expr="year", min_value=1, max_value=9999)

    class Meta:
        model = Honor
        fields = ["level", "brand", "organization", "street", "year"]


class StreetAdminWrites(permissions.BasePermission):
    message = IsStreetAdmin.message

    def has_permission(self, request, view):
        if request.method in permissions.SAFE_METHODS:
            return True
        return IsStreetAdmin().has_permission(request, view)


@extend_schema_view(
    list=extend_schema(
        summary="荣誉", description="Every signed-in user reads them; street admins record those of their street."
    ),
)
class HonorViewSet(WriteViewSet):
    queryset = Honor.objects.none()
    serializer_class = HonorSerializer
    permission_classes = [permissions.IsAuthenticated, StreetAdminWrites]
    filterset_class = HonorFilter
    search_fields = ["title", "issuer"]
    ordering_fields = ["awarded_on", "id"]

    def get_queryset(self):
        return selectors.honors_for(self.request.user)

    def get_serializer(self, *args, **kwargs):
        serializer = super().get_serializer(*args, **kwargs)
        if self.request.method not in permissions.SAFE_METHODS and hasattr(serializer, "fields"):
            user = self.request.user
            serializer.fields["brand"].queryset = selectors.honorable_brands(user)
            organizations = limit_choices(user, PartyOrganization)
            if organizations is not None:
                serializer.fields["organization"].queryset = organizations
        return serializer

    def _writable(self) -> Honor:
        honor = self.get_object()
        services.require_honor_keeper(by=_acting(self.request), street_id=honor.street_id)
        return honor

    def _answer(self, honor: Honor, status_code: int = status.HTTP_200_OK) -> Response:
        return Response(self.get_serializer(self.get_queryset().get(pk=honor.pk)).data, status=status_code)

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        honor = services.create_honor(by=request.user, **serializer.validated_data)
        return self._answer(honor, status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        honor = self._writable()
        serializer = self.get_serializer(honor, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        honor = services.update_honor(by=request.user, honor=honor, **serializer.validated_data)
        return self._answer(honor)

    def destroy(self, request, *args, **kwargs):
        services.delete_honor(by=request.user, honor=self._writable())
        return Response(status=status.HTTP_204_NO_CONTENT)
