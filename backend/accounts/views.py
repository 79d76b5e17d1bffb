from __future__ import annotations

from django.db import transaction
from djoser.views import UserViewSet
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView

from backend.core.throttling import (
    AnonThrottle,
    LoginAddressThrottle,
    LoginPhoneThrottle,
    StringInputsBeforeThrottles,
    UserRateThrottle,
    UserThrottle,
)

from . import audit, selectors, services
from .authentication import AccountInStatement, RefreshSerializer, require_active
from .models import RoleGrant
from .permissions import CanManageRoles
from .requests import caller
from .selectors import account_with_grants
from .serializers import (
    AccountDeletionSerializer,
    PersonalDataExportSerializer,
    RoleGrantCreateSerializer,
    RoleGrantSerializer,
    me_payload,
)


# djoser's `auth/users/me/`, its GET answered from `me_payload` (the same body as MeSerializer's). A
# comment, not a docstring: the schema would take a docstring as the operation's description.
# Its GET reads the account with its grants in one statement (AccountInStatement).
class MeViewSet(AccountInStatement, UserViewSet):
    account_in_statement = frozenset({"me"})

    def reads_account_in_statement(self, request):
        return super().reads_account_in_statement(request) and request.method in ("GET", "HEAD")

    # djoser's own, but for HEAD: DRF routes HEAD to the GET action, and djoser's `me` answered it
    # with nothing (a 500). A comment, not a docstring, as above.
    @action(["get", "put", "patch", "delete"], detail=False)
    def me(self, request, *args, **kwargs):
        if request.method == "HEAD":
            self.get_object = self.get_instance
            return self.retrieve(request, *args, **kwargs)
        return super().me(request, *args, **kwargs)

    def retrieve(self, request, *args, **kwargs):
        if self.action != "me":
            return super().retrieve(request, *args, **kwargs)
        user, grants = account_with_grants(request.user.pk)
        require_active(None if user is None else user.is_active)
        assert user is not None  # require_active refused a missing one
        return Response(me_payload(user, grants))


class LoginView(StringInputsBeforeThrottles, TokenObtainPairView):
    """Console accounts: phone and password → tokens. Throttled per address and per phone (guessing)."""

    string_inputs = ("phone",)
    throttle_classes = [AnonThrottle, LoginAddressThrottle, LoginPhoneThrottle]
    # A wrong password is a 401 (`invalid_credentials`).
    error_statuses = ("401",)


class RefreshView(TokenRefreshView):
    serializer_class = RefreshSerializer
    # A used, expired or forged refresh token is a 401.
    error_statuses = ("401",)


class RoleGrantViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet
):
    """Role grants inside the caller's scope. DELETE revokes (the grant stays in the history)."""

    queryset = RoleGrant.objects.none()
    serializer_class = RoleGrantSerializer
    permission_classes = [CanManageRoles]
    filterset_fields = ["role", "street", "community", "grid", "organization"]
    search_fields = ["user__real_name", "user__phone"]
    ordering_fields = ["id", "created_at"]
    error_statuses = ("409",)

    def get_queryset(self):
        return selectors.grants_in_scope(caller(self.request)).select_related("user").order_by("id")

    def get_serializer_class(self):
        return RoleGrantCreateSerializer if self.action == "create" else RoleGrantSerializer

    @extend_schema(request=RoleGrantCreateSerializer, responses={201: RoleGrantSerializer, 200: RoleGrantSerializer})
    def create(self, request):
        serializer = RoleGrantCreateSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        grant, created = services.grant_role_by_phone(
            granter=caller(request),
            phone=data["phone"],
            role=data["role"],
            street=data.get("street"),
            community=data.get("community"),
            grid=data.get("grid"),
            organization=data.get("organization"),
        )
        return Response(
            RoleGrantSerializer(grant).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )

    def destroy(self, request, pk=None):
        grant = self.get_object()
        services.revoke_role(revoker=caller(request), grant=grant)
        return Response(status=status.HTTP_204_NO_CONTENT)


# Personal data: the owner's copy and the account's deletion -----------------------------------


class PersonalDataExportThrottle(UserRateThrottle):
    """A full copy reads every app's tables: a few an hour is what a person needs."""

    scope = "personal_data_export"


class AccountDeletionThrottle(UserRateThrottle):
    """Deletion checks a password: guessing it through here is slowed like a login."""

    scope = "account_deletion"


class PersonalDataExportView(APIView):
    """Everything held about the caller, unmasked (it is theirs), as one JSON document.

    Each export is written to the personal-data audit log.
    """

    throttle_classes = [UserThrottle, PersonalDataExportThrottle]

    @extend_schema(responses={200: PersonalDataExportSerializer})
    def get(self, request):
        with transaction.atomic():
            # The audit row is written with the read or not at all.
            data = selectors.personal_data_export(caller(request))
            audit.record_own_export(user=caller(request), path=request.get_full_path())
        response = Response(data)
        response["Content-Disposition"] = f'attachment; filename="personal-data-{caller(request).pk}.json"'
        response["Cache-Control"] = "no-store"
        return response


class AccountDeletionView(APIView):
    """Delete the caller's account: its personal details are erased, its ledgers stay, pseudonymous.

    Needs `confirm: true` and a fresh proof of identity: `current_password` for accounts with a
    password, or `wechat_code` (a new `wx.login()` code of the same WeChat user). Answers 204; the
    tokens stop working at once, so a retry answers 401.
    """

    throttle_classes = [UserThrottle, AccountDeletionThrottle]
    # 503/429 from WeChat when the proof is a wx.login code.
    error_statuses = ("503",)

    @extend_schema(request=AccountDeletionSerializer, responses={204: None})
    def post(self, request):
        body = AccountDeletionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        services.delete_account(
            user=caller(request), current_password=data["current_password"], wechat_code=data["wechat_code"]
        )
        return Response(status=status.HTTP_204_NO_CONTENT)
