"""One error type with a stable code; the exception handler turns it into the error body."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

# The contract's table (API.md): every code a client may switch on, and its HTTP status.
STATUS_BY_CODE: dict[str, int] = {
    "validation_error": 400,
    "parse_error": 400,
    "invalid_code": 400,
    "invalid_token": 400,
    "out_of_range": 400,
    "not_open": 400,
    "invalid_file": 400,
    "consent_required": 400,
    "not_authenticated": 401,
    "token_invalid": 401,
    "invalid_credentials": 401,
    "permission_denied": 403,
    "wechat_user_blocked": 403,
    "not_in_audience": 403,
    "not_found": 404,
    "method_not_allowed": 405,
    "not_acceptable": 406,
    "invalid_transition": 409,
    "already_checked_in": 409,
    "not_checked_in": 409,
    "already_registered": 409,
    "not_enrolled": 409,
    "enrollment_closed": 409,
    "overlapping_record": 409,
    "phone_taken": 409,
    "duplicate_ticket": 409,
    "post_full": 409,
    "content_held": 409,
    "conflict": 409,
    "file_too_large": 413,
    "unsupported_media_type": 415,
    "throttled": 429,
    "wechat_rate_limited": 429,
    "server_error": 500,
    "wechat_unavailable": 503,
    "service_unavailable": 503,
}


class DomainError(Exception):
    """A rule said no. Raised by services; the status comes from the code unless given."""

    def __init__(
        self,
        code: str,
        detail: Any = None,
        *,
        status: int | None = None,
        fields: dict[str, list[str]] | None = None,
    ) -> None:
        if status is None and code not in STATUS_BY_CODE:
            raise ValueError(f"unknown error code {code!r}: add it to STATUS_BY_CODE and API.md")
        self.code = code
        self.detail = detail if detail is not None else _("请求无法完成")
        self.status = status or STATUS_BY_CODE[code]
        self.fields = fields
        super().__init__(f"{code}: {self.detail}")


def field_error(field: str, message: Any, code: str = "validation_error") -> DomainError:
    """A validation failure tied to one input field, in the same shape DRF gives."""
    return DomainError(code, _("输入有误"), fields={field: [str(message)]})
