"""/api/v1/wechat/push/: the message endpoint (消息推送) WeChat's servers call.

Configured in the mini-program console (开发管理 → 消息推送) with this URL, the token in
WECHAT_PUSH_TOKEN, plaintext mode (明文模式) and JSON. WeChat signs every call: `signature` is
the SHA-1 of the token, `timestamp` and `nonce` sorted and joined. GET is the handshake (answer
`echostr`); POST carries events, of which `wxa_media_check` (an image's verdict) is ours.
Anything unsigned is refused with 403 before the body is read, so nothing is written. A signature
never expires by itself, so a captured push could be sent again at will: a timestamp more than
PUSH_WINDOW from now, or a nonce already seen inside the window, is refused the same way.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.http import HttpResponse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.views import APIView

from . import moderation, parsers
from .errors import DomainError

logger = logging.getLogger(__name__)

MEDIA_CHECK_EVENT = "wxa_media_check"
PUSH_WINDOW = 5 * 60  # seconds either side of now (WeChat's clock and ours)


def push_signature(token: str, timestamp: str, nonce: str) -> str:
    joined = "".join(sorted([token, timestamp, nonce])).encode()
    # SHA-1 is WeChat's choice, not ours; the secret is the token, not the hash.
    digest = hashlib.sha1(joined)  # noqa: S324  # nosec B324
    return digest.hexdigest()


def _verify(request: Request) -> None:
    token = settings.WECHAT_PUSH_TOKEN
    params = request.query_params
    signature, timestamp, nonce = (str(params.get(key, "")) for key in ("signature", "timestamp", "nonce"))
    if not token:
        logger.error("WECHAT_PUSH_TOKEN is not set: WeChat's pushes cannot be verified and are refused")
    if not (token and signature and timestamp and nonce) or not hmac.compare_digest(
        push_signature(token, timestamp, nonce), signature.lower()
    ):
        raise DomainError("permission_denied", _("签名无效"))
    if not timestamp.isascii() or not timestamp.isdigit() or abs(time.time() - int(timestamp)) > PUSH_WINDOW:
        raise DomainError("permission_denied", _("签名已过期"))
    # A nonce is remembered for as long as its timestamp could still be accepted (twice the window:
    # a timestamp from the future stays acceptable until it is that far in the past).
    key = "wechat-push-nonce:" + hashlib.sha256(nonce.encode()).hexdigest()
    if not cache.add(key, 1, timeout=2 * PUSH_WINDOW):
        raise DomainError("permission_denied", _("重复的推送"))


def _text(body: str) -> HttpResponse:
    return HttpResponse(body, content_type="text/plain; charset=utf-8")


@extend_schema(exclude=True)
class WeChatPushView(APIView):
    """Called by WeChat, never by our clients: no user, no CSRF, and the signature is the credential."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    parser_classes: list[Any] = []

    def get(self, request: Request) -> HttpResponse:
        _verify(request)
        return _text(str(request.query_params.get("echostr", "")))

    def post(self, request: Request) -> HttpResponse:
        _verify(request)
        if request.query_params.get("encrypt_type") == "aes":
            logger.error("WeChat pushed in safe mode; set the message push to plaintext mode (明文模式)")
            raise DomainError("validation_error", _("只接受明文模式的推送"))
        event = parsers.loads(request.body or b"null")
        if not isinstance(event, dict):
            raise DomainError("parse_error", _("推送内容不是 JSON 对象"))
        if event.get("Event") == MEDIA_CHECK_EVENT:
            if event.get("appid") not in (None, settings.WECHAT_APPID):
                logger.warning("wxa_media_check pushed for another appid; ignored")
            elif not moderation.record_push(event):
                logger.info("wxa_media_check for an unknown or superseded trace_id; ignored")
        # "success" (or nothing) within five seconds, or WeChat pushes the same event again.
        return _text("success")
