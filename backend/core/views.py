from __future__ import annotations

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import connection
from django.http import JsonResponse
from django.utils.translation import gettext as _

from .exceptions import error_body

logger = logging.getLogger(__name__)


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        return True
    except Exception:
        logger.exception("healthz: database unreachable")
        return False


def _channel_layer_ok() -> bool:
    try:
        layer = get_channel_layer()
        if layer is None:
            return False
        async_to_sync(layer.group_send)("healthz", {"type": "healthz.ping"})
        return True
    except Exception:
        logger.exception("healthz: channel layer unreachable")
        return False


def healthz(request):
    checks = {"database": _database_ok(), "channel_layer": _channel_layer_ok()}
    failed = [name for name, ok in checks.items() if not ok]
    if failed:
        body = error_body("service_unavailable", _("依赖服务不可用: ") + ", ".join(failed))
        body["checks"] = checks
        return JsonResponse(body, status=503)
    return JsonResponse({"status": "ok", "checks": checks})


def not_found(request, exception=None):
    return JsonResponse(error_body("not_found", _("未找到")), status=404)


def server_error(request):
    return JsonResponse(error_body("server_error", _("服务器内部错误")), status=500)


def bad_request(request, exception=None):
    return JsonResponse(error_body("validation_error", _("请求无效")), status=400)


def permission_denied(request, exception=None):
    return JsonResponse(error_body("permission_denied", _("没有权限")), status=403)
