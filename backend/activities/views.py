"""Thin views: scope, parse, call a service or selector, respond.

Staff actions look the activity up among the caller's manageable ones, everything else among
the visible ones: an activity outside either answers 404. Check-in and check-out take the
shortest path (one lookup by id) because a whole hall of phones sends them in the same minute.
"""

from __future__ import annotations

import json
from typing import Any

import django_filters
from django.core.paginator import Page
from django.http import Http404, HttpResponse
from django.utils.http import content_disposition_header
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, renderers, status, viewsets
from rest_framework.authentication import SessionAuthentication
from rest_framework.decorators import action
from rest_framework.response import Response

from backend.accounts import selectors as account_selectors
from backend.accounts.audit import record_accesses
from backend.accounts.authentication import (
    AccountInStatement,
    DeferredUserJWTAuthentication,
    read_deferred_account,
    require_active,
)
from backend.core.fields import MAX_ID
from backend.core.filters import BoundedDateTimeFilter
from backend.core.pagination import MAX_PAGE, PageNumberPagination
from backend.core.renderers import JSONRenderer
from backend.core.throttling import UserRateThrottle

from . import exports, selectors, services
from .models import Activity, LeaveRequest, Minutes
from .serializers import (
    ActivityDetailSerializer,
    ActivitySerializer,
    ActivityWriteSerializer,
    AttendancePageSerializer,
    AttendanceRowSerializer,
    CancelSerializer,
    CheckinCodeSerializer,
    CheckInSerializer,
    DecisionSerializer,
    EnrollmentResultSerializer,
    LeaveInputSerializer,
    LeaveRequestSerializer,
    ManualAttendanceSerializer,
    ManualCheckInSerializer,
    MinutesInputSerializer,
    MinutesSerializer,
    PhotoSerializer,
    PhotosInputSerializer,
    PositionSerializer,
    activity_rows,
    check_in_payload,
    with_covers,
    written_rows,
)

# Actions that need staff of the activity's community; the rest need only to see it.
STAFF_ACTIONS = {
    "update",
    "partial_update",
    "publish",
    "cancel",
    "checkin_code",
    "attendance",
    "attendance_export",
}


# The query of the community's page read directly (ActivityViewSet._community_list).
COMMUNITY_PAGE_PARAMS = frozenset({"community", "page", "page_size"})


def _plain_int(text: str) -> int | None:
    """A query value of plain ASCII digits as an id or page number; None for anything else (signs,
    spaces, other scripts' digits, beyond a 64-bit id), which the general path answers as before."""
    if not (text.isascii() and text.isdigit()) or len(text) > 19:
        return None
    value = int(text)
    return value if value <= MAX_ID else None


class XlsxRenderer(renderers.BaseRenderer):
    """Lets a client ask for the spreadsheet by Accept header; errors still leave as JSON text."""

    media_type = exports.XLSX_CONTENT_TYPE
    format = "xlsx"
    charset = None
    render_style = "binary"

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None) -> bytes:
        if isinstance(data, bytes):
            return data
        return json.dumps(data, ensure_ascii=False).encode()


class ActivityFilter(django_filters.FilterSet):
    starts_after = BoundedDateTimeFilter(field_name="starts_at", lookup_expr="gte")
    starts_before = BoundedDateTimeFilter(field_name="starts_at", lookup_expr="lte")
    mine = django_filters.ChoiceFilter(
        choices=[("enrolled", "我报名的"), ("attended", "我参加过的")], method="filter_mine", label="mine"
    )

    class Meta:
        model = Activity
        fields = ["community", "category", "status", "brand", "audience", "branch"]

    def filter_mine(self, queryset, name, value):
        return selectors.filter_mine(queryset, user=self.request.user, mine=value)


class CheckInThrottle(UserRateThrottle):
    """Check-ins and check-outs per user (settings: checkin): retries of one scan fit easily; guessing
    tokens or positions does not.

    Check-in and check-out carry this throttle alone, not the general per-user one as well: its rate
    is far below the general rate, so the general one could never be what stops a check-in, and
    counting there too would cost two more cache round trips on the busiest request there is."""

    scope = "checkin"


