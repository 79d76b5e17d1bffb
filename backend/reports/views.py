"""Thin views over the report selectors: check the caller's reach, parse, read, answer JSON or xlsx."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from django.http import HttpResponse
from django.utils import timezone
from django.utils.http import content_disposition_header
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, renderers
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.accounts.audit import record_accesses
from backend.accounts.permissions import IsStaff, IsStreetAdmin
from backend.accounts.scoping import can_act_on_community, can_act_on_street
from backend.brands.models import Brand
from backend.communities.models import Community, PartyOrganization, Street
from backend.core.errors import DomainError
from backend.core.renderers import JSONRenderer

from . import exports, selectors
from .models import FeedbackReport
from .serializers import (
    BoardQuerySerializer,
    BrandBoardSerializer,
    BrandFiguresReportSerializer,
    CommunityCoverageSerializer,
    DashboardQuerySerializer,
    DashboardSerializer,
    FeedbackReportDataSerializer,
    FeedbackReportSerializer,
    ReportQuerySerializer,
    SentRefSerializer,
    SentReportQuerySerializer,
    StoredReportSerializer,
    StreetCoverageSerializer,
)

XLSX = exports.XLSX_CONTENT_TYPE
XLSX_RESPONSE = OpenApiResponse(OpenApiTypes.BINARY, description="the workbook (xlsx)")


class XlsxRenderer(renderers.BaseRenderer):
    """Lets a client ask for the workbook by `?format=xlsx` or the Accept header."""

    media_type = XLSX
    format = "xlsx"
    charset = None
    render_style = "binary"

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None) -> bytes:
        if isinstance(data, bytes):
            return data
        return json.dumps(data, ensure_ascii=False).encode()


def xlsx_response(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=XLSX)
    response["Content-Disposition"] = content_disposition_header(True, filename)
    return response


def wants_xlsx(request) -> bool:
    return getattr(getattr(request, "accepted_renderer", None), "format", None) == "xlsx"


class ReportView(APIView):
    """JSON by default, the workbook when asked for; errors always leave as JSON."""

    renderer_classes = [JSONRenderer, XlsxRenderer]

    def finalize_response(self, request, response, *args, **kwargs):
        if response.status_code >= 400 and wants_xlsx(request):
            request.accepted_renderer = JSONRenderer()
            request.accepted_media_type = request.accepted_renderer.media_type
        return super().finalize_response(request, response, *args, **kwargs)


def _require_report_reader(request) -> None:
    if not selectors.may_read_reports(request.user):
        raise DomainError("permission_denied", "需要单位联络员或社区工作人员权限")


def _organization_in_reach(request, organization_id: int) -> tuple[PartyOrganization, selectors.ReportAccess]:
    organization = PartyOrganization.objects.filter(pk=organization_id).first()
    access = selectors.report_access(request.user, organization) if organization is not None else None
    if organization is None or access is None:
        raise NotFound()
    return organization, access


def _audit(request, data: dict[str, Any]) -> None:
    """Whoever reads members' lines is recorded, one row per member (their own line is not)."""
    record_accesses(
        actor=request.user,
        reads=selectors.report_member_user_ids(data),
        what="feedback_report",
        path=request.get_full_path(),
    )


# 双报告 -------------------------------------------------------------------------------------------


class FeedbackReportView(ReportView):
    """双报告 of a unit for a period, computed now: a line per member and the unit's figures.

    The unit's liaisons read it whole; community staff read the lines of the members registered
    with their communities. When the period's report has been kept (the quarterly one),
    `sent_report` points at it.
    """

    error_statuses = ("400", "404")
    export = False

    def _report(self, request) -> tuple[dict[str, Any], PartyOrganization, selectors.ReportAccess]:
        _require_report_reader(request)
        query = ReportQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        organization, access = _organization_in_reach(request, params["organization"])
        report = selectors.feedback_report(organization=organization, period=params["range"], label=params["period"])
        # Restricted as rendered: the reports kept are JSON, and one rule cuts both.
        data = selectors.restrict_report(FeedbackReportDataSerializer(report).data, access)
        _audit(request, data)
        return data, organization, access

    @extend_schema(
        operation_id="members_reports_retrieve",
        parameters=[ReportQuerySerializer],
        responses={(200, "application/json"): FeedbackReportSerializer, (200, XLSX): XLSX_RESPONSE},
    )
    def get(self, request):
        data, organization, access = self._report(request)
        if self.export or wants_xlsx(request):
            return xlsx_response(exports.feedback_workbook(data), exports.feedback_filename(data))
        sent = selectors.sent_ref(organization, data["period"], access)
        return Response({**data, "sent_report": SentRefSerializer(sent).data if sent is not None else None})


