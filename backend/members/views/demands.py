"""三单, demands: filing (retry-safe), claiming, assigning, completing, confirming, cancelling."""

from __future__ import annotations

import django_filters
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from backend.accounts.audit import record_access

from .. import selectors, services
from ..models import Demand
from ..serializers import (
    ClaimSerializer,
    DemandAssignSerializer,
    DemandDetailSerializer,
    DemandSerializer,
    DoneSerializer,
    NoteSerializer,
)
from ._common import signed_in


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
        user = signed_in(self.request)
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
            by=request.user,
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
            demand=demand, by=request.user, organization=body.validated_data.get("organization")
        )
        return self._detail(demand)

    @extend_schema(request=DemandAssignSerializer, responses={200: DemandDetailSerializer})
    @action(detail=True, methods=["post"])
    def assign(self, request, pk=None):
        demand = self.get_object()
        services.require_assigner(request.user, demand)  # the denial before the body's errors
        body = DemandAssignSerializer(data=request.data, context=self.get_serializer_context())
        body.is_valid(raise_exception=True)
        demand = services.assign_demand(
            demand=demand, by=request.user, member=body.validated_data["member"], note=body.validated_data["note"]
        )
        return self._detail(demand)

    @extend_schema(request=DoneSerializer, responses={200: DemandDetailSerializer})
    @action(detail=True, methods=["post"])
    def done(self, request, pk=None):
        demand = self.get_object()
        services.require_worker(request.user, demand)  # the denial before the body's errors
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
        services.require_confirmer(request.user, demand)  # the denial before the body's errors
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
