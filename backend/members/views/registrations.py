"""双报到 of members and units: filing, reading and deciding."""

from __future__ import annotations

import django_filters
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from .. import selectors, services
from ..models import MemberRegistration, UnitRegistration
from ..serializers import (
    ReasonSerializer,
    RegistrationCreateSerializer,
    RegistrationSerializer,
    UnitRegistrationSerializer,
    UnitRegistrationUpdateSerializer,
)
from ._common import _audit_one, _audit_page, signed_in


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
            by=request.user,
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
            by=signed_in(self.request),
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
        services.require_unit_editor(request.user, registration)  # the denial before the body's errors
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
