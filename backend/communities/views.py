from __future__ import annotations

from typing import Any

import django_filters
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, permissions, status, viewsets
from rest_framework.response import Response

from backend.core.errors import DomainError
from backend.core.pagination import SmallListPagination
from backend.core.scoping import get_scope, limit_choices

from . import selectors, services
from .models import Community, Estate, Grid, PartyOrganization, Place, Street
from .public import public_map
from .serializers import (
    CommunitySerializer,
    EstateSerializer,
    GridSerializer,
    OrganizationSerializer,
    PlaceSerializer,
    StreetSerializer,
    community_rows,
)


class PublicMapViewSet(viewsets.ReadOnlyModelViewSet):
    """The administrative tree is public: the mini-program shows it before anyone signs in.

    A city's tree is small (hundreds of communities), so a page reads its total with its rows."""

    permission_classes = [permissions.AllowAny]
    pagination_class = SmallListPagination
    filterset_fields: list[str] = []

    def list(self, request, *args, **kwargs):
        # The same pages for everyone, kept until the tree changes (communities.public).
        allowed = {"page", "page_size", *self.filterset_fields}
        return Response(public_map.page(request, allowed, lambda: self.page_data(request)))

    def page_data(self, request) -> Any:
        return super().list(request).data


class StreetViewSet(PublicMapViewSet):
    queryset = Street.objects.order_by("id")
    serializer_class = StreetSerializer
    filterset_fields = ["city"]
    search_fields = ["name", "city"]
    ordering_fields = ["id", "name"]


class CommunityViewSet(PublicMapViewSet):
    queryset = Community.objects.select_related("street").order_by("id")
    serializer_class = CommunitySerializer
    filterset_fields = ["street"]
    search_fields = ["name", "street__name"]
    ordering_fields = ["id", "name"]

    def page_data(self, request) -> Any:
        # The list every mini-program asks for before sign-in: written directly (community_rows).
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        if page is None:
            return community_rows(queryset)
        return self.get_paginated_response(community_rows(page)).data


class GridViewSet(PublicMapViewSet):
    queryset = Grid.objects.select_related("community").order_by("id")
    serializer_class = GridSerializer
    filterset_fields = ["community"]
    search_fields = ["name"]
    ordering_fields = ["id", "name"]


class PlaceViewSet(PublicMapViewSet):
    """A community's places (党群服务中心, estates, squares), where its activities are held (GCJ-02)."""

    queryset = Place.objects.order_by("community_id", "name")
    serializer_class = PlaceSerializer
    filterset_fields = ["community", "kind"]
    search_fields = ["name", "address"]
    ordering_fields = ["id", "name"]


class OrganizationFilter(django_filters.FilterSet):
    class Meta:
        model = PartyOrganization
        fields = ["is_unit", "community", "street", "kind", "parent"]


class OrganizationViewSet(viewsets.ReadOnlyModelViewSet):
    """Party organisations to choose from (a member registering picks theirs)."""

    queryset = PartyOrganization.objects.order_by("id")
    serializer_class = OrganizationSerializer
    filterset_class = OrganizationFilter
    search_fields = ["name", "employer"]
    ordering_fields = ["id", "name"]


class EstateViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Estates to pick from (signed in); staff create and change those of their communities."""

    queryset = Estate.objects.none()
    serializer_class = EstateSerializer
    filterset_fields = ["community", "grid", "has_property_service"]
    search_fields = ["name", "address"]
    ordering_fields = ["id", "name", "households"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        if self.action in ("partial_update", "update"):
            return selectors.editable_estates(self.request.user)
        return selectors.estates_for(self.request.user)

    def get_serializer(self, *args, **kwargs):
        serializer = super().get_serializer(*args, **kwargs)
        if "data" in kwargs and hasattr(serializer, "fields"):
            # A community or grid outside scope is rejected like an id that does not exist.
            for name in ("community", "grid"):
                field = serializer.fields[name]
                choices = limit_choices(self.request.user, field.queryset.model)
                if choices is not None:
                    field.queryset = choices
        return serializer

    def _require_staff(self):
        if not get_scope(self.request.user).is_staff:
            raise DomainError("permission_denied", "需要社区工作人员权限")

    @extend_schema(responses={201: EstateSerializer})
    def create(self, request, *args, **kwargs):
        self._require_staff()
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        estate = services.create_estate(
            community=data["community"],
            grid=data.get("grid"),
            name=data["name"],
            address=data.get("address", ""),
            households=data.get("households", 0),
            has_property_service=data.get("has_property_service", True),
        )
        return Response(self.get_serializer(estate).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        estate = self.get_object()
        self._require_staff()
        serializer = self.get_serializer(estate, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        estate = services.update_estate(estate=estate, **serializer.validated_data)
        return Response(self.get_serializer(estate).data)
