from __future__ import annotations

from django.db import transaction
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.response import Response
from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView

from backend.core.throttling import AnonThrottle, LoginAddressThrottle, LoginPhoneThrottle

from . import services
from .models import RoleGrant
from .permissions import CanManageRoles
from .scoping import scope_q
from .serializers import RoleGrantCreateSerializer, RoleGrantSerializer


class LoginView(TokenObtainPairView):
    """Console accounts: phone and password → tokens. Throttled per address and per phone (guessing)."""

    throttle_classes = [AnonThrottle, LoginAddressThrottle, LoginPhoneThrottle]
    # A wrong password is a 401 (`invalid_credentials`).
    error_statuses = ("401",)


class RefreshView(TokenRefreshView):
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
        user = self.request.user
        return (
            RoleGrant.objects.filter(revoked_at__isnull=True)
            .filter(
                scope_q(user, street="street", community="community", organization="organization__community")
                | scope_q(user, community="grid__community")
                | scope_q(user, street="organization__street")
            )
            .select_related("user")
            .order_by("id")
        )

    def get_serializer_class(self):
        return RoleGrantCreateSerializer if self.action == "create" else RoleGrantSerializer

    @extend_schema(request=RoleGrantCreateSerializer, responses={201: RoleGrantSerializer, 200: RoleGrantSerializer})
    def create(self, request):
        serializer = RoleGrantCreateSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        with transaction.atomic():
            target_user, _ = services.get_or_create_user_by_phone(phone=data["phone"], real_name=data["real_name"])
            grant, created = services.grant_role(
                granter=request.user,
                user=target_user,
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
        services.revoke_role(revoker=request.user, grant=grant)
        return Response(status=status.HTTP_204_NO_CONTENT)