class FeedbackReportExportView(FeedbackReportView):
    """The same report as a workbook: a summary sheet, then one sheet per community."""

    export = True

    @extend_schema(
        operation_id="members_reports_export_retrieve",
        parameters=[ReportQuerySerializer],
        responses={(200, XLSX): XLSX_RESPONSE},
    )
    def get(self, request):
        return super().get(request)


class SentReportListView(generics.ListAPIView):
    """The reports kept for a unit, newest period first, each as it was generated and sent."""

    queryset = FeedbackReport.objects.none()
    serializer_class = StoredReportSerializer
    filter_backends: list = []
    error_statuses = ("400", "404")

    @extend_schema(parameters=[SentReportQuerySerializer])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def list(self, request, *args, **kwargs):
        _require_report_reader(request)
        query = SentReportQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        organization, access = _organization_in_reach(request, params["organization"])
        reports = selectors.stored_reports(organization)
        if params.get("period"):
            reports = reports.filter(period=params["period"])
        page = self.paginate_queryset(reports)
        for report in page or ():
            report.data = selectors.restrict_report(report.data, access)
            _audit(request, report.data)
        serializer = self.get_serializer(page, many=True, context={"request": request, "full": access.full})
        return self.get_paginated_response(serializer.data)


# 五个全覆盖 ------------------------------------------------------------------------------------------


class CoverageView(ReportView):
    """五个全覆盖 of a place in the caller's scope, each rate as numerator / denominator / rate;
    `?format=xlsx` (or the export route) for Excel. A community and a street differ only in the
    place, the selector and serializer, and the workbook's rows."""

    permission_classes = [IsStaff]
    export = False
    model: type[Community] | type[Street]

    def coverage(self, request, pk: int) -> HttpResponse | Response:
        if not self.in_reach(request.user, pk):
            raise NotFound()
        place = self.model.objects.filter(pk=pk).first()
        if place is None:
            raise NotFound()
        data = self.render(place, timezone.localdate())
        if self.export or wants_xlsx(request):
            return xlsx_response(self.workbook(data), exports.coverage_filename(place.name, data["on"]))
        return Response(data)

    def in_reach(self, user: Any, pk: int) -> bool:
        raise NotImplementedError

    def render(self, place: Any, on: date) -> dict[str, Any]:
        raise NotImplementedError

    def workbook(self, data: dict[str, Any]) -> bytes:
        raise NotImplementedError


class CommunityCoverageView(CoverageView):
    """五个全覆盖 of a community, each rate as numerator / denominator / rate; `?format=xlsx` for Excel."""

    queryset = Community.objects.none()
    model = Community

    def in_reach(self, user: Any, pk: int) -> bool:
        return can_act_on_community(user, pk)

    def render(self, place: Community, on: date) -> dict[str, Any]:
        return CommunityCoverageSerializer(selectors.community_coverage(place, on=on)).data

    def workbook(self, data: dict[str, Any]) -> bytes:
        return exports.community_coverage_workbook(data)

    @extend_schema(
        operation_id="communities_coverage_retrieve",
        responses={(200, "application/json"): CommunityCoverageSerializer, (200, XLSX): XLSX_RESPONSE},
    )
    def get(self, request, pk: int):
        return self.coverage(request, pk)


