"""The one exception handler: every error leaves as {"code", "detail", "fields"?}."""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions as drf
from rest_framework.response import Response
from rest_framework.views import set_rollback

from .errors import DomainError

logger = logging.getLogger(__name__)


def _flatten(detail: Any) -> dict[str, list[str]]:
    """DRF nests errors for nested serializers and lists; clients want field → messages."""
    out: dict[str, list[str]] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for key, sub in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), sub)
        elif isinstance(value, list):
            if all(not isinstance(v, (dict, list)) for v in value):
                out.setdefault(prefix or "non_field_errors", []).extend(str(v) for v in value)
            else:
                for index, sub in enumerate(value):
                    if sub:
                        walk(f"{prefix}.{index}" if prefix else str(index), sub)
        else:
            out.setdefault(prefix or "non_field_errors", []).append(str(value))

    walk("", detail)
    return out


def error_body(code: str, detail: Any, fields: dict | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code, "detail": str(detail)}
    if fields:
        body["fields"] = fields
    return body


def _first_detail(detail: Any) -> str:
    if isinstance(detail, list) and detail:
        return _first_detail(detail[0])
    if isinstance(detail, dict) and detail:
        return _first_detail(next(iter(detail.values())))
    return str(detail)


def exception_handler(exc: Exception, context: dict) -> Response | None:
    headers: dict[str, str] = {}
    if isinstance(exc, DomainError):
        set_rollback()
        return Response(error_body(exc.code, exc.detail, exc.fields), status=exc.status)
    if isinstance(exc, Http404):
        exc = drf.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = drf.PermissionDenied()
    elif isinstance(exc, DjangoValidationError):
        exc = drf.ValidationError(detail=exc.message_dict if hasattr(exc, "error_dict") else exc.messages)
    elif isinstance(exc, RequestDataTooBig):
        set_rollback()
        return Response(error_body("file_too_large", _("请求体过大")), status=413)

    if isinstance(exc, drf.APIException):
        auth_header = getattr(exc, "auth_header", None)
        if auth_header:
            headers["WWW-Authenticate"] = auth_header
        wait = getattr(exc, "wait", None)
        if wait:
            headers["Retry-After"] = str(int(wait))
        set_rollback()
        if isinstance(exc, drf.ValidationError):
            return Response(
                error_body("validation_error", _("输入有误"), _flatten(exc.detail)),
                status=400,
                headers=headers,
            )
        code, detail = _code_for(exc)
        return Response(error_body(code, detail), status=exc.status_code, headers=headers)

    # Anything else is a bug: log it whole, answer without a trace.
    logger.exception("unhandled error in %s", context.get("view").__class__.__name__)
    set_rollback()
    return Response(error_body("server_error", _("服务器内部错误")), status=500)


def _code_for(exc: drf.APIException) -> tuple[str, str]:
    detail = _first_detail(exc.detail)
    if isinstance(exc, drf.NotAuthenticated):
        return "not_authenticated", detail
    if isinstance(exc, drf.AuthenticationFailed):
        if exc.get_codes() == "no_active_account":
            return "invalid_credentials", detail
        # simplejwt's InvalidToken is an AuthenticationFailed with code "token_not_valid".
        return "token_invalid", detail
    if isinstance(exc, drf.NotFound):
        return "not_found", _("未找到")
    if isinstance(exc, drf.PermissionDenied):
        code = exc.get_codes()
        if isinstance(code, str) and code not in ("permission_denied",) and code.isidentifier():
            from .errors import STATUS_BY_CODE

            if STATUS_BY_CODE.get(code) == 403:
                return code, detail
        return "permission_denied", detail
    if isinstance(exc, drf.MethodNotAllowed):
        return "method_not_allowed", detail
    if isinstance(exc, drf.Throttled):
        return "throttled", detail
    if isinstance(exc, drf.ParseError):
        return "parse_error", detail
    if isinstance(exc, drf.UnsupportedMediaType):
        return "unsupported_media_type", detail
    if isinstance(exc, drf.NotAcceptable):
        return "not_acceptable", detail
    codes = exc.get_codes()
    return (codes if isinstance(codes, str) else "error"), detail
