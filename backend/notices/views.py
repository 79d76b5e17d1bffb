"""Notices over HTTP: my inbox, sending (staff), read marks, receipts, subscribe-message consents."""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from backend.accounts.authentication import AccountInStatement, require_active
from backend.accounts.requests import caller
from backend.accounts.scoping import get_scope
from backend.accounts.selectors import is_active_account
from backend.core.errors import DomainError
from backend.core.pagination import PageNumberPagination, remove_query_param, replace_query_param

from . import selectors, services
from .models import Notice
from .serializers import (
    MAX_ID,
    InboxQuerySerializer,
    NoticeCreateSerializer,
    NoticePageSerializer,
    NoticeSerializer,
    ReadSerializer,
    ReceiptPageSerializer,
    ReceiptSerializer,
    SubscriptionsInputSerializer,
    SubscriptionsSerializer,
    UnreadCountSerializer,
)

DEFAULT_PAGE_SIZE = 20

# Every opening of the mini-program reads these two. Their one statement answers whether the
# account is still active with the page or the count (selectors), so the token is checked as
# everywhere but the account is not read before it, as for check-in; each calls require_active.
ACCOUNT_IN_STATEMENT = frozenset({"list", "unread_count"})


def _not_found() -> DomainError:
    return DomainError("not_found", _("通知不存在"))


class ReceiptPagination(PageNumberPagination):
    """The usual page, plus the notice's read figures (set by the view before paging)."""

    totals: dict[str, int] = {}

    def get_paginated_response(self, data):
        return Response(
            {
                "count": self.page.paginator.count if self.page is not None else 0,
                "next": self.get_next_link(),
                "previous": self.get_previous_link(),
                **self.totals,
                "results": data,
            }
        )


