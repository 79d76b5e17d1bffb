"""Privacy consents and the privacy notice version."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from .. import selectors, services
from ..serializers import (
    ConsentSerializer,
    ConsentWithdrawalSerializer,
    ConsentWithdrawSerializer,
    PrivacyNoticeSerializer,
)


class ConsentViewSet(viewsets.GenericViewSet):
    """My privacy consents, and withdrawing one (PIPL art. 15): only ever the caller's own."""

    pagination_class = None
    filter_backends: list = []

    @property
    def error_statuses(self) -> tuple[str, ...]:
        return ("409",) if getattr(self, "action", None) == "withdraw" else ()

    @extend_schema(responses={200: ConsentSerializer(many=True)})
    def list(self, request):
        return Response(ConsentSerializer(selectors.my_consents(request.user), many=True).data)

    @extend_schema(
        request=ConsentWithdrawSerializer,
        responses={201: ConsentWithdrawalSerializer, 200: ConsentWithdrawalSerializer},
        description=(
            "201: withdrawn now; 200: it already was (a retry). party_member: the 双报到 ends, posts are "
            "left, and the name, phone, address, employer, date joined and ID number given under the "
            "consent are erased; the history (registrations, points) stays. 409 when no consent was given."
        ),
    )
    @action(detail=False, methods=["post"])
    def withdraw(self, request):
        body = ConsentWithdrawSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        withdrawal, created = services.withdraw_consent(by=request.user, purpose=body.validated_data["purpose"])
        return Response(
            ConsentWithdrawalSerializer(withdrawal).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class PrivacyNoticeViewSet(viewsets.ViewSet):
    """The privacy notice version a registration must agree to."""

    @extend_schema(responses={200: PrivacyNoticeSerializer})
    def list(self, request):
        return Response({"version": services.privacy_notice_version()})
