"""Fields and mixins the members serializers share: phones (masked on output) and consent."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from backend.accounts.models import MOBILE_RE, mask_phone
from backend.core.fields import MaskedOnOutputRegexField

PHONE = {"invalid": _("请输入有效的中国大陆手机号")}


def phone_field(**kwargs: Any) -> serializers.RegexField:
    return MaskedOnOutputRegexField(MOBILE_RE, error_messages=PHONE, **kwargs)


class MaskedPhoneField(serializers.CharField):
    """A phone as everyone but its owner sees it: 139****0001."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("read_only", True)
        super().__init__(**kwargs)

    def to_representation(self, value: Any) -> str | None:
        return mask_phone(str(value)) if value else value


class ConsentMixin(serializers.Serializer):
    consent = serializers.BooleanField(
        required=False, default=False, help_text="true: agrees to the privacy notice (400 consent_required otherwise)"
    )
    privacy_notice_version = serializers.CharField(
        required=False, allow_blank=True, max_length=32, help_text="the version the user read; must be the current one"
    )