# The token is checked as everywhere; the account's state comes with the activity's query.
CHECK_IN_AUTHENTICATION = [DeferredUserJWTAuthentication, SessionAuthentication]


def _community_page_query(request) -> tuple[int, int] | None:
    """(community, page number) of a query the community's page answers directly: `?community=C`,
    with `page` and `page_size` or not, each once; None for any other."""
    params = request.query_params
    if "community" not in params or not COMMUNITY_PAGE_PARAMS.issuperset(params):
        return None
    if any(len(params.getlist(name)) != 1 for name in params):
        return None
    community, number = _plain_int(params["community"]), _plain_int(params.get("page") or "1")
    if community is None or number is None or not 1 <= number <= MAX_PAGE:
        return None
    return community, number


class ActivityViewSet(
    AccountInStatement,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    queryset = Activity.objects.none()
    serializer_class = ActivitySerializer
    filterset_class = ActivityFilter
    search_fields = ["title", "place"]
    ordering_fields = ["starts_at", "ends_at", "created_at", "id"]
    ordering = ["-starts_at", "-id"]
    lookup_value_regex = r"\d+"
    error_statuses = ("409",)

    def get_queryset(self):
        user = self.request.user
        writes_minutes = self.action == "minutes" and self.request.method != "GET"
        if self.action in STAFF_ACTIONS or writes_minutes:
            queryset = selectors.manageable_activities(user)
        else:
            queryset = selectors.visible_activities(user)
        if self.action in ("list", "retrieve"):
            queryset = selectors.with_counts(queryset, user=user)
        return queryset

    def get_serializer_class(self):
        if self.action in ("create", "update", "partial_update"):
            return ActivityWriteSerializer
        if self.action == "retrieve":
            return ActivityDetailSerializer
        return ActivitySerializer

    def _shown(self, activity: Activity, *, status_code: int = status.HTTP_200_OK) -> Response:
        fresh = selectors.with_counts(Activity.objects.filter(pk=activity.pk), user=self.request.user).get()
        return Response(ActivitySerializer(fresh, context=self.get_serializer_context()).data, status=status_code)

    def reads_account_in_statement(self, request):
        # The community's page reads the account's state with the caller's grants (selectors.page).
        return self.action == "list" and _community_page_query(request) is not None

    def list(self, request, *args, **kwargs):
        # Every mini-program's home page reads one community's list: read and written directly.
        shown = self._community_list(request)
        if shown is not None:
            return shown
        if request.user.get_deferred_fields():
            # The page fell through (no such community, past the end) with the account unread: the
            # general path reads the user's fields, so it gets the whole account.
            read_deferred_account(request)
        queryset = self.filter_queryset(self.get_queryset())
        context = self.get_serializer_context()
        page = self.paginate_queryset(queryset)
        if page is None:
            return Response(activity_rows(queryset, context=context))
        return self.get_paginated_response(activity_rows(page, context=context))

    def _community_list(self, request) -> Response | None:
        """`?community=C`, with `page` and `page_size` or not: the page as the filter, the
        pagination and the serializer answer it, from selectors.kept_community_page. None for any other
        query, and wherever the answer would be an error (an unknown community, a page past the
        end): the general path gives those, the same as ever."""
        query = _community_page_query(request)
        if query is None:
            return None
        community, number = query
        paginator = self.paginator
        if not isinstance(paginator, PageNumberPagination):
            return None
        size = paginator.get_page_size(request)
        found = selectors.kept_community_page(
            user=request.user, community_id=community, offset=(number - 1) * size, limit=size, write=written_rows
        )
        require_active(found.account_active)
        if not found.rows and (number > 1 or not selectors.community_exists(community)):
            return None
        counted = paginator.django_paginator_class([], size)
        counted.count = found.total  # the Paginator's own cached count, read with the page
        paginator.page, paginator.request = Page(found.rows, number, counted), request
        if paginator.template is not None and counted.num_pages > 1:
            paginator.display_page_controls = True
        rows = with_covers(found.rows, found.covers, context=self.get_serializer_context())
        return paginator.get_paginated_response(rows)

    def retrieve(self, request, *args, **kwargs):
        activity = self.get_object()
        enrollment = selectors.active_enrollment(activity, request.user)
        context = {
            **self.get_serializer_context(),
            "photos": list(selectors.photos_of(activity, viewer=request.user)),
            "my_position": selectors.waitlist_position(enrollment) if enrollment is not None else None,
        }
        return Response(ActivityDetailSerializer(activity, context=context).data)

    @extend_schema(request=ActivityWriteSerializer, responses={201: ActivitySerializer})
    def create(self, request, *args, **kwargs):
        # Before the form is read: a resident hears 403, not what the form lacks.
        services.require_may_create(by=request.user)
        serializer = ActivityWriteSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        activity = services.create_activity(by=request.user, community=data.pop("community"), **data)
        return self._shown(activity, status_code=status.HTTP_201_CREATED)

    @extend_schema(request=ActivityWriteSerializer, responses={200: ActivitySerializer})
    def update(self, request, *args, **kwargs):
        activity = self.get_object()
        partial = kwargs.pop("partial", False)
        serializer = ActivityWriteSerializer(
            activity, data=request.data, partial=partial, context=self.get_serializer_context()
        )
        serializer.is_valid(raise_exception=True)
        activity = services.update_activity(activity=activity, by=request.user, **serializer.validated_data)
        return self._shown(activity)

    @extend_schema(request=ActivityWriteSerializer, responses={200: ActivitySerializer})
    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, partial=True, **kwargs)

    # Lifecycle

    @extend_schema(request=None, responses={200: ActivitySerializer})
    @action(detail=True, methods=["post"])
    def publish(self, request, pk=None):
        return self._shown(services.publish_activity(activity=self.get_object(), by=request.user))

    @extend_schema(request=CancelSerializer, responses={200: ActivitySerializer})
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        activity = self.get_object()
        serializer = CancelSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return self._shown(
            services.cancel_activity(activity=activity, by=request.user, reason=serializer.validated_data["reason"])
        )

    # Enrolment

    @extend_schema(
        methods=["POST"],
        request=None,
        responses={201: EnrollmentResultSerializer, 200: EnrollmentResultSerializer},
        description="Enrol: `enrolled`, or `waitlisted` with the position when full. Again: 200 with the same.",
    )
    @extend_schema(methods=["DELETE"], request=None, responses={204: None}, description="Withdraw.")
    @action(detail=True, methods=["post", "delete"])
    def enrollment(self, request, pk=None):
        activity = self.get_object()
        if request.method == "DELETE":
            services.withdraw(activity=activity, by=request.user)
            return Response(status=status.HTTP_204_NO_CONTENT)
        result = services.enroll(activity=activity, by=request.user)
        return Response(
            EnrollmentResultSerializer(result).data,
            status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK,
        )

    # Check-in

    @extend_schema(responses={200: CheckinCodeSerializer})
    @action(detail=True, methods=["get"], url_path="checkin-code")
    def checkin_code(self, request, pk=None):
        code = services.issue_checkin_code(activity=self.get_object(), by=request.user)
        return Response(CheckinCodeSerializer(code).data, headers={"Cache-Control": "no-store"})

    def _activity_for_checkin(self, pk: Any) -> Activity:
        # One query, with the caller's enrolment and whether their account is active (the
        # authentication left that to it): the rules (enrolment, audience, token) decide the rest.
        user = self.request.user
        try:
            if int(pk) > MAX_ID:
                # No such row, and SQLite cannot even compare with it (OverflowError, a 500).
                raise Activity.DoesNotExist
            activity = selectors.activity_for_check_in(pk=pk, user=user)
        except (Activity.DoesNotExist, ValueError, TypeError):
            # As with any authentication: a gone or inactive account is 401 before anything else.
            require_active(account_selectors.is_active_account(user.pk))
            raise Http404 from None
        if not activity.caller_active:
            # Gone or inactive: asked again, to answer each as authentication would.
            require_active(account_selectors.is_active_account(user.pk))
        return activity

    def _position_call(self, request, pk, service) -> Response:
        activity = self._activity_for_checkin(pk)
        serializer = PositionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        result = service(
            activity=activity,
            by=request.user,
            client_id=data["client_id"],
            token=data["token"],
            latitude=data["latitude"],
            longitude=data["longitude"],
            accuracy=data.get("accuracy"),
        )
        return Response(
            check_in_payload(result.check_in),
            status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK,
        )

    @extend_schema(request=PositionSerializer, responses={201: CheckInSerializer, 200: CheckInSerializer})
    @action(
        detail=True,
        methods=["post"],
        url_path="check-in",
        authentication_classes=CHECK_IN_AUTHENTICATION,
        throttle_classes=[CheckInThrottle],
    )
    def check_in(self, request, pk=None):
        return self._position_call(request, pk, services.check_in)

    @extend_schema(request=PositionSerializer, responses={201: CheckInSerializer, 200: CheckInSerializer})
    @action(
        detail=True,
        methods=["post"],
        url_path="check-out",
        authentication_classes=CHECK_IN_AUTHENTICATION,
        throttle_classes=[CheckInThrottle],
    )
    def check_out(self, request, pk=None):
        return self._position_call(request, pk, services.check_out)

    # Attendance

    def _audit(self, request, rows, activity: Activity) -> None:
        record_accesses(
            actor=request.user,
            reads=[(row.user_id, activity.pk) for row in rows],
            what="activity_attendance",
            path=request.get_full_path(),
        )

    @extend_schema(
        methods=["GET"],
        parameters=[OpenApiParameter("page", int), OpenApiParameter("page_size", int)],
        responses={200: AttendancePageSerializer},
    )
    @extend_schema(methods=["POST"], request=ManualAttendanceSerializer, responses={201: ManualCheckInSerializer})
    @action(detail=True, methods=["get", "post"], pagination_class=None)
    def attendance(self, request, pk=None):
        activity = self.get_object()
        if request.method == "POST":
            serializer = ManualAttendanceSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            data = serializer.validated_data
            row = services.record_attendance(
                activity=activity,
                by=request.user,
                user=data["user"],
                kind=data["kind"],
                reason=data["reason"],
                at=data.get("at"),
            )
            return Response(ManualCheckInSerializer(row).data, status=status.HTTP_201_CREATED)
        ledger = selectors.attendance_ledger(activity)
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(ledger.rows, request, view=self)
        self._audit(request, page, activity)
        response = paginator.get_paginated_response(AttendanceRowSerializer(page, many=True).data)
        response.data["closed"] = ledger.closed
        response.data["counts"] = ledger.counts
        return response

    @extend_schema(responses={(200, exports.XLSX_CONTENT_TYPE): OpenApiResponse(description="the 签到台账 workbook")})
    @action(
        detail=True,
        methods=["get"],
        url_path="attendance/export",
        renderer_classes=[JSONRenderer, XlsxRenderer],
    )
    def attendance_export(self, request, pk=None):
        activity = self.get_object()
        # Staff export the ledger to call people: full phones, each read in the audit log.
        ledger = selectors.attendance_ledger(activity, full_phones=True)
        self._audit(request, ledger.rows, activity)
        response = HttpResponse(exports.ledger_workbook(ledger), content_type=exports.XLSX_CONTENT_TYPE)
        response["Content-Disposition"] = content_disposition_header(True, exports.ledger_filename(ledger))
        return response

    # Photos

    @extend_schema(methods=["GET"], responses={200: PhotoSerializer(many=True)})
    @extend_schema(methods=["POST"], request=PhotosInputSerializer, responses={201: PhotoSerializer(many=True)})
    @action(detail=True, methods=["get", "post"], pagination_class=None)
    def photos(self, request, pk=None):
        activity = self.get_object()
        if request.method == "POST":
            serializer = PhotosInputSerializer(data=request.data, context=self.get_serializer_context())
            serializer.is_valid(raise_exception=True)
            services.attach_photos(activity=activity, by=request.user, uploads=serializer.validated_data["uploads"])
            return Response(
                PhotoSerializer(
                    selectors.photos_of(activity, viewer=request.user), many=True, context=self.get_serializer_context()
                ).data,
                status=status.HTTP_201_CREATED,
            )
        return Response(
            PhotoSerializer(
                selectors.photos_of(activity, viewer=request.user), many=True, context=self.get_serializer_context()
            ).data
        )

    # Leave and minutes (branch meetings)

    @extend_schema(methods=["GET"], responses={200: LeaveRequestSerializer(many=True)})
    @extend_schema(
        methods=["POST"],
        request=LeaveInputSerializer,
        responses={201: LeaveRequestSerializer, 200: LeaveRequestSerializer},
    )
    @action(detail=True, methods=["get", "post"], pagination_class=None)
    def leave(self, request, pk=None):
        """POST: ask for leave (before the start). GET: staff see every request, others their own."""
        activity = self.get_object()
        if request.method == "POST":
            services.require_leave_audience(activity, request.user)  # the denial before the body's errors
            serializer = LeaveInputSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            result = services.request_leave(
                activity=activity, by=request.user, reason=serializer.validated_data["reason"]
            )
            return Response(
                LeaveRequestSerializer(result.leave).data,
                status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK,
            )
        leaves = list(selectors.leave_requests_for(request.user).filter(activity=activity).order_by("id"))
        _audit_leaves(request, leaves)
        return Response(LeaveRequestSerializer(leaves, many=True).data)

    @extend_schema(methods=["GET"], responses={200: MinutesSerializer})
    @extend_schema(methods=["PUT", "POST"], request=MinutesInputSerializer, responses={200: MinutesSerializer})
    @action(detail=True, methods=["get", "put", "post"])
    def minutes(self, request, pk=None):
        """会议记录: staff write it (PUT, or POST for the mini-program); staff and participants read it."""
        if request.method == "GET":
            minutes = selectors.minutes_for(self.get_object(), viewer=request.user)
            if minutes is None:
                raise Http404
            return Response(MinutesSerializer(minutes, context=self.get_serializer_context()).data)
        activity = self.get_object()
        serializer = MinutesInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        minutes = services.record_minutes(
            activity=activity,
            by=request.user,
            topics=data["topics"],
            decisions=data["decisions"],
            content=data["content"],
            attachments=data.get("attachments"),
        )
        minutes = Minutes.objects.prefetch_related("attachments").get(pk=minutes.pk)
        return Response(MinutesSerializer(minutes, context=self.get_serializer_context()).data)