class CommunityCoverageExportView(CommunityCoverageView):
    export = True

    @extend_schema(operation_id="communities_coverage_export_retrieve", responses={(200, XLSX): XLSX_RESPONSE})
    def get(self, request, pk: int):
        return self.coverage(request, pk)


class StreetCoverageView(CoverageView):
    """五个全覆盖 of every community of a street and the street's total, for its admins."""

    queryset = Street.objects.none()
    model = Street

    def in_reach(self, user: Any, pk: int) -> bool:
        return can_act_on_street(user, pk)

    def render(self, place: Street, on: date) -> dict[str, Any]:
        return StreetCoverageSerializer(selectors.street_coverage(place, on=on)).data

    def workbook(self, data: dict[str, Any]) -> bytes:
        return exports.street_coverage_workbook(data)

    @extend_schema(
        operation_id="streets_coverage_retrieve",
        responses={(200, "application/json"): StreetCoverageSerializer, (200, XLSX): XLSX_RESPONSE},
    )
    def get(self, request, pk: int):
        return self.coverage(request, pk)


class StreetCoverageExportView(StreetCoverageView):
    export = True

    @extend_schema(operation_id="streets_coverage_export_retrieve", responses={(200, XLSX): XLSX_RESPONSE})
    def get(self, request, pk: int):
        return self.coverage(request, pk)


# Brands -------------------------------------------------------------------------------------------


class BrandFiguresView(APIView):
    """A published brand's figures, per year and of all time; any other brand answers 404."""

    permission_classes = [AllowAny]
    queryset = Brand.objects.none()

    @extend_schema(operation_id="brands_figures_retrieve", responses={200: BrandFiguresReportSerializer})
    def get(self, request, pk: int):
        brand = selectors.public_brands().filter(pk=pk).first()
        if brand is None:
            raise NotFound()
        return Response(BrandFiguresReportSerializer(selectors.brand_figures(brand)).data)


class BrandBoardView(ReportView):
    """Every community of the street with its brand, plan against the deadline, figures and honours."""

    permission_classes = [IsStreetAdmin]
    queryset = Street.objects.none()
    error_statuses = ("400",)
    export = False

    @extend_schema(
        operation_id="streets_brand_board_retrieve",
        parameters=[BoardQuerySerializer],
        responses={(200, "application/json"): BrandBoardSerializer, (200, XLSX): XLSX_RESPONSE},
    )
    def get(self, request, pk: int):
        if not can_act_on_street(request.user, pk):
            raise NotFound()
        street = Street.objects.filter(pk=pk).first()
        if street is None:
            raise NotFound()
        query = BoardQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        year = query.validated_data["year"]
        data = BrandBoardSerializer(selectors.street_brand_board(street, year=year)).data
        if self.export or wants_xlsx(request):
            return xlsx_response(exports.board_workbook(data), exports.board_filename(street.name, year))
        return Response(data)


class BrandBoardExportView(BrandBoardView):
    export = True

    @extend_schema(
        operation_id="streets_brand_board_export_retrieve",
        parameters=[BoardQuerySerializer],
        responses={(200, XLSX): XLSX_RESPONSE},
    )
    def get(self, request, pk: int):
        return super().get(request, pk)


# Dashboards ---------------------------------------------------------------------------------------


class DashboardView(APIView):
    """The console's charts for a community or a street (staff in scope), month by month."""

    permission_classes = [IsStaff]
    error_statuses = ("400", "404")

    @extend_schema(parameters=[DashboardQuerySerializer], responses={200: DashboardSerializer})
    def get(self, request):
        query = DashboardQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        community = street = None
        if params.get("community") is not None:
            if not can_act_on_community(request.user, params["community"]):
                raise NotFound()
            community = Community.objects.filter(pk=params["community"]).first()
            if community is None:
                raise NotFound()
        else:
            if not can_act_on_street(request.user, params["street"]):
                raise NotFound()
            street = Street.objects.filter(pk=params["street"]).first()
            if street is None:
                raise NotFound()
        figures = selectors.dashboard(
            user=request.user, period=params["range"], community=community, street=street, label=params["period"]
        )
        return Response(DashboardSerializer(figures).data)
