"""Thin views: scope, parse, call a service or selector, respond.

Approving, rejecting, correcting, issuing and revoking look the object up among those the caller
acts on as the organiser's staff, so anyone else (the volunteer included) gets 404.
"""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import QuerySet
from django.http import HttpResponse
from django.utils.encoding import escape_uri_path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.authentication import SessionAuthentication
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.accounts.audit import record_access, record_staff_accesses
from backend.accounts.authentication import DeferredUserJWTAuthentication, RefusesAsAuthentication, require_active
from backend.accounts.requests import caller
from backend.accounts.selectors import is_active_account
from backend.core.pagination import MAX_PAGE, PageNumberPagination, remove_query_param, replace_query_param
from backend.core.throttling import AnonThrottle, UserRateThrottle, UserThrottle

from . import export, selectors, services
from .models import Certificate, ServiceRecord, Volunteer
from .serializers import (
    ApproveSerializer,
    CertificateIssueSerializer,
    CertificateSerializer,
    CertificateVerifySerializer,
    CorrectionCreateSerializer,
    ExportQuerySerializer,
    LeaderboardPageSerializer,
    RecordCorrectionSerializer,
    ServiceRecordCreateSerializer,
    ServiceRecordSerializer,
    VolunteerProfileSerializer,
    VolunteerReasonSerializer,
    VolunteerRegisterSerializer,
    VolunteerSerializer,
    VolunteerUpdateSerializer,
    leaderboard_page_data,
    leaderboard_query,
    own_profile_data,
)


