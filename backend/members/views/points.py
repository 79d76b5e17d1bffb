"""积分: the ledger, totals, the ranking and staff corrections."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from .. import selectors, services
from ..models import PointsEntry
from ..serializers import (
    CorrectionSerializer,
    CorrectionTargetSerializer,
    PointsEntrySerializer,
    PointsRuleSerializer,
    RankingQuerySerializer,
    RankingRowSerializer,
    YearQuerySerializer,
)


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
        community_id = selectors.ranking_community_id(request.user, community.pk if community else None)
        rows = selectors.points_ranking(
            community_id=community_id, year=query.validated_data.get("year") or selectors.current_year()
        )
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(RankingRowSerializer(page, many=True).data)

    @extend_schema(responses={200: PointsRuleSerializer(many=True)})
    @action(detail=False, methods=["get"], pagination_class=None)
    def rules(self, request):
        rules = selectors.rules_for_user(request.user)
        return Response(PointsRuleSerializer(rules, many=True).data)

    @extend_schema(request=CorrectionSerializer, responses={201: PointsEntrySerializer})
    @action(detail=False, methods=["post"])
    def corrections(self, request):
        selectors.require_staff(request.user)
        target = CorrectionTargetSerializer(data=request.data, context={"request": request})
        target.is_valid(raise_exception=True)
        services.require_points_corrector(by=request.user, member=target.validated_data["member"])
        body = CorrectionSerializer(data=request.data, context={"request": request})
        body.is_valid(raise_exception=True)
        data = body.validated_data
        entry = services.correct_points(
            member=data["member"], points=data["points"], reason=data["reason"], by=request.user, year=data.get("year")
        )
        return Response(PointsEntrySerializer(entry).data, status=status.HTTP_201_CREATED)
