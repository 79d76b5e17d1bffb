"""WeChat login and phone binding: parse, call the service, answer with our own tokens."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.tokens import RefreshToken

from backend.core.throttling import (
    StringInputsBeforeThrottles,
    UserThrottle,
    WeChatAddressThrottle,
    WeChatCodeThrottle,
)

from . import wechat
from .serializers import MeSerializer


class WeChatCodeSerializer(serializers.Serializer):
    code = serializers.CharField(max_length=128, trim_whitespace=True)


class WeChatLoginSerializer(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField()
    is_new = serializers.BooleanField(help_text="true the first time this WeChat user signs in")
    user = MeSerializer()


class WeChatPhoneSerializer(serializers.Serializer):
    phone = serializers.CharField()
    user = MeSerializer()
    joined = serializers.BooleanField(
        help_text="true when the WeChat identity joined an existing account holding this phone; "
        "`access` and `refresh` are then that account's tokens and replace the old ones"
    )
    access = serializers.CharField(required=False)
    refresh = serializers.CharField(required=False)


def _tokens(user) -> dict[str, str]:
    refresh = RefreshToken.for_user(user)
    return {"access": str(refresh.access_token), "refresh": str(refresh)}


def _code(request) -> str:
    serializer = WeChatCodeSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data["code"]


class WeChatLoginView(StringInputsBeforeThrottles, APIView):
    """Sign in with the code from `wx.login`. The WeChat session_key never leaves the server."""

    permission_classes = [AllowAny]
    # A stale Authorization header from a previous session must not stop a fresh login.
    authentication_classes: list = []
    throttle_classes = [WeChatCodeThrottle, WeChatAddressThrottle]
    string_inputs = ("code",)
    error_statuses = ("403", "503")

    @extend_schema(request=WeChatCodeSerializer, responses={200: WeChatLoginSerializer})
    def post(self, request):
        user, is_new = wechat.login_with_wechat(code=_code(request))
        return Response({**_tokens(user), "is_new": is_new, "user": MeSerializer(user).data})


class WeChatPhoneView(StringInputsBeforeThrottles, APIView):
    """Bind the phone from a `getPhoneNumber` code to the signed-in user (see API.md, Auth)."""

    permission_classes = [IsAuthenticated]
    throttle_classes = [UserThrottle, WeChatCodeThrottle]
    string_inputs = ("code",)
    error_statuses = ("409", "503")

    @extend_schema(request=WeChatCodeSerializer, responses={200: WeChatPhoneSerializer})
    def post(self, request):
        result = wechat.bind_phone(user=request.user, code=_code(request))
        body = {"phone": result.phone, "user": MeSerializer(result.user).data, "joined": result.joined}
        if result.joined:
            body.update(_tokens(result.user))
        return Response(body)