class NoticeViewSet(AccountInStatement, viewsets.GenericViewSet):
    account_in_statement = ACCOUNT_IN_STATEMENT
    queryset = Notice.objects.none()
    serializer_class = NoticeSerializer
    lookup_value_regex = r"\d+"
    filter_backends: list = []
    pagination_class = None

    def _notice_id(self) -> int:
        notice_id = int(self.kwargs["pk"])
        if notice_id > MAX_ID:
            raise _not_found()
        return notice_id

    def _sent_notice(self) -> Notice:
        """A notice whose receipts the caller may see; any other answers 404."""
        notice = Notice.objects.filter(pk=self._notice_id()).first()
        if notice is None or not selectors.can_view_receipts(user=caller(self.request), notice=notice):
            raise _not_found()
        return notice

    @extend_schema(
        summary="我的通知",
        description=(
            "My notices with `read_at`. Without `after_id`: **newest first**; `before_id=N` gives the "
            "older ones below N (follow `next`). With `after_id=N`: **oldest first** from just above N, "
            "what I missed since the last id I saw (follow `next` until it is null). `page_size` "
            "(or `limit`) ≤ 100, default 20; `count` is how many match, over all pages."
        ),
        parameters=[
            OpenApiParameter("after_id", OpenApiTypes.INT, description="only ids above; turns the order oldest first"),
            OpenApiParameter("before_id", OpenApiTypes.INT, description="only ids below (older)"),
            OpenApiParameter("page_size", OpenApiTypes.INT, description="1..100, default 20"),
            OpenApiParameter("limit", OpenApiTypes.INT, description="same as page_size"),
        ],
        responses={200: NoticePageSerializer},
    )
    def list(self, request):
        params: dict = {}
        if request.query_params:  # none: the first page, as every opening of the mini-program asks
            query = InboxQuerySerializer(data=request.query_params)
            if not query.is_valid():
                # As with any authentication: a gone or inactive account is 401 before its bad input.
                require_active(is_active_account(request.user.pk))
                raise serializers.ValidationError(query.errors)
            params = query.validated_data
        limit = params.get("page_size") or params.get("limit") or DEFAULT_PAGE_SIZE
        page = selectors.inbox_page(
            user_id=request.user.pk, after_id=params.get("after_id"), before_id=params.get("before_id"), limit=limit
        )
        if not page.caller_active:
            # Gone or inactive: asked again, to answer each as authentication would.
            require_active(is_active_account(request.user.pk))
        next_link = None
        if page.has_more:
            url = request.build_absolute_uri()
            last_id = page.results[-1]["id"]
            if page.ascending:
                next_link = replace_query_param(url, "after_id", last_id)
            else:
                next_link = replace_query_param(remove_query_param(url, "after_id"), "before_id", last_id)
        return Response({"count": page.count, "next": next_link, "previous": None, "results": page.results})

    @extend_schema(summary="一条我的通知", responses={200: NoticeSerializer})
    def retrieve(self, request, pk=None):
        receipt = selectors.receipt_for(user_id=request.user.pk, notice_id=self._notice_id())
        if receipt is None:
            raise _not_found()
        return Response(selectors.notice_payload(receipt.notice, receipt.read_at))

    @extend_schema(
        summary="发布通知",
        description=(
            "Staff only (403 `permission_denied` otherwise). `audience` is exactly one of `{street: id}`, "
            "`{community: id}`, `{grid: id}`, `{activity: id}` or `{users: [id…]}`, inside the sender's "
            "scope (else 400 `validation_error` on `audience`). Every recipient gets it in their inbox at "
            "once, live on an open socket, and as a WeChat subscribe message if offline with a consent."
        ),
        request=NoticeCreateSerializer,
        responses={201: NoticeSerializer},
    )
    def create(self, request):
        if not get_scope(request.user).is_staff:
            raise DomainError("permission_denied", _("只有街道或社区工作人员可以发布通知"))
        serializer = NoticeCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        notice = services.create_notice(
            sender=request.user,
            title=data["title"],
            body=data["body"],
            kind=data["kind"],
            audience=data["audience"],
            attachments=data["attachments"],
        )
        return Response(selectors.notice_payload(notice), status=status.HTTP_201_CREATED)

    @extend_schema(summary="标记已读", request=None, responses={200: ReadSerializer})
    @action(detail=True, methods=["post"])
    def read(self, request, pk=None):
        receipt = selectors.receipt_for(user_id=request.user.pk, notice_id=self._notice_id())
        if receipt is None:
            raise _not_found()
        receipt = services.mark_read(user=request.user, notice=receipt.notice)
        return Response({"id": receipt.notice_id, "read_at": selectors.iso_time(receipt.read_at)})

    @extend_schema(summary="未读数", responses={200: UnreadCountSerializer})
    @action(detail=False, methods=["get"], url_path="unread-count")
    def unread_count(self, request):
        count = selectors.unread_count(user_id=request.user.pk)
        if count is None:
            # Gone or inactive: asked again, to answer each as authentication would.
            require_active(is_active_account(request.user.pk))
        return Response({"count": count})

    @extend_schema(
        summary="阅读回执",
        description=(
            "Who has read the notice and who has not: for its sender and for staff whose scope covers "
            "its whole audience; 404 for anyone else. `?read=true|false` filters; paged as usual."
        ),
        parameters=[OpenApiParameter("read", OpenApiTypes.BOOL, description="only those who have (not) read it")],
        responses={200: ReceiptPageSerializer},
    )
    @action(detail=True, methods=["get"], pagination_class=ReceiptPagination)
    def receipts(self, request, pk=None):
        notice = self._sent_notice()
        read_param = request.query_params.get("read")
        read = None
        if read_param is not None:
            lowered = read_param.strip().lower()
            if lowered not in ("true", "false", "1", "0"):
                raise DomainError("validation_error", _("输入有误"), fields={"read": [_("应为 true 或 false")]})
            read = lowered in ("true", "1")
        paginator = ReceiptPagination()  # the action's pagination_class, typed
        paginator.totals = selectors.receipt_totals(notice=notice)
        page = paginator.paginate_queryset(selectors.receipts_of(notice=notice, read=read), request, view=self)
        rows = [
            {
                "user": {"id": r.user_id, "real_name": r.user.real_name, "masked_phone": r.user.masked_phone},
                "read_at": r.read_at,
            }
            for r in page or []
        ]
        return paginator.get_paginated_response(ReceiptSerializer(rows, many=True).data)

    @extend_schema(
        methods=["GET"],
        summary="我的订阅消息授权",
        description="How many messages each configured template may still send me.",
        responses={200: SubscriptionsSerializer},
    )
    @extend_schema(
        methods=["POST"],
        summary="上报订阅消息授权",
        description=(
            "What `wx.requestSubscribeMessage` answered: template ids accepted and rejected. Each "
            "acceptance allows one message (they add up); each message sent spends one. Only the "
            "configured template ids are accepted (400 `validation_error` otherwise)."
        ),
        request=SubscriptionsInputSerializer,
        responses={200: SubscriptionsSerializer},
    )
    @action(detail=False, methods=["get", "post"])
    def subscriptions(self, request):
        if request.method == "POST":
            serializer = SubscriptionsInputSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            counts = services.record_subscriptions(
                user=request.user,
                accepted=serializer.validated_data["accepted"],
                rejected=serializer.validated_data["rejected"],
            )
        else:
            counts = selectors.subscription_counts(user_id=request.user.pk)
        rows = [{"template_id": template_id, "remaining": remaining} for template_id, remaining in counts.items()]
        return Response({"subscriptions": rows})
