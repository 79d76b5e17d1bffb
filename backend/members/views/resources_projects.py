"""三单, resources and service projects."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.response import Response

from backend.accounts.scoping import limit_choices

from .. import selectors, services
from ..models import Resource, ServiceProject
from ..serializers import (
    ResourceSerializer,
    ResourceUpdateSerializer,
    ServiceProjectSerializer,
    ServiceProjectUpdateSerializer,
)
from ._common import signed_in


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
        services.require_may_offer_resources(signed_in(request))  # the denial before the body's errors
        return super().create(request, *args, **kwargs)

    def perform_create(self, serializer):
        data = serializer.validated_data
        serializer.instance = services.offer_resource(
            by=signed_in(self.request),
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
        selectors.require_staff(request.user)
        serializer = self.get_serializer(data=request.data)
        self._linkable(serializer)
        community = getattr(serializer, "fields", {})["community"]
        choices = limit_choices(request.user, community.queryset.model)
        if choices is not None:
            community.queryset = choices
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