def _audit_leaves(request, leaves) -> None:
    # A leave's reason is often about someone's health or family: staff reading others' reasons
    # are in the audit log (a member reading their own is not recorded).
    record_accesses(
        actor=request.user,
        reads=[(leave.user_id, leave.pk) for leave in leaves],
        what="leave_request",
        path=request.get_full_path(),
    )


class LeaveRequestFilter(django_filters.FilterSet):
    class Meta:
        model = LeaveRequest
        fields = ["activity", "status"]


class LeaveRequestViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """请假: members see their own, staff their communities'; staff approve or reject."""

    queryset = LeaveRequest.objects.none()
    serializer_class = LeaveRequestSerializer
    filterset_class = LeaveRequestFilter
    search_fields = ["user__real_name", "activity__title"]
    ordering_fields = ["id", "requested_at"]
    ordering = ["-id"]
    error_statuses = ("409",)

    def get_queryset(self):
        return selectors.leave_requests_for(self.request.user)

    def paginate_queryset(self, queryset):
        page = super().paginate_queryset(queryset)
        _audit_leaves(self.request, page if page is not None else queryset)
        return page

    def retrieve(self, request, *args, **kwargs):
        leave = self.get_object()
        _audit_leaves(request, [leave])
        return Response(self.get_serializer(leave).data)

    def _decide(self, request, service) -> Response:
        leave = self.get_object()
        services.require_leave_decider(request.user, leave)  # the denial before the body's errors
        serializer = DecisionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        leave = service(leave=leave, by=request.user, note=serializer.validated_data["note"])
        return Response(LeaveRequestSerializer(self.get_queryset().get(pk=leave.pk)).data)

    @extend_schema(request=DecisionSerializer, responses={200: LeaveRequestSerializer})
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        return self._decide(request, services.approve_leave)

    @extend_schema(request=DecisionSerializer, responses={200: LeaveRequestSerializer})
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        return self._decide(request, services.reject_leave)
