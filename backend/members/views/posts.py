"""Service posts: staff open and change them, members take and leave them."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import SAFE_METHODS
from rest_framework.response import Response

from backend.accounts.scoping import limit_choices

from .. import selectors, services
from ..models import (
    ServicePost,
)
from ..serializers import (
    AssignmentSerializer,
    HolderSerializer,
    ServicePostSerializer,
    ServicePostUpdateSerializer,
)
from ._common import _audit_page


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
        selectors.require_staff(request.user)
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
        assignment, created = services.claim_post(post=self.get_object(), by=request.user)
        return Response(
            AssignmentSerializer(assignment).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )

    @extend_schema(request=None, responses={204: None})
    @action(detail=True, methods=["post"])
    def leave(self, request, pk=None):
        services.leave_post(post=self.get_object(), by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(responses={200: HolderSerializer(many=True)})
    @action(detail=True, methods=["get"], pagination_class=None)
    def holders(self, request, pk=None):
        rows = list(selectors.post_holders(self.get_object(), by=request.user))
        _audit_page(request, rows, what="post_holder")
        return Response(HolderSerializer(rows, many=True).data)