def _attachment(data: bytes, *, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(data, content_type=content_type)
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{escape_uri_path(filename)}"
    return response


class OwnReadMixin(RefusesAsAuthentication):
    """A view whose reads leave the caller's account to their one statement.

    `volunteers/me` and the leaderboard are read on every opening of the volunteer pages. Their
    GET verifies the bearer token as everywhere but does not read the account
    (DeferredUserJWTAuthentication); the statement reads whether it exists and is active with what
    the page shows, and the view answers as JWTAuthentication would (`require_active`): one
    statement for the request instead of two. A gone or inactive account is refused by the view
    (RefusesAsAuthentication: 401 before a throttle's 429, rendered for an anonymous caller). Other
    methods authenticate as usual: their services need the whole user.
    """

    request: Any

    def get_authenticators(self) -> list[Any]:
        # The schema documents what a client sends, the same bearer token (`jwtAuth`) either way;
        # how the server reads the account is its own business.
        if getattr(self, "swagger_fake_view", False) or getattr(self.request, "method", None) not in ("GET", "HEAD"):
            return super().get_authenticators()  # type: ignore[misc]  # APIView's, after this in the MRO
        return [DeferredUserJWTAuthentication(), SessionAuthentication()]


def _audit_others(request, reads: list[tuple[int, int]], *, what: str) -> None:
    """Staff reading other people's records: one audit row each, in one INSERT."""
    record_staff_accesses(actor=request.user, reads=reads, what=what, path=request.get_full_path())


# Volunteers ------------------------------------------------------------------------------------


class VolunteerMeView(OwnReadMixin, APIView):
    """POST registers (201; again: 200 with the profile), GET and PATCH my volunteer profile."""

    error_statuses = ("404", "409")

    def _profile(self, *, status_code: int = status.HTTP_200_OK) -> Response:
        read = selectors.own_profile(user_id=caller(self.request).pk)
        require_active(read.account_active)
        if read.profile is None:
            raise NotFound()
        return Response(own_profile_data(read.profile), status=status_code)

    @extend_schema(responses={200: VolunteerProfileSerializer})
    def get(self, request):
        return self._profile()

    @extend_schema(
        request=VolunteerRegisterSerializer,
        responses={201: VolunteerProfileSerializer, 200: VolunteerProfileSerializer},
    )
    def post(self, request):
        serializer = VolunteerRegisterSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        _volunteer, created = services.register_volunteer(
            by=request.user,
            community=data.get("community"),
            real_name=data.get("real_name"),
            skills=data.get("skills", ""),
            id_type=data.get("id_type"),
            id_number=data.get("id_number"),
            consent=data["consent"],
            consent_version=data.get("privacy_notice_version"),
        )
        return self._profile(status_code=status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    @extend_schema(request=VolunteerUpdateSerializer, responses={200: VolunteerProfileSerializer})
    def patch(self, request):
        volunteer = selectors.volunteer_of(request.user)
        if volunteer is None:
            raise NotFound()
        serializer = VolunteerUpdateSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        services.update_volunteer(
            volunteer=volunteer,
            by=request.user,
            real_name=data.get("real_name"),
            skills=data.get("skills"),
            community=data.get("community"),
            id_type=data.get("id_type"),
            id_number=data.get("id_number"),
            consent=data.get("consent", False),
            consent_version=data.get("privacy_notice_version"),
        )
        return self._profile()


class VolunteerViewSet(viewsets.ReadOnlyModelViewSet):
    """Volunteers registered in communities the caller acts on as staff."""

    queryset = Volunteer.objects.none()
    serializer_class = VolunteerSerializer
    filterset_fields = ["community", "registered_via"]
    search_fields = ["real_name", "volunteer_number"]
    ordering_fields = ["id", "registered_on", "total_hours"]
    lookup_value_regex = r"\d+"

    def get_queryset(self) -> QuerySet[Volunteer]:
        return (
            selectors.visible_volunteers(self.request.user)
            .select_related("community")
            .annotate(total_hours=selectors.total_hours_subquery())
            .order_by("id")
        )

    def list(self, request, *args, **kwargs):
        response = super().list(request, *args, **kwargs)
        rows = response.data.get("results", []) if isinstance(response.data, dict) else response.data
        ids = [row["id"] for row in rows]
        owners = dict(Volunteer.objects.filter(pk__in=ids).values_list("pk", "user_id")) if ids else {}
        _audit_others(request, [(owners[pk], pk) for pk in ids], what="volunteer")
        return response

    def retrieve(self, request, *args, **kwargs):
        volunteer = self.get_object()
        record_access(
            actor=request.user,
            subject=volunteer.user_id,
            what="volunteer",
            object_id=volunteer.pk,
            path=request.get_full_path(),
        )
        return Response(self.get_serializer(volunteer).data)


# Service records -------------------------------------------------------------------------------


class RecordFilter(django_filters.FilterSet):
    class Meta:
        model = ServiceRecord
        fields = ["community", "volunteer", "activity", "status", "source", "overlap_flag", "over_cap_flag"]


class ServiceRecordViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Service records: my own, and those organised by communities in my staff scope."""

    queryset = ServiceRecord.objects.none()
    serializer_class = ServiceRecordSerializer
    filterset_class = RecordFilter
    search_fields = ["content", "volunteer__real_name", "volunteer__volunteer_number"]
    ordering_fields = ["started_at", "hours", "created_at", "id"]
    error_statuses = ("404", "409")

    def get_queryset(self) -> QuerySet[ServiceRecord]:
        user = self.request.user
        if self.action in ("approve", "reject") or (self.action == "corrections" and self.request.method == "POST"):
            base = selectors.staff_records(user)
        else:
            base = selectors.visible_records(user)
        return selectors.record_list(base).order_by("-started_at", "-id")

    def paginate_queryset(self, queryset):
        page = super().paginate_queryset(queryset)
        self._page_rows = page if page is not None else list(queryset)
        return page

    def list(self, request, *args, **kwargs):
        response = super().list(request, *args, **kwargs)
        _audit_others(request, [(row.volunteer.user_id, row.pk) for row in self._page_rows], what="service_record")
        return response

    def retrieve(self, request, *args, **kwargs):
        record = self.get_object()
        record_access(
            actor=request.user,
            subject=record.volunteer.user_id,
            what="service_record",
            object_id=record.pk,
            path=request.get_full_path(),
        )
        return Response(self.get_serializer(record).data)

    @extend_schema(
        request=ServiceRecordCreateSerializer, responses={201: ServiceRecordSerializer, 200: ServiceRecordSerializer}
    )
    def create(self, request):
        services.require_volunteer(by=request.user)
        serializer = ServiceRecordCreateSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        record, created = services.file_record(
            by=request.user,
            community=data["community"],
            activity=data.get("activity"),
            content=data["content"],
            place=data.get("place", ""),
            started_at=data["started_at"],
            ended_at=data["ended_at"],
            evidence=data.get("evidence"),
            client_id=data["client_id"],
        )
        record = selectors.record_list(ServiceRecord.objects.filter(pk=record.pk)).get()
        return Response(
            self.get_serializer(record).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )

    def _answer(self, record: ServiceRecord) -> Response:
        record = selectors.record_list(ServiceRecord.objects.filter(pk=record.pk)).get()
        return Response(self.get_serializer(record).data)

    @extend_schema(request=ApproveSerializer, responses={200: ServiceRecordSerializer})
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        record = self.get_object()
        services.require_reviewer(record=record, by=request.user)  # the denial before the body's errors
        serializer = ApproveSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        record = services.approve_record(
            record=record, by=request.user, confirm_flags=serializer.validated_data["confirm_flags"]
        )
        return self._answer(record)

    @extend_schema(request=VolunteerReasonSerializer, responses={200: ServiceRecordSerializer})
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        record = self.get_object()
        services.require_reviewer(record=record, by=request.user)  # the denial before the body's errors
        serializer = VolunteerReasonSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        record = services.reject_record(record=record, by=request.user, reason=serializer.validated_data["reason"])
        return self._answer(record)

    @extend_schema(methods=["GET"], request=None, responses={200: RecordCorrectionSerializer(many=True)})
    @extend_schema(methods=["POST"], request=CorrectionCreateSerializer, responses={201: RecordCorrectionSerializer})
    @action(detail=True, methods=["get", "post"], pagination_class=None, filter_backends=[])
    def corrections(self, request, pk=None):
        record = self.get_object()
        if request.method == "GET":
            rows = selectors.corrections_of(record)
            return Response(RecordCorrectionSerializer(rows, many=True).data)
        services.require_reviewer(record=record, by=request.user)  # the denial before the body's errors
        serializer = CorrectionCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        correction = services.correct_record(
            record=record,
            by=request.user,
            started_at=data["started_at"],
            ended_at=data["ended_at"],
            reason=data["reason"],
        )
        return Response(RecordCorrectionSerializer(correction).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        parameters=[
            OpenApiParameter("community", int, required=True),
            OpenApiParameter("period", str, required=False, description="2026, 2026H1, 2026Q3, 2026-03 or all"),
        ],
        responses={(200, export.XLSX_CONTENT_TYPE): OpenApiResponse(OpenApiTypes.BINARY, description="台账 xlsx")},
    )
    @action(detail=False, methods=["get"], pagination_class=None, filter_backends=[])
    def export(self, request):
        query = ExportQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        community = selectors.ledger_community(request.user, query.validated_data["community"])
        if community is None:
            raise NotFound()
        period_label = request.query_params.get("period") or "all"
        records = list(selectors.records_for_export(community_id=community.pk, period=query.validated_data["period"]))
        _audit_others(request, [(record.volunteer.user_id, record.pk) for record in records], what="service_record")
        data = export.ledger_workbook(title=f"{community.name} 志愿服务记录台账 ({period_label})", records=records)
        return _attachment(
            data,
            content_type=export.XLSX_CONTENT_TYPE,
            filename=export.ledger_filename(community.name, period_label),
        )


# Leaderboards ----------------------------------------------------------------------------------


def _page_number(text: str | None) -> int:
    try:
        number = int(text or 1)
    except ValueError:
        raise NotFound() from None
    if not 1 <= number <= MAX_PAGE:
        # Past a 64-bit OFFSET the database fails: a page that far is no page.
        raise NotFound()
    return number


class LeaderboardView(OwnReadMixin, APIView):
    """Ranked by approved hours in the period, with the caller's own rank; names masked."""

    error_statuses = ("404",)

    @extend_schema(
        parameters=[
            OpenApiParameter("community", int, required=False, description="one of community or street"),
            OpenApiParameter("street", int, required=False),
            OpenApiParameter("period", str, required=False, description="2026, 2026H1, 2026Q3, 2026-03 or all"),
            OpenApiParameter("page", int),
            OpenApiParameter("page_size", int),
        ],
        responses={200: LeaderboardPageSerializer},
    )
    def get(self, request):
        paginator = PageNumberPagination()
        try:
            data = leaderboard_query(request.query_params)
            number = _page_number(request.query_params.get(paginator.page_query_param))
        except (ValidationError, NotFound):
            # The account first, as any authentication refuses a gone or inactive one before the rest.
            require_active(is_active_account(request.user.pk))
            raise
        where = {"community_id": data["community"]} if "community" in data else {"street_id": data["street"]}
        size = paginator.get_page_size(request)
        # Paged by hand: the number ranked comes with the page (counted in its statement), not from a COUNT of its own.
        board = selectors.kept_leaderboard_page(
            period=data["period"], offset=(number - 1) * size, limit=size, user_id=request.user.pk, **where
        )
        require_active(board.account_active)
        rows, ranked = board.rows, board.ranked
        if ranked is None:
            if number > 1 or not selectors.leaderboard_place_exists(**where):
                raise NotFound()
            ranked = 0
        url = request.build_absolute_uri()
        has_next = number * size < ranked
        body = {
            "count": ranked,
            "next": replace_query_param(url, paginator.page_query_param, number + 1) if has_next else None,
            "previous": (
                None
                if number == 1
                else remove_query_param(url, paginator.page_query_param)
                if number == 2
                else replace_query_param(url, paginator.page_query_param, number - 1)
            ),
            "period": request.query_params.get("period") or "all",
            "ranking": "competition",
            "me": board.me,
            "results": rows,
        }
        return Response(leaderboard_page_data(body, user_id=request.user.pk))


# Certificates ----------------------------------------------------------------------------------


class CertificatePdfThrottle(UserRateThrottle):
    scope = "certificate_pdf"


class CertificateViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Certificates: staff issue and revoke them for their communities; volunteers read their own."""

    queryset = Certificate.objects.none()
    serializer_class = CertificateSerializer
    filterset_fields = ["community", "volunteer"]
    search_fields = ["number", "volunteer_name", "volunteer_number"]
    ordering_fields = ["issued_at", "id", "hours"]
    error_statuses = ("404", "409")

    def get_queryset(self) -> QuerySet[Certificate]:
        user = self.request.user
        base = selectors.staff_certificates(user) if self.action == "revoke" else selectors.visible_certificates(user)
        return base.select_related("volunteer").order_by("-issued_at", "-id")

    def paginate_queryset(self, queryset):
        page = super().paginate_queryset(queryset)
        self._page_rows = page if page is not None else list(queryset)
        return page

    # A certificate carries the volunteer's full name and document: staff reading one is audited.
    def list(self, request, *args, **kwargs):
        response = super().list(request, *args, **kwargs)
        _audit_others(request, [(row.volunteer.user_id, row.pk) for row in self._page_rows], what="certificate")
        return response

    def retrieve(self, request, *args, **kwargs):
        certificate = self.get_object()
        _audit_others(request, [(certificate.volunteer.user_id, certificate.pk)], what="certificate")
        return Response(self.get_serializer(certificate).data)

    @extend_schema(
        request=CertificateIssueSerializer, responses={201: CertificateSerializer, 200: CertificateSerializer}
    )
    def create(self, request):
        services.require_issuer(by=request.user)
        serializer = CertificateIssueSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        certificate, created = services.issue_certificate(
            volunteer=data["volunteer"],
            community=data.get("community"),
            by=request.user,
            period_start=data["period_start"],
            period_end=data["period_end"],
            service_summary=data.get("service_summary", ""),
            person_in_charge=data.get("person_in_charge"),
            handling_officer=data.get("handling_officer"),
            contact=data.get("contact"),
            client_id=data.get("client_id"),
        )
        return Response(
            CertificateSerializer(certificate).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )

    @extend_schema(
        responses={(200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY, description="A4 certificate")}
    )
    @action(detail=True, methods=["get"], throttle_classes=[UserThrottle, CertificatePdfThrottle])
    def pdf(self, request, pk=None):
        certificate = self.get_object()
        _audit_others(request, [(certificate.volunteer.user_id, certificate.pk)], what="certificate")
        # Imported here: fpdf2 and fontTools take a second to import, needed by this view only.
        from . import pdf

        return _attachment(
            pdf.render(certificate), content_type=pdf.PDF_CONTENT_TYPE, filename=pdf.certificate_filename(certificate)
        )

    @extend_schema(request=VolunteerReasonSerializer, responses={200: CertificateSerializer})
    @action(detail=True, methods=["post"])
    def revoke(self, request, pk=None):
        certificate = self.get_object()
        serializer = VolunteerReasonSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        certificate = services.revoke_certificate(
            certificate=certificate, by=request.user, reason=serializer.validated_data["reason"]
        )
        return Response(CertificateSerializer(certificate).data)


class CertificateVerifyView(APIView):
    """Anyone, signed in or not, may check a certificate by its number; throttled as anonymous."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [AnonThrottle]

    @extend_schema(responses={200: CertificateVerifySerializer})
    def get(self, request, number: str):
        certificate = selectors.certificate_by_number(services.normalise_certificate_number(number))
        if certificate is None:
            raise NotFound()
        return Response(CertificateVerifySerializer(certificate).data)
