"""接诉即办 endpoints: thin — scope, parse, call a service or selector, respond."""

from __future__ import annotations

import django_filters
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.response import Response

from backend.accounts.audit import record_access, record_accesses
from backend.core.scoping import get_scope
from backend.core.throttling import UserRateThrottle

from . import selectors, services
from .models import Appeal
from .serializers import (
    AppealCreateSerializer,
    AppealRatesSerializer,
    AppealSerializer,
    AssignSerializer,
    ContentSerializer,
    RateSerializer,
    RatesQuerySerializer,
)


class AppealFilter(django_filters.FilterSet):
    class Meta:
        model = Appeal
        fields = [
            "status",
            "category",
            "urgency",
            "source",
            "community",
            "grid",
            "estate",
            "assignee",
            "respond_overdue",
            "resolve_overdue",
        ]


class AppealFilingThrottle(UserRateThrottle):
    """Appeals filed per user (settings: appeal_filing): each one is a grid worker's work against a deadline."""

    scope = "appeal_filing"


class AppealViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """诉求: filed by residents (or for them), handled by the community's staff and the grid's worker."""

    queryset = Appeal.objects.none()
    serializer_class = AppealSerializer
    filterset_class = AppealFilter
    search_fields = ["content", "place", "ticket_number", "contact_name"]
    ordering_fields = ["id", "submitted_at", "respond_due_at", "resolve_due_at", "status"]
    lookup_value_regex = r"\d+"
    # The error statuses each action documents beyond the defaults (see core/schema.py).
    ERROR_STATUSES = {
        "create": ("409",),
        "accept": ("409",),
        "reply": ("409",),
        "resolve": ("409",),
        "reject": ("409",),
        "assign": ("409",),
        "rate": ("409",),
        "rates": ("400", "404"),
    }

    @property
    def error_statuses(self) -> tuple[str, ...]:
        return self.ERROR_STATUSES.get(getattr(self, "action", None) or "", ())

    def get_queryset(self):
        return selectors.appeals_for(self.request.user)

    def get_throttles(self):
        throttles = super().get_throttles()
        if getattr(self, "action", None) == "create":
            throttles.append(AppealFilingThrottle())
        return throttles

    def _respond(self, appeal: Appeal, *, status_code: int = status.HTTP_200_OK, show_phone: bool = False) -> Response:
        appeal = self.get_queryset().get(pk=appeal.pk)
        context = {**self.get_serializer_context(), "show_phone": show_phone}
        return Response(AppealSerializer(appeal, context=context).data, status=status_code)

    def paginate_queryset(self, queryset):
        page = super().paginate_queryset(queryset)
        self._page_rows = page if page is not None else list(queryset)
        return page

    def _audit_page(self, request) -> None:
        # Handlers' lists show each resident's name (the phone masked): audited like every staff list.
        if get_scope(request.user).has_any_role:
            record_accesses(
                actor=request.user,
                reads=[(row.resident_id, row.pk) for row in self._page_rows if row.resident_id is not None],
                what="appeal",
                path=request.get_full_path(),
            )

    def list(self, request, *args, **kwargs):
        response = super().list(request, *args, **kwargs)
        self._audit_page(request)
        return response

    def retrieve(self, request, *args, **kwargs):
        appeal = self.get_object()
        # Handlers opening one appeal see the phone to call back; that read of someone else's details is audited.
        if appeal.resident_id is not None and appeal.resident_id != request.user.pk:
            record_access(
                actor=request.user,
                subject=appeal.resident_id,
                what="appeal",
                object_id=appeal.pk,
                path=request.get_full_path(),
            )
        context = {**self.get_serializer_context(), "show_phone": True}
        return Response(AppealSerializer(appeal, context=context).data)

    @extend_schema(
        request=AppealCreateSerializer,
        responses={201: AppealSerializer, 200: AppealSerializer},
        description="201 with the new appeal; the same `client_id` again answers 200 with the first one.",
    )
    def create(self, request, *args, **kwargs):
        body = AppealCreateSerializer(data=request.data, context=self.get_serializer_context())
        body.is_valid(raise_exception=True)
        data = body.validated_data
        appeal, created = services.submit_appeal(
            filer=request.user,
            client_id=data["client_id"],
            community=data["community"],
            estate=data.get("estate"),
            place=data["place"],
            category=data["category"],
            urgency=data["urgency"],
            content=data["content"],
            photos=data["photos"],
            source=data["source"],
            ticket_number=data["ticket_number"],
            contact_name=data["contact_name"],
            contact_phone=data["contact_phone"],
        )
        return self._respond(appeal, status_code=status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    def _content(self, request, appeal) -> str:
        services.require_handler(request.user, appeal)  # the denial before the body's errors
        body = ContentSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return body.validated_data["content"]

    @extend_schema(request=ContentSerializer, responses={200: AppealSerializer})
    @action(detail=True, methods=["post"])
    def accept(self, request, pk=None):
        appeal = self.get_object()
        return self._respond(services.accept(appeal=appeal, by=request.user, content=self._content(request, appeal)))

    @extend_schema(request=ContentSerializer, responses={200: AppealSerializer}, description="`content` is required.")
    @action(detail=True, methods=["post"])
    def reply(self, request, pk=None):
        appeal = self.get_object()
        return self._respond(services.reply(appeal=appeal, by=request.user, content=self._content(request, appeal)))

    @extend_schema(request=ContentSerializer, responses={200: AppealSerializer})
    @action(detail=True, methods=["post"])
    def resolve(self, request, pk=None):
        appeal = self.get_object()
        return self._respond(services.resolve(appeal=appeal, by=request.user, content=self._content(request, appeal)))

    @extend_schema(
        request=ContentSerializer, responses={200: AppealSerializer}, description="`content` (the reason) is required."
    )
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        appeal = self.get_object()
        return self._respond(services.reject(appeal=appeal, by=request.user, reason=self._content(request, appeal)))

    @extend_schema(request=AssignSerializer, responses={200: AppealSerializer})
    @action(detail=True, methods=["post"])
    def assign(self, request, pk=None):
        appeal = self.get_object()
        body = AssignSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        appeal = services.assign(
            appeal=appeal,
            by=request.user,
            assignee=body.validated_data["assignee"],
            content=body.validated_data["content"],
        )
        return self._respond(appeal)

    @extend_schema(request=RateSerializer, responses={200: AppealSerializer})
    @action(detail=True, methods=["post"])
    def rate(self, request, pk=None):
        appeal = self.get_object()
        services.require_rater(request.user, appeal)  # the denial before the body's errors
        body = RateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        appeal = services.rate(
            appeal=appeal, by=request.user, score=body.validated_data["score"], comment=body.validated_data["comment"]
        )
        return self._respond(appeal)

    @extend_schema(
        parameters=[
            OpenApiParameter("community", int, description="one community"),
            OpenApiParameter("grid", int, description="one grid"),
            OpenApiParameter("street", int, description="one street"),
            OpenApiParameter("period", str, description="2026, 2026H1, 2026Q3, 2026-03 or all (default)"),
        ],
        responses={200: AppealRatesSerializer},
        description="响应率, 解决率, 满意率 of the appeals submitted in the period, for one place "
        "or the caller's whole scope.",
    )
    @action(detail=False, methods=["get"], pagination_class=None, filter_backends=[])
    def rates(self, request):
        if not get_scope(request.user).is_staff:
            raise PermissionDenied("只有街道、社区工作人员可以查看三率")
        query = RatesQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        appeals = selectors.appeals_for_rates(
            request.user,
            community_id=params.get("community"),
            grid_id=params.get("grid"),
            street_id=params.get("street"),
        )
        if appeals is None:
            raise NotFound()
        period = params["range"]
        rates = selectors.appeal_rates(appeals, period=period)
        data = {
            "community": params.get("community"),
            "grid": params.get("grid"),
            "street": params.get("street"),
            "period": params["period"],
            "start": period.start,
            "end": period.end,
            "response_rate": rates.response,
            "resolution_rate": rates.resolution,
            "satisfaction_rate": rates.satisfaction,
        }
        return Response(AppealRatesSerializer(data).data)

    @extend_schema(responses={200: AppealSerializer(many=True)})
    @action(detail=False, methods=["get"])
    def overdue(self, request):
        """Open appeals past a running deadline, among those the caller handles; most urgent first."""
        if not selectors.is_handler(request.user):
            raise PermissionDenied("只有工作人员和网格员可以查看超时诉求")
        queryset = self.filter_queryset(selectors.overdue_for(request.user))
        page = self.paginate_queryset(queryset)
        response = self.get_paginated_response(self.get_serializer(page, many=True).data)
        self._audit_page(request)
        return response
